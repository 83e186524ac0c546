"""The reference model's execution modes compute one function: channels_last vs contiguous NCHW
(outputs and gradients), torch.compile, jit traces, bf16 autocast; weight gradients keep the
parameters' strides. The CPU inference kernels applied from outside: tests/test_cpu_accel.py."""
import copy
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from focalnet_mm import FocalNet
from helpers import randomize_, tool_env
from numerics import assert_same_function_fp32


# One block a stage: layouts and strides are per op, so the presets' block configurations matter,
# not their depth.
SHALLOW = (1, 1, 1, 1)


def _pair(arch='tiny-lrf', **kw):
    if isinstance(arch, str):
        kw.setdefault('depths', SHALLOW)
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
    """Outputs and every weight gradient of the channels_last model equal the contiguous model's
    within 4x fp32's rounding error (measured against the contiguous model in fp64); a weight
    gradient sums over at most batch x the first stage's positions (the rounding floor's terms)."""
    fast, plain = _pair(**kw)
    exact = copy.deepcopy(plain).double()
    x = torch.randn(2, 3, 70, 90)
    runs = {}
    for name, model, inputs in (('fast', fast, x), ('plain', plain, x), ('exact', exact, x.double())):
        model.train()
        model.zero_grad()
        out = model(inputs)
        weights = [torch.linspace(0, 1, o.shape[1], dtype=o.dtype).view(1, -1, 1, 1) for o in out]
        sum((o * w).sum() for o, w in zip(out, weights)).backward()
        runs[name] = (out, {n: p.grad for n, p in model.named_parameters()})
    (fo, fg), (po, pg), (eo, eg) = runs['fast'], runs['plain'], runs['exact']
    assert all(a.is_contiguous() and b.is_contiguous() for a, b in zip(fo, po))
    assert_same_function_fp32(fo, po, eo, what='outputs')
    terms = x.shape[0] * (x.shape[2] // 4) * (x.shape[3] // 4)
    for name in fg:
        assert_same_function_fp32(fg[name], pg[name], eg[name], what=f'gradient of {name}',
                                  reduction_terms=terms)


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
    model = FocalNet('tiny-srf', depths=SHALLOW, drop_path_rate=0.1, frozen_stages=1).eval()
    compiled = torch.compile(model, backend='eager', fullgraph=True)
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        for a, b in zip(compiled(x), model(x)):
            torch.testing.assert_close(a, b)


_INDUCTOR_CHECK = """
import torch
from focalnet_mm import FocalNet
from helpers import randomize_
torch.manual_seed(0)
# two stages of one block: the stem, a block, the downsampling and a block at another resolution
# (stages 3 and 4 would compile the same code again at other sizes)
model = randomize_(FocalNet('tiny-srf', depths=(1, 1), out_indices=(0, 1), drop_path_rate=0.),
                  scale=0.2).eval()
compiled = torch.compile(model)
x = torch.randn(1, 3, 64, 64)
with torch.no_grad():
    pairs = list(zip(compiled(x), model(x)))
for a, b in pairs:
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
print('max abs difference', max((a - b).abs().max().item() for a, b in pairs))
"""


@pytest.mark.integration
def test_inductor_compiled_block_matches_eager(tmp_path):
    """A real inductor compile (C++ codegen on CPU) of the backbone (two stages of one block)
    gives the same features.
    In a subprocess with its own inductor cache: a compiler or loader crash fails this test with
    its output instead of taking the test session down, and no kernel built on another machine
    (a shared /tmp cache) is reused."""
    env = tool_env(TORCHINDUCTOR_CACHE_DIR=str(tmp_path / 'inductor'),
                   PYTHONPATH=os.pathsep.join([osp.dirname(osp.abspath(__file__)),
                                               os.environ.get('PYTHONPATH', '')]))
    proc = subprocess.run([sys.executable, '-X', 'faulthandler', '-c', _INDUCTOR_CHECK],
                          capture_output=True, text=True, timeout=900, env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f'inductor check failed ({proc.returncode}):\n{out[-6000:]}'
    assert 'max abs difference' in proc.stdout


@pytest.mark.parametrize('channels_last', [True, False])
def test_weight_grads_keep_parameter_strides(channels_last):
    """DDP's reducer compares each grad's strides with its bucket view (the parameter's); convolution
    backward on channels_last inputs gives the depth-wise and h kernels other strides on their
    size-1 dims, which makes DDP warn and copy every step. None may differ."""
    model = FocalNet('tiny-lrf', depths=SHALLOW, drop_path_rate=0.,
                     channels_last=channels_last).train()
    sum(o.sum() for o in model(torch.randn(1, 3, 64, 64))).backward()
    differ = [n for n, p in model.named_parameters() if p.grad.stride() != p.stride()]
    assert differ == []


def test_traces_with_standard_ops():
    """FLOP counters and ONNX export trace the model: a trace records standard ops only and
    reproduces the eager features."""
    model = randomize_(FocalNet('tiny-srf', depths=SHALLOW, drop_path_rate=0.), scale=0.2).eval()
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        traced = torch.jit.trace(model, x)
        assert 'mkldnn::_convolution_pointwise' not in str(traced.inlined_graph)
        for a, b in zip(traced(x), model(x)):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_bf16_autocast_close_to_fp32():
    """CPU autocast (as GPU bf16/fp16 autocast) runs the convolutions in bf16: unit roundoff
    2**-8, so each layer's output carries a relative error of a few 2**-8. The stage features
    (LayerNorm-ed) stay within 8 * 2**-8 = 3.1 % relative (L2) of fp32 (about the square root of
    the ~60 bf16 layers on the deepest path, the growth of independent rounding errors), and do
    differ from fp32 by more than fp32 rounding (bf16 really ran)."""
    model = randomize_(FocalNet('tiny-srf', drop_path_rate=0.), scale=0.2).eval()
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        ref = model(x)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            low = model(x)
    for i, (a, b) in enumerate(zip(low, ref)):
        rel = ((a.float() - b).norm() / b.norm()).item()
        assert 2**-12 < rel <= 8 * 2**-8, (i, rel)
