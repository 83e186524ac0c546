"""See what FocalNet modulates: capture the gates and modulators, render them over the image.

Every :class:`~focalnet_mm.models.focalnet.FocalModulation` carries two identity probes:
``gate_probe`` (output: the gates, ``(B, L+1, H, W)``: focal levels ``0..L-1`` then the global
context) and ``modulator_probe`` (output: the modulator ``h(ctx_all)``, ``(B, C, H, W)``). This
module hooks them only inside :func:`capture_modulation`, so a model that is not being inspected
runs exactly as before, and renders what was captured as ``HxWx3`` uint8 RGB images:

* :func:`render_kernel_grid`: the depth-wise kernels (mean ``|w|``), stages x focal levels;
* :func:`render_gate_maps`: the input, then one panel per focal level and one for the global
  context, each gate map upsampled to the image and overlaid on it;
* :func:`render_modulator`: the input, then the modulator magnitude (L2 norm over channels)
  overlaid on it.

Example::

    backbone = find_backbone(detector)
    with capture_modulation(backbone) as maps:    # last block of every stage
        backbone(images)
    gates = maps[(3, 1)].gates[0]                 # (L+1, H/32, W/32)
    png = render_gate_maps(image_rgb, gates, stride=32, kernel_sizes=[9, 11])
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Iterator, Optional, Sequence, Union

import cv2
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .models.focalnet import FocalNet

StageSel = Union[None, int, Sequence[int]]
BlockSel = Union[str, int, Sequence[int]]

# Layout of the rendered figures (pixels). Public so that callers and tests can predict sizes.
TITLE_HEIGHT = 20   # title strip above every panel / above the kernel grid
PANEL_GAP = 4       # white gap between panels (and between kernel cells)
ROW_LABEL_WIDTH = 64  # "stage i" labels left of the kernel grid
KERNEL_CELL = 96    # target kernel cell side; exactly K_max * (KERNEL_CELL // K_max)

_COLORMAPS = {'jet': cv2.COLORMAP_JET, 'viridis': cv2.COLORMAP_VIRIDIS,
              'inferno': cv2.COLORMAP_INFERNO, 'magma': cv2.COLORMAP_MAGMA,
              'turbo': cv2.COLORMAP_TURBO, 'hot': cv2.COLORMAP_HOT}


# ---------------------------------------------------------------------------------------- model
def find_backbone(model: nn.Module) -> FocalNet:
    """The :class:`FocalNet` of ``model``: the model itself, its ``.backbone`` (detector, segmentor,
    classifier), the ``.module`` of a DDP wrapper, or else the first FocalNet among its modules."""
    if isinstance(model, FocalNet):
        return model
    for attr in ('backbone', 'module'):
        child = getattr(model, attr, None)
        if isinstance(child, nn.Module):
            with contextlib.suppress(TypeError):
                return find_backbone(child)
    for module in model.modules():
        if isinstance(module, FocalNet):
            return module
    raise TypeError(f'no FocalNet backbone in {type(model).__name__}')


def _select(requested, count: int, what: str) -> list[int]:
    """Indices in ``range(count)`` from None (all), an int or a sequence (negatives allowed)."""
    if requested is None or requested == 'all':
        return list(range(count))
    if requested == 'last':
        return [count - 1]
    items = [requested] if isinstance(requested, int) else list(requested)
    out = []
    for i in items:
        if not isinstance(i, int) or not -count <= i < count:
            raise ValueError(f'{what} index {i!r} out of range for {count} {what}s')
        out.append(i % count)
    return sorted(set(out))


@dataclass
class ModulationMaps:
    """What one block's focal modulation computed in the last forward (detached, on the CPU).

    ``gates``: ``(B, L+1, H, W)``, levels ``0..L-1`` then the global context (raw values, as the
    model uses them: no sigmoid/softmax). ``modulator``: ``h(ctx_all)``, ``(B, C, H, W)``.
    Both are ``None`` until a forward pass went through the block.
    """
    gates: Optional[torch.Tensor] = None
    modulator: Optional[torch.Tensor] = None


def _to_cpu(t: torch.Tensor) -> torch.Tensor:
    # a copy (never a view of a buffer the model could reuse), contiguous NCHW, float32
    return t.detach().to('cpu', torch.float32, copy=True).contiguous()


@contextlib.contextmanager
def capture_modulation(
        backbone: nn.Module, stages: StageSel = None,
        blocks: BlockSel = 'last') -> Iterator[dict[tuple[int, int], ModulationMaps]]:
    """Hook the probes of the selected blocks for the duration of the ``with`` block.

    Args:
        backbone: a :class:`FocalNet` (or any model holding one, see :func:`find_backbone`).
        stages: ``None`` (all), a stage index or a sequence of them (negative indices allowed).
        blocks: ``'last'`` (the last block of each selected stage, the "last layer" the paper
            shows), ``'all'``, a block index or a sequence of them (negative allowed), applied to
            every selected stage.

    Yields a dict ``{(stage, block): ModulationMaps}`` (non-negative indices), filled by every
    forward pass run inside the ``with`` (a later pass overwrites an earlier one). All hooks are
    removed on exit, also when the body raises.
    """
    backbone = find_backbone(backbone)
    captured: dict[tuple[int, int], ModulationMaps] = {}
    handles = []

    def hook(record: ModulationMaps, field: str):
        def fn(module, args, output):
            setattr(record, field, _to_cpu(output))
        return fn

    if isinstance(blocks, str) and blocks not in ('last', 'all'):
        raise ValueError(f"blocks must be 'last', 'all', an int or a sequence, got {blocks!r}")
    selected_stages = _select(stages, len(backbone.layers), 'stage')
    try:
        for s in selected_stages:
            stage_blocks = backbone.layers[s].blocks
            for b in _select(blocks, len(stage_blocks), 'block'):
                record = captured[(s, b)] = ModulationMaps()
                modulation = stage_blocks[b].modulation
                handles.append(modulation.gate_probe.register_forward_hook(hook(record, 'gates')))
                handles.append(
                    modulation.modulator_probe.register_forward_hook(hook(record, 'modulator')))
        yield captured
    finally:
        for handle in handles:
            handle.remove()


def depthwise_kernels(backbone: nn.Module) -> dict[tuple[int, int], torch.Tensor]:
    """``{(stage, level): (K, K) tensor}``: the mean of ``|w|`` of the level's depth-wise kernel
    over the channels and over all blocks of the stage (as the paper's kernel figure)."""
    backbone = find_backbone(backbone)
    kernels = {}
    with torch.no_grad():
        for s, stage in enumerate(backbone.layers):
            num_levels = stage.blocks[0].modulation.focal_level
            for level in range(num_levels):
                weights = torch.stack([block.modulation.focal_layers[level][0].weight
                                       for block in stage.blocks])  # (blocks, C, 1, K, K)
                kernels[(s, level)] = weights.abs().float().mean(dim=(0, 1, 2)).cpu()
    return kernels


def modulator_magnitude(modulator: torch.Tensor) -> torch.Tensor:
    """L2 norm over the channels: ``(B, C, H, W) -> (B, H, W)`` or ``(C, H, W) -> (H, W)``."""
    return torch.linalg.vector_norm(modulator.float(), dim=-3)


# ---------------------------------------------------------------------------------- rendering
def colorize(values: np.ndarray, vmin: Optional[float] = None, vmax: Optional[float] = None,
             cmap: str = 'jet') -> np.ndarray:
    """A 2-D array -> ``HxWx3`` uint8 RGB through an OpenCV colormap; ``[vmin, vmax]`` (default: the
    array's range) maps to the colormap's ends, a constant array to its middle."""
    values = np.asarray(values, dtype=np.float64)
    vmin = float(values.min()) if vmin is None else vmin
    vmax = float(values.max()) if vmax is None else vmax
    if vmax > vmin:
        unit = np.clip((values - vmin) / (vmax - vmin), 0., 1.)
    else:
        unit = np.full(values.shape, .5)
    gray = np.round(unit * 255).astype(np.uint8)
    return cv2.applyColorMap(gray, _COLORMAPS[cmap])[..., ::-1].copy()  # BGR -> RGB


def upsample_map(values: Union[np.ndarray, torch.Tensor], image_hw: tuple[int, int],
                 stride: Optional[int] = None) -> np.ndarray:
    """A feature map ``(h, w)`` -> ``image_hw``, bilinear.

    With ``stride`` (the feature's stride: ``4 * 2**stage`` in FocalNet), feature pixel ``j`` covers
    image pixels ``[j*stride, (j+1)*stride)``, as in the backbone (which pads the input right/bottom
    to a multiple of the stride): the map is upsampled by ``stride`` and cropped to the image.
    Without it, the map is stretched onto the image.
    """
    t = torch.as_tensor(np.asarray(values, dtype=np.float32))[None, None]
    height, width = image_hw
    if stride is None:
        return F.interpolate(t, size=(height, width), mode='bilinear',
                             align_corners=False)[0, 0].numpy()
    h, w = t.shape[-2:]
    if h * stride < height or w * stride < width:
        raise ValueError(f'a {h}x{w} map at stride {stride} does not cover a '
                         f'{height}x{width} image')
    up = F.interpolate(t, size=(h * stride, w * stride), mode='bilinear', align_corners=False)
    return up[0, 0, :height, :width].numpy()


def overlay(image: np.ndarray, heat_rgb: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """``(1 - alpha) * image + alpha * heat`` (both ``HxWx3`` uint8)."""
    if image.shape != heat_rgb.shape:
        raise ValueError(f'image {image.shape} and heat map {heat_rgb.shape} differ in shape')
    out = (1. - alpha) * image.astype(np.float32) + alpha * heat_rgb.astype(np.float32)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def _check_image(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f'expected an HxWx3 uint8 RGB image, got {image.shape} {image.dtype}')
    return image


def _title_strip(width: int, text: str, height: int = TITLE_HEIGHT) -> np.ndarray:
    strip = np.full((height, width, 3), 255, np.uint8)
    if text and height >= 10:
        scale = 0.4
        (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        x = max(2, (width - tw) // 2)
        y = (height + th) // 2
        cv2.putText(strip, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1,
                    cv2.LINE_AA)
    return strip


def hstack_panels(panels: Sequence[np.ndarray], titles: Sequence[str],
                  gap: int = PANEL_GAP) -> np.ndarray:
    """Panels of equal size side by side with ``gap`` white pixels between them, each under a
    ``TITLE_HEIGHT`` title strip: ``(TITLE_HEIGHT + H, n*W + (n-1)*gap, 3)``."""
    if len(panels) != len(titles) or not panels:
        raise ValueError(f'{len(panels)} panels and {len(titles)} titles')
    height, width = panels[0].shape[:2]
    columns = []
    for i, (panel, title) in enumerate(zip(panels, titles)):
        if panel.shape != (height, width, 3):
            raise ValueError(f'panel {i} has shape {panel.shape}, expected {(height, width, 3)}')
        if i:
            columns.append(np.full((TITLE_HEIGHT + height, gap, 3), 255, np.uint8))
        columns.append(np.concatenate([_title_strip(width, title), panel], axis=0))
    return np.concatenate(columns, axis=1)


def render_gate_maps(image: np.ndarray, gates: torch.Tensor, stride: Optional[int] = None,
                     kernel_sizes: Optional[Sequence[int]] = None, alpha: float = 0.5,
                     cmap: str = 'jet', shared_scale: bool = True) -> np.ndarray:
    """Input + one overlay per focal level + one for the global context, side by side.

    Args:
        image: the ``HxWx3`` uint8 RGB image the backbone saw (before normalisation).
        gates: ``(L+1, h, w)`` gates of one image (``ModulationMaps.gates[i]``).
        stride: the feature stride, for exact alignment (see :func:`upsample_map`).
        kernel_sizes: the L depth-wise kernel sizes, shown in the titles.
        shared_scale: one colour range for all L+1 maps (their relative strength is visible); if
            False each map spans the whole colormap.

    Returns ``(TITLE_HEIGHT + H, (L+2)*W + (L+1)*PANEL_GAP, 3)`` uint8.
    """
    image = _check_image(image)
    gates = torch.as_tensor(gates).float()
    if gates.dim() != 3 or gates.shape[0] < 2:
        raise ValueError('expected gates of shape (L+1, h, w) with L >= 1, got '
                         f'{tuple(gates.shape)}')
    levels = gates.shape[0] - 1
    maps = [upsample_map(g.numpy(), image.shape[:2], stride) for g in gates]
    vmin = min(float(m.min()) for m in maps) if shared_scale else None
    vmax = max(float(m.max()) for m in maps) if shared_scale else None
    panels = [image] + [overlay(image, colorize(m, vmin, vmax, cmap), alpha) for m in maps]
    titles = ['input']
    for k in range(levels):
        size = f' {kernel_sizes[k]}x{kernel_sizes[k]}' if kernel_sizes is not None else ''
        titles.append(f'level {k}{size}')
    titles.append('global')
    return hstack_panels(panels, titles)


def render_modulator(image: np.ndarray, modulator: torch.Tensor, stride: Optional[int] = None,
                     alpha: float = 0.5, cmap: str = 'jet') -> np.ndarray:
    """Input + the modulator magnitude ``||h(ctx_all)||_2`` over channels overlaid on it.

    ``modulator``: ``(C, h, w)`` of one image. Returns ``(TITLE_HEIGHT + H, 2*W + PANEL_GAP, 3)``.
    """
    image = _check_image(image)
    modulator = torch.as_tensor(modulator)
    if modulator.dim() != 3:
        raise ValueError(f'expected a modulator of shape (C, h, w), got {tuple(modulator.shape)}')
    magnitude = upsample_map(modulator_magnitude(modulator).numpy(), image.shape[:2], stride)
    return hstack_panels([image, overlay(image, colorize(magnitude, cmap=cmap), alpha)],
                         ['input', '|modulator|'])


def kernel_grid_shape(kernels: dict[tuple[int, int], torch.Tensor],
                      cell: int = KERNEL_CELL) -> tuple[int, int, int]:
    """Shape of :func:`render_kernel_grid`'s output for these kernels."""
    rows = 1 + max(s for s, _ in kernels)
    cols = 1 + max(k for _, k in kernels)
    kmax = max(t.shape[-1] for t in kernels.values())
    side = kmax * max(1, cell // kmax)
    return (TITLE_HEIGHT + rows * (side + PANEL_GAP),
            ROW_LABEL_WIDTH + cols * (side + PANEL_GAP), 3)


def render_kernel_grid(kernels: dict[tuple[int, int], torch.Tensor], cell: int = KERNEL_CELL,
                       cmap: str = 'viridis') -> np.ndarray:
    """The kernels of :func:`depthwise_kernels` as a grid: one row per stage, one column per focal
    level. All kernels are drawn at the same pixel scale (``cell // K_max`` pixels per tap, nearest
    neighbour), centred in square cells of side ``K_max * scale``, so their sizes compare; each
    kernel is colour-normalised on its own (min..max). Rows are labelled "stage i", columns
    "level k"; a stage with fewer levels leaves white cells. Shape: :func:`kernel_grid_shape`.
    """
    if not kernels:
        raise ValueError('no kernels to render')
    height, width, _ = kernel_grid_shape(kernels, cell)
    kmax = max(t.shape[-1] for t in kernels.values())
    scale = max(1, cell // kmax)
    side = kmax * scale
    rows = 1 + max(s for s, _ in kernels)
    cols = 1 + max(k for _, k in kernels)
    canvas = np.full((height, width, 3), 255, np.uint8)
    for c in range(cols):
        x0 = ROW_LABEL_WIDTH + c * (side + PANEL_GAP)
        canvas[:TITLE_HEIGHT, x0:x0 + side] = _title_strip(side, f'level {c}')
    for r in range(rows):
        y0 = TITLE_HEIGHT + r * (side + PANEL_GAP)
        label = _title_strip(ROW_LABEL_WIDTH, f'stage {r}')
        yl = y0 + max(0, (side - TITLE_HEIGHT) // 2)
        rows_left = min(TITLE_HEIGHT, height - yl)
        canvas[yl:yl + rows_left, :ROW_LABEL_WIDTH] = label[:rows_left]
    for (s, k), kernel in kernels.items():
        size = kernel.shape[-1]
        tile = colorize(kernel.float().numpy(), cmap=cmap)
        tile = np.repeat(np.repeat(tile, scale, axis=0), scale, axis=1)
        offset = (kmax - size) * scale // 2
        y0 = TITLE_HEIGHT + s * (side + PANEL_GAP) + offset
        x0 = ROW_LABEL_WIDTH + k * (side + PANEL_GAP) + offset
        canvas[y0:y0 + size * scale, x0:x0 + size * scale] = tile
    return canvas


__all__ = ['ModulationMaps', 'capture_modulation', 'colorize', 'depthwise_kernels', 'find_backbone',
           'hstack_panels', 'kernel_grid_shape', 'modulator_magnitude', 'overlay',
           'render_gate_maps', 'render_kernel_grid', 'render_modulator', 'upsample_map',
           'TITLE_HEIGHT', 'PANEL_GAP', 'ROW_LABEL_WIDTH', 'KERNEL_CELL']
