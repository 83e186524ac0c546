"""Focal Transformer (focal self-attention, Yang et al., NeurIPS 2021), a dense-prediction backbone.

The official repository (microsoft/Focal-Transformer) released the classification model only.
This is the same function on inputs of any size, for mmdet, mmseg and mmpretrain, with the
official parameter names (``patch_embed``, ``layers.{i}.blocks.{j}.attn.qkv``,
``...relative_position_bias_table_to_neighbors``, ``layers.{i}.downsample``), so the official
ImageNet checkpoints (``{'model': ...}``) load without renaming.

Focal self-attention in one block (window ``ws``, expand size ``e``, focal window ``fw``,
``focal_level`` L): the map is split into ``ws x ws`` query windows; every query token attends to

* level 0, fine grain: its own window (``ws**2`` tokens, relative position bias
  ``relative_position_bias_table``) and, if ``e > 0``, the ring of width ``e`` around it, taken as
  the official code takes it: the window shifted by (+-e, +-e), four times, minus the tokens inside
  the window (``4 * (ws**2 - (ws - e)**2)`` keys, 132 at ws=7, e=3: the ring's 120 tokens with
  the 12 that are level with the window's middle row or column counted twice; bias
  ``relative_position_bias_table_to_neighbors``, one learned value per query/key pair);
* levels k = 1 .. L-1, coarse grain: the map pooled in sub-windows of ``ws // 2**k``
  (``pool_layers``: 'fc' = a learned weighted sum, 'conv' = a depth-wise conv, 'mean', 'max'),
  then the ``(fw + 2**k - 1)**2`` pooled tokens around the query window (the official
  ``nn.Unfold`` with stride ``2**k`` and zero padding; padded keys get -100 added to their logits,
  as officially), bias ``relative_position_bias_table_to_windows.{k-1}``.

Everything that the classification code fixes from its input resolution at construction is a
function of the feature map at run time here, chosen so that at 224x224 the two compute the same
function (tested to fp64 rounding against the official module):

* **Window size.** Always ``window_size`` (7) in every stage; each block zero-pads its normalised
  input right/bottom to a multiple of it, as mmdet's Swin does (padded tokens are keys like any
  other, unmasked, as in the official padding). The official code instead shrinks the window to
  the map when the map is not larger than the window (stage 4 at 224: a 7x7 map, the same 7);
  for other sizes that would change the relative position tables' shapes, so it is not done.
* **Expand (neighbour) keys.** The ring around a window is gathered cyclically on the padded map,
  as the official ``torch.roll`` does (windows at the border see tokens from the opposite
  border; the ImageNet weights were trained that way). When the padded map is a single window
  there are no neighbours and the ring is skipped: this is the official rule (it builds blocks
  whose map fits in one window without expansion), applied per forward instead of at
  construction. ``expand_sizes`` are per stage; the presets expand in all four stages (3), i.e.
  stage 4 has ``relative_position_bias_table_to_neighbors`` although a 224 classification model
  has none (its 7x7 stage-4 map is one window). An ImageNet checkpoint therefore leaves those
  stage-4 tables (and the per-output norms) at their initialisation, which the loader reports;
  with ``expand_sizes=(3, 3, 3, 0)`` the backbone holds exactly the classification tensors.
* **Pooling layers.** A level-k sub-window is ``window_size // 2**k`` (the official
  ``floor(window_size_glo / 2**k)`` with ``window_size_glo = window_size``), so 'fc' pooling is a
  ``Linear(7*7, 1)`` at level 1 in every stage at any input size. The map is centre-cropped or
  zero-padded to ``(H / ws) * 2**k`` sub-windows per side first, as officially.
* **Pooled-window tables.** ``relative_position_bias_table_to_windows`` depends only on
  ``window_size`` and ``focal_windows`` (7, 5, 3, 1 per stage: at 224 these cover the whole map of
  each stage; at detection sizes they are a neighbourhood of pooled windows around the query
  window), so the ImageNet tables load unchanged at any input size.
* **Not supported** (no released model uses them): shifted windows (``use_shift``), absolute
  position embeddings (``ape``, resolution-bound), ``expand_layer`` other than 'all'.

Attention is one ``F.scaled_dot_product_attention`` call per block over all windows of the batch
(keys of every window gathered with one indexing op, no Python loop over windows). The -100 of the
padded pooled keys rides on an extra channel (q: 1, k: -100/scale, v: 0), so the attention bias
stays one (heads, window tokens, keys) tensor broadcast over windows. Under ``torch.jit`` tracing
(FLOP counters) the same attention runs as explicit matmuls, which the counters see.
"""
from __future__ import annotations

import math
import re
from typing import NamedTuple, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from mmcv.cnn.bricks import DropPath
from mmengine.model import BaseModule
from mmengine.model.weight_init import constant_init, trunc_normal_, trunc_normal_init

from .stages import FocalBackboneMixin

IntOrSeq = Union[int, Sequence[int]]

# The official ImageNet-1k models (configs/focal_*_patch4_window7_224.yaml): window 7, 2 focal
# levels with focal windows 7/5/3/1, expand size 3, 'fc' pooling; '-useconv': overlapping
# convolutional patch embeddings (7x7/4 stem, 3x3/2 between stages). 'large': the C=192 model of
# the paper's ImageNet-22k ADE20K row (its classification code and checkpoint are not released).
_COMMON = dict(window_size=7, focal_levels=2, focal_windows=(7, 5, 3, 1), expand_sizes=3,
               focal_pool='fc', use_conv_embed=False)
ARCH_SETTINGS: dict[str, dict] = {
    'tiny': dict(_COMMON, embed_dims=96, depths=(2, 2, 6, 2), num_heads=(3, 6, 12, 24)),
    'small': dict(_COMMON, embed_dims=96, depths=(2, 2, 18, 2), num_heads=(3, 6, 12, 24)),
    'base': dict(_COMMON, embed_dims=128, depths=(2, 2, 18, 2), num_heads=(4, 8, 16, 32)),
    'large': dict(_COMMON, embed_dims=192, depths=(2, 2, 18, 2), num_heads=(6, 12, 24, 48)),
}
for _name in ('tiny', 'small', 'base'):
    ARCH_SETTINGS[f'{_name}-useconv'] = dict(ARCH_SETTINGS[_name], use_conv_embed=True)
_ARCH_KEYS = ('embed_dims', 'depths', 'num_heads', 'window_size', 'focal_levels', 'focal_windows',
              'expand_sizes', 'focal_pool', 'use_conv_embed')
POOL_METHODS = ('fc', 'conv', 'mean', 'max', 'none')


# ---------------------------------------------------------------------------------------- layout
def relative_position_index(q_size: int, k_size: int) -> torch.Tensor:
    """(q_size**2, k_size**2) index into a ((q_size + k_size - 1)**2)-row bias table: the official
    ``get_relative_position_index`` (and, for q_size == k_size, the Swin window index)."""
    def grid(n: int) -> torch.Tensor:  # (2, n*n) row, column of every cell
        rows, cols = torch.meshgrid(torch.arange(n), torch.arange(n), indexing='ij')
        return torch.stack([rows, cols]).flatten(1)

    q, k = grid(q_size), grid(k_size)
    rel = (q[:, :, None] - k[:, None, :]).permute(1, 2, 0) + (k_size - 1)
    return rel[..., 0] * (q_size + k_size - 1) + rel[..., 1]


def ring_offsets(window_size: int, expand_size: int) -> torch.Tensor:
    """(n, 2) offsets (dy, dx) from a window's top-left corner of its neighbour keys, in the
    official order: the window shifted by (+e, +e), (+e, -e), (-e, +e), (-e, -e) (its rolls
    'tl', 'tr', 'bl', 'br'), each without the tokens inside the window."""
    ws, e = window_size, expand_size
    r, c = torch.meshgrid(torch.arange(ws), torch.arange(ws), indexing='ij')
    offsets = []
    for dy, dx in ((e, e), (e, -e), (-e, e), (-e, -e)):
        outside = ((r >= ws - e) if dy > 0 else (r < e)) | ((c >= ws - e) if dx > 0 else (c < e))
        offsets.append(torch.stack([r[outside] + dy, c[outside] + dx], 1))
    return torch.cat(offsets)


class StageLayout(NamedTuple):
    """Which keys every query window of a (padded) stage map attends to, as indices into the
    flattened key map ``[padded map, pooled map 1, ..., pooled map L-1, zero sentinel]``."""
    padded_hw: tuple[int, int]
    windows_hw: tuple[int, int]
    pooled_hw: tuple[tuple[int, int], ...]   # per coarse level
    index: torch.Tensor                      # (num_windows, num_keys) long
    key_mask: Optional[torch.Tensor]         # (num_windows, num_keys) 0 / -100, None if unmasked
    with_neighbours: bool


def stage_layout(h: int, w: int, window_size: int, expand_size: int, focal_level: int,
                 focal_window: int, pooled: bool, device: torch.device) -> StageLayout:
    """The keys of every window of an h x w map (padded to window multiples), official order:
    own window, ring of neighbours (if any), pooled windows of each coarse level."""
    ws = window_size
    hp, wp = -(-h // ws) * ws, -(-w // ws) * ws
    nwh, nww = hp // ws, wp // ws
    oy = torch.arange(nwh, device=device).view(-1, 1, 1) * ws  # window origins
    ox = torch.arange(nww, device=device).view(1, -1, 1) * ws
    r, c = torch.meshgrid(torch.arange(ws, device=device), torch.arange(ws, device=device),
                          indexing='ij')
    parts = [((oy + r.flatten()) * wp + (ox + c.flatten())).flatten(0, 1)]
    outside = [torch.zeros_like(parts[0], dtype=torch.bool)]
    with_neighbours = expand_size > 0 and focal_level > 0 and nwh * nww > 1
    if with_neighbours:
        off = ring_offsets(ws, expand_size).to(device)
        y = (oy + off[:, 0]) % hp  # cyclic, as torch.roll
        x = (ox + off[:, 1]) % wp
        parts.append((y * wp + x).flatten(0, 1))
        outside.append(torch.zeros_like(parts[-1], dtype=torch.bool))
    base, pooled_hw = hp * wp, []
    for k in range(focal_level - 1 if pooled else 0):
        stride = 2**k
        ph, pw = nwh * stride, nww * stride
        kernel = 2 * (focal_window // 2) + 2 * stride - 1  # official nn.Unfold kernel
        keep = torch.arange(stride - 1, kernel, device=device)  # official valid_ind_unfold_k
        y = (torch.arange(nwh, device=device).view(-1, 1, 1, 1) * stride - kernel // 2
             + keep.view(1, 1, -1, 1))
        x = (torch.arange(nww, device=device).view(1, -1, 1, 1) * stride - kernel // 2
             + keep.view(1, 1, 1, -1))
        pad = (y < 0) | (y >= ph) | (x < 0) | (x >= pw)  # the Unfold's zero padding
        idx = base + y.clamp(0, ph - 1) * pw + x.clamp(0, pw - 1)
        idx, pad = torch.broadcast_tensors(idx, pad)
        parts.append(idx.flatten(2).flatten(0, 1))
        outside.append(pad.flatten(2).flatten(0, 1))
        base += ph * pw
        pooled_hw.append((ph, pw))
    index, outside = torch.cat(parts, 1), torch.cat(outside, 1)
    if not outside.any():
        return StageLayout((hp, wp), (nwh, nww), tuple(pooled_hw), index, None, with_neighbours)
    index = torch.where(outside, torch.full_like(index, base), index)  # -> the zero sentinel
    key_mask = outside.to(torch.float32) * -100.0
    return StageLayout((hp, wp), (nwh, nww), tuple(pooled_hw), index, key_mask, with_neighbours)


# ---------------------------------------------------------------------------------------- modules
class Mlp(nn.Module):

    def __init__(self, dim: int, hidden_dim: int, drop: float = 0.):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden_dim)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_dim, dim)
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class PatchEmbed(nn.Module):
    """NCHW -> NHWC patch embedding (stem: stride 4; between stages: stride 2), zero-padding the
    input right/bottom to a multiple of the stride. Non-overlapping (kernel = stride) or, with
    ``use_conv_embed``, the official overlapping convs (7x7/4 pad 2 stem, 3x3/2 pad 1)."""

    def __init__(self, in_channels: int, embed_dims: int, stride: int, use_conv_embed: bool,
                 norm: bool = True, use_pre_norm: bool = False):
        super().__init__()
        self.stride = stride
        if not use_conv_embed:
            kernel, padding = stride, 0
        elif stride == 4:
            kernel, padding = 7, 2
        else:
            kernel, padding = 3, 1
        if use_pre_norm:
            self.pre_norm = nn.GroupNorm(1, in_channels)
        self.proj = nn.Conv2d(in_channels, embed_dims, kernel, stride, padding)
        self.norm = nn.LayerNorm(embed_dims) if norm else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        pad_h, pad_w = -h % self.stride, -w % self.stride
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h))
        if hasattr(self, 'pre_norm'):
            x = self.pre_norm(x)
        return self.norm(self.proj(x).permute(0, 2, 3, 1))


class FocalWindowAttention(nn.Module):
    """Focal self-attention over all windows of a padded NHWC map (see the module docstring)."""

    def __init__(self, dim: int, num_heads: int, window_size: int, expand_size: int,
                 focal_level: int, focal_window: int, pooled: bool, qkv_bias: bool = True,
                 qk_scale: Optional[float] = None, attn_drop: float = 0., proj_drop: float = 0.):
        super().__init__()
        self.dim, self.num_heads, self.window_size = dim, num_heads, window_size
        self.expand_size, self.focal_level = expand_size, focal_level
        self.focal_window = focal_window
        self.pooled = pooled
        self.scale = qk_scale or (dim // num_heads) ** -0.5
        self.attn_drop = attn_drop
        ws = window_size
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * ws - 1)**2, num_heads))
        self.register_buffer('relative_position_index', relative_position_index(ws, ws),
                             persistent=False)
        if expand_size > 0 and focal_level > 0:
            num_ring = 4 * ws * ws - 4 * (ws - expand_size)**2
            self.relative_position_bias_table_to_neighbors = nn.Parameter(
                torch.zeros(1, num_heads, ws * ws, num_ring))
        if pooled and focal_level > 1:
            self.relative_position_bias_table_to_windows = nn.ParameterList()
            for k in range(focal_level - 1):
                size = focal_window + 2**k - 1  # pooled windows per side that a window sees
                self.relative_position_bias_table_to_windows.append(
                    nn.Parameter(torch.zeros(num_heads, (ws + size - 1)**2)))
                self.register_buffer(f'relative_position_index_{k}',
                                     relative_position_index(ws, size), persistent=False)
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def init_official(self) -> None:
        """The official initialisation of the position tables (the window table stays 0)."""
        if hasattr(self, 'relative_position_bias_table_to_neighbors'):
            trunc_normal_(self.relative_position_bias_table_to_neighbors, std=.02)
        for table in getattr(self, 'relative_position_bias_table_to_windows', []):
            trunc_normal_(table, std=.02)

    def bias(self, layout: StageLayout) -> torch.Tensor:
        """(heads, ws*ws, keys) relative position bias, in the key order of ``layout``."""
        t = self.window_size ** 2
        parts = [self.relative_position_bias_table[self.relative_position_index.view(-1)]
                 .view(t, t, -1).permute(2, 0, 1)]
        if layout.with_neighbours:
            parts.append(self.relative_position_bias_table_to_neighbors[0])
        for k in range(len(layout.pooled_hw)):
            index = getattr(self, f'relative_position_index_{k}')
            parts.append(self.relative_position_bias_table_to_windows[k][:, index.view(-1)]
                         .view(self.num_heads, t, -1))
        return torch.cat(parts, -1)

    def forward(self, x: torch.Tensor, pooled: list[torch.Tensor], layout: StageLayout
                ) -> torch.Tensor:
        """x: (B, Hp, Wp, C) normalised, padded map; pooled: (B, h_k, w_k, C) per coarse level."""
        b, hp, wp, c = x.shape
        heads, ws = self.num_heads, self.window_size
        hd = c // heads
        nwh, nww = layout.windows_hw
        masked = layout.key_mask is not None
        hd_x = hd + (1 if masked else 0)  # extra channel: the -100 of padded pooled keys
        qkv = self.qkv(x)
        q = qkv.new_empty(b * nwh * nww, heads, ws * ws, hd_x)
        q[..., :hd] = (qkv[..., :c].reshape(b, nwh, ws, nww, ws, heads, hd)
                       .permute(0, 1, 3, 5, 2, 4, 6).reshape(-1, heads, ws * ws, hd))
        # keys/values of the map, then of the pooled maps (only their k, v: rows C: of qkv), then
        # a zero sentinel that padded pooled keys point to, written into one source tensor
        sizes = [hp * wp] + [p.shape[1] * p.shape[2] for p in pooled]
        src = qkv.new_empty(b, sum(sizes) + (1 if masked else 0), 2, heads, hd_x)
        src[:, :sizes[0], ..., :hd] = qkv[..., c:].reshape(b, sizes[0], 2, heads, hd)
        weight, bias = self.qkv.weight[c:], None if self.qkv.bias is None else self.qkv.bias[c:]
        start = sizes[0]
        for p, size in zip(pooled, sizes[1:]):
            src[:, start:start + size, ..., :hd] = (F.linear(p, weight, bias)
                                                    .view(b, size, 2, heads, hd))
            start += size
        if masked:
            q[..., hd] = 1.
            src[..., hd] = 0.
            src[:, -1] = 0.
            src[:, -1, 0, :, hd] = -100. / self.scale  # q.k * scale gets -100
        n = layout.index.shape[1]
        keys = src.index_select(1, layout.index.flatten())  # every window's keys: one gather
        keys = keys.view(b * nwh * nww, n, 2, heads, hd_x)
        k, v = keys[:, :, 0].transpose(1, 2), keys[:, :, 1].transpose(1, 2)
        attn_bias = self.bias(layout).unsqueeze(0).to(q.dtype)
        drop = self.attn_drop if self.training else 0.
        if torch.jit.is_tracing():  # explicit matmuls: what FLOP counters see
            attn = (q * self.scale) @ k.transpose(-2, -1) + attn_bias
            attn = F.dropout(attn.softmax(-1), drop, self.training)
            out = attn @ v
        else:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_bias, dropout_p=drop,
                                                 scale=self.scale)
        out = (out[..., :hd].reshape(b, nwh, nww, heads, ws, ws, hd).permute(0, 1, 4, 2, 5, 3, 6)
               .reshape(b, hp, wp, c))
        return self.proj_drop(self.proj(out))


class FocalTransformerBlock(nn.Module):

    def __init__(self, dim: int, num_heads: int, window_size: int, expand_size: int,
                 focal_level: int, focal_window: int, focal_pool: str, mlp_ratio: float = 4.,
                 qkv_bias: bool = True, qk_scale: Optional[float] = None, drop: float = 0.,
                 attn_drop: float = 0., drop_path: float = 0., use_layerscale: bool = False,
                 layerscale_value: float = 1e-4, with_cp: bool = False):
        super().__init__()
        self.window_size, self.focal_level, self.focal_pool = window_size, focal_level, focal_pool
        self.with_cp = with_cp
        pooled = focal_pool != 'none'
        self.pool_layers = nn.ModuleList()
        if pooled:
            for k in range(focal_level - 1):
                sub = window_size // 2**k
                if focal_pool == 'fc':
                    layer = nn.Linear(sub * sub, 1)
                    nn.init.constant_(layer.weight, 1. / (sub * sub))  # a mean, as officially
                    nn.init.zeros_(layer.bias)
                    self.pool_layers.append(layer)
                elif focal_pool == 'conv':
                    self.pool_layers.append(nn.Conv2d(dim, dim, sub, sub, groups=dim))
        self.norm1 = nn.LayerNorm(dim)
        self.attn = FocalWindowAttention(dim, num_heads, window_size, expand_size, focal_level,
                                         focal_window, pooled, qkv_bias, qk_scale, attn_drop, drop)
        self.drop_path = DropPath(drop_path) if drop_path > 0. else nn.Identity()
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop)
        if use_layerscale:
            self.gamma_1 = nn.Parameter(layerscale_value * torch.ones(dim))
            self.gamma_2 = nn.Parameter(layerscale_value * torch.ones(dim))
        else:
            self.gamma_1 = self.gamma_2 = 1.0

    def pool(self, x: torch.Tensor, k: int) -> torch.Tensor:
        """Level-k pooled map (B, nWh * 2**k, nWw * 2**k, C) of the padded map x (B, Hp, Wp, C)."""
        b, hp, wp, c = x.shape
        sub = self.window_size // 2**k
        ph, pw = hp // self.window_size * 2**k, wp // self.window_size * 2**k
        # centre-crop to ph x pw sub-windows (the official trim; ph * sub <= hp always, so its
        # padding branch cannot happen here; a no-op for k = 0)
        top, left = (hp - ph * sub) // 2, (wp - pw * sub) // 2
        x = x[:, top:top + ph * sub, left:left + pw * sub]
        if self.focal_pool == 'conv':
            return self.pool_layers[k](x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        windows = x.reshape(b, ph, sub, pw, sub, c)
        if self.focal_pool == 'mean':
            return windows.mean((2, 4))
        if self.focal_pool == 'max':
            return windows.amax((2, 4))
        windows = windows.permute(0, 1, 3, 5, 2, 4).reshape(b, ph, pw, c, sub * sub)
        return self.pool_layers[k](windows).squeeze(-1)

    def forward(self, x: torch.Tensor, layout: StageLayout) -> torch.Tensor:  # NHWC
        if self.with_cp and x.requires_grad:
            return cp.checkpoint(self._forward, x, layout, use_reentrant=False)
        return self._forward(x, layout)

    def _forward(self, x: torch.Tensor, layout: StageLayout) -> torch.Tensor:
        _, h, w, _ = x.shape
        hp, wp = layout.padded_hw
        y = self.norm1(x)
        if hp != h or wp != w:
            y = F.pad(y, (0, 0, 0, wp - w, 0, hp - h))
        pooled = [self.pool(y, k) for k in range(len(layout.pooled_hw))]
        y = self.attn(y, pooled, layout)[:, :h, :w]
        x = x + self.drop_path(_layerscale(y, self.gamma_1))
        return x + self.drop_path(_layerscale(self.mlp(self.norm2(x)), self.gamma_2))


def _layerscale(x: torch.Tensor, gamma: Union[nn.Parameter, float]) -> torch.Tensor:
    return x * gamma if isinstance(gamma, torch.Tensor) else x


class FocalTransformerStage(nn.Module):
    """Blocks, then (except for the last stage) the downsample; NHWC in, (stage output, next
    input) out. The key layout is computed once per forward for all blocks of the stage."""

    def __init__(self, blocks: list[FocalTransformerBlock], downsample: Optional[PatchEmbed]):
        super().__init__()
        self.blocks = nn.ModuleList(blocks)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        first = self.blocks[0]
        attn = first.attn
        layout = stage_layout(x.shape[1], x.shape[2], attn.window_size, attn.expand_size,
                              attn.focal_level, attn.focal_window, attn.pooled, x.device)
        for block in self.blocks:
            x = block(x, layout)
        if self.downsample is None:
            return x, None
        return x, self.downsample(x.permute(0, 3, 1, 2))


def _per_stage(name: str, value, num_stages: int, kind=int) -> list:
    values = [value] * num_stages if isinstance(value, kind) else list(value)
    if len(values) != num_stages or not all(isinstance(v, kind) and not isinstance(v, bool)
                                            for v in values):
        raise ValueError(f'`{name}` must be an {kind.__name__} or a sequence of {num_stages} '
                         f'{kind.__name__}s (one per stage), got {value!r}')
    return values


class FocalTransformer(FocalBackboneMixin, BaseModule):
    """Focal Transformer backbone returning multi-scale NCHW features (strides 4, 8, 16, 32).

    Args:
        arch: a preset name (``tiny``, ``small``, ``base``, each also ``-useconv``, and
            ``large``; see ``ARCH_SETTINGS``) or a dict with all of ``embed_dims``, ``depths``,
            ``num_heads`` (``window_size``, ``focal_levels``, ``focal_windows``,
            ``expand_sizes``, ``focal_pool``, ``use_conv_embed`` default to the presets').
            Explicit keyword arguments that are not ``None`` override the preset.
        window_size: query window side (every stage; see the module docstring).
        focal_levels: per stage (int or one per stage), >= 1: level 0 is the window (+ ring),
            levels 1 .. L-1 pooled sub-windows.
        focal_windows: per stage, odd: pooled windows per side around a window at level 1.
        expand_sizes: per stage, 0 <= e < window_size: width of the level-0 ring of neighbours.
        focal_pool: 'fc' (official), 'conv', 'mean', 'max' or 'none' (no coarse levels).
        use_conv_embed: overlapping convolutional patch embeddings (the '-useconv' models).
        use_pre_norm: GroupNorm before every patch embedding (official option, unused by the
            released models).
        use_layerscale / layerscale_value: CaiT layer scale (official option).
        out_indices: stages whose outputs (each with its own LayerNorm ``norm{i}``) are returned.
        frozen_stages: -1 freezes nothing, 0 the stem, i the stem and stages 0..i-1 (kept after
            ``train()``).
        with_cp: gradient checkpointing of every block (same results, less training memory).
        init_cfg: ``dict(type='Pretrained', checkpoint=PATH)`` loads an official ImageNet
            checkpoint (``{'model': ...}``) or an mm detector/segmentor one, strictly (see
            :func:`load_pretrained`); ``trusted=True`` to unpickle legacy files that are not plain
            tensors (the official training script also pickled its yacs config).
    """

    def __init__(self,
                 arch: Union[str, dict] = 'tiny',
                 in_channels: int = 3,
                 embed_dims: Optional[int] = None,
                 depths: Optional[Sequence[int]] = None,
                 num_heads: Optional[Sequence[int]] = None,
                 window_size: Optional[int] = None,
                 focal_levels: Optional[IntOrSeq] = None,
                 focal_windows: Optional[IntOrSeq] = None,
                 expand_sizes: Optional[IntOrSeq] = None,
                 focal_pool: Optional[str] = None,
                 use_conv_embed: Optional[bool] = None,
                 mlp_ratio: float = 4.,
                 qkv_bias: bool = True,
                 qk_scale: Optional[float] = None,
                 patch_norm: bool = True,
                 use_pre_norm: bool = False,
                 use_layerscale: bool = False,
                 layerscale_value: float = 1e-4,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.2,
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 frozen_stages: int = -1,
                 with_cp: bool = False,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        cfg = self._resolve_arch(arch, dict(
            embed_dims=embed_dims, depths=depths, num_heads=num_heads, window_size=window_size,
            focal_levels=focal_levels, focal_windows=focal_windows, expand_sizes=expand_sizes,
            focal_pool=focal_pool, use_conv_embed=use_conv_embed))
        depths = list(cfg['depths'])
        n = len(depths)
        if n == 0 or not all(isinstance(d, int) and d > 0 for d in depths):
            raise ValueError(f'`depths` must be a non-empty sequence of positive ints, '
                             f'got {depths!r}')
        heads = _per_stage('num_heads', cfg['num_heads'], n)
        levels = _per_stage('focal_levels', cfg['focal_levels'], n)
        windows = _per_stage('focal_windows', cfg['focal_windows'], n)
        expands = _per_stage('expand_sizes', cfg['expand_sizes'], n)
        self._validate(in_channels, cfg, heads, levels, windows, expands, mlp_ratio, drop_rate,
                       attn_drop_rate, drop_path_rate, out_indices, frozen_stages, n)
        embed_dims, ws = cfg['embed_dims'], cfg['window_size']
        self.arch_settings = dict(cfg, depths=tuple(depths), num_heads=tuple(heads),
                                  focal_levels=tuple(levels), focal_windows=tuple(windows),
                                  expand_sizes=tuple(expands))
        self.in_channels = in_channels
        self.num_stages = n
        self.out_indices = tuple(sorted(set(out_indices)))
        self.frozen_stages = frozen_stages
        self.num_features = [embed_dims * 2**i for i in range(n)]

        self.patch_embed = PatchEmbed(in_channels, embed_dims, 4, cfg['use_conv_embed'],
                                      patch_norm, use_pre_norm)
        self.pos_drop = nn.Dropout(drop_rate)
        dpr = torch.linspace(0, drop_path_rate, sum(depths), device='cpu').tolist()
        self.layers = nn.ModuleList()
        for i, depth in enumerate(depths):
            dim = self.num_features[i]
            blocks = [
                FocalTransformerBlock(dim, heads[i], ws, expands[i], levels[i], windows[i],
                                      cfg['focal_pool'], mlp_ratio, qkv_bias, qk_scale, drop_rate,
                                      attn_drop_rate, dpr[sum(depths[:i]) + j], use_layerscale,
                                      layerscale_value, with_cp)
                for j in range(depth)
            ]
            downsample = (PatchEmbed(dim, 2 * dim, 2, cfg['use_conv_embed'], True, use_pre_norm)
                          if i < n - 1 else None)
            self.layers.append(FocalTransformerStage(blocks, downsample))
        for i in self.out_indices:
            self.add_module(f'norm{i}', nn.LayerNorm(self.num_features[i]))
        self._freeze_stages()

    # ------------------------------------------------------------------ construction helpers
    @staticmethod
    def _resolve_arch(arch: Union[str, dict], overrides: dict) -> dict:
        if isinstance(arch, str):
            if arch not in ARCH_SETTINGS:
                raise ValueError(f'Unknown `arch` {arch!r}; choose one of {sorted(ARCH_SETTINGS)} '
                                 'or pass a dict')
            cfg = dict(ARCH_SETTINGS[arch])
        elif isinstance(arch, dict):
            unknown = set(arch) - set(_ARCH_KEYS)
            if unknown:
                raise ValueError(f'`arch` dict has unknown keys {sorted(unknown)}; '
                                 f'allowed: {list(_ARCH_KEYS)}')
            missing = [k for k in ('embed_dims', 'depths', 'num_heads') if k not in arch]
            if missing:
                raise ValueError(f'`arch` dict is missing {missing}')
            cfg = dict(_COMMON, **arch)
        else:
            raise TypeError(f'`arch` must be a preset name or a dict, got {type(arch).__name__}')
        cfg.update({k: v for k, v in overrides.items() if v is not None})
        return cfg

    @staticmethod
    def _validate(in_channels, cfg, heads, levels, windows, expands, mlp_ratio, drop_rate,
                  attn_drop_rate, drop_path_rate, out_indices, frozen_stages, n) -> None:

        def check(ok: bool, msg: str) -> None:
            if not ok:
                raise ValueError(msg)

        embed_dims, ws, pool = cfg['embed_dims'], cfg['window_size'], cfg['focal_pool']
        check(isinstance(in_channels, int) and in_channels > 0,
              f'`in_channels` must be a positive int, got {in_channels!r}')
        check(isinstance(embed_dims, int) and embed_dims > 0,
              f'`embed_dims` must be a positive int, got {embed_dims!r}')
        check(isinstance(ws, int) and ws >= 1, f'`window_size` must be an int >= 1, got {ws!r}')
        for i, h in enumerate(heads):
            dim = embed_dims * 2**i
            check(h >= 1 and dim % h == 0,
                  f'`num_heads`[{i}]={h} must divide the stage width {dim} (embed_dims * 2**{i})')
        check(pool in POOL_METHODS, f'`focal_pool` must be one of {POOL_METHODS}, got {pool!r}')
        for i, (lv, fw, e) in enumerate(zip(levels, windows, expands)):
            check(lv >= 1, f'`focal_levels`[{i}]={lv} must be >= 1')
            check(fw >= 1 and fw % 2 == 1,
                  f'`focal_windows`[{i}]={fw} must be odd and >= 1 (pooled windows centred on '
                  'the query window)')
            check(0 <= e < ws, f'`expand_sizes`[{i}]={e} must be in [0, window_size={ws})')
            check(pool == 'none' or ws // 2**(lv - 1) >= 1,
                  f'`focal_levels`[{i}]={lv}: level {lv - 1} would pool sub-windows of '
                  f'{ws} // {2**(lv - 1)} = 0 tokens; use window_size >= {2**(lv - 1)}')
        check(mlp_ratio > 0, f'`mlp_ratio` must be > 0, got {mlp_ratio}')
        for name, value in (('drop_rate', drop_rate), ('attn_drop_rate', attn_drop_rate),
                            ('drop_path_rate', drop_path_rate)):
            check(0 <= value < 1, f'`{name}` must be in [0, 1), got {value}')
        check(len(out_indices) > 0 and all(isinstance(i, int) and 0 <= i < n for i in out_indices),
              f'`out_indices` must be non-empty with values in [0, {n - 1}], '
              f'got {tuple(out_indices)}')
        check(isinstance(frozen_stages, int) and -1 <= frozen_stages <= n,
              f'`frozen_stages` must be in [-1, {n}], got {frozen_stages!r}')

    # ------------------------------------------------------------------ mm conventions
    def _stem_modules(self) -> list[nn.Module]:
        return [self.patch_embed, self.pos_drop]

    def init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Linear) and not _is_pool_layer(self, m):
                trunc_normal_init(m, std=.02, bias=0.)
            elif isinstance(m, nn.LayerNorm):
                constant_init(m, 1.0, bias=0.)
            elif isinstance(m, FocalWindowAttention):
                m.init_official()
        self._apply_init_cfg(load_pretrained)

    # ------------------------------------------------------------------ forward
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f'FocalTransformer expects an (N, {self.in_channels}, H, W) tensor, '
                             f'got shape {tuple(x.shape)}')
        x = self.pos_drop(self.patch_embed(x))
        outs = []
        for i, stage in enumerate(self.layers):
            stage_out, x = stage(x)
            if i in self.out_indices:
                outs.append(getattr(self, f'norm{i}')(stage_out).permute(0, 3, 1, 2).contiguous())
        return tuple(outs)


def _is_pool_layer(model: nn.Module, m: nn.Module) -> bool:
    """'fc' pooling layers keep their official mean initialisation (not trunc_normal)."""
    return any(m is p for stage in model.layers for block in stage.blocks
               for p in block.pool_layers)


# ---------------------------------------------------------------------------------------- loading
# Classification-only keys (head, final norm) and the official index/mask buffers (we compute them).
_IGNORED = re.compile(r'^(head\.|norm\.)|relative_position_index|valid_ind_|attn_mask$')
# Model tensors an ImageNet checkpoint cannot have: the per-output norms, and neighbour tables of
# stages whose 224 classification map was a single window (no ring there; see module docstring).
_KEPT_AT_INIT = re.compile(r'^norm\d+\.|^layers\.\d+\.blocks\.\d+\.attn\.'
                           r'relative_position_bias_table_to_neighbors$')


def describe(sd: dict) -> str:
    """A short description of the Focal Transformer variant an (official-named) state dict holds."""
    if not any('relative_position_bias_table' in k for k in sd):
        from .checkpoint import describe as describe_focalnet
        return f'not a Focal Transformer ({describe_focalnet(sd)})'
    parts = []
    stem = sd.get('patch_embed.proj.weight')
    if stem is not None:
        parts.append(f'embed_dims={stem.shape[0]}, stem kernel {stem.shape[-1]}'
                     f'{" (conv embedding)" if stem.shape[-1] == 7 else ""}')
    depths, heads = [], []
    for i in range(8):
        blocks = {int(m.group(1)) for k in sd
                  if (m := re.match(rf'^layers\.{i}\.blocks\.(\d+)\.', k))}
        if not blocks:
            break
        depths.append(max(blocks) + 1)
        table = sd.get(f'layers.{i}.blocks.0.attn.relative_position_bias_table')
        if table is not None:
            heads.append(table.shape[1])
    parts.append(f'depths={tuple(depths)}, num_heads={tuple(heads)}')
    table = sd.get('layers.0.blocks.0.attn.relative_position_bias_table')
    if table is not None:
        parts.append(f'window_size={(math.isqrt(table.shape[0]) + 1) // 2}')
    return ', '.join(parts)


def convert_checkpoint(ckpt: dict, model: FocalTransformer) -> tuple[dict, list[str]]:
    """A checkpoint (official ``{'model': ...}``, mm ``state_dict`` with ``backbone.``) -> a state
    dict ``model`` takes strictly, and the model keys kept at their current values."""
    from .checkpoint import extract_state_dict, misfit_error
    sd = {k: v for k, v in extract_state_dict(ckpt).items() if not _IGNORED.search(k)}
    model_sd = model.state_dict()
    unexpected = [k for k in sd if k not in model_sd]
    mismatched = [(k, tuple(v.shape), tuple(model_sd[k].shape)) for k, v in sd.items()
                  if k in model_sd and v.shape != model_sd[k].shape]
    missing = [k for k in model_sd if k not in sd]
    kept = [k for k in missing if _KEPT_AT_INIT.search(k)]
    not_provided = [k for k in missing if k not in kept]
    if unexpected or mismatched or not_provided:
        raise misfit_error('FocalTransformer', describe(sd), describe(model_sd), mismatched,
                           not_provided, unexpected)
    sd.update({k: model_sd[k] for k in kept})
    return sd, kept


def load_pretrained(model: FocalTransformer, path: str, trusted: bool = False,
                    logger: Optional[object] = None) -> list[str]:
    """Read (safely unless ``trusted``), check and strictly load a checkpoint into ``model``;
    returns the model keys the checkpoint could not provide (kept at initialisation)."""
    from .checkpoint import read_checkpoint
    sd, kept = convert_checkpoint(read_checkpoint(path, trusted=trusted), model)
    model.load_state_dict(sd, strict=True)
    if logger is not None:
        logger.info(f'FocalTransformer: loaded {path} ({len(sd) - len(kept)} tensors)')
        if kept:
            logger.info(f'FocalTransformer: not in the checkpoint, kept at init: {kept}')
    return kept
