"""Faster CPU training for a FocalNet model: the focal levels' depth-wise convolutions with a
backward made of forward convolutions, where that is measured faster on the machine at hand.

Profiling a FocalNet-T training step on a CPU shows the depth-wise convolutions' backward
(oneDNN's weight-gradient kernel for large depth-wise kernels) taking far more time than their
forward. Both gradients of a stride-1 'same' depth-wise convolution are themselves depth-wise
*forward* convolutions, which oneDNN runs fast:

* grad input = the output gradient convolved with the spatially flipped kernel (same padding);
* grad weight = per channel, the padded input correlated with the output gradient: a depth-wise
  convolution of the padded input (batch folded into the channels) with the output gradient as an
  H x W kernel, giving the k x k gradient directly, summed over the batch.

:func:`accelerate_training` gives those convolutions of a model (in place) a forward that routes
through :class:`DepthwiseConvFastGrad` when a gradient will be taken. The forward computes exactly
what the reference computes (the same convolution call); the gradients equal the reference's within
float rounding (tested against fp64). Which backward a convolution uses is measured per layer shape
and input size class the first time it meets one (:class:`GradPlanner`): the reference backward is
kept unless the other is faster by ``margin``. The choice is measured, so two processes may choose
differently and their weight gradients then differ by float rounding: for bit-identical reruns,
pass ``GradPlanner(fixed=True)`` (or ``fixed=False``, the reference everywhere).

Two layout fixes come with it (values unchanged, only the memory order of gradients): autograd
hands the last level's GELU its gradient in NCHW order (the global context's mean broadcasts it)
and the gates theirs (the per-level slices are scattered into a fresh NCHW tensor), while the
activations are channels_last; ATen's GELU backward on mixed layouts and oneDNN's convolution
backward of ``f`` on an NCHW gradient are several times slower than on matching layouts. So the
focal levels' GELUs (:class:`LayoutKeepingGELU`) and the gate probe (:class:`GateGradProbe`)
return gradients in their input's layout.

The reference runs wherever this does not apply: no gradient wanted, non-CPU or non-fp32 tensors,
autocast, torch.compile and jit tracing, dispatch modes (FLOP counters, fake tensors).
"""
from __future__ import annotations

import math
import statistics
import threading
import time
from typing import Callable, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from .cpu_accel import (SharedPlannerState, _in_dispatch_mode, choose, interleaved_times,
                        machine_key)
from .focalnet import Conv2d, FocalModulation, _dense_grad

__all__ = ['DepthwiseConvFastGrad', 'FastGradDepthwiseConv2d', 'GateGradProbe', 'GradPlanner',
           'LayoutKeepingGELU', 'accelerate_training', 'remove_training_acceleration']


class DepthwiseConvFastGrad(torch.autograd.Function):
    """``F.conv2d(x, weight, padding=padding, groups=C)`` for a stride-1 depth-wise convolution
    with an odd k x k kernel and 'same' padding (k // 2), without bias; both gradients computed as
    forward convolutions."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, padding: int) -> torch.Tensor:
        ctx.save_for_backward(x, weight)
        ctx.padding = padding
        return F.conv2d(x, weight, None, 1, padding, 1, weight.shape[0])

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, weight = ctx.saved_tensors
        pad, channels = ctx.padding, weight.shape[0]
        grad_x = grad_w = None
        if ctx.needs_input_grad[0]:
            # on the input's layout: oneDNN's depth-wise kernel for large kernels is many times
            # slower on NCHW maps than on channels_last ones, and autograd may hand us NCHW
            grad_x = F.conv2d(_like(grad, x), weight.flip(-2, -1), None, 1, pad, 1, channels)
        if ctx.needs_input_grad[1]:
            n, _, h, w = grad.shape
            # (1, N*C, H+2p, W+2p) correlated with an (N*C, 1, H, W) kernel: (1, N*C, k, k)
            padded = F.pad(x, (pad, pad, pad, pad)).contiguous().view(1, n * channels, h + 2 * pad,
                                                                       w + 2 * pad)
            kernel = grad.contiguous().view(n * channels, 1, h, w)
            grad_w = F.conv2d(padded, kernel, None, 1, 0, 1, n * channels)
            grad_w = grad_w.view(n, channels, *weight.shape[-2:]).sum(0).unsqueeze(1)
        return grad_x, grad_w, None


def _like(grad: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``grad`` in channels_last order where ``x`` has its channels innermost."""
    channels_last = torch.channels_last
    if x.dim() == 4 and x.stride(1) == 1 and not grad.is_contiguous(memory_format=channels_last):
        return grad.contiguous(memory_format=channels_last)
    return grad


class _GELULayoutGrad(torch.autograd.Function):
    """``F.gelu(x)`` (exact) whose backward runs on a gradient in ``x``'s layout."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return F.gelu(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, = ctx.saved_tensors
        return torch.ops.aten.gelu_backward(_like(grad, x), x)


class _LayoutGrad(torch.autograd.Function):
    """Identity (a view) whose backward returns the gradient in the input's layout."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.channels_innermost = x.dim() == 4 and x.stride(1) == 1
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        if ctx.channels_innermost and not grad.is_contiguous(memory_format=torch.channels_last):
            return grad.contiguous(memory_format=torch.channels_last)
        return grad


def _supported(conv: nn.Conv2d) -> bool:
    k = conv.kernel_size
    return (conv.groups == conv.in_channels == conv.out_channels and conv.bias is None
            and k[0] == k[1] and k[0] % 2 == 1 and conv.padding == (k[0] // 2,) * 2
            and conv.stride == (1, 1) and conv.dilation == (1, 1) and conv.padding_mode == 'zeros')


def _training_cpu_fp32(x: torch.Tensor, needs_grad: bool) -> bool:
    if torch.compiler.is_compiling() or torch.jit.is_tracing() or torch.jit.is_scripting():
        return False
    return (torch.is_grad_enabled() and needs_grad and x.device.type == 'cpu'
            and x.dtype == torch.float32 and x.dim() == 4
            and not torch.is_autocast_enabled('cpu') and not _in_dispatch_mode())


def eligible(conv: nn.Conv2d, x: torch.Tensor) -> bool:
    """Whether a gradient will be taken and the fast backward may compute it."""
    return (conv.weight.dtype == torch.float32
            and _training_cpu_fp32(x, x.requires_grad or conv.weight.requires_grad))


def conv_key(conv: nn.Conv2d, x: torch.Tensor) -> str:
    """The layer's shape, the batch, the layout and the size class of the input (pixels in
    half-octave steps: training inputs vary in size, kernel speeds hardly within a class)."""
    n, c, h, w = x.shape
    size_class = round(2 * math.log2(max(h * w, 1)))
    layout = 'cl' if x.is_contiguous(memory_format=torch.channels_last) else 'nchw'
    return f'dw C{c} k{conv.kernel_size[0]} n{n} {layout} px2^{size_class / 2:g}'


class GradPlanner(SharedPlannerState):
    """Chooses, per :func:`conv_key` and machine, the reference backward or the fast one.

    Args:
        margin: the fast backward is adopted only if its median forward + backward time is below
            ``(1 - margin)`` x the reference's (default 0.05).
        reps: timed calls of each (interleaved), after one warm-up call each.
        fixed: ``True``/``False``: use the fast/reference backward everywhere, unmeasured.
        timer: the clock (``time.perf_counter``).
    """

    def __init__(self, margin: float = 0.05, reps: int = 3, fixed: Optional[bool] = None,
                 timer: Callable[[], float] = time.perf_counter):
        if not 0 <= margin < 1:
            raise ValueError(f'margin must be in [0, 1), got {margin}')
        if reps < 1:
            raise ValueError(f'reps must be >= 1, got {reps}')
        self.margin, self.reps, self.fixed, self.timer = margin, reps, fixed, timer
        self.choices: dict[str, dict[str, bool]] = {}   # machine key -> conv key -> fast?
        self.measurements: dict[str, dict] = {}         # conv key -> medians (this process)
        self._lock = threading.Lock()

    def use_fast(self, conv: nn.Conv2d, x: torch.Tensor) -> bool:
        if self.fixed is not None:
            return self.fixed
        machine, key = machine_key(), conv_key(conv, x)
        with self._lock:
            known = self.choices.setdefault(machine, {})
            if key not in known:
                known[key] = self._measure(conv, x, key)
            return known[key]

    def _measure(self, conv: nn.Conv2d, x: torch.Tensor, key: str) -> bool:
        x = x.detach().requires_grad_()
        weight = conv.weight.detach().requires_grad_()
        pad = conv.padding[0]
        grad = torch.randn_like(F.conv2d(x.detach(), weight.detach(), None, 1, pad, 1,
                                         weight.shape[0]))

        def reference():
            out = F.conv2d(x, weight, None, 1, pad, 1, weight.shape[0])
            torch.autograd.grad(out, (x, weight), grad)

        def fast():
            torch.autograd.grad(DepthwiseConvFastGrad.apply(x, weight, pad), (x, weight), grad)

        with torch.enable_grad():
            times = interleaved_times({'reference': reference, 'fast': fast}, self.reps,
                                      self.timer)
        chosen = choose(times, self.margin)
        self.measurements[key] = dict({name: statistics.median(ts) for name, ts in times.items()},
                                      chosen=chosen)
        return chosen == 'fast'


_SHARED_PLANNER = GradPlanner()


class FastGradDepthwiseConv2d(Conv2d):
    """A focal level's depth-wise :class:`Conv2d` (same parameters and state_dict) whose
    backward is :class:`DepthwiseConvFastGrad` where its planner measured that faster."""

    grad_planner: Optional[GradPlanner] = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        planner = self.grad_planner
        if planner is None or not eligible(self, x) or not planner.use_fast(self, x):
            return super().forward(x)
        return DepthwiseConvFastGrad.apply(x, _dense_grad(self.weight), self.padding[0])


class LayoutKeepingGELU(nn.GELU):
    """A focal level's ``nn.GELU`` whose gradient is computed in its input's layout."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.approximate != 'none' or not _training_cpu_fp32(x, x.requires_grad):
            return super().forward(x)
        return _GELULayoutGrad.apply(x)


class GateGradProbe(nn.Identity):
    """The modulation's gate probe (an identity) returning the gates' gradient in their layout."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _LayoutGrad.apply(x) if _training_cpu_fp32(x, x.requires_grad) else x


_SWAPS = ((Conv2d, FastGradDepthwiseConv2d), (nn.GELU, LayoutKeepingGELU),
          (nn.Identity, GateGradProbe))


def accelerate_training(model: nn.Module, planner: Optional[GradPlanner] = None) -> nn.Module:
    """Give the focal levels of every FocalNet block in ``model`` the measured backward of their
    depth-wise convolutions and the layout-keeping gradients of their GELUs and gate probe (in
    place; the model is returned). Parameters and state_dict unchanged."""
    planner = planner or _SHARED_PLANNER
    for module in model.modules():
        if not isinstance(module, FocalModulation):
            continue
        for level in module.focal_layers:
            conv, act = level[0], level[1]
            if type(conv) in (Conv2d, FastGradDepthwiseConv2d) and _supported(conv):
                conv.__class__ = FastGradDepthwiseConv2d
                conv.grad_planner = planner
            if type(act) is nn.GELU:
                act.__class__ = LayoutKeepingGELU
        if type(module.gate_probe) is nn.Identity:
            module.gate_probe.__class__ = GateGradProbe
    return model


def remove_training_acceleration(model: nn.Module) -> nn.Module:
    """Undo :func:`accelerate_training`."""
    for module in model.modules():
        for plain, fast in _SWAPS:
            if type(module) is fast:
                module.__class__ = plain
                module.__dict__.pop('grad_planner', None)
    return model
