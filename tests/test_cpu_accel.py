"""The measured CPU inference kernels (focalnet_mm.models.cpu_accel) compute the reference's
function, are chosen by measurement and cached, and step aside wherever they do not apply."""
import copy
import json
import pickle

import pytest
import torch

from focalnet_mm import FocalNet
from focalnet_mm.models import cpu_accel
from focalnet_mm.models.cpu_accel import (REFERENCE, AcceleratedFocalNetBlock, BlockPlan,
                                          FixedPlanner, KernelPlanner, accelerate, choose,
                                          machine_key, remove_acceleration)
from focalnet_mm.models.focalnet import FocalNetBlock
from helpers import CountingClock, randomize_
from numerics import assert_same_function_fp32

FUSED = BlockPlan(fused=True)
PLANAR = BlockPlan(True, True, 0)
PLANAR_BANDS = BlockPlan(True, True, 4096)
# One block a stage: the kernels act block by block, so the presets' block configurations (widths
# 96..768, levels, windows, switches) are what matter, not their depth.
SHALLOW = (1, 1, 1, 1)
CASES = {
    'tiny-lrf': dict(arch='tiny-lrf', depths=SHALLOW),
    'tiny-srf-w11': dict(arch='tiny-srf', depths=SHALLOW, focal_windows=[11, 9, 9, 7]),
    'layerscale-pre-norm': dict(arch='tiny-srf', depths=SHALLOW, use_layerscale=True,
                                layerscale_value=0.5),
    'big-switches': dict(arch=dict(embed_dims=32, depths=(1, 1, 2, 1), focal_levels=4,
                                   focal_windows=3, use_conv_embed=True, use_postln=True,
                                   use_layerscale=True, use_postln_in_modulation=True,
                                   normalize_modulator=True)),
}
pytestmark = pytest.mark.skipif(not cpu_accel.fused_kernels_available(),
                                reason="this torch build lacks oneDNN's fused convolutions")


def _models(kw, plan=FUSED):
    """(reference, accelerated with ``plan`` on every block), same weights, eval."""
    ref = randomize_(FocalNet(drop_path_rate=0.1, **kw), scale=0.2).eval()
    fast = accelerate(copy.deepcopy(ref), FixedPlanner(plan) if plan is not None else None)
    return ref, fast


def _op_calls(model, x, op: str, prefix: bool = False) -> tuple:
    """Runs ``model(x)`` under the profiler: (how often ``op`` ran, or any op named ``op...``
    with ``prefix``; the outputs)."""
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        outs = model(x)
    calls = sum(e.count for e in prof.key_averages()
                if (e.key.startswith(op) if prefix else e.key == op))
    return calls, outs


def _fused_calls(model, x) -> int:
    return _op_calls(model, x, 'mkldnn::_convolution_pointwise', prefix=True)[0]


def _exact(ref, x):
    """The reference in fp64 on the first sample (the rounding error is measured there: fp64
    convolutions are slow)."""
    return copy.deepcopy(ref).double()(x[:1].double())


# the fused kernels on every case; the planar variants on the large kernels and on every switch
PLAN_CASES = [(name, 'fused', FUSED) for name in CASES] + [
    (name, plan_id, plan) for name in ('tiny-srf-w11', 'big-switches')
    for plan_id, plan in (('planar', PLANAR), ('planar-bands', PLANAR_BANDS))]


@pytest.mark.parametrize('name,plan', [(n, p) for n, _, p in PLAN_CASES],
                         ids=[f'{n}-{i}' for n, i, _ in PLAN_CASES])
def test_accelerated_equals_reference(name, plan):
    """Every kernel combination computes the reference's function: the fp32 difference is within
    4x the reference's own fp32 rounding error (measured against its fp64 evaluation)."""
    ref, fast = _models(CASES[name], plan)
    x = torch.randn(2, 3, 75, 99)
    with torch.no_grad():
        calls, outs = _op_calls(fast, x, 'mkldnn::_convolution_pointwise', prefix=True)
        assert calls > 0 and _fused_calls(ref, x) == 0
        assert_same_function_fp32(outs, ref(x), _exact(ref, x), what=plan.describe())


@pytest.mark.parametrize('kw', [CASES['tiny-lrf'], CASES['layerscale-pre-norm']],
                         ids=['tiny-lrf', 'layerscale-pre-norm'])
def test_banded_mlp_equals_reference(kw):
    """The MLP in bands of rows, adding into the residual in place: with bands that do not divide
    the map (and a batch of 2, banded per sample) it still computes the reference's function."""
    # 4 rows of stage-1 hidden activations (25 px x 384 ch x 4 B) a band. Bands per block (per
    # sample unless the whole batch fits in 2 bands): stage 1 ceil(19/5)=4 rows -> 5 bands x 2
    # samples; stage 2 3 x 2; stage 3 2 x 2; stage 4 whole batch in one.
    ref, fast = _models(kw, BlockPlan(True, False, 4 * 25 * 384 * 4))
    x = torch.randn(2, 3, 75, 99)  # stage maps 19x25, 10x13, 5x7, 3x4
    with torch.no_grad():
        calls, outs = _op_calls(fast, x, 'mkldnn::_convolution_pointwise_')  # in-place fc2 + add
        assert calls == sum(d * bands for d, bands in zip(kw['depths'], (10, 6, 4, 1)))
        assert_same_function_fp32(outs, ref(x), _exact(ref, x), what='banded MLP')


def test_planar_depthwise_copies_and_function():
    """The planar variant runs the depth-wise chain on an NCHW copy: one copy in, one copy back
    per level (3 per block of 2 levels), and the same function as channels_last within rounding
    (the two oneDNN kernels sum in different orders: bit-identical on some CPUs, not on others)."""
    ref, planar = _models(CASES['tiny-srf-w11'], PLANAR)
    nhwc = accelerate(copy.deepcopy(ref), FixedPlanner(FUSED))
    x = torch.randn(1, 3, 75, 99)
    with torch.no_grad():
        copies_planar, outs_planar = _op_calls(planar, x, 'aten::copy_')
        copies_nhwc, outs_nhwc = _op_calls(nhwc, x, 'aten::copy_')
        exact = _exact(ref, x)
    assert copies_planar - copies_nhwc == sum(SHALLOW) * (1 + 2)
    assert_same_function_fp32(outs_planar, outs_nhwc, exact, what='planar vs channels_last')


def test_choose_adopts_only_clear_wins():
    planar = PLANAR
    assert choose({REFERENCE: [1.0, 1.0, 1.0], FUSED: [0.97, 0.96, 0.98]}, 0.05) == REFERENCE
    assert choose({REFERENCE: [1.0, 1.0, 1.0], FUSED: [0.9, 0.9, 3.0]}, 0.05) == FUSED  # median
    assert choose({REFERENCE: [1.0] * 3, FUSED: [1.2] * 3}, 0.05) == REFERENCE
    # a refinement must beat the fused kernels it refines by the margin too
    assert choose({REFERENCE: [1.0], FUSED: [0.9], planar: [0.88]}, 0.05) == FUSED
    assert choose({REFERENCE: [1.0], FUSED: [0.9], planar: [0.8]}, 0.05) == planar
    assert choose({REFERENCE: [1.0], FUSED: [1.1], planar: [0.8]}, 0.05) == planar
    with pytest.raises(ValueError, match='margin'):
        KernelPlanner(margin=1.5)


def test_measured_once_per_configuration_and_size(tmp_path):
    """The first forward times the candidates on each block configuration (one per stage here)
    and keeps the reference wherever nothing is clearly faster; later forwards, other blocks of the
    same configuration and a new process reading the cache file measure nothing."""
    ref = randomize_(FocalNet('tiny-srf', depths=SHALLOW, drop_path_rate=0.), scale=0.2).eval()
    cache = tmp_path / 'plans.json'
    clock = CountingClock()
    planner = KernelPlanner(cache_file=str(cache), reps=2, timer=clock)
    fast = accelerate(copy.deepcopy(ref), planner)
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        outs = fast(x)
        readings = clock.readings
        assert readings > 0 and len(planner.measurements) == 4  # 4 stage configurations
        for record in planner.measurements.values():
            assert record['chosen'] in record and {'reference', 'fused'} <= set(record)
            chosen = record['chosen']
            if chosen != 'reference':  # adopted: faster than the reference by the margin
                assert record[chosen] < 0.95 * record['reference']
        fast(x)
        fast(torch.randn(1, 3, 62, 90))  # the same size class (pixels within half an octave)
        assert clock.readings == readings
        assert_same_function_fp32(outs, ref(x), _exact(ref, x), what='measured plans')
        saved = json.loads(cache.read_text())
        assert list(saved['plans']) == [machine_key()]
        assert len(saved['plans'][machine_key()]) == 4
        fresh_clock = CountingClock()
        fresh = KernelPlanner(cache_file=str(cache), timer=fresh_clock)
        accelerate(copy.deepcopy(ref), fresh)(x)
        assert fresh_clock.readings == 0 and fresh.plans == planner.plans


def test_unreadable_or_foreign_cache_is_remeasured(tmp_path):
    model = FocalNet('tiny-srf', depths=SHALLOW, drop_path_rate=0.).eval()
    x = torch.randn(1, 3, 32, 32)
    for content in ('{not json', json.dumps({'plans': {'another CPU | AVX512': {'C96': {}}}})):
        path = tmp_path / 'plans.json'
        path.write_text(content)
        clock = CountingClock()
        planner = KernelPlanner(cache_file=str(path), reps=1, timer=clock)
        with torch.no_grad():
            accelerate(model, planner)(x)
        assert clock.readings > 0
        assert machine_key() in json.loads(path.read_text())['plans']


def test_reference_wherever_the_kernels_do_not_apply(monkeypatch):
    """Autograd, training mode, autocast, fp64, contiguous NCHW maps, jit traces (FLOP counters,
    ONNX) and dispatch modes (torch's FLOP counter) run the reference forward."""
    from torch.utils.flop_counter import FlopCounterMode
    calls = []
    fused_block = cpu_accel.fused_block
    monkeypatch.setattr(cpu_accel, 'fused_block', lambda *a: calls.append(1) or fused_block(*a))

    def fused_blocks(model, x) -> int:
        calls.clear()
        model(x)
        return len(calls)

    ref, fast = _models(CASES['tiny-lrf'])
    x = torch.randn(1, 3, 64, 64)
    assert fused_blocks(fast, x) == 0  # grad enabled
    with torch.no_grad():
        assert fused_blocks(fast, x) == sum(SHALLOW)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            assert fused_blocks(fast, x) == 0
        assert fused_blocks(copy.deepcopy(fast).double(), x.double()) == 0
        contiguous = copy.deepcopy(fast)
        contiguous.channels_last = False
        assert fused_blocks(contiguous, x) == 0
        traced = torch.jit.trace(fast, x)
        assert 'mkldnn::_convolution_pointwise' not in str(traced.inlined_graph)
        assert_same_function_fp32(traced(x), ref(x), _exact(ref, x), what='traced')
        with FlopCounterMode(display=False) as counter:
            assert fused_blocks(fast, x) == 0
        with FlopCounterMode(display=False) as ref_counter:
            ref(x)
        assert counter.get_total_flops() == ref_counter.get_total_flops() > 0
        assert fused_blocks(fast.train(), x) == 0


def test_hooked_block_runs_the_reference():
    """A block with a forward hook on any of its modules runs the reference forward, so the hook
    sees what it would see without acceleration; other blocks stay accelerated."""
    ref, fast = _models(CASES['tiny-lrf'])
    seen = {}
    for name, model in (('ref', ref), ('fast', fast)):
        model.layers[0].blocks[0].modulation.modulator_probe.register_forward_hook(
            lambda m, i, o, name=name: seen.__setitem__(name, o))
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        calls, outs = _op_calls(fast, x, 'mkldnn::_convolution_pointwise', prefix=True)
        ref_outs = ref(x)
    assert calls > 0
    assert torch.equal(seen['fast'], seen['ref'])  # first block: same input, same ops
    assert_same_function_fp32(outs, ref_outs, _exact(ref, x), what='hooked')


def test_missing_kernels_fall_back_to_the_reference(monkeypatch):
    """Without oneDNN (or with a private op that fails its smoke test) every block runs the
    reference: outputs identical to the reference model's."""
    ref, fast = _models(CASES['tiny-lrf'])
    assert cpu_accel.fused_kernels_available()
    monkeypatch.setattr(torch.backends.mkldnn, 'is_available', lambda: False)
    assert not cpu_accel.fused_kernels_available.__wrapped__()
    monkeypatch.setattr(cpu_accel, 'fused_kernels_available', lambda: False)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        calls, outs = _op_calls(fast, x, 'mkldnn::_convolution_pointwise', prefix=True)
        assert calls == 0
        for a, b in zip(outs, ref(x)):
            assert torch.equal(a, b)


def test_state_dict_unchanged_copy_pickle_and_removal():
    ref, fast = _models(CASES['big-switches'])
    assert ref.state_dict().keys() == fast.state_dict().keys()
    assert all(torch.equal(v, fast.state_dict()[k]) for k, v in ref.state_dict().items())
    blocks = [m for m in fast.modules() if isinstance(m, FocalNetBlock)]
    assert len(blocks) == 5 and all(type(b) is AcceleratedFocalNetBlock for b in blocks)
    twin = copy.deepcopy(fast)
    assert twin.layers[0].blocks[0].kernel_planner is fast.layers[0].blocks[0].kernel_planner
    restored = pickle.loads(pickle.dumps(fast))
    x = torch.randn(1, 3, 48, 48)
    with torch.no_grad():
        for a, b in zip(restored(x), fast(x)):
            assert torch.equal(a, b)
        remove_acceleration(fast)
        assert all(type(b) is FocalNetBlock for b in blocks)
        assert _fused_calls(fast, x) == 0
        for a, b in zip(fast(x), ref(x)):
            assert torch.equal(a, b)


def test_accelerated_model_compiles_without_graph_breaks():
    """torch.compile traces the reference forward of an accelerated model (fullgraph)."""
    ref, fast = _models(CASES['tiny-lrf'])
    compiled = torch.compile(fast, backend='eager', fullgraph=True)
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        for a, b in zip(compiled(x), ref(x)):
            torch.testing.assert_close(a, b)
