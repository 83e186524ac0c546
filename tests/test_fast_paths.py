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
