"""FocalNet (Focal Modulation Networks, Yang et al., NeurIPS 2022) as a dense-prediction backbone.

One implementation for mmdet, mmseg and mmpretrain. Parameter names follow the official
classification/detection code (``patch_embed``, ``layers.{i}.blocks.{j}``, ``layers.{i}.downsample``,
``norm{i}``), so official checkpoints load without renaming; timm and HF checkpoints are converted
by :mod:`focalnet_mm.models.checkpoint`.

This is the reference implementation: every forward, in training and in eval, runs the equations
below through the modules that own the parameters (forward hooks, wrappers and per-module FLOP
counters see every layer), with no alternative code paths. Faster CPU inference kernels, chosen by
measurement on the machine at hand, are applied to an eval model from outside by
:func:`focalnet_mm.models.cpu_accel.accelerate`.
"""
from __future__ import annotations

from typing import Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from mmcv.cnn.bricks import DropPath
from mmengine.model import BaseModule
from mmengine.model.weight_init import constant_init, trunc_normal_init

from .stages import FocalBackboneMixin

IntOrSeq = Union[int, Sequence[int]]

# Named variants. Windows are the ImageNet ones; detection/segmentation configs override
# ``focal_windows`` (e.g. 9), and the checkpoint loader pads the kernels.
ARCH_SETTINGS: dict[str, dict] = {
    'tiny-srf': dict(embed_dims=96, depths=(2, 2, 6, 2), focal_levels=2, focal_windows=3),
    'tiny-lrf': dict(embed_dims=96, depths=(2, 2, 6, 2), focal_levels=3, focal_windows=3),
    'small-srf': dict(embed_dims=96, depths=(2, 2, 18, 2), focal_levels=2, focal_windows=3),
    'small-lrf': dict(embed_dims=96, depths=(2, 2, 18, 2), focal_levels=3, focal_windows=3),
    'base-srf': dict(embed_dims=128, depths=(2, 2, 18, 2), focal_levels=2, focal_windows=3),
    'base-lrf': dict(embed_dims=128, depths=(2, 2, 18, 2), focal_levels=3, focal_windows=3),
}
_BIG = dict(depths=(2, 2, 18, 2), use_conv_embed=True, use_postln=True, use_layerscale=True)
ARCH_SETTINGS.update({
    'large-fl3': dict(_BIG, embed_dims=192, focal_levels=3, focal_windows=5),
    'large-fl4': dict(_BIG, embed_dims=192, focal_levels=4, focal_windows=3, normalize_modulator=True),
    'xlarge-fl3': dict(_BIG, embed_dims=256, focal_levels=3, focal_windows=5),
    'xlarge-fl4': dict(_BIG, embed_dims=256, focal_levels=4, focal_windows=3),
    'huge-fl3': dict(_BIG, embed_dims=352, focal_levels=3, focal_windows=3, use_postln_in_modulation=True),
    'huge-fl4': dict(_BIG, embed_dims=352, focal_levels=4, focal_windows=3, use_postln_in_modulation=True),
})
_ARCH_DEFAULTS = dict(use_conv_embed=False, use_postln=False, use_layerscale=False,
                      use_postln_in_modulation=False, normalize_modulator=False)




class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an NCHW tensor (parameters as ``nn.LayerNorm``).

    On a channels_last tensor the NHWC view is contiguous, so no copy is made; the output keeps the
    input's memory format."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias,
                         self.eps).permute(0, 3, 1, 2)
        return y if x.is_contiguous(memory_format=torch.channels_last) else y.contiguous()


def _dense_grad(weight: torch.Tensor) -> torch.Tensor:
    """``weight`` through an (out, in * kh * kw) view. Convolutions on channels_last inputs return
    weight gradients whose size-1 dims carry other strides than the parameter's (same memory):
    DDP then warns "grad strides do not match bucket view strides" and copies every step. The
    gradient that flows back through this view has the parameter's strides."""
    return weight.flatten(1).view(weight.shape)


class PointwiseLinear(nn.Linear):
    """``nn.Linear`` over the channels of an NCHW map: a 1x1 convolution.

    The parameters are ``nn.Linear``'s ((out, in) weight, as in the official checkpoints); run as a
    1x1 convolution the layer keeps the input's memory format, so a channels_last map needs no
    permute copies (oneDNN and cuDNN run it natively)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, _dense_grad(self.weight)[:, :, None, None], self.bias)


class Conv2d(nn.Conv2d):
    """``nn.Conv2d`` whose weight gradient keeps the parameter's strides (see :func:`_dense_grad`)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, _dense_grad(self.weight), self.bias)


def _layerscale(x: torch.Tensor, gamma: Union[nn.Parameter, float]) -> torch.Tensor:
    return x * gamma.view(-1, 1, 1) if isinstance(gamma, torch.Tensor) else x


class PatchEmbed(nn.Module):
    """Zero-pads right/bottom to a multiple of the stride, convolves, then LayerNorm.

    Non-overlapping: kernel = stride. Overlapping (``use_conv_embed``): 7x7/4 at the stem with
    ``stem_padding`` (2 in the classification checkpoints, 3 in the old detection code), 3x3/2 pad 1
    between stages.
    """

    def __init__(self, in_channels: int, embed_dims: int, stride: int, use_conv_embed: bool,
                 patch_norm: bool = True, stem_padding: int = 2):
        super().__init__()
        self.stride = stride
        if not use_conv_embed:
            kernel, padding = stride, 0
        elif stride == 4:
            kernel, padding = 7, stem_padding
        else:
            kernel, padding = 3, 1
        self.proj = nn.Conv2d(in_channels, embed_dims, kernel, stride, padding)
        self.norm = LayerNorm2d(embed_dims) if patch_norm else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        pad_h, pad_w = -h % self.stride, -w % self.stride
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h))
        return self.norm(self.proj(x))


class FocalModulation(nn.Module):
    """Focal modulation on NCHW maps (any memory format; the output keeps the input's).

    With ``L = focal_level`` and ``k_l = focal_factor * l + focal_window``::

        q, ctx_0, g = f(x)                       split over channels: C, C, L + 1
        ctx_l = GELU(DWConv_{k_l}(ctx_{l-1}))    focal levels l = 1..L (depth-wise, same padding)
        ctx_{L+1} = GELU(mean_HW(ctx_L))         global context
        ctx_all = sum_{l=1..L+1} g_l * ctx_l     (/ (L + 1) with ``normalize_modulator``)
        out = proj(q * h(ctx_all))               (LayerNorm before proj: ``use_postln_in_modulation``)

    ``f``/``proj`` keep the official ``nn.Linear`` parameters (as 1x1 convolutions), ``h`` is a
    1x1 convolution. ``gate_probe``/``modulator_probe`` are identities: register forward hooks on
    them to capture the gates ``g`` (B, L+1, H, W) and the modulator ``h(ctx_all)`` (B, C, H, W).
    """

    def __init__(self, dim: int, focal_window: int, focal_level: int, focal_factor: int = 2,
                 proj_drop: float = 0., use_postln_in_modulation: bool = False,
                 normalize_modulator: bool = False):
        super().__init__()
        self.dim = dim
        self.focal_level = focal_level
        self.normalize_modulator = normalize_modulator
        self.use_postln_in_modulation = use_postln_in_modulation
        self.kernel_sizes = [focal_factor * k + focal_window for k in range(focal_level)]
        self.f = PointwiseLinear(dim, 2 * dim + focal_level + 1)
        self.h = Conv2d(dim, dim, kernel_size=1)
        self.act = nn.GELU()
        self.proj = PointwiseLinear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)
        self.focal_layers = nn.ModuleList(
            nn.Sequential(Conv2d(dim, dim, k, padding=k // 2, groups=dim, bias=False), nn.GELU())
            for k in self.kernel_sizes)
        if use_postln_in_modulation:
            self.ln = LayerNorm2d(dim)
        self.gate_probe = nn.Identity()
        self.modulator_probe = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        levels = self.focal_level
        q, ctx, gates = torch.split(self.f(x), (self.dim, self.dim, levels + 1), dim=1)
        gates = self.gate_probe(gates)
        ctx_all = 0.
        for level, focal_layer in enumerate(self.focal_layers):
            ctx = focal_layer(ctx)
            ctx_all = ctx_all + ctx * gates[:, level:level + 1]
        ctx_global = self.act(ctx.mean((2, 3), keepdim=True))
        ctx_all = ctx_all + ctx_global * gates[:, levels:]
        if self.normalize_modulator:
            ctx_all = ctx_all / (levels + 1)
        modulator = self.modulator_probe(self.h(ctx_all))
        out = q * modulator
        if self.use_postln_in_modulation:
            out = self.ln(out)
        return self.proj_drop(self.proj(out))


class Mlp(nn.Module):
    """fc1 -> GELU -> fc2 over the channels of an NCHW map (``nn.Linear`` parameters)."""

    def __init__(self, dim: int, hidden_dim: int, drop: float = 0.):
        super().__init__()
        self.fc1 = PointwiseLinear(dim, hidden_dim)
        self.act = nn.GELU()
        self.fc2 = PointwiseLinear(hidden_dim, dim)
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class FocalNetBlock(nn.Module):
    """Residual block: ``x + gamma_1 * modulation(norm1(x))``, then ``x + gamma_2 * mlp(norm2(x))``
    (pre-norm, the default); with ``use_postln`` the norms follow the branches instead
    (``x + gamma_1 * norm1(modulation(x))``). ``gamma`` is the layerscale (1 without it)."""

    def __init__(self, dim: int, focal_level: int, focal_window: int, mlp_ratio: float = 4.,
                 drop: float = 0., drop_path: float = 0., use_postln: bool = False,
                 use_layerscale: bool = False, layerscale_value: float = 1e-4,
                 with_cp: bool = False, **modulation_kwargs):
        super().__init__()
        self.use_postln = use_postln
        self.with_cp = with_cp
        self.norm1 = LayerNorm2d(dim)
        self.modulation = FocalModulation(dim, focal_window, focal_level, proj_drop=drop,
                                          **modulation_kwargs)
        self.drop_path = DropPath(drop_path) if drop_path > 0. else nn.Identity()
        self.norm2 = LayerNorm2d(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop)
        if use_layerscale:
            self.gamma_1 = nn.Parameter(layerscale_value * torch.ones(dim))
            self.gamma_2 = nn.Parameter(layerscale_value * torch.ones(dim))
        else:
            self.gamma_1 = self.gamma_2 = 1.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # NCHW
        if self.with_cp and x.requires_grad:
            # each residual branch is its own checkpoint: backward recomputes half a block at a
            # time (the MLP's 4C hidden activations or the modulation's), not the whole block
            x = x + cp.checkpoint(self._modulation_branch, x, use_reentrant=False)
            return x + cp.checkpoint(self._mlp_branch, x, use_reentrant=False)
        x = x + self._modulation_branch(x)
        return x + self._mlp_branch(x)

    def _modulation_branch(self, x: torch.Tensor) -> torch.Tensor:
        out = self.norm1(self.modulation(x)) if self.use_postln else self.modulation(self.norm1(x))
        return self.drop_path(_layerscale(out, self.gamma_1))

    def _mlp_branch(self, x: torch.Tensor) -> torch.Tensor:
        out = self.norm2(self.mlp(x)) if self.use_postln else self.mlp(self.norm2(x))
        return self.drop_path(_layerscale(out, self.gamma_2))


class FocalNetStage(nn.Module):
    """Blocks, then (except for the last stage) the downsample; returns (stage output, next input)."""

    def __init__(self, blocks: list[FocalNetBlock], downsample: Optional[PatchEmbed]):
        super().__init__()
        self.blocks = nn.ModuleList(blocks)
        self.downsample = downsample

    @property
    def with_cp(self) -> bool:
        return all(block.with_cp for block in self.blocks)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        for block in self.blocks:
            x = block(x)
        return x, (None if self.downsample is None else self.downsample(x))



def _per_stage(name: str, value: IntOrSeq, num_stages: int) -> list[int]:
    values = [value] * num_stages if isinstance(value, int) else list(value)
    if len(values) != num_stages or not all(isinstance(v, int) for v in values):
        raise ValueError(f'`{name}` must be an int or a sequence of {num_stages} ints (one per stage), '
                         f'got {value!r}')
    return values


class FocalNet(FocalBackboneMixin, BaseModule):
    """FocalNet backbone returning multi-scale NCHW features (strides 4, 8, 16, 32).

    Args:
        arch: a preset name (see ``ARCH_SETTINGS``) or a dict with at least ``embed_dims``,
            ``depths``, ``focal_levels``, ``focal_windows``. Explicit keyword arguments that are not
            ``None`` override the preset, e.g. ``arch='tiny-srf', focal_windows=9``.
        in_channels: input image channels.
        focal_levels / focal_windows: per stage (int or one value per stage). Kernel size at
            level k is ``focal_factor * k + focal_window`` and must be odd.
        use_conv_embed: overlapping 7x7/3x3 patch embeddings (L/XL/H).
        stem_padding: padding of the 7x7 stem conv when ``use_conv_embed`` (2 = classification
            checkpoints, 3 = the old detection code).
        use_postln / use_layerscale / layerscale_value / use_postln_in_modulation /
            normalize_modulator: the switches of the large variants: norms after the residual
            branches instead of before, per-channel branch scales initialised to
            ``layerscale_value``, a LayerNorm before the modulation's output projection,
            ``ctx_all`` averaged over the L + 1 levels (see :class:`FocalModulation`).
        out_indices: stages whose outputs (each with its own LayerNorm ``norm{i}``) are returned.
        frozen_stages: -1 freezes nothing, 0 the stem, i the stem and stages 0..i-1 (kept after
            ``train()``).
        with_cp: gradient checkpointing of each residual branch (modulation, MLP) of every block:
            training memory for about one more forward pass, same results.
        channels_last: run the stages on channels_last (NHWC) memory, where oneDNN/cuDNN
            convolutions are fastest and LayerNorm needs no permute copies. ``False`` keeps
            contiguous NCHW throughout (timm's layout); outputs are equal (tested), and are
            always returned as contiguous NCHW.
        init_cfg: ``dict(type='Pretrained', checkpoint=PATH)`` loads official, timm, HF or mm
            checkpoints (see :func:`focalnet_mm.models.checkpoint.load_pretrained`); add
            ``trusted=True`` to unpickle legacy files that are not plain tensors.
    """

    def __init__(self,
                 arch: Union[str, dict] = 'tiny-srf',
                 in_channels: int = 3,
                 embed_dims: Optional[int] = None,
                 depths: Optional[Sequence[int]] = None,
                 mlp_ratio: float = 4.,
                 focal_levels: Optional[IntOrSeq] = None,
                 focal_windows: Optional[IntOrSeq] = None,
                 focal_factor: int = 2,
                 use_conv_embed: Optional[bool] = None,
                 stem_padding: int = 2,
                 patch_norm: bool = True,
                 use_postln: Optional[bool] = None,
                 use_layerscale: Optional[bool] = None,
                 layerscale_value: float = 1e-4,
                 use_postln_in_modulation: Optional[bool] = None,
                 normalize_modulator: Optional[bool] = None,
                 drop_rate: float = 0.,
                 drop_path_rate: float = 0.2,
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 frozen_stages: int = -1,
                 with_cp: bool = False,
                 channels_last: bool = True,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        cfg = self._resolve_arch(arch, dict(
            embed_dims=embed_dims, depths=depths, focal_levels=focal_levels,
            focal_windows=focal_windows, use_conv_embed=use_conv_embed, use_postln=use_postln,
            use_layerscale=use_layerscale, use_postln_in_modulation=use_postln_in_modulation,
            normalize_modulator=normalize_modulator))
        depths = list(cfg['depths'])
        num_stages = len(depths)
        levels = _per_stage('focal_levels', cfg['focal_levels'], num_stages)
        windows = _per_stage('focal_windows', cfg['focal_windows'], num_stages)
        embed_dims = cfg['embed_dims']
        self._validate(in_channels, embed_dims, depths, levels, windows, focal_factor, mlp_ratio,
                       drop_rate, drop_path_rate, out_indices, frozen_stages)
        self.arch_settings = dict(cfg, focal_levels=levels, focal_windows=windows)
        self.in_channels = in_channels
        self.num_stages = num_stages
        self.out_indices = tuple(sorted(set(out_indices)))
        self.frozen_stages = frozen_stages
        self.channels_last = channels_last
        self.num_features = [embed_dims * 2**i for i in range(num_stages)]

        self.patch_embed = PatchEmbed(in_channels, embed_dims, 4, cfg['use_conv_embed'], patch_norm,
                                      stem_padding)
        self.pos_drop = nn.Dropout(drop_rate)
        dpr = torch.linspace(0, drop_path_rate, sum(depths), device='cpu').tolist()
        self.layers = nn.ModuleList()
        for i, depth in enumerate(depths):
            dim = self.num_features[i]
            blocks = [
                FocalNetBlock(dim, levels[i], windows[i], mlp_ratio, drop_rate,
                              dpr[sum(depths[:i]) + j], cfg['use_postln'], cfg['use_layerscale'],
                              layerscale_value, focal_factor=focal_factor,
                              use_postln_in_modulation=cfg['use_postln_in_modulation'],
                              normalize_modulator=cfg['normalize_modulator'],
                              with_cp=with_cp)
                for j in range(depth)
            ]
            downsample = (PatchEmbed(dim, 2 * dim, 2, cfg['use_conv_embed'], patch_norm)
                          if i < num_stages - 1 else None)
            self.layers.append(FocalNetStage(blocks, downsample))
        for i in self.out_indices:
            self.add_module(f'norm{i}', LayerNorm2d(self.num_features[i]))
        self._freeze_stages()

    # ------------------------------------------------------------------ construction helpers
    @staticmethod
    def _resolve_arch(arch: Union[str, dict], overrides: dict) -> dict:
        if isinstance(arch, str):
            if arch not in ARCH_SETTINGS:
                raise ValueError(f'Unknown `arch` {arch!r}; choose one of {sorted(ARCH_SETTINGS)} '
                                 'or pass a dict')
            cfg = dict(_ARCH_DEFAULTS, **ARCH_SETTINGS[arch])
        elif isinstance(arch, dict):
            cfg = dict(_ARCH_DEFAULTS, **arch)
            unknown = set(cfg) - set(_ARCH_DEFAULTS) - {'embed_dims', 'depths', 'focal_levels',
                                                        'focal_windows'}
            if unknown:
                raise ValueError(f'`arch` dict has unknown keys {sorted(unknown)}')
        else:
            raise TypeError(f'`arch` must be a preset name or a dict, got {type(arch).__name__}')
        cfg.update({k: v for k, v in overrides.items() if v is not None})
        missing = [k for k in ('embed_dims', 'depths', 'focal_levels', 'focal_windows') if k not in cfg]
        if missing:
            raise ValueError(f'`arch` dict is missing {missing}')
        return cfg

    @staticmethod
    def _validate(in_channels, embed_dims, depths, levels, windows, focal_factor, mlp_ratio,
                  drop_rate, drop_path_rate, out_indices, frozen_stages) -> None:
        num_stages = len(depths)

        def check(ok: bool, msg: str) -> None:
            if not ok:
                raise ValueError(msg)

        check(isinstance(in_channels, int) and in_channels > 0,
              f'`in_channels` must be a positive int, got {in_channels!r}')
        check(isinstance(embed_dims, int) and embed_dims > 0,
              f'`embed_dims` must be a positive int, got {embed_dims!r}')
        check(num_stages > 0 and all(isinstance(d, int) and d > 0 for d in depths),
              f'`depths` must be positive ints, got {depths!r}')
        check(all(lv >= 1 for lv in levels), f'`focal_levels` must be >= 1, got {levels}')
        check(all(w >= 1 for w in windows), f'`focal_windows` must be >= 1, got {windows}')
        check(isinstance(focal_factor, int) and focal_factor >= 0,
              f'`focal_factor` must be a non-negative int, got {focal_factor!r}')
        for stage, (lv, w) in enumerate(zip(levels, windows)):
            kernels = [focal_factor * k + w for k in range(lv)]
            check(all(k % 2 == 1 for k in kernels),
                  f'`focal_windows`[{stage}]={w} with focal_factor={focal_factor} gives kernel sizes '
                  f'{kernels}; depth-wise kernels must be odd for same padding')
        check(mlp_ratio > 0, f'`mlp_ratio` must be > 0, got {mlp_ratio}')
        check(0 <= drop_rate < 1, f'`drop_rate` must be in [0, 1), got {drop_rate}')
        check(0 <= drop_path_rate < 1, f'`drop_path_rate` must be in [0, 1), got {drop_path_rate}')
        check(len(out_indices) > 0 and all(isinstance(i, int) and 0 <= i < num_stages
                                           for i in out_indices),
              f'`out_indices` must be non-empty with values in [0, {num_stages - 1}], '
              f'got {tuple(out_indices)}')
        check(isinstance(frozen_stages, int) and -1 <= frozen_stages <= num_stages,
              f'`frozen_stages` must be in [-1, {num_stages}], got {frozen_stages!r}')

    # ------------------------------------------------------------------ mm conventions
    def init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Linear):
                trunc_normal_init(m, std=.02, bias=0.)
            elif isinstance(m, nn.LayerNorm):
                constant_init(m, 1.0, bias=0.)
        from .checkpoint import load_pretrained  # converter beside the model
        self._apply_init_cfg(load_pretrained)

    # ------------------------------------------------------------------ forward
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f'FocalNet expects an (N, {self.in_channels}, H, W) tensor, got shape '
                             f'{tuple(x.shape)}')
        x = x.contiguous(memory_format=torch.channels_last if self.channels_last
                         else torch.contiguous_format)
        x = self.pos_drop(self.patch_embed(x))
        outs = []
        for i, stage in enumerate(self.layers):
            stage_out, x = stage(x)
            if i in self.out_indices:
                outs.append(getattr(self, f'norm{i}')(stage_out).contiguous())
        return tuple(outs)
