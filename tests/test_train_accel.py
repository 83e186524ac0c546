"""The measured CPU training backward (focalnet_mm.models.train_accel): the depth-wise
convolutions' gradients computed as forward convolutions equal the reference's within fp32
rounding, the forward is the reference's bit for bit, the choice is measured once per shape, and
the reference runs wherever the fast backward does not apply."""
import copy
import pickle
import time

import pytest
import torch
import torch.nn.functional as F

from focalnet_mm import FocalNet
from focalnet_mm.models.focalnet import Conv2d
from focalnet_mm.models.train_accel import (DepthwiseConvFastGrad, FastGradDepthwiseConv2d,
                                            GateGradProbe, GradPlanner, LayoutKeepingGELU,
                                            accelerate_training, remove_training_acceleration)
from helpers import CountingClock, randomize_
from numerics import assert_same_function_fp32

# widths, levels, windows and every switch of the presets on a small map; one block a stage
SMALL = dict(arch=dict(embed_dims=16, depths=(1, 1, 2, 1), focal_levels=3, focal_windows=3,
                       use_layerscale=True), drop_path_rate=0.)
FAST = GradPlanner(fixed=True)


def _reference_grads(x, weight, pad, grad):
    x, weight = x.detach().requires_grad_(), weight.detach().requires_grad_()
    out = F.conv2d(x, weight, None, 1, pad, 1, weight.shape[0])
    return torch.autograd.grad(out, (x, weight), grad)


@pytest.mark.parametrize('n,c,h,w,k,layout', [
    (1, 8, 13, 17, 3, 'nchw'), (2, 8, 13, 17, 9, 'channels_last'), (3, 5, 9, 7, 11, 'nchw'),
    (2, 16, 24, 20, 5, 'channels_last'), (1, 4, 6, 6, 13, 'nchw')])
def test_fast_gradients_equal_the_reference(n, c, h, w, k, layout):
    gen = torch.Generator().manual_seed(k)
    fmt = torch.channels_last if layout == 'channels_last' else torch.contiguous_format
    x = torch.randn(n, c, h, w, generator=gen).contiguous(memory_format=fmt)
    weight = torch.randn(c, 1, k, k, generator=gen) / k
    grad = torch.randn(n, c, h, w, generator=gen).contiguous(memory_format=fmt)
    pad = k // 2
    xf, wf = x.clone().requires_grad_(), weight.clone().requires_grad_()
    out = DepthwiseConvFastGrad.apply(xf, wf, pad)
    assert torch.equal(out, F.conv2d(x, weight, None, 1, pad, 1, c))  # the same forward call
    fast = torch.autograd.grad(out, (xf, wf), grad)
    ref = _reference_grads(x, weight, pad, grad)
    exact = _reference_grads(x.double(), weight.double(), pad, grad.double())
    assert fast[0].shape == x.shape and fast[1].shape == weight.shape
    assert_same_function_fp32(fast[0], ref[0], exact[0], what='grad input')
    # a weight gradient sums over the batch and every position
    assert_same_function_fp32(fast[1], ref[1], exact[1], what='grad weight',
                              reduction_terms=n * h * w)


def _train_grads(model, x):
    model.zero_grad(set_to_none=True)
    sum((f * torch.linspace(-1, 1, f.numel(), dtype=f.dtype).view_as(f)).sum()
        for f in model(x)).backward()
    return {k: p.grad.clone() for k, p in model.named_parameters()}


@pytest.mark.parametrize('with_cp', [False, True])
def test_training_step_equals_the_reference(with_cp, monkeypatch):
    """Every parameter's gradient (and the input's) within fp32 rounding of the reference's, the
    outputs bit for bit; with_cp recomputes through the fast backward too."""
    ref = randomize_(FocalNet(**SMALL, with_cp=with_cp), scale=0.3).train()
    fast = accelerate_training(copy.deepcopy(ref), FAST)
    convs = [m for m in fast.modules() if type(m) is FastGradDepthwiseConv2d]
    assert len(convs) == 3 * 5  # three focal levels in each of the five blocks
    x = torch.randn(2, 3, 40, 56).requires_grad_()
    with torch.no_grad():
        for a, b in zip(fast(x), ref(x)):
            assert torch.equal(a, b)
    calls = []
    apply = DepthwiseConvFastGrad.apply
    monkeypatch.setattr(DepthwiseConvFastGrad, 'apply', lambda *a: calls.append(1) or apply(*a))
    grads_fast = _train_grads(fast, x)
    x_grad_fast = x.grad.clone()
    # 15 convolutions in the forward, 15 more in the recomputation of with_cp
    assert len(calls) == (30 if with_cp else 15)
    x.grad = None
    grads_ref = _train_grads(ref, x)
    x_grad_ref = x.grad.clone()
    x_double = x.detach().double().requires_grad_()
    grads_exact = _train_grads(copy.deepcopy(ref).double(), x_double)
    assert grads_fast.keys() == grads_ref.keys()
    for key in grads_ref:  # a weight gradient sums over the batch and the positions (at most
        terms = 2 * 10 * 14  # the stride-4 map's)
        assert_same_function_fp32(grads_fast[key], grads_ref[key], grads_exact[key], what=key,
                                  reduction_terms=terms)
    assert_same_function_fp32(x_grad_fast, x_grad_ref, x_double.grad, what='input gradient')


def test_measured_once_per_shape_and_size_class():
    planner = GradPlanner(reps=2, timer=CountingClock())
    model = accelerate_training(FocalNet(**SMALL).train(), planner)
    x = torch.randn(1, 3, 64, 64)
    sum(f.sum() for f in model(x)).backward()
    readings = planner.timer.readings
    # one measurement per stage width and kernel size (stages 3's two blocks share theirs)
    assert readings > 0 and len(planner.measurements) == 4 * 3
    for record in planner.measurements.values():
        assert record['chosen'] in ('reference', 'fast')
        if record['chosen'] == 'fast':  # adopted only when faster by the margin
            assert record['fast'] < 0.95 * record['reference']
    sum(f.sum() for f in model(torch.randn(1, 3, 62, 60))).backward()  # the same size class
    assert planner.timer.readings == readings
    sum(f.sum() for f in model(torch.randn(1, 3, 128, 128))).backward()  # a new one
    assert planner.timer.readings > readings and len(planner.measurements) == 2 * 4 * 3


def test_the_slower_backward_is_never_chosen(monkeypatch):
    """A fast backward measured slower (here: made slower) keeps the reference."""
    backward = DepthwiseConvFastGrad.backward

    def slow_backward(ctx, grad):
        time.sleep(0.02)
        return backward(ctx, grad)
    monkeypatch.setattr(DepthwiseConvFastGrad, 'backward', staticmethod(slow_backward))
    planner = GradPlanner(reps=1)
    model = accelerate_training(FocalNet(**SMALL).train(), planner)
    sum(f.sum() for f in model(torch.randn(1, 3, 32, 32))).backward()
    assert planner.measurements
    assert all(r['chosen'] == 'reference' for r in planner.measurements.values())


def test_reference_wherever_the_fast_backward_does_not_apply(monkeypatch):
    """No gradient wanted, autocast, fp64, dispatch modes (torch's FLOP counter), torch.compile."""
    from torch.utils.flop_counter import FlopCounterMode
    calls = []
    apply = DepthwiseConvFastGrad.apply
    monkeypatch.setattr(DepthwiseConvFastGrad, 'apply', lambda *a: calls.append(1) or apply(*a))
    model = accelerate_training(FocalNet(**SMALL).train(), FAST)
    x = torch.randn(1, 3, 32, 32)

    def fast_calls(fn) -> int:
        calls.clear()
        fn()
        return len(calls)

    assert fast_calls(lambda: model(x)) == 15
    with torch.no_grad():
        assert fast_calls(lambda: model(x)) == 0
    with torch.autocast('cpu', dtype=torch.bfloat16):
        assert fast_calls(lambda: model(x)) == 0
    with FlopCounterMode(display=False):
        assert fast_calls(lambda: model(x)) == 0
    assert fast_calls(lambda: copy.deepcopy(model).double()(x.double())) == 0
    frozen = copy.deepcopy(model).requires_grad_(False)
    assert fast_calls(lambda: frozen(x)) == 0  # neither input nor weights need a gradient
    compiled = torch.compile(model, backend='eager', fullgraph=True)
    assert fast_calls(lambda: compiled(x)) == 0
    assert fast_calls(lambda: accelerate_training(model, GradPlanner(fixed=False))(x)) == 0


def test_hooks_state_dict_copy_pickle_and_removal():
    ref = FocalNet(**SMALL)
    fast = accelerate_training(copy.deepcopy(ref), FAST).train()
    assert all(torch.equal(v, fast.state_dict()[k]) for k, v in ref.state_dict().items())
    assert fast.state_dict().keys() == ref.state_dict().keys()
    restored = pickle.loads(pickle.dumps(fast)).layers[0].blocks[0].modulation
    assert type(restored.focal_layers[0][0]) is FastGradDepthwiseConv2d
    seen = []
    for m in fast.modules():
        if type(m) is FastGradDepthwiseConv2d:
            m.register_forward_hook(lambda mod, inp, out: seen.append(out.shape))
    sum(f.sum() for f in fast(torch.randn(1, 3, 32, 32))).backward()
    assert len(seen) == 15  # every level's module is called (hooks see it)
    twin = copy.deepcopy(fast)
    assert twin.layers[0].blocks[0].modulation.focal_layers[0][0].grad_planner is FAST
    assert sum(type(m) is LayoutKeepingGELU for m in fast.modules()) == 15
    assert sum(type(m) is GateGradProbe for m in fast.modules()) == 5
    remove_training_acceleration(fast)
    swapped = (FastGradDepthwiseConv2d, LayoutKeepingGELU, GateGradProbe)
    assert not any(type(m) in swapped for m in fast.modules())
    assert sum(type(m) is Conv2d and m.groups > 1 for m in fast.modules()) == 15
    assert [type(m) for m in ref.modules()] == [type(m) for m in fast.modules()]
    with pytest.raises(ValueError, match='margin'):
        GradPlanner(margin=1.5)
    with pytest.raises(ValueError, match='reps'):
        GradPlanner(reps=0)


def test_layout_keeping_gradients():
    """The GELU and the gate probe return their gradients in their input's (channels_last)
    layout: the probe's is the incoming gradient's values, the GELU's equals autograd's within
    fp32 rounding (ATen's GELU backward takes another, vectorised, code path on matching layouts,
    with its own rounding)."""
    gen = torch.Generator().manual_seed(0)
    cl = torch.channels_last
    parent = torch.randn(2, 11, 6, 7, generator=gen).contiguous(memory_format=cl)
    for x in (parent, parent[:, 8:]):  # a map, and a channel slice of one (the gates)
        grad = torch.randn(x.shape, generator=gen)  # NCHW, as autograd may hand it
        for plain, fast in ((torch.nn.GELU(), LayoutKeepingGELU()),
                            (torch.nn.Identity(), GateGradProbe())):
            xp, xf = x.clone().requires_grad_(), x.clone().requires_grad_()
            xd = x.double().requires_grad_()
            out_plain, out_fast = plain(xp), fast(xf)
            assert torch.equal(out_plain, out_fast)
            (g_plain,), (g_fast,), (g_exact,) = (
                torch.autograd.grad(o, i, grad.to(o.dtype))
                for o, i in ((out_plain, xp), (out_fast, xf), (plain(xd), xd)))
            if isinstance(plain, torch.nn.Identity):
                assert torch.equal(g_fast, grad)
            else:
                assert_same_function_fp32(g_fast, g_plain, g_exact, what='GELU gradient')
            assert g_fast.is_contiguous(memory_format=cl) and not g_fast.is_contiguous()
