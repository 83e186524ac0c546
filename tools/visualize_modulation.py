#!/usr/bin/env python
"""See what FocalNet modulates: depth-wise kernels, gate maps and modulator magnitude of one image.

    python tools/visualize_modulation.py IMAGE CONFIG [CHECKPOINT] [--out-dir DIR] [--stage -1]
        [--block -1] [--device cpu] [--size 512]

CONFIG is an mmdet or mmseg config (``default_scope`` picks the registry; mmpretrain too when it
is installed) or a plain backbone config (``model = dict(type='FocalNet', ...)``, no scope).
CHECKPOINT may be a full detector/segmentor checkpoint (loaded into the whole model with
mmengine's ``load_checkpoint``) or a backbone-only / classification checkpoint (official, timm, HF
or mm: loaded into the backbone by ``focalnet_mm``'s converter). Without one, the backbone has
random weights (a warning says so) and the figures show an untrained network.

The image's shorter side is resized to ``--size``, normalised with the config's
``data_preprocessor`` mean/std (and channel order), and the backbone runs once. Written to
``--out-dir``:
  kernels.png            depth-wise kernels (mean |w|), stages x focal levels
  gates_stage{i}.png     input | gate of each focal level | global gate, overlaid on the input
  modulator_stage{i}.png input | modulator magnitude ||h(ctx_all)|| overlaid on the input
for the last block of the chosen stage(s) (``--stage all`` for every stage).
"""
from __future__ import annotations

import argparse
import copy
import os
import os.path as osp

import numpy as np
import torch
from PIL import Image

from focalnet_mm import FocalNet
from focalnet_mm.runner_utils import ALL_SCOPES, build_model, config_scope, no_pretrained

# ImageNet statistics (RGB), for configs without a data_preprocessor.
DEFAULT_MEAN = (123.675, 116.28, 103.53)
DEFAULT_STD = (58.395, 57.12, 57.375)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('image', help='input image file')
    parser.add_argument('config', help='mmdet / mmseg / plain backbone config')
    parser.add_argument('checkpoint', nargs='?', default=None,
                        help='full model or backbone checkpoint (default: random weights)')
    parser.add_argument('--out-dir', default='work_dirs/visualize_modulation',
                        help='where the PNGs go (default %(default)s)')
    parser.add_argument('--stage', default='-1',
                        help="stage index (negative counts from the end) or 'all' (default -1)")
    parser.add_argument('--block', type=int, default=-1,
                        help='block of the stage to show (default -1: the last, as the paper)')
    parser.add_argument('--device', default='cpu', help='torch device (default cpu)')
    parser.add_argument('--size', type=int, default=512,
                        help='resize the shorter image side to this (default 512)')
    parser.add_argument('--alpha', type=float, default=0.5, help='heat-map opacity (default 0.5)')
    args = parser.parse_args(argv)
    if args.stage != 'all':
        try:
            args.stage = int(args.stage)
        except ValueError:
            parser.error(f"--stage must be an int or 'all', got {args.stage!r}")
    if args.size < 1:
        parser.error('--size must be positive')
    return args


# ------------------------------------------------------------------------------- model building
def build_visualized_model(cfg) -> torch.nn.Module:
    """The config's model (or its bare FocalNet), through the registry of its scope, without its
    pretrained backbone checkpoint (the configs point ``init_cfg`` at files that may not exist)."""
    model_cfg = cfg.get('model')
    if model_cfg is None and cfg.get('backbone') is not None:  # a backbone-only config
        model_cfg = cfg.backbone
    if model_cfg is None:
        raise SystemExit('the config has neither `model` nor `backbone`')
    try:
        scope = config_scope(cfg, ALL_SCOPES, optional=True, register=False)
    except ValueError as e:
        raise SystemExit(f'{e} (or none, for a plain backbone config)') from None
    if scope is not None:
        return build_model(cfg, scope, model_cfg=model_cfg, allowed=ALL_SCOPES)
    if model_cfg.get('type') != 'FocalNet':
        raise SystemExit(f"config model type {model_cfg.get('type')!r} needs a default_scope "
                         f'({", ".join(ALL_SCOPES)})')
    model_cfg = no_pretrained(copy.deepcopy(model_cfg))
    return FocalNet(**{k: v for k, v in model_cfg.items() if k != 'type'})


def _state_dict_keys(path: str) -> list[str]:
    from focalnet_mm.models.checkpoint import read_checkpoint
    ckpt = read_checkpoint(path)
    if isinstance(ckpt, dict):
        for key in ('state_dict', 'model', 'module', 'state_dict_ema'):
            if isinstance(ckpt.get(key), dict):
                ckpt = ckpt[key]
                break
    if not isinstance(ckpt, dict):
        return []
    keys = [k for k, v in ckpt.items() if isinstance(v, torch.Tensor)]
    return [k[len('module.'):] if k.startswith('module.') else k for k in keys]


def load_weights(model: torch.nn.Module, backbone, path: str) -> str:
    """Load ``path``: the whole model if it is a checkpoint of this detector/segmentor, else the
    backbone (backbone-only, classification, timm/HF checkpoints). Returns what was done."""
    from focalnet_mm.models.checkpoint import load_pretrained
    keys = _state_dict_keys(path)
    model_keys = set(model.state_dict())
    full = (model is not backbone and any(k.startswith('backbone.') for k in keys)
            and any(not k.startswith('backbone.') and k in model_keys for k in keys))
    if not full:
        report = load_pretrained(backbone, path)
        return f'backbone weights loaded by focalnet_mm load_pretrained ({report.summary()})'
    from mmengine.runner import load_checkpoint  # reads mmengine checkpoints: `import focalnet_mm`
    prefix = next(name for name, module in model.named_modules() if module is backbone)
    provided = set(keys)
    missing = [k for k in backbone.state_dict() if f'{prefix}.{k}' not in provided]
    if missing:
        raise SystemExit(f'{path}: a full-model checkpoint without {len(missing)} backbone tensors '
                         f'(e.g. {missing[:3]}); not a checkpoint of this model')
    load_checkpoint(model, path, map_location='cpu')
    return 'full model checkpoint loaded by mmengine load_checkpoint'


# ------------------------------------------------------------------------------- preprocessing
def normalisation(cfg) -> tuple[tuple, tuple, bool]:
    """(mean, std, rgb): the data_preprocessor's statistics and whether the model expects RGB."""
    pre = (cfg.get('model') or {}).get('data_preprocessor') or cfg.get('data_preprocessor')
    if not pre or pre.get('mean') is None:
        print('[visualize_modulation] no data_preprocessor mean/std in the config: using the '
              'ImageNet statistics (RGB)')
        return DEFAULT_MEAN, DEFAULT_STD, True
    # OpenMMLab loads images as BGR; ``bgr_to_rgb=True`` makes the model see RGB, else BGR.
    rgb = bool(pre.get('bgr_to_rgb', pre.get('to_rgb', False)))  # mmpretrain says ``to_rgb``
    std = pre.get('std') or (1., 1., 1.)
    return tuple(pre['mean']), tuple(std), rgb


def resized_size(width: int, height: int, short_side: int) -> tuple[int, int]:
    """(new_width, new_height) with the shorter side equal to ``short_side`` (aspect kept)."""
    scale = short_side / min(width, height)
    return max(1, int(width * scale + 0.5)), max(1, int(height * scale + 0.5))


def load_image(path: str, short_side: int) -> np.ndarray:
    image = Image.open(path).convert('RGB')
    image = image.resize(resized_size(*image.size, short_side), Image.BILINEAR)
    return np.asarray(image, dtype=np.uint8).copy()


def to_input(image_rgb: np.ndarray, mean, std, rgb: bool, device) -> torch.Tensor:
    pixels = image_rgb if rgb else image_rgb[..., ::-1]
    x = torch.from_numpy(np.ascontiguousarray(pixels)).float().permute(2, 0, 1)[None]
    mean = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)
    return ((x - mean) / std).to(device)


# ------------------------------------------------------------------------------- main
def main(argv=None) -> list[str]:
    args = parse_args(argv)
    from mmengine.config import Config

    from focalnet_mm.visualization import (capture_modulation, depthwise_kernels, find_backbone,
                                           render_gate_maps, render_kernel_grid, render_modulator)

    cfg = Config.fromfile(args.config)
    torch.manual_seed(0)  # random weights (no checkpoint) are reproducible
    model = build_visualized_model(cfg)
    backbone = find_backbone(model)
    if args.checkpoint:
        print(f'[visualize_modulation] {load_weights(model, backbone, args.checkpoint)}')
    else:
        backbone.init_weights()  # init_cfg=None: the training-time initialisation, no file
        print('[visualize_modulation] WARNING: no checkpoint given: the backbone has random '
              'weights (the config\'s init_cfg is ignored), so the figures show an untrained '
              'network')
    backbone = backbone.to(args.device).eval()

    num_stages = len(backbone.layers)
    if args.stage == 'all':
        stages = list(range(num_stages))
    else:
        if not -num_stages <= args.stage < num_stages:
            raise SystemExit(f'--stage {args.stage} out of range for {num_stages} stages')
        stages = [args.stage % num_stages]

    image = load_image(args.image, args.size)
    mean, std, rgb = normalisation(cfg)
    x = to_input(image, mean, std, rgb, args.device)
    with torch.no_grad(), capture_modulation(backbone, stages, args.block) as maps:
        backbone(x)

    os.makedirs(args.out_dir, exist_ok=True)
    written = []

    def save(name: str, array: np.ndarray) -> None:
        path = osp.join(args.out_dir, name)
        Image.fromarray(array).save(path)
        written.append(path)
        print(f'{path}  ({array.shape[1]}x{array.shape[0]})')

    save('kernels.png', render_kernel_grid(depthwise_kernels(backbone)))
    for (stage, block), record in sorted(maps.items()):
        modulation = backbone.layers[stage].blocks[block].modulation
        stride = 4 * 2**stage
        gates = record.gates[0]
        names = [f'level {k}' for k in range(modulation.focal_level)] + ['global']
        stats = ', '.join(f'{name} [{g.min():.3g}, {g.mean():.3g}, {g.max():.3g}]'
                          for name, g in zip(names, gates))
        print(f'[visualize_modulation] stage {stage} block {block} gates (min, mean, max): {stats}')
        save(f'gates_stage{stage}.png',
             render_gate_maps(image, gates, stride, modulation.kernel_sizes, alpha=args.alpha))
        save(f'modulator_stage{stage}.png',
             render_modulator(image, record.modulator[0], stride, alpha=args.alpha))
    return written


if __name__ == '__main__':
    main()
