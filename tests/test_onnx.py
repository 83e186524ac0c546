"""tools/export_onnx.py: a FocalNet backbone and the UPerNet demo segmentor exported with dynamic
batch/height/width and run by onnxruntime at another size than the export's (max abs difference
to PyTorch printed and bounded); a full detector is refused with a clear error, writing nothing."""
import re

import pytest
import torch
import torch.nn as nn

from focalnet_mm import FocalNet
from helpers import ROOT, load_tool, randomize_

pytest.importorskip('onnx')
pytest.importorskip('onnxruntime')
export_onnx = load_tool('export_onnx')

SEG_DEMO = 'configs/demo/upernet_focalnet-t-srf_demo.py'
DET_DEMO = 'configs/demo/mask-rcnn_focalnet-t-srf_fpn_demo.py'
# fp32: ONNX Runtime's kernels sum in other orders than oneDNN's; outputs are O(1) (LayerNorm'd
# features, logits): 1e-4 is ~100x the rounding seen, a wrong op is O(1).
ATOL = 1e-4
# The demo UPerNet with narrower heads (64/32 channels instead of 512/256: same structure, a
# quicker export); the backbone is the full FocalNet-T.
SMALL_HEADS = ['model.decode_head.channels=64', 'model.auxiliary_head.channels=32']


@pytest.mark.parametrize('size,out', [((16, 16), 6), ((13, 22), 6), ((7, 9), 3), ((4, 6), 2),
                                      ((5, 5), 1)])
def test_dynamic_adaptive_pool_equals_torch(size, out):
    x = torch.randn(2, 3, *size, dtype=torch.float64)
    ref = nn.AdaptiveAvgPool2d(out)(x)
    got = export_onnx.DynamicAdaptiveAvgPool2d(out)(x)
    assert got.shape == ref.shape
    torch.testing.assert_close(got, ref, atol=1e-12, rtol=1e-12)


def test_backbone_export_runs_at_other_sizes(tmp_path):
    backbone = randomize_(FocalNet(dict(embed_dims=16, depths=(1, 1, 2, 1), focal_levels=2,
                                        focal_windows=3), drop_path_rate=0.), scale=0.5).eval()
    module, names = _backbone_module(backbone)
    path = str(tmp_path / 'backbone.onnx')
    export_onnx.export(module, path, (1, 3, 64, 96), names)
    diffs = {s: export_onnx.max_abs_diff(path, module, s)
             for s in [(1, 3, 64, 96), (2, 3, 128, 64), (1, 3, 96, 160)]}
    print(f'\nFocalNet backbone, onnxruntime vs PyTorch max abs diff: {diffs}')
    assert max(diffs.values()) < ATOL, diffs


def _backbone_module(backbone: nn.Module):
    """The tool's backbone wrapper around ``backbone`` (as ``--backbone-only`` builds it)."""
    holder = nn.Module()
    holder.backbone = backbone
    module, names = export_onnx.export_module(holder, 'mmdet', backbone_only=True)
    return module.eval(), names


def _diffs(text: str) -> dict:
    return {tuple(map(int, m.group(1).split(', '))): float(m.group(2))
            for m in re.finditer(r'at \(([\d, ]+)\): max abs diff (\S+)', text)}


def test_segmentor_export_cli(tmp_path, capsys, demo_data, monkeypatch):
    monkeypatch.chdir(ROOT)
    out = tmp_path / 'upernet.onnx'
    rc = export_onnx.main([SEG_DEMO, str(out), '--shape', '1', '3', '64', '64',
                           '--verify-shape', '2', '3', '96', '160', '--atol', str(ATOL),
                           '--cfg-options', *SMALL_HEADS])
    text = capsys.readouterr().out
    assert rc == 0, text
    diffs = _diffs(text)
    assert set(diffs) == {(1, 3, 64, 64), (2, 3, 96, 160)} and max(diffs.values()) < ATOL
    import onnx
    model = onnx.load(str(out))
    (inp,) = model.graph.input
    dims = [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim]
    assert dims == ['batch', 3, 'height', 'width']
    (logits,) = model.graph.output
    assert logits.name == 'seg_logits'
    print(f'\nUPerNet demo segmentor, onnxruntime vs PyTorch max abs diff: {diffs}')


def test_full_detector_is_refused_and_nothing_is_lost(tmp_path, capsys, demo_data, monkeypatch):
    """(Its backbone exports with --backbone-only, as any FocalNet: test above.)"""
    monkeypatch.chdir(ROOT)
    out = tmp_path / 'maskrcnn.onnx'
    out.write_bytes(b'previous file')
    rc = export_onnx.main([DET_DEMO, str(out), '--shape', '1', '3', '64', '64'])
    err = capsys.readouterr().err
    assert rc == 2
    assert 'MaskRCNN' in err and 'RoIAlign' in err and '--backbone-only' in err, err
    assert out.read_bytes() == b'previous file'
    assert [p.name for p in tmp_path.iterdir()] == ['maskrcnn.onnx']  # no temp file left


def test_sizes_that_are_not_multiples_of_32_are_refused(tmp_path):
    with pytest.raises(ValueError, match='multiples of 32'):
        export_onnx.main([SEG_DEMO, str(tmp_path / 'x.onnx'), '--shape', '1', '3', '100', '128'])
    assert not list(tmp_path.iterdir())
