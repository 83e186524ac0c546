"""tools/benchmark.py runs its comparisons and reports equal outputs (no timing is asserted)."""
import json

import pytest
from helpers import load_tool

pytest.importorskip('timm')
benchmark = load_tool('benchmark')


def test_backbone_rows_for_each_optimisation(tmp_path):
    out = tmp_path / 'bench.json'
    rows = benchmark.main(['backbone', '--size', '1', '64', '96', '--reps', '2', '--warmup', '0',
                           '--channels-last', 'off', 'on', '--fuse', 'off', 'on',
                           '--json', str(out), '--markdown', str(tmp_path / 'bench.md')])
    # contiguous (fuse is channels_last only, so no contiguous+fuse row), channels_last, + fused
    assert [r['setting'] for r in rows] == [
        'tiny-srf fp32 channels_last=off fuse=off compile=off',
        'tiny-srf fp32 channels_last=on fuse=off compile=off',
        'tiny-srf fp32 channels_last=on fuse=on compile=off']
    saved = json.loads(out.read_text())
    assert saved['rows'] == json.loads(json.dumps(rows))
    for row in rows:
        assert row['max_abs_diff'] <= 1e-5  # same weights, same function as timm
        for name in ('ours', 'timm'):
            assert row[name]['n'] == 2 and row[name]['median_ms'] > 0
            assert row[name]['images_per_s'] == pytest.approx(1e3 / row[name]['median_ms'])
        assert row['speedup'] == pytest.approx(row['timm']['median_ms'] / row['ours']['median_ms'])
    assert (tmp_path / 'bench.md').read_text().count('\n| tiny-srf') == 3


def test_train_rows_compare_with_cp_memory():
    rows = benchmark.main(['train', '--size', '1', '64', '64', '--reps', '1', '--warmup', '1'])
    assert [r['setting'] for r in rows] == ['train tiny-srf fp32 channels_last=on',
                                           'train tiny-srf fp32 channels_last=on: with_cp vs not']
    cp_row = rows[1]
    assert cp_row['memory_ratio'] == pytest.approx(
        cp_row['with_cp']['peak_mib'] / cp_row['no_cp']['peak_mib'])
