"""Faster CPU inference for a FocalNet model, chosen by measurement on the machine at hand.

:func:`accelerate` gives the FocalNet blocks of a model (a backbone, or a detector/segmentor holding
one) an alternative forward for CPU fp32 inference, built from oneDNN's fused convolutions (the
fusions that torch.compile's CPU backend emits, called in eager mode):

* each focal level's depth-wise convolution + GELU in one kernel, optionally on an NCHW (planar)
  copy of the map, where oneDNN's planar depth-wise kernel can beat its channels_last one;
* ``h(ctx_all) * q`` in one kernel (``normalize_modulator`` folded into ``h``'s weight);
* ``proj`` and ``fc2`` adding the residual in the same kernel (layerscale folded into the weights);
* the MLP in bands of rows (norm2 + fc1 + GELU, then fc2 added into the residual in place), so
  the 4C hidden map is never allocated whole and a band's activations stay in cache.

Nothing is assumed about which of these pays off: kernels run at different speeds on different
CPUs (oneDNN's AVX2 and AVX-512 kernels differ in blocking and in which layouts they favour). The
first time a block configuration meets an input of a new size class, a short interleaved
micro-benchmark on that very input times the reference forward against the candidates, and a
candidate is adopted only if it is faster by ``margin``; otherwise the block keeps the reference.
Choices are cached in memory, per machine (CPU model, ISA, torch version, threads), and optionally
in a JSON file. The state_dict is not touched; outputs equal the reference's within float
rounding (tested).

The reference forward runs whenever the fused kernels do not apply: training mode, autograd,
autocast, a non-fp32 or non-CPU tensor, a contiguous (non channels_last) map, torch.compile or
jit tracing, a dispatch mode (FLOP counters, fake tensors), forward hooks on the block or any of
its modules, or a torch build without the kernels (checked once, with a numerical smoke test).
"""
from __future__ import annotations

import functools
import json
import math
import os
import platform
import statistics
import threading
import time
from dataclasses import asdict, dataclass
from typing import Callable, Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.modules.module import _global_forward_hooks, _global_forward_pre_hooks

from .focalnet import FocalModulation, FocalNetBlock, Mlp

__all__ = ['AcceleratedFocalNetBlock', 'BlockPlan', 'FixedPlanner', 'KernelPlanner', 'REFERENCE',
           'SharedPlannerState', 'accelerate', 'choose', 'default_cache_file',
           'fused_kernels_available', 'machine_key', 'plans_in_use', 'remove_acceleration']

MIB = 2**20


# ----------------------------------------------------------------------------------- plans
@dataclass(frozen=True)
class BlockPlan:
    """The kernels one block runs. ``fused=False`` is the reference forward."""
    fused: bool = False
    planar: bool = False   # focal levels' depth-wise convs on an NCHW copy
    band_bytes: int = 0    # MLP in bands of rows of at most this many hidden bytes (0: whole map)

    def describe(self) -> str:
        if not self.fused:
            return 'reference'
        parts = ['fused'] + (['planar depth-wise'] if self.planar else [])
        if self.band_bytes:
            parts.append(f'MLP bands {self.band_bytes / MIB:g} MiB')
        return ' + '.join(parts)


REFERENCE = BlockPlan()


def choose(times: dict[BlockPlan, list[float]], margin: float) -> BlockPlan:
    """Walks the candidates in ``times`` in order (the reference first, then ever more kernels)
    and switches to one only if its median time is below ``(1 - margin)`` x the current choice's:
    a kernel is adopted only when it is clearly faster, never on a tie or on noise."""
    medians = {plan: statistics.median(ts) for plan, ts in times.items()}
    chosen = next(iter(medians))
    for plan, median in medians.items():
        if median < (1. - margin) * medians[chosen]:
            chosen = plan
    return chosen


def interleaved_times(runs: dict, reps: int, timer: Callable[[], float]) -> dict[object, list]:
    """One warm-up call of each run (first-touch allocations, oneDNN's primitive cache), then
    ``reps`` timed calls of each, interleaved: ``{key: [seconds, ...]}``."""
    for run in runs.values():
        run()
    times = {key: [] for key in runs}
    for _ in range(reps):
        for key, run in runs.items():
            t0 = timer()
            run()
            times[key].append(timer() - t0)
    return times


# ----------------------------------------------------------------------------------- machine
def _cpu_model() -> str:
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_key() -> str:
    """What kernel speeds depend on: CPU model, the ISA ATen dispatches to, ISA caps set for
    oneDNN/ATen/MKL, torch version, threads."""
    caps = ','.join(f'{k}={os.environ[k]}' for k in
                    ('ONEDNN_MAX_CPU_ISA', 'DNNL_MAX_CPU_ISA', 'ATEN_CPU_CAPABILITY',
                     'MKL_ENABLE_INSTRUCTIONS') if os.environ.get(k))
    return (f'{_cpu_model()} | {torch.backends.cpu.get_cpu_capability()}'
            f'{" (" + caps + ")" if caps else ""} | torch {torch.__version__} | '
            f'{torch.get_num_threads()} threads')


def default_cache_file() -> Optional[str]:
    """The plan cache the project's tools use: ``$FOCALNET_MM_ACCEL_CACHE`` if set (a JSON file
    path), else None (plans measured once per process and kept in memory)."""
    return os.environ.get('FOCALNET_MM_ACCEL_CACHE') or None


# ----------------------------------------------------------------------------------- kernels
def _conv(x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor], *,
          groups: int = 1, unary: str = 'none', binary: Optional[str] = None,
          other: Optional[torch.Tensor] = None, inplace: bool = False) -> torch.Tensor:
    """Stride-1 'same' convolution with a fused post-op (oneDNN): ``unary(conv(x))`` or
    ``conv(x) <binary> other``; a Linear weight is taken as a 1x1 kernel. ``inplace`` (binary
    'add') writes into ``other``, which may be a channels_last-contiguous view."""
    if weight.dim() == 2:
        weight = weight[:, :, None, None]
    pad, one = [weight.shape[-1] // 2] * 2, [1, 1]
    ops = torch.ops.mkldnn
    if binary is None:  # 'gelu' with algorithm 'none': the exact (erf) GELU, as nn.GELU()
        return ops._convolution_pointwise(x, weight, bias, pad, one, one, groups, unary, [],
                                          'none' if unary == 'gelu' else None)
    if inplace:
        return ops._convolution_pointwise_.binary(other, x, weight, bias, pad, one, one, groups,
                                                  binary, None, None, [], None)
    return ops._convolution_pointwise.binary(x, other, weight, bias, pad, one, one, groups,
                                             binary, None, None, [], None)


def _scaled(linear: nn.Linear, gamma: Union[torch.Tensor, float]) -> tuple:
    """``gamma * linear(x)`` as one linear map (layerscale folded into the weights)."""
    if not isinstance(gamma, torch.Tensor):
        return linear.weight, linear.bias
    return linear.weight * gamma[:, None], linear.bias * gamma


@functools.lru_cache(maxsize=None)
def fused_kernels_available() -> bool:
    """Whether this torch build has oneDNN's fused convolutions and they compute what the plain
    ops compute (a private API: checked once on small inputs, any failure means no)."""
    try:
        if not torch.backends.mkldnn.is_available():
            return False
        gen = torch.Generator().manual_seed(0)
        cl = torch.channels_last
        with torch.no_grad():
            x = torch.randn(1, 8, 5, 7, generator=gen).contiguous(memory_format=cl)
            dw = torch.randn(8, 1, 3, 3, generator=gen)
            w, b = torch.randn(8, 8, generator=gen), torch.randn(8, generator=gen)
            other = torch.randn(1, 8, 5, 7, generator=gen).contiguous(memory_format=cl)
            pw = F.conv2d(x, w[:, :, None, None], b)
            checks = [
                (_conv(x, dw, None, groups=8, unary='gelu'), F.gelu(F.conv2d(x, dw, None, 1, 1, 1, 8))),
                (_conv(x, w, b), pw),
                (_conv(x, w, b, binary='mul', other=other), pw * other),
                (_conv(x, w, b, binary='add', other=other), pw + other),
            ]
            inplace = other.clone()
            _conv(x, w, b, binary='add', other=inplace, inplace=True)
            checks.append((inplace, pw + other))
        return all(a.shape == e.shape and torch.allclose(a, e, rtol=1e-4, atol=1e-4)
                   for a, e in checks)
    except Exception:  # missing op, changed signature, unsupported CPU: the reference only
        return False


def _accumulate(acc: Optional[torch.Tensor], ctx: torch.Tensor, gate: torch.Tensor,
                overwrite_ctx: bool) -> torch.Tensor:
    """``acc + ctx * gate`` in place; the first term is written into ``ctx`` where allowed."""
    if acc is not None:
        return acc.addcmul_(ctx, gate)
    return ctx.mul_(gate) if overwrite_ctx else ctx * gate


def fused_modulation(mod: FocalModulation, x: torch.Tensor, plan: BlockPlan,
                     residual: Optional[torch.Tensor] = None,
                     gamma: Union[torch.Tensor, float] = 1.0) -> torch.Tensor:
    """``mod(x)``, or ``residual + gamma * mod(x)``, with the fused kernels (no autograd)."""
    dim, levels = mod.dim, mod.focal_level
    w, b = mod.f.weight, mod.f.bias
    # f as three convolutions: q, ctx and the gates each come out contiguous
    q = _conv(x, w[:dim], b[:dim])
    ctx = _conv(x, w[dim:2 * dim], b[dim:2 * dim])
    gates = _conv(x, w[2 * dim:], b[2 * dim:])
    src = ctx.contiguous() if plan.planar else ctx
    ctx_all, pending = None, None
    for level, focal_layer in enumerate(mod.focal_layers):
        src = _conv(src, focal_layer[0].weight, None, groups=dim, unary='gelu')
        ctx = src.contiguous(memory_format=torch.channels_last) if plan.planar else src
        if pending is not None:  # the previous level's map is dead once this one has read it
            ctx_all = _accumulate(ctx_all, *pending, True)
        pending = ctx, gates[:, level:level + 1]
    ctx_all = _accumulate(ctx_all, *pending, False)  # the last level is read below
    ctx_all.addcmul_(F.gelu(ctx.mean((2, 3), keepdim=True)), gates[:, levels:])
    h_weight = mod.h.weight / (levels + 1) if mod.normalize_modulator else mod.h.weight
    out = _conv(ctx_all, h_weight, mod.h.bias, binary='mul', other=q)
    if mod.use_postln_in_modulation:
        out = mod.ln(out)
    if residual is not None:
        return _conv(out, *_scaled(mod.proj, gamma), binary='add', other=residual)
    return _conv(out, mod.proj.weight, mod.proj.bias)


def fused_mlp(mlp: Mlp, x: torch.Tensor) -> torch.Tensor:
    return _conv(_conv(x, mlp.fc1.weight, mlp.fc1.bias, unary='gelu'), mlp.fc2.weight, mlp.fc2.bias)


def mlp_bands(x: torch.Tensor, hidden: int, band_bytes: int) -> list[torch.Tensor]:
    """``x`` (channels_last) as views of whole rows, each with at most ``band_bytes`` of hidden
    activations, of equal height; a map of at most two bands' worth is one band (whole batch)."""
    n, _, h, w = x.shape
    row_bytes = w * hidden * x.element_size()
    if not band_bytes or n * h * row_bytes <= 2 * band_bytes:
        return [x]
    num = -(-h * row_bytes // band_bytes)
    rows = -(-h // num)
    return [x[i:i + 1, :, r:r + rows] for i in range(n) for r in range(0, h, rows)]


def fused_mlp_add_(mlp: Mlp, x: torch.Tensor, norm: nn.Module,
                   gamma: Union[torch.Tensor, float], band_bytes: int) -> torch.Tensor:
    """``x += gamma * mlp(norm(x))`` in place, band by band (everything here is per pixel)."""
    w2, b2 = _scaled(mlp.fc2, gamma)
    for band in mlp_bands(x, mlp.fc1.out_features, band_bytes):
        hidden = _conv(norm(band), mlp.fc1.weight, mlp.fc1.bias, unary='gelu')
        _conv(hidden, w2, b2, binary='add', other=band, inplace=True)
    return x


def fused_block(block: FocalNetBlock, x: torch.Tensor, plan: BlockPlan) -> torch.Tensor:
    """``block(x)`` in eval mode without autograd, with the kernels of ``plan`` (fused)."""
    mod = block.modulation
    if block.use_postln:
        x = x + _layerscale(block.norm1(fused_modulation(mod, x, plan)), block.gamma_1)
        return x + _layerscale(block.norm2(fused_mlp(block.mlp, x)), block.gamma_2)
    # residual adds inside proj / fc2; the MLP adds into the fresh tensor the modulation returned
    x = fused_modulation(mod, block.norm1(x), plan, residual=x, gamma=block.gamma_1)
    return fused_mlp_add_(block.mlp, x, block.norm2, block.gamma_2, plan.band_bytes)


def _layerscale(x: torch.Tensor, gamma: Union[torch.Tensor, float]) -> torch.Tensor:
    return x * gamma.view(-1, 1, 1) if isinstance(gamma, torch.Tensor) else x


# ----------------------------------------------------------------------------------- planner
def _in_dispatch_mode() -> bool:
    try:
        from torch.utils._python_dispatch import _get_current_dispatch_mode
        return _get_current_dispatch_mode() is not None
    except ImportError:
        return False


def _observed(block: nn.Module) -> bool:
    """Forward hooks on the block or any of its modules (they must see the reference's calls)."""
    if _global_forward_hooks or _global_forward_pre_hooks:
        return True
    return any(m._forward_hooks or m._forward_pre_hooks for m in block.modules())


def eligible(block: FocalNetBlock, x: torch.Tensor) -> bool:
    """Whether the fused kernels may run ``block`` on ``x`` (see the module docstring)."""
    if torch.compiler.is_compiling() or torch.jit.is_tracing() or torch.jit.is_scripting():
        return False
    return (not block.training and not torch.is_grad_enabled() and x.device.type == 'cpu'
            and x.dtype == torch.float32 and x.dim() == 4
            and x.is_contiguous(memory_format=torch.channels_last)
            and not torch.is_autocast_enabled('cpu') and not _in_dispatch_mode()
            and not _observed(block) and fused_kernels_available())


def block_key(block: FocalNetBlock, x: torch.Tensor) -> str:
    """The block's configuration and the size class of its input (pixels in half-octave steps:
    detection inputs vary in size from image to image, kernel speeds hardly within a class)."""
    mod = block.modulation
    n, c, h, w = x.shape
    size_class = round(2 * math.log2(max(n * h * w, 1)))
    flags = ''.join(f for f, on in (('p', block.use_postln), ('s', isinstance(block.gamma_1, torch.Tensor)),
                                    ('l', mod.use_postln_in_modulation),
                                    ('n', mod.normalize_modulator)) if on)
    return (f'C{c} k{"-".join(map(str, mod.kernel_sizes))} mlp{block.mlp.fc1.out_features}'
            f'{" " + flags if flags else ""} px2^{size_class / 2:g}')


class SharedPlannerState:
    """A planner (``_lock``, ``timer``) is shared state, one per process: a model's deep copy
    shares it, a pickle keeps its choices and drops the lock (and a default timer)."""

    def __deepcopy__(self, memo):
        return self

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop('_lock')
        state['timer'] = None if self.timer is time.perf_counter else self.timer
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.timer = self.timer or time.perf_counter
        self._lock = threading.Lock()


class KernelPlanner(SharedPlannerState):
    """Chooses and caches a :class:`BlockPlan` per block configuration and input size class.

    Args:
        cache_file: JSON file to read and extend (plans per :func:`machine_key`); None: memory only.
        margin: a candidate is adopted only if its median time is below ``(1 - margin)`` x the
            current choice's, starting from the reference (default 0.05: 5 % faster).
        reps: timed calls per candidate (interleaved), after one warm-up call each.
        band_candidates: band sizes (bytes of hidden activations) tried for the MLP.
        timer: the clock (``time.perf_counter``).
    """

    def __init__(self, cache_file: Optional[str] = None, margin: float = 0.05, reps: int = 3,
                 band_candidates: tuple = (8 * MIB,),
                 timer: Callable[[], float] = time.perf_counter):
        if not 0 <= margin < 1:
            raise ValueError(f'margin must be in [0, 1), got {margin}')
        if reps < 1:
            raise ValueError(f'reps must be >= 1, got {reps}')
        self.cache_file, self.margin, self.reps = cache_file, margin, reps
        self.band_candidates = tuple(band_candidates)
        self.timer = timer
        self.plans: dict[str, dict[str, BlockPlan]] = {}  # machine key -> block key -> plan
        self.measurements: dict[str, dict] = {}  # block key -> timings (this process)
        self._lock = threading.Lock()
        if cache_file and os.path.isfile(cache_file):
            self._load()

    # -- cache --------------------------------------------------------------------------------
    def _read(self) -> dict[str, dict[str, BlockPlan]]:
        try:
            with open(self.cache_file) as f:
                data = json.load(f)
            return {machine: {k: BlockPlan(**v) for k, v in plans.items()}
                    for machine, plans in data['plans'].items()}
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return {}  # missing or unreadable: re-measured, never trusted

    def _load(self) -> None:
        self.plans = self._read()

    def _save(self) -> None:
        """Merges into the file (another process may have added plans) and replaces it
        atomically."""
        if not self.cache_file:
            return
        merged = self._read()
        for machine, plans in self.plans.items():
            merged.setdefault(machine, {}).update(plans)
        data = {'plans': {m: {k: asdict(p) for k, p in sorted(plans.items())}
                          for m, plans in merged.items()}}
        try:
            os.makedirs(os.path.dirname(os.path.abspath(self.cache_file)), exist_ok=True)
            tmp = f'{self.cache_file}.{os.getpid()}.tmp'
            with open(tmp, 'w') as f:
                json.dump(data, f, indent=1)
            os.replace(tmp, self.cache_file)
        except OSError:  # a read-only cache location: the plans stay in memory
            pass

    # -- choice -------------------------------------------------------------------------------
    def plan(self, block: FocalNetBlock, x: torch.Tensor) -> BlockPlan:
        machine, key = machine_key(), block_key(block, x)
        with self._lock:
            known = self.plans.setdefault(machine, {})
            if key not in known:
                known[key] = self._measure(block, x, key)
                self._save()
            return known[key]

    def _time(self, block: FocalNetBlock, x: torch.Tensor, plans: list[BlockPlan]) -> dict:
        runs = {p: (lambda p=p: FocalNetBlock.forward(block, x)) if not p.fused
                else (lambda p=p: fused_block(block, x, p)) for p in plans}
        return interleaved_times(runs, self.reps, self.timer)

    def candidates(self, block: FocalNetBlock, x: torch.Tensor) -> list[BlockPlan]:
        """The reference, the fused kernels, with the planar depth-wise variant, and (pre-norm
        blocks whose map makes more than one band: bands add into the residual in place) with
        the MLP in bands."""
        plans = [REFERENCE, BlockPlan(fused=True), BlockPlan(fused=True, planar=True)]
        if not block.use_postln:
            hidden = block.mlp.fc1.out_features
            for band in self.band_candidates:
                if len(mlp_bands(x, hidden, band)) > 1:
                    plans += [BlockPlan(True, False, band), BlockPlan(True, True, band)]
        return plans

    def _measure(self, block: FocalNetBlock, x: torch.Tensor, key: str) -> BlockPlan:
        times = self._time(block, x, self.candidates(block, x))
        chosen = choose(times, self.margin)
        self.measurements[key] = dict({p.describe(): statistics.median(ts) for p, ts in times.items()},
                                      chosen=chosen.describe())
        return chosen


class FixedPlanner(KernelPlanner):
    """Runs every eligible block with one given plan, unmeasured (reproducible kernels, tests)."""

    def __init__(self, plan: BlockPlan):
        super().__init__()
        self.fixed = plan

    def plan(self, block: FocalNetBlock, x: torch.Tensor) -> BlockPlan:
        return self.fixed


@functools.lru_cache(maxsize=None)
def _shared_planner(cache_file: Optional[str]) -> KernelPlanner:
    return KernelPlanner(cache_file)


# ----------------------------------------------------------------------------------- apply
class AcceleratedFocalNetBlock(FocalNetBlock):
    """A :class:`FocalNetBlock` (same parameters and state_dict) whose eligible CPU inference
    calls run the kernels its planner measured fastest; everything else runs the reference."""

    kernel_planner: Optional[KernelPlanner] = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kernel_planner is None or not eligible(self, x):
            return super().forward(x)
        plan = self.kernel_planner.plan(self, x)
        return fused_block(self, x, plan) if plan.fused else super().forward(x)


def accelerate(model: nn.Module, planner: Optional[KernelPlanner] = None, *,
               cache_file: Optional[str] = None) -> nn.Module:
    """Give every FocalNet block of ``model`` the measured CPU inference kernels (in place; the
    model is returned). They take effect in eval mode without autograd on CPU fp32 channels_last
    maps (FocalNet's default layout); the state_dict and the parameters are unchanged.

    ``planner``: a :class:`KernelPlanner` to use; by default the process's shared one for
    ``cache_file`` (default :func:`default_cache_file`: ``$FOCALNET_MM_ACCEL_CACHE`` or memory
    only), so models built in one process reuse each other's measurements."""
    planner = planner or _shared_planner(cache_file or default_cache_file())
    for module in model.modules():
        if type(module) in (FocalNetBlock, AcceleratedFocalNetBlock):
            module.__class__ = AcceleratedFocalNetBlock
            module.kernel_planner = planner
    return model


def remove_acceleration(model: nn.Module) -> nn.Module:
    """Undo :func:`accelerate`: every block runs the reference forward again."""
    for module in model.modules():
        if type(module) is AcceleratedFocalNetBlock:
            module.__class__ = FocalNetBlock
            module.__dict__.pop('kernel_planner', None)
    return model


def plans_in_use(model: nn.Module) -> dict[str, dict]:
    """``{block key: measured medians (s) and the chosen kernels}`` for the blocks of ``model``
    measured in this process."""
    out = {}
    for module in model.modules():
        planner = getattr(module, 'kernel_planner', None)
        if isinstance(module, AcceleratedFocalNetBlock) and planner is not None:
            out.update(planner.measurements)
    return out
