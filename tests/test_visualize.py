"""focalnet_mm.visualization and tools/visualize_modulation.py: the captured gates and modulators
are what the blocks compute (recomputed here from the paper's formulas), capturing leaves the model untouched,
and the tool writes the documented PNGs for detector, segmentor and plain backbone configs."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

from focalnet_mm import FocalNet
from focalnet_mm.demo_data import DemoDataConfig, make_demo_data
from focalnet_mm.visualization import (capture_modulation, colorize, depthwise_kernels,
                                       find_backbone, overlay, render_gate_maps,
                                       render_kernel_grid, upsample_map)
from helpers import call_tool_main, randomize_, tool_env

ROOT = Path(__file__).resolve().parents[1]
TOOL = ROOT / 'tools' / 'visualize_modulation.py'
DET_CONFIG = ROOT / 'configs' / 'mmdet' / 'mask-rcnn_focalnet-t-srf_fpn_1x_coco.py'
SEG_CONFIG = ROOT / 'configs' / 'mmseg' / 'upernet_focalnet-t-srf_8xb2-160k_ade20k-512x512.py'

# The documented layout (docs/visualization.md), written out here independently of the module.
TITLE, GAP, LABEL_W = 20, 4, 64

SMALL_L2 = dict(embed_dims=16, depths=(1, 2, 1, 1), focal_levels=2, focal_windows=9)
SMALL_L4 = dict(embed_dims=16, depths=(1, 1, 1, 1), focal_levels=4, focal_windows=3,
                normalize_modulator=True)
SMALL_L3_POSTLN = dict(embed_dims=16, depths=(1, 1, 1, 1), focal_levels=3, focal_windows=3,
                       use_postln=True, use_layerscale=True, use_postln_in_modulation=True)


def small_net(arch: dict, seed: int = 0) -> FocalNet:
    return randomize_(FocalNet(arch=arch, drop_path_rate=0.), seed=seed).eval()


@pytest.fixture(scope='module')
def demo_images(tmp_path_factory) -> dict[str, Path]:
    """One COCO-style and one ADE-style synthetic image from the project's demo generator."""
    root = tmp_path_factory.mktemp('demo')
    paths = make_demo_data(str(root), cfg=DemoDataConfig(coco_train=1, coco_val=1, ade_train=1,
                                                         ade_val=1), verbose=False)
    coco = sorted(Path(paths['coco'], 'val2017').glob('*.jpg'))
    ade = sorted(Path(paths['ade'], 'images', 'validation').glob('*.jpg'))
    assert coco and ade
    return dict(coco=coco[0], ade=ade[0])


def expected_hw(image_path: Path, short_side: int) -> tuple[int, int]:
    w, h = Image.open(image_path).size
    scale = short_side / min(w, h)
    return int(h * scale + 0.5), int(w * scale + 0.5)


# ------------------------------------------------------------------------------- (a) correctness
def reference_modulation(m, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The focal modulation written out with plain ops on NHWC/NCHW tensors: (q, gates, modulator)."""
    C, L = m.dim, m.focal_level
    y = F.linear(x.permute(0, 2, 3, 1), m.f.weight, m.f.bias).permute(0, 3, 1, 2)
    q, ctx, gates = y[:, :C], y[:, C:2 * C], y[:, 2 * C:]
    ctx_all = torch.zeros_like(ctx)
    for level in range(L):
        weight = m.focal_layers[level][0].weight
        ctx = F.gelu(F.conv2d(ctx, weight, padding=weight.shape[-1] // 2, groups=C))
        ctx_all = ctx_all + ctx * gates[:, level:level + 1]
    ctx_global = F.gelu(ctx.mean(dim=(2, 3), keepdim=True))
    ctx_all = ctx_all + ctx_global * gates[:, L:L + 1]
    if m.normalize_modulator:
        ctx_all = ctx_all / (L + 1)
    modulator = F.conv2d(ctx_all, m.h.weight, m.h.bias)
    return q, gates, modulator


@pytest.mark.parametrize('arch', [SMALL_L2, SMALL_L4, SMALL_L3_POSTLN],
                         ids=['levels2', 'levels4-normalized', 'levels3-postln'])
def test_captured_maps_equal_the_recomputed_modulation(arch):
    net = small_net(arch)
    x = torch.randn(1, 3, 70, 53)
    inputs, outputs = {}, {}

    def record(key):
        def hook(module, args, out):  # the modulation's own input and output
            inputs[key], outputs[key] = args[0].detach().clone(), out.detach().clone()
        return hook

    handles = [block.modulation.register_forward_hook(record((s, b)))
               for s, stage in enumerate(net.layers) for b, block in enumerate(stage.blocks)]
    with torch.no_grad(), capture_modulation(net, blocks='all') as maps:
        net(x)
    for h in handles:
        h.remove()

    expected_keys = {(s, b) for s, d in enumerate(arch['depths']) for b in range(d)}
    assert set(maps) == expected_keys == set(inputs)
    levels = arch['focal_levels']
    for key, record in maps.items():
        m = net.layers[key[0]].blocks[key[1]].modulation
        q, gates, modulator = reference_modulation(m, inputs[key])
        hw = inputs[key].shape[-2:]
        assert record.gates.shape == (1, levels + 1, *hw)
        assert record.modulator.shape == (1, m.dim, *hw)
        assert record.gates.device.type == 'cpu' and not record.gates.requires_grad
        torch.testing.assert_close(record.gates, gates)
        torch.testing.assert_close(record.modulator, modulator, rtol=1e-4, atol=1e-5)
        # ... and the captured modulator is the one the block multiplies q with
        out = q * record.modulator
        if hasattr(m, 'ln'):
            out = F.layer_norm(out.permute(0, 2, 3, 1), (m.dim,), m.ln.weight, m.ln.bias,
                               m.ln.eps).permute(0, 3, 1, 2)
        out = F.linear(out.permute(0, 2, 3, 1), m.proj.weight, m.proj.bias).permute(0, 3, 1, 2)
        torch.testing.assert_close(outputs[key], out, rtol=1e-4, atol=1e-5)


def test_default_selection_is_the_last_block_of_each_stage_and_indices_resolve():
    net = small_net(SMALL_L2)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad(), capture_modulation(net) as maps:
        net(x)
    assert set(maps) == {(0, 0), (1, 1), (2, 0), (3, 0)}
    assert all(r.gates is not None and r.modulator is not None for r in maps.values())
    with torch.no_grad(), capture_modulation(net, stages=-3, blocks=[0, -1]) as maps:
        net(x)
    assert set(maps) == {(1, 0), (1, 1)}
    assert maps[(1, 0)].gates.shape == (1, 3, 8, 8)
    with pytest.raises(ValueError):
        with capture_modulation(net, stages=4):
            pass
    with pytest.raises(ValueError):
        with capture_modulation(net, blocks='first'):
            pass


def test_depthwise_kernels_are_mean_abs_over_channels_and_blocks():
    net = small_net(SMALL_L2)
    kernels = depthwise_kernels(net)
    assert set(kernels) == {(s, k) for s in range(4) for k in range(2)}
    w0 = net.layers[1].blocks[0].modulation.focal_layers[1][0].weight  # (16*2, 1, 11, 11)
    w1 = net.layers[1].blocks[1].modulation.focal_layers[1][0].weight
    expected = (w0.abs().sum(dim=(0, 1)) + w1.abs().sum(dim=(0, 1))) / (2 * w0.shape[0])
    assert kernels[(1, 1)].shape == (11, 11) and kernels[(0, 0)].shape == (9, 9)
    torch.testing.assert_close(kernels[(1, 1)], expected)


def test_find_backbone_reaches_inside_wrappers():
    net = small_net(SMALL_L2)

    class Detector(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = net
            self.neck = nn.Conv2d(1, 1, 1)

    class Deep(nn.Module):
        def __init__(self):
            super().__init__()
            self.stuff = nn.Sequential(nn.Identity(), Detector())

    assert find_backbone(net) is net
    assert find_backbone(Detector()) is net
    assert find_backbone(Deep()) is net
    with pytest.raises(TypeError):
        find_backbone(nn.Conv2d(1, 1, 1))


# ------------------------------------------------------------------------------- (b) no cost
def _hook_counts(net) -> list[int]:
    return [len(p._forward_hooks) + len(p._forward_pre_hooks)
            for m in net.modules() if hasattr(m, 'gate_probe')
            for p in (m.gate_probe, m.modulator_probe)]


def test_capture_leaves_no_hooks_and_does_not_change_the_output():
    net = small_net(SMALL_L4)
    x = torch.randn(2, 3, 45, 61)
    with torch.no_grad():
        before = net(x)
        with capture_modulation(net, blocks='all') as maps:
            assert sum(_hook_counts(net)) == 2 * 4  # one hook per probe of the 4 blocks
            during = net(x)
        after = net(x)
    assert all(r.gates.shape[0] == 2 for r in maps.values())
    assert _hook_counts(net) == [0] * 8
    for b, d, a in zip(before, during, after):
        assert torch.equal(b, d) and torch.equal(b, a)
    # hooks are removed also when the body raises
    with pytest.raises(RuntimeError, match='boom'):
        with capture_modulation(net, blocks='all'):
            raise RuntimeError('boom')
    assert _hook_counts(net) == [0] * 8


# ------------------------------------------------------------------------------- rendering
def test_upsample_map_aligns_feature_pixels_with_image_pixels():
    feat = np.zeros((4, 5), np.float32)
    feat[2, 3] = 1.  # covers image rows 16..23, columns 24..31 at stride 8
    up = upsample_map(feat, (29, 37), stride=8)  # the backbone padded 29x37 to 32x40
    assert up.shape == (29, 37)
    r, c = np.unravel_index(up.argmax(), up.shape)
    assert 16 <= r < 24 and 24 <= c < 32
    with pytest.raises(ValueError):
        upsample_map(feat, (33, 37), stride=8)


def test_render_gate_maps_layout_and_panels():
    image = (np.random.default_rng(0).random((40, 56, 3)) * 255).astype(np.uint8)
    gates = torch.randn(5, 5, 7)  # 4 levels + global at stride 8
    out = render_gate_maps(image, gates, stride=8, kernel_sizes=[3, 5, 7, 9])
    assert out.shape == (TITLE + 40, 6 * 56 + 5 * GAP, 3) and out.dtype == np.uint8
    panels = [out[TITLE:, i * (56 + GAP):i * (56 + GAP) + 56] for i in range(6)]
    np.testing.assert_array_equal(panels[0], image)
    maps = [upsample_map(g.numpy(), (40, 56), 8) for g in gates]
    lo, hi = min(m.min() for m in maps), max(m.max() for m in maps)
    for k in range(5):
        np.testing.assert_array_equal(panels[k + 1], overlay(image, colorize(maps[k], lo, hi)))
    assert (out[TITLE:, 56:56 + GAP] == 255).all()  # white gap


# ------------------------------------------------------------------------------- (c, d) the tool
def run_tool(*args) -> str:
    env = tool_env()
    proc = subprocess.run([sys.executable, str(TOOL), *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def call_tool(capsys, *args) -> str:
    """:func:`run_tool` in this process (the tool's ``main``), without a new interpreter importing
    torch and mmdet/mmseg again: returns the captured stdout."""
    written, out, _ = call_tool_main(capsys, 'visualize_modulation', *args)
    assert written  # the process would exit 0 here
    return out


def png(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        assert im.mode == 'RGB'
        return np.asarray(im)


def check_figures(out_dir: Path, stdout: str, stages: list[int], levels: int, hw: tuple[int, int],
                  kernel_grid_hw: tuple[int, int], image: np.ndarray) -> None:
    h, w = hw
    names = ['kernels.png'] + [f'{kind}_stage{s}.png' for s in stages
                               for kind in ('gates', 'modulator')]
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(names)
    for name in names:
        assert str(out_dir / name) in stdout  # the tool prints what it wrote
    assert png(out_dir / 'kernels.png').shape == (*kernel_grid_hw, 3)
    for s in stages:
        gates = png(out_dir / f'gates_stage{s}.png')
        assert gates.shape == (TITLE + h, (levels + 2) * w + (levels + 1) * GAP, 3)
        np.testing.assert_array_equal(gates[TITLE:, :w], image)  # first panel: the input
        for k in range(1, levels + 2):  # the others: the input under a heat map
            panel = gates[TITLE:, k * (w + GAP):k * (w + GAP) + w].astype(int)
            assert np.abs(panel - image).mean() > 5
        mod = png(out_dir / f'modulator_stage{s}.png')
        assert mod.shape == (TITLE + h, 2 * w + GAP, 3)
        np.testing.assert_array_equal(mod[TITLE:, :w], image)


def resized(path: Path, hw: tuple[int, int]) -> np.ndarray:
    return np.asarray(Image.open(path).convert('RGB').resize(hw[::-1], Image.BILINEAR))


def test_tool_on_a_detector_config(demo_images, tmp_path, capsys):
    out_dir = tmp_path / 'det'
    stdout = call_tool(capsys, demo_images['coco'], DET_CONFIG, '--out-dir', out_dir, '--size',
                       128, '--stage', 'all')
    assert 'random weights' in stdout
    hw = expected_hw(demo_images['coco'], 128)
    # tiny-srf, windows 9: kernels 9 and 11; 8 px per tap, cells 88 px; 4 stages x 2 levels
    check_figures(out_dir, stdout, [0, 1, 2, 3], levels=2, hw=hw,
                  kernel_grid_hw=(TITLE + 4 * (88 + GAP), LABEL_W + 2 * (88 + GAP)),
                  image=resized(demo_images['coco'], hw))


def test_tool_on_a_segmentor_config_with_a_full_checkpoint(demo_images, tmp_path, capsys):
    # A segmentor checkpoint in mmengine's layout: backbone.* + head tensors.
    backbone = randomize_(FocalNet('tiny-srf', focal_windows=9), seed=3)
    state = {f'backbone.{k}': v for k, v in backbone.state_dict().items()}
    state['decode_head.conv_seg.weight'] = torch.randn(150, 512, 1, 1)
    state['decode_head.conv_seg.bias'] = torch.randn(150)
    ckpt = tmp_path / 'upernet.pth'
    torch.save({'meta': {'epoch': 1}, 'state_dict': state}, ckpt)

    out_dir = tmp_path / 'seg'
    stdout = call_tool(capsys, demo_images['ade'], SEG_CONFIG, ckpt, '--out-dir', out_dir,
                       '--size', 128)
    assert 'full model checkpoint loaded by mmengine load_checkpoint' in stdout
    hw = expected_hw(demo_images['ade'], 128)
    check_figures(out_dir, stdout, [3], levels=2, hw=hw,
                  kernel_grid_hw=(TITLE + 4 * (88 + GAP), LABEL_W + 2 * (88 + GAP)),
                  image=resized(demo_images['ade'], hw))
    # the kernels drawn are the checkpoint's
    np.testing.assert_array_equal(png(out_dir / 'kernels.png'),
                                  render_kernel_grid(depthwise_kernels(backbone)))


def test_tool_on_a_four_level_backbone_config_with_a_backbone_checkpoint(demo_images, tmp_path):
    config = tmp_path / 'focalnet_fl4.py'
    config.write_text(f'model = dict(type="FocalNet", arch={SMALL_L4!r}, drop_path_rate=0.)\n')
    net = small_net(SMALL_L4, seed=5)
    ckpt = tmp_path / 'fl4.pth'
    torch.save({'model': net.state_dict()}, ckpt)

    out_dir = tmp_path / 'fl4'
    # Stays a real process (the cheapest run of the tool): `python tools/visualize_modulation.py`
    # as a user runs it, exit status 0 included.
    stdout = run_tool(demo_images['coco'], config, ckpt, '--out-dir', out_dir, '--size', 96,
                      '--stage', 1)
    assert 'focalnet_mm load_pretrained' in stdout
    hw = expected_hw(demo_images['coco'], 96)
    image = resized(demo_images['coco'], hw)
    # kernels 3, 5, 7, 9: 10 px per tap, cells 90 px; 4 stages x 4 levels
    check_figures(out_dir, stdout, [1], levels=4, hw=hw,
                  kernel_grid_hw=(TITLE + 4 * (90 + GAP), LABEL_W + 4 * (90 + GAP)), image=image)
    np.testing.assert_array_equal(png(out_dir / 'kernels.png'),
                                  render_kernel_grid(depthwise_kernels(net)))

    # The gate figure is the one rendered here from the same weights, image and (ImageNet RGB)
    # normalisation, up to rounding of the last colour level.
    mean = torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)
    x = (torch.from_numpy(image.copy()).float().permute(2, 0, 1)[None] - mean) / std
    with torch.no_grad(), capture_modulation(net, stages=1) as maps:
        net(x)
    expected = render_gate_maps(image, maps[(1, 0)].gates[0], stride=8,
                                kernel_sizes=[3, 5, 7, 9])
    diff = np.abs(png(out_dir / 'gates_stage1.png').astype(int) - expected)
    assert diff.mean() < 0.5 and (diff > 8).mean() < 0.01
