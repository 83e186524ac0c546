#!/usr/bin/env python
"""Export a FocalNet segmentor (the logits of its ``tensor`` mode) or a FocalNet backbone to ONNX,
with dynamic batch, height and width, and check the file with onnxruntime at another size.

    python tools/export_onnx.py CONFIG OUT.onnx [--checkpoint CKPT] [--shape N C H W]
                                [--backbone-only] [--verify-shape N C H W] [--atol 1e-3]

* Segmentors (mmseg ``EncoderDecoder``, e.g. the UPerNet configs): the graph maps the
  preprocessed batch (normalised, padded: what ``model.data_preprocessor`` gives) to the decode
  head's logits at 1/4 of the input size, as ``model(inputs, mode='tensor')``.
* ``--backbone-only`` (any config, detection ones included): the graph maps the image batch to the
  backbone's feature maps (``feat0``... at strides 4, 8, 16, 32).
* Height and width must be multiples of 32 (FocalNet's total stride; the mm data preprocessors pad
  to such sizes): the backbone pads other sizes with a Python branch, which a trace fixes at the
  export size.
* The full detectors (Mask R-CNN, Cascade, ATSS, Sparse R-CNN, DINO) and Mask2Former need
  RoIAlign, NMS, deformable attention or dynamic-length proposal/query sets, which plain ONNX
  export does not give (mmdeploy's rewriters and custom ops do): refused with an error that says
  so, nothing written. The pyramid pooling of UPerNet (adaptive average pooling, which ONNX lacks)
  is replaced by an equivalent of standard ops for the export.

``--checkpoint``: an mm training checkpoint of the config's model, or, with ``--backbone-only``,
any checkpoint the FocalNet loader reads (official/timm/HF ImageNet, mm detector/segmentor).
Without one the weights are random (enough to check the export). The file is written to a
temporary name and renamed when complete and verified; on any failure the previous OUT (if any)
is left as it was. Prints the max abs difference between onnxruntime and PyTorch at the export
size and at ``--verify-shape`` (default: 64 px taller, 128 px wider) and exits 1 if either is
above ``--atol``.
"""
from __future__ import annotations

import argparse
import os
import os.path as osp
import sys
import tempfile

import torch
import torch.nn as nn
import torch.nn.functional as F

from focalnet_mm.runner_utils import build_model, config_scope

STRIDE = 32
# mmseg heads whose `tensor` mode gives per-query masks and classes (Hungarian-matched queries,
# deformable attention in the pixel decoder), not per-pixel logits
MASK_CLASSIFICATION_HEADS = ('Mask2FormerHead', 'MaskFormerHead')


class UnsupportedExportError(ValueError):
    """The config's model cannot be exported as a whole to plain ONNX."""


def parse_args(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description='Export a FocalNet segmentor or backbone to ONNX')
    parser.add_argument('config')
    parser.add_argument('out', help='output .onnx file')
    parser.add_argument('--checkpoint', help='weights to export (default: random)')
    parser.add_argument('--shape', type=int, nargs=4, default=[1, 3, 512, 512],
                        metavar=('N', 'C', 'H', 'W'), help='export input shape')
    parser.add_argument('--verify-shape', type=int, nargs=4, metavar=('N', 'C', 'H', 'W'),
                        help='second input shape checked with onnxruntime (default: H+64, W+128)')
    parser.add_argument('--backbone-only', action='store_true',
                        help='export the backbone (feature maps) instead of the whole model')
    parser.add_argument('--opset', type=int, default=17)
    parser.add_argument('--atol', type=float, default=1e-3,
                        help='largest accepted |onnxruntime - PyTorch| (fp32 rounding)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def _check_shape(shape, what: str) -> None:
    n, c, h, w = shape
    if min(shape) <= 0 or h % STRIDE or w % STRIDE:
        raise ValueError(f'{what} {tuple(shape)}: N, C, H, W must be positive and H, W multiples '
                         f'of {STRIDE} (the backbone total stride)')


def load_model(config: str, checkpoint: str | None, cfg_options=None, backbone_only=False):
    """The config's model in eval mode, with ``checkpoint`` loaded strictly (if given), and its
    scope. The backbone's pretrained ``init_cfg`` is never read: the weights are the checkpoint's
    or PyTorch's default initialisation."""
    from mmengine.config import Config
    from mmengine.model import revert_sync_batchnorm

    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    scope = config_scope(cfg, register=False)  # (build_model registers it)
    model = build_model(cfg, scope)
    model = revert_sync_batchnorm(model)  # plain BN: the same function in eval, exportable
    if checkpoint:
        from focalnet_mm.models.checkpoint import (load_pretrained, read_checkpoint,
                                                   unwrap_state_dict)
        if backbone_only:
            load_pretrained(model.backbone, checkpoint)
        else:
            state = unwrap_state_dict(read_checkpoint(checkpoint))
            missing, unexpected = model.load_state_dict(state, strict=False)
            if missing or unexpected:
                raise ValueError(f'{checkpoint} does not fit {config}: {len(missing)} missing '
                                 f'(e.g. {missing[:3]}), {len(unexpected)} unexpected (e.g. '
                                 f'{unexpected[:3]}); for an ImageNet checkpoint use '
                                 '--backbone-only')
    else:
        print('no --checkpoint: random weights (the export is checked all the same)')
    torch.manual_seed(0)
    return model.eval(), scope


def export_module(model, scope: str, backbone_only: bool):
    """The module to trace and its output names."""

    class Backbone(nn.Module):
        def __init__(self, backbone):
            super().__init__()
            self.backbone = backbone

        def forward(self, x):
            return tuple(self.backbone(x))

    class SegmentorLogits(nn.Module):
        def __init__(self, segmentor):
            super().__init__()
            self.segmentor = segmentor

        def forward(self, x):
            return self.segmentor(x, mode='tensor')

    if backbone_only:
        n_out = len(getattr(model.backbone, 'out_indices', ())) or 4
        return Backbone(model.backbone), [f'feat{i}' for i in range(n_out)]
    head = type(getattr(model, 'decode_head', None)).__name__
    from_mmseg = (scope == 'mmseg' and type(model).__name__ == 'EncoderDecoder'
                  and head not in MASK_CLASSIFICATION_HEADS)
    if not from_mmseg:
        raise UnsupportedExportError(
            f'{type(model).__name__} ({scope}, head {head}): only mmseg EncoderDecoder '
            'segmentors with per-pixel heads (UPerNet, FCN, PSP, ...) export as a whole; this '
            'model needs RoIAlign/NMS/dynamic proposal sets (mmcv ops and '
            'data-dependent shapes) that plain ONNX export does not provide. Export the backbone '
            'with --backbone-only, or use mmdeploy for the full detector (see README "ONNX '
            'export"). Nothing was written.')
    replace_adaptive_pools(model)
    return SegmentorLogits(model), ['seg_logits']


def replace_adaptive_pools(module) -> int:
    """Swap every ``nn.AdaptiveAvgPool2d`` (UPerHead/PSPHead pyramid pooling) for
    :class:`DynamicAdaptiveAvgPool2d`: ONNX has no adaptive pooling, and torch's exporter converts
    it (other than to a 1x1 output) only for a fixed input size. Returns the number replaced."""
    count = 0
    for name, child in module.named_children():
        if isinstance(child, nn.AdaptiveAvgPool2d):
            setattr(module, name, DynamicAdaptiveAvgPool2d(child.output_size))
            count += 1
        else:
            count += replace_adaptive_pools(child)
    return count


class DynamicAdaptiveAvgPool2d(nn.Module):
    """``nn.AdaptiveAvgPool2d`` from shape arithmetic, cumulative sums and gathers (all ONNX ops,
    any input size): bin i of n over a length L spans [floor(i L / n), ceil((i+1) L / n)), as in
    torch's kernel, and its mean is a difference of the cumulative sum at the two ends."""

    def __init__(self, output_size):
        super().__init__()
        size = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * 2
        self.output_size = tuple(int(s) for s in size)

    @staticmethod
    def _pool(x: torch.Tensor, dim: int, bins: int) -> torch.Tensor:
        length = torch._shape_as_tensor(x)[dim]  # a tensor: traced as a Shape op, not a constant
        i = torch.arange(bins, device=x.device)
        start = torch.div(i * length, bins, rounding_mode='floor')
        end = torch.div((i + 1) * length + bins - 1, bins, rounding_mode='floor')
        pad = [0, 0] * (x.dim() - 1 - dim) + [1, 0]
        csum = F.pad(x.cumsum(dim), pad)  # csum[k] = sum of the first k entries
        total = csum.index_select(dim, end) - csum.index_select(dim, start)
        shape = [1] * x.dim()
        shape[dim] = bins
        return total / (end - start).to(x.dtype).view(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out_h, out_w = self.output_size
        return self._pool(self._pool(x, 2, out_h), 3, out_w)


def export(module: nn.Module, out: str, shape, output_names, opset: int = 17) -> None:
    """Trace ``module`` at ``shape`` into ``out`` with dynamic N, H, W and check the file."""
    import onnx
    x = torch.randn(*shape)
    axes = {'input': {0: 'batch', 2: 'height', 3: 'width'}}
    axes.update({name: {0: 'batch', 2: f'{name}_height', 3: f'{name}_width'}
                 for name in output_names})
    with torch.no_grad():
        torch.onnx.export(module, (x,), out, input_names=['input'], output_names=output_names,
                          dynamic_axes=axes, opset_version=opset, dynamo=False)
    onnx.checker.check_model(out)


def max_abs_diff(onnx_path: str, module, shape, seed: int = 0) -> float:
    """max |onnxruntime(x) - module(x)| over all outputs for a random ``x`` of ``shape``."""
    import numpy as np
    import onnxruntime as ort
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        ref = module(x)
    ref = [ref] if isinstance(ref, torch.Tensor) else list(ref)
    session = ort.InferenceSession(onnx_path, providers=['CPUExecutionProvider'])
    outs = session.run(None, {'input': x.numpy()})
    if len(outs) != len(ref):
        raise AssertionError(f'onnxruntime gave {len(outs)} outputs, PyTorch {len(ref)}')
    diff = 0.0
    for o, r in zip(outs, ref):
        if o.shape != tuple(r.shape):
            raise AssertionError(f'output shape {o.shape} (onnxruntime) vs {tuple(r.shape)}')
        diff = max(diff, float(np.abs(o - r.numpy()).max()))
    return diff


def main(argv=None) -> int:
    args = parse_args(argv)
    _check_shape(args.shape, '--shape')
    n, c, h, w = args.shape
    verify_shape = args.verify_shape or [n, c, h + 64, w + 128]
    _check_shape(verify_shape, '--verify-shape')
    model, scope = load_model(args.config, args.checkpoint, args.cfg_options,
                              args.backbone_only)
    try:
        module, names = export_module(model, scope, args.backbone_only)
    except UnsupportedExportError as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    module.eval()
    out_dir = osp.dirname(osp.abspath(args.out))
    os.makedirs(out_dir, exist_ok=True)
    fd, staged = tempfile.mkstemp(prefix=f'.{osp.basename(args.out)}.tmp-', suffix='.onnx',
                                  dir=out_dir)  # renamed to OUT once verified
    os.close(fd)
    try:
        export(module, staged, args.shape, names, args.opset)
        diffs = {}
        for s in (args.shape, verify_shape):
            diffs[tuple(s)] = max_abs_diff(staged, module, s)
            print(f'onnxruntime vs PyTorch at {tuple(s)}: max abs diff {diffs[tuple(s)]:.3g}')
        worst = max(diffs.values())
        if worst > args.atol:
            print(f'error: max abs diff {worst:.3g} > --atol {args.atol}: {args.out} not written',
                  file=sys.stderr)
            return 1
        os.replace(staged, args.out)
    finally:
        if osp.exists(staged):
            os.unlink(staged)
    what = 'backbone' if args.backbone_only else type(model).__name__
    print(f'wrote {args.out} ({what}, outputs {names}, dynamic batch/height/width, opset '
          f'{args.opset})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
