#!/usr/bin/env python
"""Speed and memory of FocalNet, side by side with a reference, in one process.

Each comparison runs both models interleaved (A B A B ...) after a warm-up, reports the median
and the spread (interquartile range) of each, their ratio, the peak memory of each (CPU: peak RSS
above the level before the run, via /proc; CUDA: max allocated), the max-abs difference of
their outputs with the same weights, and each model's FLOP rate as a fraction of the machine's
measured fp32 GEMM peak (roofline: convolution/matmul FLOPs counted by torch's FLOP counter on
the reference ops, divided by the median time). The header states the machine: CPU model, ISA
(the flags ``lscpu`` shows, and the kernels torch dispatches to), threads, load average.

Our model runs as the project's inference paths run it: ``--accel on`` applies the measured CPU
inference kernels (``focalnet_mm.models.cpu_accel.accelerate``; their one-time micro-benchmark
runs before the timings, and the kernels chosen per block configuration are printed), ``off``
the reference model alone. In ``train``, ``--accel on`` applies the measured backward of the
depth-wise convolutions (``focalnet_mm.models.train_accel.accelerate_training``), to the model
compared with timm and to both sides of the with_cp comparison.

  backbone   FocalNet vs timm's FocalNet (features), same weights     default 1x3x800x1216
  train      forward+backward+AdamW step of the backbone, vs timm,
             and ours with/without with_cp (peak memory)             default 1x3x512x768
  detector   FocalNet-T Mask R-CNN vs mmdet's Swin-T Mask R-CNN        default 1x3x800x1216
  segmentor  FocalNet-T UPerNet vs mmseg's Swin-T UPerNet              default 2x3x512x512

Examples:
  python tools/benchmark.py backbone --channels-last off on --accel off on   # each optimisation
  python tools/benchmark.py backbone --compile on --accel off             # vs torch.compile
  python tools/benchmark.py backbone --dtype fp32 bf16 --channels-last on off
  python tools/benchmark.py detector --reps 5 --json work_dirs/bench_det.json
  python tools/benchmark.py train --with-cp on off --accel on off
  python tools/benchmark.py train --compile on --accel off --with-cp off    # vs torch.compile
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import statistics
import subprocess
import time
from contextlib import nullcontext
from itertools import product
from typing import Callable

import torch

import focalnet_mm
from focalnet_mm import FocalNet
from focalnet_mm.models.checkpoint import official_to_timm
from focalnet_mm.models.cpu_accel import KernelPlanner, accelerate, machine_key, plans_in_use
from focalnet_mm.models.train_accel import GradPlanner, accelerate_training
from focalnet_mm.runner_utils import build_model

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DTYPES = {'fp32': None, 'bf16': torch.bfloat16, 'fp16': torch.float16}
DEFAULT_SIZES = {'backbone': (1, 800, 1216), 'train': (1, 512, 768),
                 'detector': (1, 800, 1216), 'segmentor': (2, 512, 512)}


# ----------------------------------------------------------------------------- measurement
class PeakMemory:
    """Peak memory (MiB) of a block of code above the level at its start.

    CUDA: max allocated. CPU: peak RSS (VmHWM). With glibc's default allocator, freed blocks stay in
    the heap and are reused in a pattern-dependent way (a with_cp/no_cp ratio measured 0.49..0.66
    in repeated runs); run with ``MALLOC_MMAP_THRESHOLD_=65536`` for RSS to follow the live tensors
    as CUDA's counter does (every allocation of 64 KiB or more is its own mmap, unmapped when
    freed: reproducible to the MiB, but timings then include the page faults).
    """

    def __init__(self, device: str):
        self.device = device

    @staticmethod
    def _proc_mib(field: str) -> float:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1]) / 1024
        return float('nan')

    def __enter__(self):
        if self.device == 'cuda':
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self.start = torch.cuda.memory_allocated() / 2**20
        else:
            _malloc_trim()  # hand freed heap back to the OS, so that reuse does not hide the peak
            try:  # '5' resets the peak RSS (VmHWM) of this process (Linux >= 4.0)
                with open('/proc/self/clear_refs', 'w') as f:
                    f.write('5')
            except OSError:
                pass
            self.start = self._proc_mib('VmRSS')
        return self

    def __exit__(self, *exc):
        if self.device == 'cuda':
            torch.cuda.synchronize()
            peak = torch.cuda.max_memory_allocated() / 2**20
        else:
            peak = self._proc_mib('VmHWM')
        self.mib = peak - self.start


def _malloc_trim() -> None:
    try:
        import ctypes
        ctypes.CDLL('libc.so.6').malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _sync(device: str) -> None:
    if device == 'cuda':
        torch.cuda.synchronize()


def interleaved(fns: dict[str, Callable], device: str, reps: int, warmup: int) -> dict[str, list]:
    """Times each fn ``reps`` times, alternating between them, after ``warmup`` calls of each."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    _sync(device)
    times = {name: [] for name in fns}
    for _ in range(reps):
        for name, fn in fns.items():
            _sync(device)
            t0 = time.perf_counter()
            fn()
            _sync(device)
            times[name].append(time.perf_counter() - t0)
    return times


def stats(ts: list) -> dict:
    q = statistics.quantiles(ts, n=4) if len(ts) >= 2 else [ts[0]] * 3
    return dict(median_ms=1e3 * statistics.median(ts), iqr_ms=1e3 * (q[2] - q[0]), n=len(ts))


def max_abs(a, b) -> float:
    if isinstance(a, torch.Tensor):
        return (a.float() - b.float()).abs().max().item()
    return max(max_abs(x, y) for x, y in zip(a, b))


def count_flops(fn: Callable) -> float:
    """FLOPs of one call of ``fn`` (convolutions, matmuls; forward and backward) by torch's FLOP
    counter. Under its dispatch mode the accelerated blocks run the reference ops, which the
    counter knows."""
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as counter:
        fn()
    return float(counter.get_total_flops())


def gemm_peak_gflops(device: str, n: int = 2048, reps: int = 5) -> float:
    """The machine's fp32 GEMM rate: best of ``reps`` n x n x n ``torch.mm`` (2 n^3 FLOPs each),
    with the threads torch uses; the roofline the model rows are compared with."""
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    torch.mm(a, b)
    best = float('inf')
    for _ in range(reps):
        _sync(device)
        t0 = time.perf_counter()
        torch.mm(a, b)
        _sync(device)
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


# ----------------------------------------------------------------------------- models
def backbone_pair(arch: str, windows, levels, device: str, channels_last: bool):
    """Ours and timm's FocalNet with the same weights (timm is the reference)."""
    import timm
    kw = dict(drop_path_rate=0.)
    if windows is not None:
        kw['focal_windows'] = windows
    if levels is not None:
        kw['focal_levels'] = levels
    ours = FocalNet(arch, channels_last=channels_last, **kw)
    s = ours.arch_settings
    ref = timm.create_model('focalnet_' + arch.replace('-', '_'), pretrained=False, num_classes=0,
                            focal_windows=s['focal_windows'], focal_levels=s['focal_levels'],
                            normalize_modulator=s['normalize_modulator'])
    missing, unexpected = ref.load_state_dict(official_to_timm(ours.state_dict(), s['use_postln']),
                                              strict=False)
    assert not unexpected and all(k.startswith(('head', 'norm.')) for k in missing)
    # timm as its users run it (NCHW contiguous, its fastest layout here: channels_last makes its
    # LayerNorm2d permutes copy); ours converts the NCHW input to its own layout inside forward
    return ours.to(device), ref.to(device)


class TimmFeatures(torch.nn.Module):
    """timm's features with our per-output norms, so outputs are comparable."""

    def __init__(self, ref, ours):
        super().__init__()
        self.ref, self.norms = ref, [getattr(ours, f'norm{i}') for i in range(4)]

    def forward(self, x):
        feats = self.ref.forward_intermediates(x, intermediates_only=True)
        return tuple(n(f) for n, f in zip(self.norms, feats))


def mm_model(cfg_path: str, scope: str, device: str, backbone_overrides: dict = None):
    """The config's model without its pretrained backbone checkpoint, in eval mode on ``device``."""
    from mmengine.config import Config
    cfg = Config.fromfile(cfg_path)
    cfg.model.backbone.update(backbone_overrides or {})
    return build_model(cfg, scope).to(device).eval()  # SyncBN in eval mode needs no process group


def det_inputs(batch: int, h: int, w: int, device: str):
    from mmdet.structures import DetDataSample
    x = (torch.rand(batch, 3, h, w, device=device) * 255).to(torch.uint8)
    samples = []
    for _ in range(batch):
        s = DetDataSample()
        s.set_metainfo(dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w),
                            batch_input_shape=(h, w), scale_factor=(1.0, 1.0)))
        samples.append(s)
    return x, samples


# ----------------------------------------------------------------------------- benchmarks
def autocast(device: str, dtype):
    return torch.autocast(device, dtype=dtype) if dtype is not None else nullcontext()


def maybe_compile(model, on: bool):
    return torch.compile(model) if on else model


def maybe_accelerate(model, on: bool, args):
    """The measured CPU inference kernels (no-ops off the CPU and in training)."""
    if on:
        accelerate(model, args.planner)
    return model


def maybe_accelerate_training(model, on: bool, args):
    """The measured CPU training backward of the depth-wise convolutions (no-op elsewhere)."""
    if on:
        accelerate_training(model, args.grad_planner)
    return model


def run_pair(name_a, fn_a, name_b, fn_b, args, device, flops: dict | None = None) -> dict:
    """``flops``: name -> FLOPs of one call, where counting the call itself would be wrong."""
    fn_a()  # untimed: compiles, plans the accelerated kernels (their micro-benchmark)
    fn_b()
    times = interleaved({name_a: fn_a, name_b: fn_b}, device, args.reps, args.warmup)
    row = {name_a: stats(times[name_a]), name_b: stats(times[name_b])}
    for name, fn in ((name_a, fn_a), (name_b, fn_b)):
        row[name]['images_per_s'] = args.size[0] / (row[name]['median_ms'] / 1e3)
        with PeakMemory(device) as mem:
            fn()
        row[name]['peak_mib'] = mem.mib
        if args.gemm_peak and not args.no_flops:
            row[name]['gflop'] = (flops[name] if flops else count_flops(fn)) / 1e9
            row[name]['peak_fraction'] = (row[name]['gflop'] / (row[name]['median_ms'] / 1e3)
                                          / args.gemm_peak)
    row['speedup'] = row[name_b]['median_ms'] / row[name_a]['median_ms']
    row['pair'] = [name_a, name_b]
    return row


def bench_backbone(args, device) -> list[dict]:
    b, h, w = args.size
    rows = []
    for dtype_name, cl, acc, comp in product(args.dtype, args.channels_last, args.accel, args.compile):
        if acc == 'on' and (cl == 'off' or device != 'cpu' or dtype_name != 'fp32' or comp == 'on'):
            continue  # the kernels are CPU fp32 channels_last eager only: the same as accel=off
        ours, ref = backbone_pair(args.arch, args.windows, args.levels, device, cl == 'on')
        ref_feats = TimmFeatures(ref, ours).eval()
        maybe_accelerate(ours.eval(), acc == 'on', args)
        x = torch.randn(b, 3, h, w, device=device)  # an NCHW image batch, as a data loader gives
        f_ours, f_ref = maybe_compile(ours, comp == 'on'), maybe_compile(ref_feats, comp == 'on')
        dtype = DTYPES[dtype_name]

        def fwd(model):
            def run():
                with torch.no_grad(), autocast(device, dtype):
                    return model(x)
            return run

        row = run_pair('ours', fwd(f_ours), 'timm', fwd(f_ref), args, device)
        row['max_abs_diff'] = max_abs(fwd(f_ours)(), fwd(f_ref)())
        row.update(setting=f'{args.arch} {dtype_name} channels_last={cl} accel={acc} compile={comp}',
                   input=f'{b}x3x{h}x{w}')
        if acc == 'on':
            row['kernels'] = plans_in_use(ours)
        rows.append(row)
        print_row(row, 'ours', 'timm')
    return rows


def bench_train(args, device) -> list[dict]:
    b, h, w = args.size
    rows = []
    settings = product(args.dtype, args.channels_last, args.accel, args.compile)
    for dtype_name, cl, acc, comp in settings:
        if acc == 'on' and (device != 'cpu' or dtype_name != 'fp32' or comp == 'on'):
            continue  # the fast backward is CPU fp32 eager only: the same as accel=off
        dtype = DTYPES[dtype_name]
        x = torch.randn(b, 3, h, w, device=device)

        def step_fn(model, feats):
            opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)

            def run():
                with autocast(device, dtype):
                    loss = sum(f.float().square().mean() for f in feats(x))
                loss.backward()
                opt.step()
                opt.zero_grad(set_to_none=True)
            return run

        ours, ref = backbone_pair(args.arch, args.windows, args.levels, device, cl == 'on')
        ours.train()
        ref_feats = TimmFeatures(ref, ours).train()
        step_flops = None
        if args.gemm_peak and not args.no_flops:
            # A step is 3x the forward (backward: grad input + grad weight). Counting the step
            # itself is wrong: torch's counter ignores `groups` in convolution_backward and counts
            # each depth-wise conv's backward as a dense conv (18x the forward for FocalNet-T).
            with torch.no_grad():
                fwd = 3 * count_flops(lambda: ours(x))
            step_flops = dict(ours=fwd, timm=fwd, with_cp=fwd, no_cp=fwd)
        maybe_accelerate_training(ours, acc == 'on', args)
        row = run_pair('ours', step_fn(ours, maybe_compile(ours, comp == 'on')), 'timm',
                       step_fn(ref, maybe_compile(ref_feats, comp == 'on')), args, device,
                       step_flops)
        row.update(setting=f'train {args.arch} {dtype_name} channels_last={cl} accel={acc} '
                           f'compile={comp}', input=f'{b}x3x{h}x{w}')
        if acc == 'on':
            row['kernels'] = dict(args.grad_planner.measurements)
        rows.append(row)
        print_row(row, 'ours', 'timm')
        for cp_flag in args.with_cp:
            if cp_flag == 'off' or comp == 'on':
                continue
            plain, _ = backbone_pair(args.arch, args.windows, args.levels, device, cl == 'on')
            with_cp = FocalNet(args.arch, drop_path_rate=0., with_cp=True, channels_last=cl == 'on',
                               **({'focal_windows': args.windows} if args.windows else {}),
                               **({'focal_levels': args.levels} if args.levels else {})).to(device)
            with_cp.load_state_dict(plain.state_dict())
            plain.train(), with_cp.train()
            maybe_accelerate_training(plain, acc == 'on', args)
            maybe_accelerate_training(with_cp, acc == 'on', args)
            row = run_pair('with_cp', step_fn(with_cp, with_cp), 'no_cp', step_fn(plain, plain),
                           args, device, step_flops)
            row['memory_ratio'] = row['with_cp']['peak_mib'] / max(row['no_cp']['peak_mib'], 1e-9)
            row.update(setting=f'train {args.arch} {dtype_name} channels_last={cl} accel={acc}: '
                               'with_cp vs not', input=f'{b}x3x{h}x{w}')
            rows.append(row)
            print_row(row, 'with_cp', 'no_cp')
    return rows


def bench_detector(args, device) -> list[dict]:
    b, h, w = args.size
    import mmdet
    ours = maybe_accelerate(mm_model(os.path.join(ROOT, args.det_config), 'mmdet', device),
                            args.accel[0] == 'on', args)
    swin_cfg = os.path.join(os.path.dirname(mmdet.__file__), '.mim', 'configs', 'swin',
                            'mask-rcnn_swin-t-p4-w7_fpn_1x_coco.py')
    ref = mm_model(swin_cfg, 'mmdet', device)
    x, samples = det_inputs(b, h, w, device)
    rows = []
    for dtype_name in args.dtype:
        dtype = DTYPES[dtype_name]

        def predict(model):
            def run():
                with torch.no_grad(), autocast(device, dtype):  # preprocess + predict, as mm runs it
                    return model.test_step({'inputs': list(x), 'data_samples': samples})
            return run

        row = run_pair('focalnet-t', predict(ours), 'swin-t', predict(ref), args, device)
        row.update(setting=f'Mask R-CNN end-to-end predict {dtype_name} accel={args.accel[0]}',
                   input=f'{b}x3x{h}x{w}')
        # Untrained heads: the boxes passing the score threshold (hence the mask head's work)
        # differ between the two models, and so does the time after the backbone.
        for name, model in (('focalnet-t', ours), ('swin-t', ref)):
            row[name]['detections'] = sum(len(s.pred_instances) for s in predict(model)())
        rows.append(row)
        print_row(row, 'focalnet-t', 'swin-t')
        print(f"    detections per batch: focalnet-t {row['focalnet-t']['detections']}, "
              f"swin-t {row['swin-t']['detections']}", flush=True)
    return rows


def bench_segmentor(args, device) -> list[dict]:
    b, h, w = args.size
    import mmseg
    ours = maybe_accelerate(mm_model(os.path.join(ROOT, args.seg_config), 'mmseg', device),
                            args.accel[0] == 'on', args)
    swin_cfg = os.path.join(os.path.dirname(mmseg.__file__), '.mim', 'configs', 'swin',
                            'swin-tiny-patch4-window7-in1k-pre_upernet_8xb2-160k_ade20k-512x512.py')
    ref = mm_model(swin_cfg, 'mmseg', device)
    x = torch.randn(b, 3, h, w, device=device)
    rows = []
    for dtype_name in args.dtype:
        dtype = DTYPES[dtype_name]

        def forward(model):
            def run():
                with torch.no_grad(), autocast(device, dtype):
                    return model(x, mode='tensor')
            return run

        row = run_pair('focalnet-t', forward(ours), 'swin-t', forward(ref), args, device)
        row.update(setting=f'UPerNet forward {dtype_name} accel={args.accel[0]}',
                   input=f'{b}x3x{h}x{w}')
        rows.append(row)
        print_row(row, 'focalnet-t', 'swin-t')
    return rows


# ----------------------------------------------------------------------------- output
def _fraction(stats_: dict) -> str:
    return f", {100 * stats_['peak_fraction']:.0f}% of peak" if 'peak_fraction' in stats_ else ''


def print_row(row: dict, a: str, b: str) -> None:
    extra = ''
    if 'max_abs_diff' in row:
        extra = f"  max|diff| {row['max_abs_diff']:.1e}"
    if 'memory_ratio' in row:
        extra += f"  memory {a}/{b} {row['memory_ratio']:.2f}"
    print(f"{row['setting']:<58} {row['input']:>12}  {a} {row[a]['median_ms']:9.1f} ms "
          f"(iqr {row[a]['iqr_ms']:.1f}, {row[a]['images_per_s']:.2f} img/s, "
          f"{row[a]['peak_mib']:.0f} MiB{_fraction(row[a])})  {b} {row[b]['median_ms']:9.1f} ms "
          f"(iqr {row[b]['iqr_ms']:.1f}, {row[b]['images_per_s']:.2f} img/s, "
          f"{row[b]['peak_mib']:.0f} MiB{_fraction(row[b])})  speedup {row['speedup']:.2f}x{extra}",
          flush=True)
    for key, record in row.get('kernels', {}).items():
        times = ', '.join(f'{name} {1e3 * t:.1f}' for name, t in record.items() if name != 'chosen')
        print(f"    kernels {key}: {record['chosen']}  (medians ms: {times})", flush=True)


def markdown(rows: list[dict]) -> str:
    lines = ['| setting | input | A | A median ms (IQR) | A img/s | A peak MiB | A % GEMM peak | B | '
             'B median ms (IQR) | B img/s | B peak MiB | B % GEMM peak | speedup B/A | max abs diff |',
             '|' + '---|' * 14]
    for r in rows:
        a, b = r['pair']
        diff = f"{r['max_abs_diff']:.1e}" if 'max_abs_diff' in r else ''
        frac = {k: f"{100 * r[k]['peak_fraction']:.0f}" if 'peak_fraction' in r[k] else ''
                for k in (a, b)}
        lines.append(f"| {r['setting']} | {r['input']} | {a} | {r[a]['median_ms']:.1f} "
                     f"({r[a]['iqr_ms']:.1f}) | {r[a]['images_per_s']:.2f} | {r[a]['peak_mib']:.0f} | "
                     f"{frac[a]} | {b} | {r[b]['median_ms']:.1f} ({r[b]['iqr_ms']:.1f}) | "
                     f"{r[b]['images_per_s']:.2f} | {r[b]['peak_mib']:.0f} | {frac[b]} | "
                     f"{r['speedup']:.2f}x | {diff} |")
    return '\n'.join(lines)


ISA_FLAGS = ('avx2', 'fma', 'avx512f', 'avx512bw', 'avx512vl', 'avx512_vnni', 'avx512_bf16',
             'avx_vnni', 'amx_tile', 'amx_bf16', 'amx_int8')


def cpu_flags() -> set:
    """The CPU's feature flags, as ``lscpu`` lists them (its 'Flags' line; /proc/cpuinfo if
    lscpu is missing)."""
    try:
        out = subprocess.run(['lscpu'], capture_output=True, text=True, timeout=10).stdout
        for line in out.splitlines():
            if line.startswith('Flags:'):
                return set(line.split(':', 1)[1].split())
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('flags'):
                    return set(line.split(':', 1)[1].split())
    except OSError:
        pass
    return set()


def isa_line() -> str:
    flags = cpu_flags()
    has = [f for f in ISA_FLAGS if f in flags]
    lacks = [f for f in ('avx512f', 'amx_tile') if f not in flags]
    caps = [f'{k}={os.environ[k]}' for k in ('ONEDNN_MAX_CPU_ISA', 'ATEN_CPU_CAPABILITY',
                                             'MKL_ENABLE_INSTRUCTIONS') if os.environ.get(k)]
    return (f'lscpu flags: {" ".join(has) or "none of " + ",".join(ISA_FLAGS)}'
            f'{" (no " + ", ".join(lacks) + ")" if lacks else ""}; torch CPU kernels: '
            f'{torch.backends.cpu.get_cpu_capability()}'
            f'{"; caps " + " ".join(caps) if caps else ""}')


def machine(device: str) -> str:
    if device == 'cuda':
        return f'{torch.cuda.get_device_name()} (torch {torch.__version__})'
    load = ', '.join(f'{v:.2f}' for v in os.getloadavg())
    return f'{machine_key()}; {os.cpu_count()} cores; load average {load}'


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('what', nargs='+', choices=['backbone', 'train', 'detector', 'segmentor'])
    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    p.add_argument('--dtype', nargs='+', default=['fp32'], choices=list(DTYPES))
    p.add_argument('--channels-last', nargs='+', default=['on'], choices=['on', 'off'])
    p.add_argument('--compile', nargs='+', default=['off'], choices=['on', 'off'])
    p.add_argument('--accel', nargs='+', default=['on'], choices=['on', 'off'],
                   help='measured CPU kernels on our model: inference kernels, and in `train` the '
                   'depth-wise convolutions\' fast backward (off: the reference model alone; '
                   'detector/segmentor: the first value)')
    p.add_argument('--accel-cache', default=None,
                   help='JSON file of measured kernel choices to reuse and extend (default: '
                   'measure in this run)')
    p.add_argument('--no-flops', action='store_true',
                   help='skip the FLOP count (roofline fraction) of each model')
    p.add_argument('--with-cp', nargs='+', default=['on'], choices=['on', 'off'],
                   help='train: also compare with_cp=True against False (memory)')
    p.add_argument('--arch', default='tiny-srf')
    p.add_argument('--windows', type=int, nargs='+', default=[9],
                   help='focal windows (dense-prediction configs use 9)')
    p.add_argument('--levels', type=int, nargs='+', default=None)
    p.add_argument('--size', type=int, nargs=3, metavar=('BATCH', 'H', 'W'),
                   help='input size (default per benchmark, see above)')
    p.add_argument('--reps', type=int, default=6)
    p.add_argument('--warmup', type=int, default=1)
    p.add_argument('--threads', type=int, default=None, help='torch CPU threads')
    p.add_argument('--det-config', default='configs/mmdet/mask-rcnn_focalnet-t-srf_fpn_1x_coco.py')
    p.add_argument('--seg-config', default='configs/mmseg/upernet_focalnet-t-srf_8xb2-160k_ade20k-512x512.py')
    p.add_argument('--json', help='write the rows here')
    p.add_argument('--markdown', help='write a Markdown table here')
    args = p.parse_args(argv)
    if args.windows and len(args.windows) == 1:
        args.windows = args.windows[0]
    return args


def main(argv=None) -> list[dict]:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = args.device
    args.planner = KernelPlanner(cache_file=args.accel_cache)
    args.grad_planner = GradPlanner()
    args.gemm_peak = gemm_peak_gflops(device)
    header = {'machine': machine(device), 'isa': isa_line() if device == 'cpu' else device,
              'fp32_gemm_peak_gflops': args.gemm_peak}
    print(f"# machine: {header['machine']}\n# {header['isa']}\n# fp32 GEMM peak "
          f"{args.gemm_peak:.0f} GFLOP/s (torch.mm 2048^3, best of 5, {torch.get_num_threads()} "
          f"threads); reps {args.reps}, warm-up {args.warmup}, interleaved")
    benches = dict(backbone=bench_backbone, train=bench_train, detector=bench_detector,
                   segmentor=bench_segmentor)
    rows = []
    size = args.size
    for what in args.what:
        args.size = size or DEFAULT_SIZES[what]
        rows += benches[what](args, device)
    print()
    print(markdown(rows))
    result = dict(header, focalnet_mm=focalnet_mm.__version__, rows=rows)
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=1)
    if args.markdown:
        with open(args.markdown, 'w') as f:
            f.write(f'Machine: {header["machine"]}; {header["isa"]}; fp32 GEMM peak '
                    f'{args.gemm_peak:.0f} GFLOP/s\n\n{markdown(rows)}\n')
    return rows


if __name__ == '__main__':
    main()
