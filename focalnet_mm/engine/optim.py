"""Mixed-precision training on every device: mmengine's ``AmpOptimWrapper`` where it runs, bf16
autocast on CPU.

mmengine 0.10.7's ``AmpOptimWrapper`` asserts a CUDA/NPU/MLU/MUSA device at construction (its
``GradScaler`` is CUDA's), so an fp16 config cannot even be built on a CPU machine. On CPU the
mixed-precision path is bfloat16 autocast: bf16 has fp32's 8-bit exponent, so gradients do not
underflow and no loss scaling is needed. :class:`AutocastOptimWrapper` is exactly that: mmengine's
plain ``OptimWrapper`` (fp32 parameters, gradients and optimizer state) whose ``optim_context``
runs the forward under ``torch.autocast``: all of it, or only the named submodules (their outputs
cast back to fp32). The CPU default is the backbone: the detection heads call mmcv's compiled ops
(NMS, RoIAlign, ...), whose CPU kernels take fp32 only, and on CPUs without native bf16 (AVX2)
emulated bf16 convolutions are several times slower than fp32 ones, most of all the wide 3x3
convolutions of FPN necks (a demo Mask R-CNN iteration: ~100 s with the neck in bf16).
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Optional, Sequence, Union

import torch
from mmengine.optim import OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS

_ACCELERATORS = ('cuda', 'npu', 'mlu', 'musa')
# where bf16 autocast runs on CPU by default (see the module docstring)
CPU_AUTOCAST_MODULES = ('backbone', )


def _to_fp32(value):
    if isinstance(value, torch.Tensor):
        return value.float() if value.is_floating_point() else value
    if isinstance(value, (list, tuple)):
        return type(value)(_to_fp32(v) for v in value)
    if isinstance(value, dict):
        return {k: _to_fp32(v) for k, v in value.items()}
    return value


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """``OptimWrapper`` training under ``torch.autocast`` without loss scaling.

    Args:
        dtype: the autocast dtype; only ``'bfloat16'``, the one that needs no loss scale (fp16
            needs mmengine's ``AmpOptimWrapper`` and its dynamic loss scale).
        device_type: autocast device; ``None`` takes mmengine's current device.
        modules: names of the model's submodules that run under autocast (their outputs are cast
            back to fp32; names the model lacks are skipped); ``None``: the whole forward.
        **kwargs: ``OptimWrapper``'s (``optimizer``, ``accumulative_counts``, ``clip_grad``).
    """

    def __init__(self, dtype: Union[str, torch.dtype] = 'bfloat16',
                 device_type: Optional[str] = None, modules: Optional[Sequence[str]] = None,
                 **kwargs) -> None:
        if isinstance(dtype, str):
            dtype = getattr(torch, dtype, None)
        if dtype is not torch.bfloat16:
            raise ValueError(f'AutocastOptimWrapper: dtype must be bfloat16, got {dtype!r}; fp16 '
                             'without a loss scale underflows (use AmpOptimWrapper on a GPU)')
        super().__init__(**kwargs)
        self.cast_dtype = dtype
        self.device_type = device_type
        self.modules = None if modules is None else tuple(modules)

    def _autocast(self):
        from mmengine.device import get_device
        return torch.autocast(device_type=self.device_type or get_device(), dtype=self.cast_dtype)

    @contextmanager
    def optim_context(self, model: torch.nn.Module):
        if self.modules is None:
            with super().optim_context(model), self._autocast():
                yield
            return
        inner = getattr(model, 'module', model)  # DDP-wrapped
        active, handles = [], []

        def enter(module, args):
            ctx = self._autocast()
            ctx.__enter__()
            active.append(ctx)

        def leave(module, args, output):
            active.pop().__exit__(None, None, None)
            return _to_fp32(output)

        for name in self.modules:
            sub = getattr(inner, name, None)
            if isinstance(sub, torch.nn.Module):
                handles += [sub.register_forward_pre_hook(enter), sub.register_forward_hook(leave)]
        try:
            with super().optim_context(model):
                yield
        finally:
            for h in handles:
                h.remove()
            while active:  # a forward that raised: leave its autocast region
                active.pop().__exit__(None, None, None)


def has_amp_accelerator() -> bool:
    """Whether mmengine's ``AmpOptimWrapper`` can run here (it needs one of these devices)."""
    from mmengine.device import get_device
    return torch.cuda.is_available() or get_device() in _ACCELERATORS


def amp_optim_wrapper(optim_wrapper: dict, accelerator: Optional[bool] = None) -> tuple[dict, str]:
    """The mixed-precision version of an ``optim_wrapper`` config for this machine, and a sentence
    saying which it is. On a GPU (NPU, ...): ``AmpOptimWrapper`` with dynamic loss scaling (fp16,
    as the official FocalNet detection runs); on CPU: :class:`AutocastOptimWrapper` (bf16). Every
    other key (optimizer, paramwise_cfg, clip_grad, ...) is kept."""
    accelerator = has_amp_accelerator() if accelerator is None else accelerator
    cfg = dict(optim_wrapper)
    if accelerator:
        if cfg.get('type') != 'AmpOptimWrapper':
            cfg.pop('dtype', None)
        cfg['type'] = 'AmpOptimWrapper'
        cfg.setdefault('loss_scale', 'dynamic')
        return cfg, f"AmpOptimWrapper (dtype {cfg.get('dtype') or 'float16'}, loss scale " \
                    f"{cfg['loss_scale']})"
    asked = cfg.get('dtype')
    for key in ('loss_scale', 'dtype', 'use_fsdp'):
        cfg.pop(key, None)
    cfg.update(type='AutocastOptimWrapper', dtype='bfloat16', modules=list(CPU_AUTOCAST_MODULES))
    note = ('AutocastOptimWrapper (bf16 autocast of the backbone, no loss scale): no GPU '
            'for the fp16 AmpOptimWrapper')
    if asked not in (None, 'bfloat16', torch.bfloat16):
        note += f' (dtype {asked} asked; fp16 without loss scaling would underflow)'
    return cfg, note
