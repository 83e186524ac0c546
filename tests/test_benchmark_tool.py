"""tools/benchmark.py runs its comparisons and reports equal outputs, the machine's GEMM peak and
each model's fraction of it (no timing is asserted)."""
import json

import pytest
from helpers import load_tool

pytest.importorskip('timm')
benchmark = load_tool('benchmark')


def test_backbone_rows_for_each_optimisation(tmp_path, capsys):
    out = tmp_path / 'bench.json'
    rows = benchmark.main(['backbone', '--size', '1', '64', '96', '--reps', '2', '--warmup', '0',
                           '--channels-last', 'off', 'on', '--accel', 'off', 'on',
                           '--json', str(out), '--markdown', str(tmp_path / 'bench.md')])
    printed = capsys.readouterr().out
    # contiguous (the kernels are channels_last only, so no contiguous+accel row), channels_last,
    # + the measured CPU kernels
    assert [r['setting'] for r in rows] == [
        'tiny-srf fp32 channels_last=off accel=off compile=off',
        'tiny-srf fp32 channels_last=on accel=off compile=off',
        'tiny-srf fp32 channels_last=on accel=on compile=off']
    saved = json.loads(out.read_text())
    assert saved['rows'] == json.loads(json.dumps(rows))
    peak = saved['fp32_gemm_peak_gflops']
    assert peak > 0 and f'fp32 GEMM peak {peak:.0f} GFLOP/s' in printed
    assert 'lscpu flags:' in saved['isa'] and 'torch CPU kernels:' in saved['isa']
    flops = rows[0]['ours']['gflop']
    for row in rows:
        assert row['max_abs_diff'] <= 1e-5  # same weights, same function as timm
        for name in ('ours', 'timm'):
            stats = row[name]
            assert stats['n'] == 2 and stats['median_ms'] > 0
            assert stats['images_per_s'] == pytest.approx(1e3 / stats['median_ms'])
            # the same function: the same FLOPs in every row, for both implementations
            assert stats['gflop'] == pytest.approx(flops, rel=1e-6)
            assert stats['peak_fraction'] == pytest.approx(
                stats['gflop'] / (stats['median_ms'] / 1e3) / peak)
        assert row['speedup'] == pytest.approx(row['timm']['median_ms'] / row['ours']['median_ms'])
    # FocalNet-T (window 9) convolutions at 64x96: 2 x 0.57 GMACs, the 90 GMACs it takes at
    # 800x1216 scaled by the pixels (stride 32 divides both sizes: no padding)
    assert 1.0 < flops < 1.3
    # the accelerated row names the kernels each block configuration measured fastest
    kernels = rows[2]['kernels']
    assert len(kernels) == 4 and all('chosen' in k for k in kernels.values())
    assert printed.count('    kernels C') == 4
    assert (tmp_path / 'bench.md').read_text().count('\n| tiny-srf') == 3


def test_train_rows_compare_with_cp_memory_and_the_fast_backward(capsys):
    rows = benchmark.main(['train', '--size', '1', '64', '64', '--reps', '1', '--warmup', '1',
                           '--no-flops', '--accel', 'on', 'off'])
    assert [r['setting'] for r in rows] == [
        'train tiny-srf fp32 channels_last=on accel=on compile=off',
        'train tiny-srf fp32 channels_last=on accel=on: with_cp vs not',
        'train tiny-srf fp32 channels_last=on accel=off compile=off',
        'train tiny-srf fp32 channels_last=on accel=off: with_cp vs not']
    for cp_row in rows[1::2]:
        assert cp_row['memory_ratio'] == pytest.approx(
            cp_row['with_cp']['peak_mib'] / cp_row['no_cp']['peak_mib'])
        assert 'gflop' not in cp_row['with_cp']
    # the accelerated row names the backward measured for each depth-wise layer: a level's two
    # kernel sizes (9, 11) in each of the 4 stages
    kernels = rows[0]['kernels']
    assert len(kernels) == 8 and all(k['chosen'] in ('reference', 'fast') for k in kernels.values())
    assert capsys.readouterr().out.count('    kernels dw C') == 8
    assert 'kernels' not in rows[2]
