"""The speed-oriented paths compute the same function as the plain one (issue: speed)."""
import pytest
import torch

from focalnet_mm import FocalNet
from helpers import randomize_


def _pair(arch='tiny-lrf', **kw):
    fast = randomize_(FocalNet(arch, drop_path_rate=0., channels_last=True, **kw), scale=0.2)
    plain = FocalNet(arch, drop_path_rate=0., channels_last=False, **kw)
    plain.load_state_dict(fast.state_dict())
    return fast, plain


@pytest.mark.parametrize('kw', [dict(), dict(arch='tiny-srf', focal_windows=[11, 9, 9, 7]),
                                dict(arch=dict(embed_dims=32, depths=(1, 1, 2, 1), focal_levels=4,
                                               focal_windows=3, use_conv_embed=True, use_postln=True,
                                               use_layerscale=True, use_postln_in_modulation=True,
                                               normalize_modulator=True))],
                         ids=['tiny-lrf', 'tiny-srf-w11', 'big-switches'])
def test_channels_last_equals_contiguous(kw):
    fast, plain = _pair(**kw)
    x = torch.randn(2, 3, 70, 90)
    outs = []
    for model in (fast, plain):
        model.train()
        model.zero_grad()
        out = model(x)
        sum((o * torch.linspace(0, 1, o.shape[1]).view(1, -1, 1, 1)).sum() for o in out).backward()
        outs.append((out, {n: p.grad for n, p in model.named_parameters()}))
    (fo, fg), (po, pg) = outs
    for a, b in zip(fo, po):
        assert a.is_contiguous() and b.is_contiguous()
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    for name in fg:
        torch.testing.assert_close(fg[name], pg[name], atol=1e-4, rtol=1e-4, msg=name)


def test_activations_really_channels_last():
    fast, plain = _pair()
    seen = {}

    def record(name, fmt):
        def hook(module, inputs, output):
            seen[name] = output.is_contiguous(memory_format=fmt)
        return hook

    fast.layers[1].blocks[0].modulation.focal_layers[0].register_forward_hook(
        record('fast', torch.channels_last))
    plain.layers[1].blocks[0].modulation.focal_layers[0].register_forward_hook(
        record('plain', torch.contiguous_format))
    with torch.no_grad():
        fast(torch.randn(1, 3, 64, 64))
        plain(torch.randn(1, 3, 64, 64))
    assert seen == {'fast': True, 'plain': True}


def test_compiles_without_graph_breaks():
    """fullgraph=True raises on any graph break (dynamo tracing only: no C++ compile needed)."""
    model = FocalNet('tiny-srf', drop_path_rate=0.1, frozen_stages=1).eval()
    compiled = torch.compile(model, backend='eager', fullgraph=True)
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        for a, b in zip(compiled(x), model(x)):
            torch.testing.assert_close(a, b)


@pytest.mark.integration
def test_inductor_compiled_block_matches_eager():
    """A real inductor compile (C++ codegen on CPU) of the whole backbone gives the same features."""
    model = randomize_(FocalNet('tiny-srf', drop_path_rate=0.), scale=0.2).eval()
    compiled = torch.compile(model)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        for a, b in zip(compiled(x), model(x)):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


# ------------------------------------------------------------------ fused CPU inference
def _fused_pair(kw):
    fused = randomize_(FocalNet(drop_path_rate=0.1, fuse_cpu_inference=True, **kw), scale=0.2)
    plain = FocalNet(drop_path_rate=0.1, fuse_cpu_inference=False, **kw)
    plain.load_state_dict(fused.state_dict())
    return fused.eval(), plain.eval()


def _op_calls(model, x, op: str, prefix: bool = False) -> tuple[int, tuple]:
    """Runs ``model(x)`` under the profiler: (how often ``op`` ran, or any op named ``op...``
    with ``prefix``; the outputs)."""
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        outs = model(x)
    calls = sum(e.count for e in prof.key_averages()
                if (e.key.startswith(op) if prefix else e.key == op))
    return calls, outs


def _fused_kernel_calls(model, x) -> int:
    return _op_calls(model, x, 'mkldnn::_convolution_pointwise', prefix=True)[0]


FUSED_CASES = {
    'tiny-lrf': dict(arch='tiny-lrf'),
    'tiny-srf-w11': dict(arch='tiny-srf', focal_windows=[11, 9, 9, 7]),
    'layerscale-pre-norm': dict(arch='tiny-srf', use_layerscale=True, layerscale_value=0.5),
    'big-switches': dict(arch=dict(embed_dims=32, depths=(1, 1, 2, 1), focal_levels=4,
                                   focal_windows=3, use_conv_embed=True, use_postln=True,
                                   use_layerscale=True, use_postln_in_modulation=True,
                                   normalize_modulator=True)),
}


@pytest.mark.parametrize('kw', FUSED_CASES.values(), ids=FUSED_CASES.keys())
def test_fused_cpu_inference_equals_plain(kw):
    """The oneDNN fused kernels (conv+GELU, h-conv*q, proj/fc2-conv+residual, layerscale folded)
    compute the plain path's function: within 1e-5, the bound of the timm parity tests."""
    fused, plain = _fused_pair(kw)
    x = torch.randn(2, 3, 75, 99)
    with torch.no_grad():
        calls = _fused_kernel_calls(fused, x)
        assert calls > 0 and _fused_kernel_calls(plain, x) == 0
        for a, b in zip(fused(x), plain(x)):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize('kw', [FUSED_CASES['tiny-lrf'], FUSED_CASES['layerscale-pre-norm']],
                         ids=['tiny-lrf', 'layerscale-pre-norm'])
def test_banded_mlp_equals_plain(kw, monkeypatch):
    """The fused MLP runs in bands of rows, adding into the residual in place: with bands that do
    not divide the map (and a batch of 2, banded per sample) it still computes the plain function."""
    from focalnet_mm.models.focalnet import Mlp
    fused, plain = _fused_pair(kw)
    x = torch.randn(2, 3, 75, 99)  # stage maps 19x25, 10x13, 5x7, 3x4
    # 4 rows of stage-1 hidden activations (25 px x 384 ch x 4 B) a band. Bands per block (per
    # sample unless the whole batch fits in 2 bands): stage 1 ceil(19/5)=4 rows -> 5 bands x 2
    # samples; stage 2 3 x 2; stage 3 2 x 2; stage 4 whole batch in one.
    monkeypatch.setattr(Mlp, 'band_bytes', 4 * 25 * 384 * 4)
    expected = 2 * 10 + 2 * 6 + 6 * 4 + 2 * 1
    with torch.no_grad():
        calls, outs = _op_calls(fused, x, 'mkldnn::_convolution_pointwise_')
        assert calls == expected
        for a, b in zip(outs, plain(x)):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_banded_mlp_leaves_norm_hooks_whole():
    """A hook on ``norm2`` sees the whole normalised map once (the block then skips banding)."""
    fused, plain = _fused_pair(FUSED_CASES['tiny-lrf'])
    seen = {'fused': [], 'plain': []}
    for name, model in (('fused', fused), ('plain', plain)):
        model.layers[0].blocks[0].norm2.register_forward_hook(
            lambda m, i, o, name=name: seen[name].append(o))
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        outs = fused(x), plain(x)
    assert [o.shape for o in seen['fused']] == [(1, 96, 16, 24)]
    torch.testing.assert_close(seen['fused'][0], seen['plain'][0], atol=1e-5, rtol=1e-5)
    for a, b in zip(*outs):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_planar_depthwise_levels_compute_the_same_function(monkeypatch):
    """Wide maps with large kernels run the focal levels' depth-wise convs in NCHW (faster oneDNN
    kernel there): taken where the rule says (stages 2-3 at windows 11/9/9/7: >= 192 channels, all
    kernels >= 9), one copy into NCHW and one back per level. The planar and the channels_last
    kernels block their sums differently (bit-identical on some CPUs, not on others): equal within
    the fp32 rounding error measured against the plain path in fp64."""
    import copy
    from focalnet_mm.models.focalnet import FocalModulation
    from numerics import assert_same_function_fp32
    fused, plain = _fused_pair(FUSED_CASES['tiny-srf-w11'])
    planar = [[b.modulation._planar_depthwise() for b in stage.blocks] for stage in fused.layers]
    assert planar == [[False] * 2, [True] * 2, [True] * 6, [False] * 2]
    x = torch.randn(1, 3, 75, 99)
    with torch.no_grad():
        exact = copy.deepcopy(plain).double()(x.double())
        copies_planar, outs_planar = _op_calls(fused, x, 'aten::copy_')
        monkeypatch.setattr(FocalModulation, 'planar_depthwise', False)
        copies_nhwc, outs_nhwc = _op_calls(fused, x, 'aten::copy_')
        outs_plain = plain(x)
    assert_same_function_fp32(outs_planar, outs_nhwc, exact, what='planar vs channels_last')
    assert_same_function_fp32(outs_planar, outs_plain, exact, what='planar vs plain')
    assert copies_planar - copies_nhwc == 8 * (1 + 2)  # 8 planar blocks x (input + 2 levels)


def test_fused_path_only_for_no_grad_eval_fp32():
    """Training mode, autograd and autocast take the plain ops (the fused kernels have no backward)."""
    fused, _ = _fused_pair(FUSED_CASES['tiny-lrf'])
    x = torch.randn(1, 3, 64, 64)
    assert _fused_kernel_calls(fused, x) == 0  # grad enabled
    with torch.no_grad():
        with torch.autocast('cpu', dtype=torch.bfloat16):
            assert _fused_kernel_calls(fused, x) == 0
        assert _fused_kernel_calls(fused.train(), x) == 0


def test_fused_path_keeps_modulator_hooks_exact():
    """A hook on ``modulator_probe`` (visualisation) sees the modulator; outputs are unchanged."""
    fused, plain = _fused_pair(FUSED_CASES['tiny-lrf'])
    seen = {}
    for name, model in (('fused', fused), ('plain', plain)):
        model.layers[3].blocks[-1].modulation.modulator_probe.register_forward_hook(
            lambda m, i, o, name=name: seen.__setitem__(name, o))
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        outs = fused(x), plain(x)
    torch.testing.assert_close(seen['fused'], seen['plain'], atol=1e-5, rtol=1e-5)
    for a, b in zip(*outs):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize('channels_last', [True, False])
def test_weight_grads_keep_parameter_strides(channels_last):
    """DDP's reducer compares each grad's strides with its bucket view (the parameter's); convolution
    backward on channels_last inputs gives the depth-wise and h kernels other strides on their
    size-1 dims, which makes DDP warn and copy every step. None may differ."""
    model = FocalNet('tiny-lrf', drop_path_rate=0., channels_last=channels_last).train()
    sum(o.sum() for o in model(torch.randn(1, 3, 64, 64))).backward()
    differ = [n for n, p in model.named_parameters() if p.grad.stride() != p.stride()]
    assert differ == []


def test_traces_with_standard_ops():
    """FLOP counters and ONNX export trace the model: a trace records the plain ops (the fused oneDNN
    kernels have no ONNX/FLOP handlers) and reproduces the eager features."""
    model = randomize_(FocalNet('tiny-srf', drop_path_rate=0.), scale=0.2).eval()
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        traced = torch.jit.trace(model, x)
        assert 'mkldnn::_convolution_pointwise' not in str(traced.inlined_graph)
        for a, b in zip(traced(x), model(x)):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
