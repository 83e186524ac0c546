"""FocalNet backbone: shapes, parameter counts, parity with timm, frozen stages, checkpointing."""
import re

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from focalnet_mm import ARCH_SETTINGS, FocalNet
from focalnet_mm.models.checkpoint import convert_checkpoint, official_to_timm
from helpers import num_params, randomize_
from numerics import assert_same_function_fp32

ALL_ARCHS = list(ARCH_SETTINGS)


def test_twelve_official_variants():
    assert ALL_ARCHS == ['tiny-srf', 'tiny-lrf', 'small-srf', 'small-lrf', 'base-srf', 'base-lrf',
                         'large-fl3', 'large-fl4', 'xlarge-fl3', 'xlarge-fl4', 'huge-fl3', 'huge-fl4']


@pytest.mark.parametrize('size,expected', [
    ((32, 32), [(8, 8), (4, 4), (2, 2), (1, 1)]),
    ((31, 31), [(8, 8), (4, 4), (2, 2), (1, 1)]),
    ((112, 137), [(28, 35), (14, 18), (7, 9), (4, 5)]),
    ((1, 1), [(1, 1)] * 4),
])
@pytest.mark.parametrize('arch', ['tiny-srf', 'large-fl3'])
def test_output_shapes_any_input_size(arch, size, expected):
    with torch.device('meta') if arch != 'tiny-srf' else torch.device('cpu'):
        model = FocalNet(arch, drop_path_rate=0.).eval()
        outs = model(torch.zeros(2, 3, *size))
    c = ARCH_SETTINGS[arch]['embed_dims']
    assert [tuple(o.shape) for o in outs] == [(2, c * 2**i, *hw) for i, hw in enumerate(expected)]
    assert all(o.is_contiguous() for o in outs)


@pytest.mark.parametrize('arch', ALL_ARCHS)
def test_channels_of_every_variant(arch):
    with torch.device('meta'):
        model = FocalNet(arch, drop_path_rate=0.).eval()
        outs = model(torch.zeros(1, 3, 64, 64))
    c = ARCH_SETTINGS[arch]['embed_dims']
    assert [o.shape[1] for o in outs] == [c, 2 * c, 4 * c, 8 * c] == model.num_features
    assert [o.shape[-1] for o in outs] == [16, 8, 4, 2]


# Seeds' classification tables, in M params. Every row, the ImageNet-22k L/XL/H ones included,
# counts a 1000-class head (with the 21842-class head of the 22k checkpoints L-fl3 would be 239.1M,
# not 207M). Tolerance: the table's rounding (0.1M for T/S/B, 1M for L/XL/H; 88.75 -> "88.7").
PAPER_PARAMS = {
    'tiny-srf': (28.4, 0.051), 'tiny-lrf': (28.6, 0.051),
    'small-srf': (49.9, 0.051), 'small-lrf': (50.3, 0.051),
    'base-srf': (88.1, 0.051), 'base-lrf': (88.7, 0.051),
    'large-fl3': (207, 0.501), 'large-fl4': (207, 0.501),
    'xlarge-fl3': (366, 0.501), 'xlarge-fl4': (366, 0.501),
    'huge-fl3': (687, 0.501), 'huge-fl4': (689, 0.501),
}


@pytest.mark.parametrize('arch', ALL_ARCHS)
def test_param_count_matches_paper(arch):
    paper, tol = PAPER_PARAMS[arch]
    with torch.device('meta'):
        # A classification model = our backbone with the last output norm (= the final norm) + head.
        backbone = FocalNet(arch, out_indices=(3,))
        head = nn.Linear(backbone.num_features[-1], 1000)
    total = (num_params(backbone) + num_params(head)) / 1e6
    assert abs(total - paper) <= tol, f'{arch}: {total:.3f}M vs paper {paper}M'


def _timm_model(arch, **overrides):
    """timm's preset ``arch``, or (``arch`` a dict) timm's FocalNet class with ``overrides`` alone."""
    timm = pytest.importorskip('timm')
    if isinstance(arch, dict):
        from timm.models.focalnet import FocalNet as TimmFocalNet
        return TimmFocalNet(num_classes=0, **overrides).eval()
    name = 'focalnet_' + arch.replace('-', '_')
    return timm.create_model(name, pretrained=False, num_classes=0, **overrides).eval()


def _timm_features(model, x):
    return model.forward_intermediates(x, intermediates_only=True)


# Small stand-ins of the big presets: every switch of large-fl3 (conv embedding, post-norm,
# layerscale) and huge-fl3 (+ LayerNorm in the modulation), and large-fl4's normalised modulator
# with 4 levels, at widths where fp64 runs take a second. The big presets themselves are checked
# key by key and shape by shape against timm on the meta device (test below).
_SMALL = dict(embed_dims=32, depths=(1, 1, 3, 1))
_SMALL_BIG = dict(_SMALL, use_conv_embed=True, use_postln=True, use_layerscale=True)
_TIMM_SMALL = dict(embed_dim=32, depths=(1, 1, 3, 1))
_TIMM_SMALL_BIG = dict(_TIMM_SMALL, use_overlap_down=True, use_post_norm=True, layerscale_value=1e-4)
PARITY_CASES = [
    ('tiny-srf', {}, {}),
    ('tiny-lrf', {}, {}),
    ('tiny-lrf', dict(normalize_modulator=True), dict(normalize_modulator=True)),
    (dict(_SMALL_BIG, focal_levels=3, focal_windows=5), {},
     dict(_TIMM_SMALL_BIG, focal_levels=(3,) * 4, focal_windows=(5,) * 4)),
    (dict(_SMALL_BIG, focal_levels=4, focal_windows=3, normalize_modulator=True), {},
     dict(_TIMM_SMALL_BIG, focal_levels=(4,) * 4, focal_windows=(3,) * 4, normalize_modulator=True)),
    (dict(_SMALL_BIG, focal_levels=3, focal_windows=3, use_postln_in_modulation=True), {},
     dict(_TIMM_SMALL_BIG, focal_levels=(3,) * 4, focal_windows=(3,) * 4,
          use_post_norm_in_modulation=True)),
]
PARITY_IDS = ['tiny-srf', 'tiny-lrf', 'tiny-lrf-normmod', 'small-large-fl3', 'small-large-fl4',
              'small-huge-fl3']


def _timm_normed(ours, ref, x):
    """timm's stage features through our per-output norms (timm's model has none per stage)."""
    feats = []
    for i, b in enumerate(_timm_features(ref, x)):
        norm = getattr(ours, f'norm{i}')
        feats.append(F.layer_norm(b.permute(0, 2, 3, 1), (b.shape[1],), norm.weight.to(b.dtype),
                                  norm.bias.to(b.dtype)).permute(0, 3, 1, 2))
    return feats


@pytest.mark.parametrize('dtype,scale', [(torch.float32, 0.2), (torch.float64, 1.0)],
                         ids=['fp32', 'fp64'])
@pytest.mark.parametrize('arch,ours_kw,timm_kw', PARITY_CASES, ids=PARITY_IDS)
def test_parity_with_timm(arch, ours_kw, timm_kw, dtype, scale):
    """Identical (converted) weights give identical stage features.

    fp64 with large random weights (every layer far from identity): within 1e-10 (atol = rtol),
    i.e. the two implementations compute the same function. fp32 with weights of realistic scale:
    the difference is rounding only, no more than 4x timm's own fp32 rounding error (timm's fp32
    features vs the fp64 features of the same weights and input), which depends on the CPU's
    kernels (AVX2 vs AVX-512): see ``numerics.assert_same_function_fp32``."""
    ours = randomize_(FocalNet(arch, drop_path_rate=0., **ours_kw), scale=scale).eval()
    ref = _timm_model(arch, **timm_kw)
    missing, unexpected = ref.load_state_dict(
        official_to_timm(ours.state_dict(), use_postln=ours.arch_settings['use_postln']),
        strict=False)
    assert unexpected == [] and all(k.startswith(('head', 'norm.')) for k in missing), missing
    x = torch.randn(2, 3, 64, 96, dtype=torch.float64)
    ours.to(dtype)
    with torch.no_grad():
        if dtype == torch.float32:  # the rounding error, measured on the first sample
            exact = _timm_normed(ours, ref.to(torch.float64), x[:1])
        ref.to(dtype)
        feats = ours(x.to(dtype))
        ref_feats = _timm_normed(ours, ref, x.to(dtype))
    assert len(feats) == len(ref_feats) == 4
    assert [a.shape for a in feats] == [b.shape for b in ref_feats]
    if dtype == torch.float64:
        for i, (a, b) in enumerate(zip(feats, ref_feats)):
            # |a - b| <= tol + tol * |b| (torch.allclose with atol = rtol = tol)
            torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-10, msg=lambda m: f'stage {i}: {m}')
    else:
        assert_same_function_fp32(feats, ref_feats, exact, what=f'{arch} vs timm')


@pytest.mark.parametrize('arch', [a for a in ALL_ARCHS if a.startswith(('large', 'xlarge', 'huge'))])
def test_big_presets_match_timm_key_by_key(arch):
    """The big presets, on the meta device: our state_dict converted to timm's names has exactly
    timm's preset keys and shapes (the function is checked on the small stand-ins above)."""
    with torch.device('meta'):
        ours = FocalNet(arch)
        ref = _timm_model(arch)
    converted = official_to_timm(ours.state_dict(), use_postln=ours.arch_settings['use_postln'])
    theirs = {k: v.shape for k, v in ref.state_dict().items() if not k.startswith(('head', 'norm.'))}
    assert {k: v.shape for k, v in converted.items()} == theirs


def test_timm_state_dict_converts_back():
    """timm names -> ours through the loader's converter, strictly."""
    ref = randomize_(_timm_model('tiny-lrf'), scale=0.2)
    ours = FocalNet('tiny-lrf', drop_path_rate=0.).eval()
    sd, report = convert_checkpoint(ref.state_dict(), ours)
    assert report.source_format == 'timm'
    ours.load_state_dict(sd, strict=True)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        a = ours(x)[2]
        b = _timm_features(ref, x)[2]
    b = F.layer_norm(b.permute(0, 2, 3, 1), (b.shape[1],)).permute(0, 3, 1, 2)  # norm2 at init
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize('frozen_stages', [-1, 0, 2, 4])
def test_frozen_stages_stay_frozen_after_train(frozen_stages):
    model = FocalNet('tiny-srf', frozen_stages=frozen_stages)
    model.train()
    frozen_prefixes = []
    if frozen_stages >= 0:
        frozen_prefixes.append('patch_embed.')
    for i in range(frozen_stages):
        frozen_prefixes += [f'layers.{i}.', f'norm{i}.']
    for name, p in model.named_parameters():
        assert p.requires_grad == (not name.startswith(tuple(frozen_prefixes))), name
    for name, m in model.named_modules():
        if name and name.startswith(tuple(p.rstrip('.') for p in frozen_prefixes)):
            assert not m.training, name
    assert model.layers[-1].training == (frozen_stages < 4)
    n_trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert (n_trainable == 0) == (frozen_stages == 4)


BIG_SWITCHES = dict(embed_dims=32, depths=(1, 1, 2, 1), focal_levels=3, focal_windows=3,
                    use_conv_embed=True, use_postln=True, use_layerscale=True,
                    use_postln_in_modulation=True, normalize_modulator=True)


@pytest.mark.parametrize('arch,drop_path_rate', [('tiny-lrf', 0.), ('tiny-lrf', 0.3),
                                                 (BIG_SWITCHES, 0.3)],
                         ids=['tiny-lrf', 'tiny-lrf-drop-path', 'post-ln-layerscale-drop-path'])
def test_with_cp_same_outputs_and_grads(arch, drop_path_rate):
    """Checkpointed branches recompute the same activations (drop-path masks included: the RNG
    state is replayed) and give the same gradients."""
    torch.manual_seed(0)
    plain = FocalNet(arch, drop_path_rate=drop_path_rate)
    ckpt = FocalNet(arch, drop_path_rate=drop_path_rate, with_cp=True)
    ckpt.load_state_dict(plain.state_dict())
    assert all(stage.with_cp for stage in ckpt.layers)
    x = torch.randn(2, 3, 64, 64)
    grads = []
    outs = []
    for model in (plain, ckpt):
        model.train()
        model.zero_grad()
        torch.manual_seed(1)  # the same drop-path masks in both forwards
        out = model(x)
        sum(o.square().mean() for o in out).backward()
        outs.append(out)
        grads.append({n: p.grad.clone() for n, p in model.named_parameters()})
    for a, b in zip(*outs):
        assert torch.equal(a, b)
    assert grads[0].keys() == grads[1].keys()
    for name in grads[0]:
        assert torch.allclose(grads[0][name], grads[1][name], atol=1e-6, rtol=1e-5), name


def test_drop_path_linear_and_stochastic():
    model = FocalNet('tiny-srf', drop_path_rate=0.3)
    rates = [b.drop_path.drop_prob if hasattr(b.drop_path, 'drop_prob') else 0.
             for stage in model.layers for b in stage.blocks]
    assert rates[0] == 0 and rates[-1] == pytest.approx(0.3) and len(rates) == 12
    assert all(b > a for a, b in zip(rates, rates[1:]))
    x = torch.randn(1, 3, 64, 64)
    model.train()
    with torch.no_grad():
        torch.manual_seed(1)
        a = model(x)[3]
        torch.manual_seed(2)
        b = model(x)[3]
    assert not torch.equal(a, b)
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(x)[3], model(x)[3])


def test_explicit_arguments_override_preset():
    model = FocalNet('tiny-srf', focal_windows=[11, 9, 9, 7], focal_levels=3, drop_path_rate=0.)
    kernels = [stage.blocks[0].modulation.kernel_sizes for stage in model.layers]
    assert kernels == [[11, 13, 15], [9, 11, 13], [9, 11, 13], [7, 9, 11]]
    assert model.arch_settings['embed_dims'] == 96
    custom = FocalNet(dict(embed_dims=32, depths=(1, 1, 1), focal_levels=2, focal_windows=3),
                      out_indices=(0, 1, 2))
    assert [o.shape[1] for o in custom(torch.zeros(1, 3, 32, 32))] == [32, 64, 128]


def test_big_variant_features():
    """The L/XL/H switches change the module structure as the official code does."""
    with torch.device('meta'):
        large = FocalNet('large-fl4')
        huge = FocalNet('huge-fl3')
    assert large.patch_embed.proj.kernel_size == (7, 7) and large.patch_embed.proj.padding == (2, 2)
    assert large.layers[0].downsample.proj.kernel_size == (3, 3)
    block = large.layers[2].blocks[0]
    assert block.use_postln and isinstance(block.gamma_1, nn.Parameter)
    assert block.modulation.normalize_modulator and block.modulation.kernel_sizes == [3, 5, 7, 9]
    assert hasattr(huge.layers[0].blocks[0].modulation, 'ln')
    assert not hasattr(large.layers[0].blocks[0].modulation, 'ln')
    keys = set(huge.state_dict())
    assert 'layers.3.blocks.1.modulation.ln.weight' in keys
    assert not any(re.match(r'layers\.3\.downsample', k) for k in keys)


@pytest.mark.parametrize('scope', ['mmdet', 'mmseg', 'mmpretrain'])
def test_registered_in_every_mm_registry(scope):
    import importlib
    import focalnet_mm
    registry = importlib.import_module(f'{scope}.registry').MODELS
    assert scope in focalnet_mm.REGISTERED_SCOPES
    model = registry.build(dict(type='FocalNet', arch='tiny-srf', out_indices=(1, 2, 3)))
    assert type(model) is FocalNet
    assert [o.shape[1] for o in model(torch.zeros(1, 3, 32, 32))] == [192, 384, 768]


def test_mmpretrain_classifier_with_focalnet():
    """The same backbone drives an mmpretrain ImageClassifier (last stage + GAP + linear head)."""
    pytest.importorskip('mmpretrain')
    import focalnet_mm  # noqa: F401
    from mmpretrain.registry import MODELS
    clf = MODELS.build(dict(
        type='ImageClassifier',
        backbone=dict(type='FocalNet', arch='tiny-srf', out_indices=(3,)),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=1000, in_channels=768)))
    assert abs(num_params(clf) / 1e6 - 28.4) <= 0.05
    assert clf(torch.zeros(2, 3, 64, 64), mode='tensor').shape == (2, 1000)


@pytest.mark.parametrize('arch,with_cp', [('tiny-lrf', False), ('tiny-lrf', True),
                                          (BIG_SWITCHES, False)],
                         ids=['tiny-lrf', 'tiny-lrf-with-cp', 'post-ln-layerscale'])
def test_every_parameterised_module_is_called(arch, with_cp):
    """Forward hooks on every module that owns parameters (the embeddings, norms, f, the depth-wise
    convs, h, proj, fc1, fc2, the modulation's LayerNorm) see a call in training with autograd,
    in eval without, and in contiguous NCHW: feature extraction, PEFT wrappers, quantisation and
    per-module FLOP counters see every layer."""
    model = FocalNet(arch, drop_path_rate=0.1, with_cp=with_cp)
    owners = {name: m for name, m in model.named_modules()
              if next(m.parameters(recurse=False), None) is not None}
    assert {'layers.0.blocks.0.modulation.f', 'layers.0.blocks.0.modulation.h',
            'layers.0.blocks.0.modulation.proj', 'layers.0.blocks.0.mlp.fc1',
            'layers.0.blocks.0.mlp.fc2', 'layers.0.blocks.0.modulation.focal_layers.0.0'} <= set(owners)
    x = torch.randn(1, 3, 64, 64)
    for mode, grad, channels_last in (('train', True, True), ('eval', False, True),
                                      ('eval', False, False)):
        getattr(model, mode)()
        model.channels_last = channels_last
        called = set()
        handles = [m.register_forward_hook(lambda *_, name=name: called.add(name))
                   for name, m in owners.items()]
        with torch.set_grad_enabled(grad):
            outs = model(x)
            if grad:
                sum(o.sum() for o in outs).backward()
        for handle in handles:
            handle.remove()
        assert sorted(set(owners) - called) == [], (mode, channels_last)
