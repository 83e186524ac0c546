#!/usr/bin/env python
"""Convert an official / timm / HF / mm FocalNet checkpoint into an mm-ready backbone checkpoint.

    python tools/convert_checkpoint.py SRC DST [--arch tiny-srf] [--focal-windows 9 ...]
        [--focal-levels N] [--config CFG] [--to mm|official|timm|hf] [--trusted]

The target FocalNet is described either by ``--arch`` (+ ``--focal-windows`` / ``--focal-levels``
overrides) or by the backbone of an mm config (``--config``). The checkpoint is read safely
(``--trusted`` allows full unpickling of legacy files you trust), renamed to the official names,
adapted (depth-wise kernels zero-padded or centre-cropped, extra focal levels added with zero gates,
per-output norms kept at their initial values, classification keys dropped), and checked to load
STRICTLY into that model before anything is written.

Output (``--to mm``, the default): ``{'state_dict': {'backbone.' + k: v}, 'meta': {...}}``, usable as
``load_from`` or as the backbone's ``init_cfg=dict(type='Pretrained', checkpoint=DST)``.
``--to official`` writes ``{'model': sd, 'meta': ...}`` with plain official names; ``--to timm`` /
``--to hf`` write flat state dicts with timm / HF transformers names (``.safetensors`` if DST ends so).

Exit status: 0 on success, 2 for an unusable file or arguments (the reason is printed).
"""
from __future__ import annotations

import argparse
import os
import os.path as osp
import sys

import torch
from tqdm import tqdm

from focalnet_mm.models import ARCH_SETTINGS, FocalNet
from focalnet_mm.models.checkpoint import (CheckpointError, IncompatibleCheckpointError,
                                           convert_checkpoint, official_to_hf, official_to_timm,
                                           read_checkpoint)

# Backbone config keys that only matter for training/inference, not for the tensors' layout.
_NOT_LAYOUT = ('type', 'init_cfg', 'pretrained')


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description='Convert an official/timm/HF/mm FocalNet checkpoint for a FocalNet backbone.')
    p.add_argument('src', help='source checkpoint (.pth/.pt/.bin/.safetensors)')
    p.add_argument('dst', help='output file')
    p.add_argument('--arch', default=None,
                   help=f'FocalNet preset (default tiny-srf unless --config): {sorted(ARCH_SETTINGS)}')
    p.add_argument('--focal-windows', type=int, nargs='+', default=None,
                   help='focal window (one value, or one per stage), e.g. 9 for the mm configs')
    p.add_argument('--focal-levels', type=int, nargs='+', default=None,
                   help='focal levels (one value, or one per stage)')
    p.add_argument('--config', default=None,
                   help='mmdet/mmseg config whose model.backbone describes the target FocalNet')
    p.add_argument('--to', choices=('mm', 'official', 'timm', 'hf'), default='mm',
                   help='output naming (default mm: backbone.-prefixed state_dict)')
    p.add_argument('--trusted', action='store_true',
                   help='allow full unpickling (only for files you trust: it can run code)')
    p.add_argument('--no-progress', action='store_true', help='no progress bar')
    return p.parse_args(argv)


def _one_or_list(values):
    if values is None:
        return None
    return values[0] if len(values) == 1 else list(values)


def backbone_kwargs(args) -> dict:
    """Keyword arguments of the target :class:`FocalNet` (layout only)."""
    if args.config:
        from mmengine.config import Config
        import focalnet_mm  # noqa: F401  (custom_imports of the configs)
        cfg = Config.fromfile(args.config)
        backbone = cfg.get('model', {}).get('backbone')
        if not backbone or backbone.get('type') not in ('FocalNet', 'mmdet.FocalNet',
                                                         'mmseg.FocalNet', 'mmpretrain.FocalNet'):
            raise ValueError(f'{args.config}: model.backbone is not a FocalNet '
                             f'(type={backbone.get("type") if backbone else None!r})')
        kwargs = {k: v for k, v in backbone.to_dict().items() if k not in _NOT_LAYOUT}
        if args.arch is not None:
            kwargs['arch'] = args.arch
    else:
        kwargs = dict(arch=args.arch or 'tiny-srf')
    if args.focal_windows is not None:
        kwargs['focal_windows'] = _one_or_list(args.focal_windows)
    if args.focal_levels is not None:
        kwargs['focal_levels'] = _one_or_list(args.focal_levels)
    kwargs['drop_path_rate'] = 0.  # no effect on tensors; keeps model building cheap and plain
    kwargs['frozen_stages'] = -1
    kwargs['with_cp'] = False
    return kwargs


def print_report(report, model, src, dst, to, out=sys.stdout) -> None:
    w = lambda s='': print(s, file=out)  # noqa: E731
    arch = model.arch_settings
    w(f'source: {src} (format: {report.source_format})')
    w(f'target: FocalNet embed_dims={arch["embed_dims"]}, depths={tuple(arch["depths"])}, '
      f'focal_levels={tuple(arch["focal_levels"])}, focal_windows={tuple(arch["focal_windows"])}')
    w(f'summary: {report.summary()}')
    for title, items in (('padded kernels (zero-padded, centred)', report.padded),
                         ('cropped kernels (centre-cropped)', report.cropped),
                         ('expanded focal levels (zero gates for new levels)', report.expanded)):
        w(f'{title}: {len(items)}')
        for k, a, b in items:
            w(f'  {k}: {tuple(a)} -> {tuple(b)}')
    w(f'kept at init (not in the checkpoint): {len(report.kept_at_init)}')
    for k in report.kept_at_init:
        w(f'  {k}')
    w(f'ignored classification keys: {len(report.ignored)}')
    for k in report.ignored:
        w(f'  {k}')
    w(f'strict load into the model: OK')
    w(f'saved ({to}): {dst}')


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        kwargs = backbone_kwargs(args)
        model = FocalNet(**kwargs)
        model.eval()
        ckpt = read_checkpoint(args.src, trusted=args.trusted)
        converted, report = convert_checkpoint(ckpt, model)
        sd = {}
        for k, v in tqdm(converted.items(), total=len(converted), desc='tensors', unit='tensor',
                         file=sys.stderr, disable=args.no_progress):
            sd[k] = v.detach().clone().contiguous()
        try:
            model.load_state_dict(sd, strict=True)
        except RuntimeError as e:
            raise IncompatibleCheckpointError(f'converted state dict does not load strictly: {e}') from e
    except (CheckpointError, IncompatibleCheckpointError, FileNotFoundError, ValueError,
            TypeError) as e:
        print(f'error: {type(e).__name__}: {e}', file=sys.stderr)
        return 2

    meta = dict(
        converted_by='focalnet_mm tools/convert_checkpoint.py',
        source=osp.abspath(args.src),
        source_format=report.source_format,
        backbone={k: (list(v) if isinstance(v, tuple) else v) for k, v in kwargs.items()
                  if k not in ('drop_path_rate', 'frozen_stages', 'with_cp')},
        arch_settings={k: (list(v) if isinstance(v, tuple) else v)
                       for k, v in model.arch_settings.items()},
        padded=[[k, list(a), list(b)] for k, a, b in report.padded],
        cropped=[[k, list(a), list(b)] for k, a, b in report.cropped],
        expanded=[[k, list(a), list(b)] for k, a, b in report.expanded],
        kept_at_init=list(report.kept_at_init),
        ignored=list(report.ignored))

    if args.to == 'mm':
        obj = {'state_dict': {f'backbone.{k}': v for k, v in sd.items()}, 'meta': meta}
    elif args.to == 'official':
        obj = {'model': sd, 'meta': meta}
    elif args.to == 'timm':
        obj = official_to_timm(sd, use_postln=bool(model.arch_settings.get('use_postln')))
    else:
        obj = official_to_hf(sd)
    os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
    if args.dst.endswith('.safetensors'):
        if args.to in ('mm', 'official'):
            flat = obj['state_dict'] if args.to == 'mm' else obj['model']
        else:
            flat = obj
        from safetensors.torch import save_file
        save_file({k: v.contiguous() for k, v in flat.items()}, args.dst,
                  metadata={'format': 'pt', 'converted_by': meta['converted_by'],
                            'source_format': report.source_format})
    else:
        torch.save(obj, args.dst)
    print_report(report, model, args.src, args.dst, args.to)
    return 0


if __name__ == '__main__':
    sys.exit(main())
