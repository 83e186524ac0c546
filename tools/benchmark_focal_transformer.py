#!/usr/bin/env python
"""CPU/GPU speed of the FocalTransformer backbone next to references, in one process.

Rows (backbone forward, eval, no autograd, fp32, default 1x3x800x1216):

  swin      ours (Focal-T) vs mmdet's SwinTransformer with the Swin-T settings (C=96, depths
            2/2/6/2, window 7), the backbone mmdet's Swin-T detectors use
  official  ours vs the official classification model (tests/data/focal_transformer_official.py)
            built for the same input size, with the same weights (max abs difference shown)

Each row runs both models interleaved (A B A B ...) after a warm-up and reports the median of
each and their ratio, in the table format of the README's speed section.

    python tools/benchmark_focal_transformer.py                     # both rows
    python tools/benchmark_focal_transformer.py --rows swin --reps 9 --size 1 800 1216
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import os.path as osp
import platform
import statistics
import time
from typing import Callable

import torch

from focalnet_mm.models.focal_transformer import FocalTransformer

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
OFFICIAL_FILE = osp.join(ROOT, 'tests', 'data', 'focal_transformer_official.py')


def interleaved(fns: dict[str, Callable], reps: int, warmup: int) -> dict[str, list[float]]:
    """Seconds per call of each fn, ``reps`` times, alternating between them after ``warmup``."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times = {name: [] for name in fns}
    for _ in range(reps):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def swin_t():
    from mmdet.models.backbones import SwinTransformer
    return SwinTransformer(embed_dims=96, depths=(2, 2, 6, 2), num_heads=(3, 6, 12, 24),
                           window_size=7, drop_path_rate=0., out_indices=(0, 1, 2, 3))


def official_model(h: int, w: int, ours: FocalTransformer):
    """The official Focal-T built for an h x w input, holding ``ours``' weights."""
    spec = importlib.util.spec_from_file_location('focal_transformer_official', OFFICIAL_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    s = ours.arch_settings
    ref = module.FocalTransformer(
        img_size=(h, w), embed_dim=s['embed_dims'], depths=list(s['depths']),
        num_heads=list(s['num_heads']), window_size=s['window_size'], focal_pool=s['focal_pool'],
        focal_levels=list(s['focal_levels']), focal_windows=list(s['focal_windows']),
        expand_sizes=list(s['expand_sizes']), use_conv_embed=s['use_conv_embed'],
        drop_path_rate=0.)
    sd = ours.state_dict()
    missing, unexpected = ref.load_state_dict(sd, strict=False)
    # the official index buffers (we compute ours), its head and final norm, our per-output
    # norms; stage-4 ring tables where the official map is a single window (see the backbone)
    allowed = ('relative_position_index', 'valid_ind', 'relative_position_bias_table_to_neighbors')
    assert all(k.startswith(('norm', 'head')) or any(a in k for a in allowed)
               for k in unexpected + missing), (missing, unexpected)
    return ref


class OfficialFeatures(torch.nn.Module):
    """The official model's stage outputs with our per-output norms, NCHW like ours."""

    def __init__(self, ref, ours: FocalTransformer, h: int, w: int):
        super().__init__()
        self.ref, self.ours, self.hw = ref, ours, (h // 4, w // 4)

    def forward(self, x):
        outs = []
        x = self.ref.patch_embed(x)
        for i, layer in enumerate(self.ref.layers):
            for block in layer.blocks:
                x = block(x)
            h, w = self.hw[0] // 2**i, self.hw[1] // 2**i
            outs.append(getattr(self.ours, f'norm{i}')(x.view(x.shape[0], h, w, -1))
                        .permute(0, 3, 1, 2))
            if layer.downsample is not None:
                x = layer.downsample(x.view(x.shape[0], h, w, -1).permute(0, 3, 1, 2))
        return tuple(outs)


def max_abs(a, b) -> float:
    return max((x - y).abs().max().item() for x, y in zip(a, b))


def run(args) -> list[dict]:
    torch.manual_seed(0)
    n, h, w = args.size
    x = torch.randn(n, 3, h, w)
    ours = FocalTransformer(args.arch, drop_path_rate=0.).eval()
    ours.init_weights()
    rows = []
    for row in args.rows:
        if row == 'swin':
            ref, ref_name = swin_t(), 'Swin-T'
            ref.init_weights()
            ref.eval()  # (mmdet's Swin train() returns None: no chaining)
        else:
            ref = OfficialFeatures(official_model(h, w, ours), ours, h, w).eval()
            ref_name = 'official'
        with torch.no_grad():
            diff = max_abs(ours(x), ref(x)) if row == 'official' else None
            times = interleaved({'ours': lambda: ours(x), ref_name: lambda: ref(x)},
                                args.reps, args.warmup)
        med = {k: 1e3 * statistics.median(v) for k, v in times.items()}
        rows.append(dict(setting=f'backbone forward, Focal-{args.arch[0].upper()} vs {ref_name}',
                         input=f'{n}x3x{h}x{w}', ours_ms=med['ours'], ref=ref_name,
                         ref_ms=med[ref_name], speedup=med[ref_name] / med['ours'],
                         max_abs_diff=diff))
        del ref
    return rows


def markdown(rows: list[dict]) -> str:
    lines = ['| setting | input | ours ms | reference ms | speedup | max abs diff |',
             '|---|---|---|---|---|---|']
    for r in rows:
        diff = '' if r['max_abs_diff'] is None else f"{r['max_abs_diff']:.1e}"
        lines.append(f"| {r['setting']} | {r['input']} | {r['ours_ms']:.0f} | "
                     f"{r['ref']} {r['ref_ms']:.0f} | {r['speedup']:.2f}x | {diff} |")
    return '\n'.join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--rows', nargs='+', choices=['swin', 'official'],
                        default=['swin', 'official'])
    parser.add_argument('--arch', default='tiny', help='FocalTransformer preset (default tiny)')
    parser.add_argument('--size', nargs=3, type=int, default=[1, 800, 1216],
                        metavar=('N', 'H', 'W'))
    parser.add_argument('--reps', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=1)
    return parser.parse_args(argv)


def main(argv=None) -> list[dict]:
    args = parse_args(argv)
    load = os.getloadavg()[0] if hasattr(os, 'getloadavg') else float('nan')
    print(f'# {platform.processor() or platform.machine()}, torch {torch.__version__}, '
          f'{torch.get_num_threads()} threads, load average {load:.2f} at start; '
          f'reps {args.reps}, warm-up {args.warmup}, interleaved, median', flush=True)
    rows = run(args)
    print(markdown(rows))
    return rows


if __name__ == '__main__':
    main()
