"""``tools/convert_checkpoint.py`` on synthetic checkpoints in the official, timm and HF layouts;
the output must load strictly (``load_pretrained``) and equal the source wherever it was not
padded; a checkpoint of another variant must fail with a clear message. The tool runs in-process
(its ``main``), except for one real command line."""
from __future__ import annotations

import os.path as osp
import re
import subprocess
import sys

import pytest
import torch

from focalnet_mm import FocalNet
from focalnet_mm.models.checkpoint import load_pretrained, official_to_hf, official_to_timm
from helpers import call_tool_main, randomize_

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..'))
TOOL = osp.join(ROOT, 'tools', 'convert_checkpoint.py')
K0 = 'layers.0.blocks.0.modulation.focal_layers.0.0.weight'   # 3x3 in window 3, 9x9 in window 9
K1 = 'layers.2.blocks.5.modulation.focal_layers.1.0.weight'   # 5x5 -> 11x11


def _run(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, TOOL, *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def _call(capsys, *args) -> subprocess.CompletedProcess:
    """The tool's ``main`` in this process, as :func:`_run` would run it (repository root as the
    working directory), without a new interpreter importing torch again: the returned status and
    the captured stdout/stderr."""
    code, out, err = call_tool_main(capsys, 'convert_checkpoint', *args)
    return subprocess.CompletedProcess([TOOL, *map(str, args)], code, out, err)


@pytest.fixture(scope='module')
def official_tiny(tmp_path_factory):
    """An official-layout classification checkpoint of FocalNet-T srf (window 3), random values."""
    model = randomize_(FocalNet('tiny-srf', drop_path_rate=0.))
    sd = {k: v for k, v in model.state_dict().items() if not re.match(r'norm\d', k)}
    sd.update({'norm.weight': torch.rand(768) + 0.5, 'norm.bias': torch.randn(768) * 0.1,
               'head.weight': torch.randn(1000, 768) * 0.02, 'head.bias': torch.zeros(1000)})
    path = tmp_path_factory.mktemp('ckpt') / 'focalnet_tiny_srf.pth'
    torch.save({'model': sd}, path)
    return path, sd


def _check_output(dst, src_sd):
    """``dst`` loads strictly into a window-9 tiny-srf and equals ``src_sd`` where not padded."""
    out = torch.load(dst, map_location='cpu', weights_only=True)
    assert set(out) == {'state_dict', 'meta'}
    assert all(k.startswith('backbone.') for k in out['state_dict'])
    model = FocalNet('tiny-srf', focal_windows=9, drop_path_rate=0.)
    report = load_pretrained(model, str(dst))
    assert report.padded == [] and report.kept_at_init == []  # already adapted by the tool
    loaded = model.state_dict()
    n_equal = 0
    for k, v in src_sd.items():
        if k.startswith(('head.', 'norm.')):
            assert k not in loaded
            continue
        if re.search(r'focal_layers\.\d+\.0\.weight$', k):
            big, pad = loaded[k], (loaded[k].shape[-1] - v.shape[-1]) // 2
            assert pad > 0
            assert torch.equal(big[..., pad:pad + v.shape[-1], pad:pad + v.shape[-1]], v), k
            border = big.clone()
            border[..., pad:pad + v.shape[-1], pad:pad + v.shape[-1]] = 0
            assert not border.any(), k  # zero padding
        else:
            assert torch.equal(loaded[k], v), k
            n_equal += 1
    assert n_equal > 150
    return out


def test_official_window3_to_window9(official_tiny, tmp_path, capsys):
    src, sd = official_tiny
    dst = tmp_path / 'out' / 'tiny_srf_w9.pth'
    proc = _call(capsys, src, dst, '--arch', 'tiny-srf', '--focal-windows', '9')
    assert proc.returncode == 0, proc.stderr
    assert 'format: official' in proc.stdout
    assert f'{K0}: (96, 1, 3, 3) -> (96, 1, 9, 9)' in proc.stdout
    assert 'padded kernels (zero-padded, centred): 24' in proc.stdout
    assert 'ignored classification keys: 4' in proc.stdout
    assert 'kept at init (not in the checkpoint): 8' in proc.stdout  # norm0..3 weight+bias
    assert 'tensors: 100%' in proc.stderr  # progress bar
    out = _check_output(dst, sd)
    meta = out['meta']
    assert meta['source_format'] == 'official'
    assert len(meta['padded']) == 24 and meta['padded'][0][1:] == [[96, 1, 3, 3], [96, 1, 9, 9]]
    assert sorted(meta['ignored']) == ['head.bias', 'head.weight', 'norm.bias', 'norm.weight']
    assert len(meta['kept_at_init']) == 8


def test_timm_named(official_tiny, tmp_path, capsys):
    src, sd = official_tiny
    timm_path = tmp_path / 'timm.pth'
    timm_sd = official_to_timm(sd, use_postln=False)
    assert 'stem.proj.weight' in timm_sd
    torch.save(timm_sd, timm_path)
    dst = tmp_path / 'from_timm.pth'
    proc = _call(capsys, timm_path, dst, '--focal-windows', '9')
    assert proc.returncode == 0, proc.stderr
    assert 'format: timm' in proc.stdout
    _check_output(dst, sd)


def test_hf_named_safetensors(official_tiny, tmp_path, capsys):
    from safetensors.torch import save_file
    src, sd = official_tiny
    hf_sd = official_to_hf(sd)
    assert 'focalnet.embeddings.patch_embeddings.projection.weight' in hf_sd
    hf_path = tmp_path / 'model.safetensors'
    save_file({k: v.contiguous() for k, v in hf_sd.items()}, str(hf_path))
    dst = tmp_path / 'from_hf.pth'
    proc = _call(capsys, hf_path, dst, '--focal-windows', '9', '--no-progress')
    assert proc.returncode == 0, proc.stderr
    assert 'format: hf' in proc.stdout
    assert 'tensors:' not in proc.stderr
    _check_output(dst, sd)


def test_config_target_and_export_round_trip(official_tiny, tmp_path, capsys):
    """--config takes the backbone of an mm config (tiny-lrf, per-stage windows: focal levels are
    expanded 2 -> 3); --to timm exports names that the tool reads back to the same tensors."""
    src, sd = official_tiny
    cfg = osp.join(ROOT, 'configs/mmdet/atss_focalnet-t-lrf_fpn_ms-crop-3x_coco.py')
    dst = tmp_path / 'lrf.pth'
    proc = _call(capsys, src, dst, '--config', cfg)
    assert proc.returncode == 0, proc.stderr
    assert 'focal_levels=(3, 3, 3, 3), focal_windows=(11, 9, 9, 7)' in proc.stdout
    assert 'expanded focal levels (zero gates for new levels): 24' in proc.stdout
    f = torch.load(dst, weights_only=True)['state_dict']['backbone.layers.0.blocks.0.modulation.f.weight']
    src_f = sd['layers.0.blocks.0.modulation.f.weight']  # rows: q, ctx (2x96), 2 gates, global
    assert f.shape == (96 * 2 + 4, 96) and torch.equal(f[:194], src_f[:194])
    assert not f[194].any() and torch.equal(f[195], src_f[194])

    exported = tmp_path / 'w9_timm.pth'
    proc = _call(capsys, src, exported, '--focal-windows', '9', '--to', 'timm')
    assert proc.returncode == 0, proc.stderr
    timm_sd = torch.load(exported, weights_only=True)
    assert 'stem.proj.weight' in timm_sd and 'layers.1.downsample.proj.weight' in timm_sd
    assert timm_sd['layers.0.blocks.0.modulation.focal_layers.0.0.weight'].shape[-1] == 9
    back = tmp_path / 'back.pth'
    proc = _call(capsys, exported, back, '--focal-windows', '9')
    assert proc.returncode == 0, proc.stderr
    assert 'padded kernels (zero-padded, centred): 0' in proc.stdout
    _check_output(back, sd)


def test_base_checkpoint_into_tiny_fails(tmp_path):
    # Stays a real process (the cheapest run of the tool): `python tools/convert_checkpoint.py`
    # as a user runs it, its exit status and a clean message without a traceback.
    # the base widths with one block a stage (the widths are what identifies the variant first)
    base = FocalNet('base-srf', depths=(1, 1, 1, 1), drop_path_rate=0.)
    path = tmp_path / 'focalnet_base_srf.pth'
    torch.save({'model': base.state_dict()}, path)
    del base
    dst = tmp_path / 'never.pth'
    proc = _run(path, dst, '--arch', 'tiny-srf', '--focal-windows', '9')
    assert proc.returncode != 0
    assert 'embed_dims=128' in proc.stderr and 'embed_dims=96' in proc.stderr, proc.stderr
    assert 'Traceback' not in proc.stderr
    assert not dst.exists()


def test_corrupt_and_unsafe_files_fail(official_tiny, tmp_path, capsys):
    src, _ = official_tiny
    corrupt = tmp_path / 'corrupt.pth'
    corrupt.write_bytes(src.read_bytes()[:100_000])
    proc = _call(capsys, corrupt, tmp_path / 'x.pth')
    assert proc.returncode != 0 and 'corrupt' in proc.stderr and 'Traceback' not in proc.stderr

    unsafe = tmp_path / 'unsafe.pth'
    torch.save({'model': {'x': torch.zeros(1)}, 'cfg': subprocess.CompletedProcess([], 0)}, unsafe)
    proc = _call(capsys, unsafe, tmp_path / 'y.pth')
    assert proc.returncode != 0
    assert 'UnsafeCheckpointError' in proc.stderr and 'trusted' in proc.stderr, proc.stderr
    assert not (tmp_path / 'y.pth').exists()
