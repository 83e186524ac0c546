"""FocalTransformer backbone: parity with the official classification code, parameter counts,
checkpoint loading, mm conventions and bad input.

The official model is ``tests/data/focal_transformer_official.py`` (microsoft/Focal-Transformer's
``classification/focal_transformer.py``, MIT, vendored unmodified below its header), built with
random weights at its input size and its state dict loaded into ours.
"""
from __future__ import annotations

import importlib.util
import os.path as osp
import subprocess

import pytest
import torch
from helpers import randomize_

from focalnet_mm.models.checkpoint import IncompatibleCheckpointError, UnsafeCheckpointError
from focalnet_mm.models.focal_transformer import (ARCH_SETTINGS, FocalTransformer,
                                                  load_pretrained, ring_offsets)

DATA = osp.join(osp.dirname(__file__), 'data')
OFFICIAL_FILE = osp.join(DATA, 'focal_transformer_official.py')
MIRROR = '/work/.mirror/microsoft+Focal-Transformer/repo'


@pytest.fixture(scope='module')
def official():
    spec = importlib.util.spec_from_file_location('focal_transformer_official', OFFICIAL_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_vendored_official_file_is_unmodified():
    """The fixture's body equals the snapshot's file, where a snapshot is at hand."""
    if not osp.isdir(MIRROR):
        pytest.skip(f'no microsoft/Focal-Transformer snapshot at {MIRROR} to compare with; '
                    'the vendored copy is used as it is')
    upstream = subprocess.run(['git', f'--git-dir={MIRROR}', 'show',
                               'HEAD:classification/focal_transformer.py'],
                              capture_output=True, text=True, check=True).stdout
    vendored = open(OFFICIAL_FILE).read()
    header = vendored[:vendored.index('# ----')]
    assert all(line.startswith('#') for line in header.splitlines())
    assert vendored[len(header):] == upstream


def _official_model(official, arch: str, img_size: int = 224, **overrides):
    a = dict(ARCH_SETTINGS[arch], **overrides)
    return official.FocalTransformer(
        img_size=img_size, embed_dim=a['embed_dims'], depths=list(a['depths']),
        num_heads=list(a['num_heads']), window_size=a['window_size'], focal_pool=a['focal_pool'],
        focal_levels=[a['focal_levels']] * 4, focal_windows=list(a['focal_windows']),
        expand_sizes=[a['expand_sizes']] * 4, use_conv_embed=a['use_conv_embed'],
        drop_path_rate=0.)


def _stage_features(model, x) -> list[torch.Tensor]:
    """The official model's stage outputs (before its downsample), as (B, L, C) tokens."""
    feats = {}
    hooks = [layer.blocks[-1].register_forward_hook(
        lambda m, a, o, i=i: feats.__setitem__(i, o)) for i, layer in enumerate(model.layers)]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return [feats[i] for i in range(len(model.layers))]


def _compare(official_model, ours, x):
    """max |ours - official| and max |official| per stage, ours' norms applied to both."""
    ref = _stage_features(official_model, x)
    with torch.no_grad():
        outs = ours(x)
    result = []
    for i, out in enumerate(outs):
        b, c, h, w = out.shape
        expected = getattr(ours, f'norm{i}')(ref[i].view(b, h, w, c)).permute(0, 3, 1, 2)
        result.append(((out - expected).abs().max().item(), expected.abs().max().item()))
    return result


def _load_official_weights(ours, official_model) -> list[str]:
    """Official state dict into ours: strict but for our per-output norms / extra tables."""
    sd, model_sd = official_model.state_dict(), ours.state_dict()
    kept = [k for k in model_sd if k not in sd]
    ours.load_state_dict({**{k: v for k, v in sd.items() if k in model_sd},
                          **{k: model_sd[k] for k in kept}}, strict=True)
    return kept


SHALLOW = dict(depths=(1, 1, 2, 1))  # every kind of block, fewer of them: fast
PARITY_CASES = {
    # name: (arch, input size, overrides of both models)
    'tiny-224': ('tiny', 224, {}),
    'tiny-useconv-224': ('tiny-useconv', 224, SHALLOW),
    'tiny-3-levels-224': ('tiny', 224, dict(depths=(1, 1, 1, 1), focal_levels=3)),
    # not a multiple of the window: every block pads; stage 4 (9x9) has 2x2 windows and a ring
    'tiny-288': ('tiny', 288, dict(depths=(1, 1, 1, 1))),
}


@pytest.mark.parametrize('case', list(PARITY_CASES))
def test_stage_features_equal_official_fp64(official, case):
    arch, size, overrides = PARITY_CASES[case]
    torch.manual_seed(0)
    ref = randomize_(_official_model(official, arch, size, **overrides), seed=1).double().eval()
    ours = FocalTransformer(arch, drop_path_rate=0., **overrides).double().eval()
    kept = _load_official_weights(ours, ref)
    # only our per-output norms (and, at 224, stage 4's ring table: its map is one window there)
    assert all(k.startswith('norm') or k.startswith('layers.3.') for k in kept), kept
    x = torch.randn(1, 3, size, size, dtype=torch.float64)
    for stage, (err, scale) in enumerate(_compare(ref, ours, x)):
        assert scale > 1.0
        assert err < 1e-10, (case, stage, err)


def test_stage_features_equal_official_fp32(official):
    torch.manual_seed(0)
    ref = randomize_(_official_model(official, 'tiny', **SHALLOW), seed=1).eval()
    ours = FocalTransformer('tiny', drop_path_rate=0., **SHALLOW).eval()
    _load_official_weights(ours, ref)
    x = torch.randn(1, 3, 224, 224)
    for stage, (err, scale) in enumerate(_compare(ref, ours, x)):
        assert err <= 1e-5 * scale, (stage, err, scale)


# ImageNet-1k classification models (1000-class head): the official table's params (M).
CLASSIFICATION_PARAMS_M = {'tiny': 28.9, 'tiny-useconv': 30.8, 'small': 51.1,
                           'small-useconv': 53.1, 'base': 89.8, 'base-useconv': 93.3}


def _classification_params(arch: str) -> int:
    """Our backbone as the 224 classification model holds it (no stage-4 ring, one final norm)
    + the 1000-class head, counted on the meta device."""
    with torch.device('meta'):
        model = FocalTransformer(arch, expand_sizes=(3, 3, 3, 0), out_indices=(3, ))
    width = model.num_features[-1]
    return sum(p.numel() for p in model.parameters()) + width * 1000 + 1000


@pytest.mark.parametrize('arch', list(CLASSIFICATION_PARAMS_M))
def test_classification_params_equal_official_table(arch):
    assert round(_classification_params(arch) / 1e6, 1) == CLASSIFICATION_PARAMS_M[arch]


def test_classification_params_equal_official_model(official):
    ref = _official_model(official, 'tiny')
    assert _classification_params('tiny') == sum(p.numel() for p in ref.parameters()) == 28_880_380


def test_ring_offsets_cover_the_ring_as_officially():
    off = ring_offsets(7, 3)
    assert off.shape == (132, 2)  # 4 * (49 - 16), the official window_size_of_key
    cells = {tuple(o) for o in off.tolist()}
    ring = {(y, x) for y in range(-3, 10) for x in range(-3, 10)} - {
        (y, x) for y in range(7) for x in range(7)}
    assert cells == ring  # 120 distinct ring tokens, 12 of them twice


# ---------------------------------------------------------------------------------- checkpoints
@pytest.fixture(scope='module')
def official_checkpoint(official, tmp_path_factory):
    """An official (shallow) Focal-T with random weights and its ``{'model': ...}`` file."""
    ref = randomize_(_official_model(official, 'tiny', **SHALLOW), seed=1).eval()
    path = str(tmp_path_factory.mktemp('ckpt') / 'focal-tiny.pth')
    torch.save(dict(model=ref.state_dict(), epoch=300), path)
    return ref, path


def test_init_cfg_loads_official_checkpoint(official_checkpoint):
    ref, path = official_checkpoint
    ours = FocalTransformer('tiny', drop_path_rate=0., **SHALLOW,
                            init_cfg=dict(type='Pretrained', checkpoint=path))
    ours.init_weights()
    ours.eval()
    x = torch.randn(1, 3, 224, 224)
    for err, scale in _compare(ref, ours, x):
        assert err <= 1e-5 * scale
    sd = ref.state_dict()
    for k, v in ours.state_dict().items():
        if k in sd:
            assert torch.equal(v, sd[k]), k


def test_checkpoint_of_another_variant_is_refused_naming_both(official_checkpoint, tmp_path):
    other = str(tmp_path / 'focal-tiny-useconv.pth')  # official names: our state dict is one
    torch.save({'model': FocalTransformer('tiny-useconv', **SHALLOW).state_dict()}, other)
    ours = FocalTransformer('tiny', **SHALLOW)
    before = {k: v.clone() for k, v in ours.state_dict().items()}
    with pytest.raises(IncompatibleCheckpointError) as info:
        load_pretrained(ours, other)
    msg = str(info.value)
    assert 'stem kernel 7 (conv embedding)' in msg and 'stem kernel 4,' in msg, msg
    assert 'layers.0.downsample.proj.weight' in msg, msg
    assert all(torch.equal(v, before[k]) for k, v in ours.state_dict().items())  # nothing lost

    with pytest.raises(IncompatibleCheckpointError, match=r'depths=\(1, 1, 2, 1\).*'
                       r'depths=\(1, 1, 1, 1\)'):
        load_pretrained(FocalTransformer('tiny', depths=(1, 1, 1, 1)), official_checkpoint[1])
    with pytest.raises(IncompatibleCheckpointError, match=r'embed_dims=96.*embed_dims=128'):
        load_pretrained(FocalTransformer('base', depths=(1, 1, 2, 1)), official_checkpoint[1])


def test_focalnet_checkpoint_is_refused(tmp_path):
    from focalnet_mm import FocalNet
    path = str(tmp_path / 'focalnet.pth')
    torch.save({'model': FocalNet('tiny-srf', depths=(1, 1, 1, 1)).state_dict()}, path)
    with pytest.raises(IncompatibleCheckpointError, match='not a Focal Transformer'):
        load_pretrained(FocalTransformer('tiny', **SHALLOW), path)


class _Config:  # stands for an object of some training code pickled beside the weights
    pass


def test_checkpoint_pickling_objects_needs_trusted(official_checkpoint, tmp_path):
    ref, _ = official_checkpoint
    path = str(tmp_path / 'with-object.pth')
    torch.save(dict(model=ref.state_dict(), config=_Config()), path)
    ours = FocalTransformer('tiny', **SHALLOW)
    with pytest.raises(UnsafeCheckpointError, match='trusted=True'):
        load_pretrained(ours, path)
    kept = load_pretrained(ours, path, trusted=True)
    assert sorted(kept) == sorted(
        [f'norm{i}.{p}' for i in range(4) for p in ('weight', 'bias')]
        + ['layers.3.blocks.0.attn.relative_position_bias_table_to_neighbors'])


def test_detector_checkpoint_backbone_loads(tmp_path):
    src = randomize_(FocalTransformer('tiny', **SHALLOW), seed=4)
    path = str(tmp_path / 'detector.pth')
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in src.state_dict().items()},
                'meta': {}}, path)
    ours = FocalTransformer('tiny', **SHALLOW)
    assert load_pretrained(ours, path) == []  # our own layout: every tensor provided
    for k, v in ours.state_dict().items():
        assert torch.equal(v, src.state_dict()[k]), k


# ---------------------------------------------------------------------------------- backbone API
def test_any_input_size_strides_and_out_indices():
    model = FocalTransformer('tiny', depths=(1, 1, 1, 1), out_indices=(1, 3)).eval()
    for h, w in ((33, 47), (250, 333), (64, 64)):
        with torch.no_grad():
            outs = model(torch.randn(1, 3, h, w))
        assert [tuple(o.shape) for o in outs] == [
            (1, 192, -(-h // 8), -(-w // 8)), (1, 768, -(-h // 32), -(-w // 32))]
        assert all(o.is_contiguous() and torch.isfinite(o).all() for o in outs)
    assert not hasattr(model, 'norm0') and hasattr(model, 'norm1')


def test_one_attention_call_per_block_for_all_windows():
    """All windows of the batch go through one scaled_dot_product_attention per block."""
    from torch.profiler import profile
    model = FocalTransformer('tiny', depths=(2, 2, 2, 2)).eval()
    with torch.no_grad(), profile() as prof:
        model(torch.randn(2, 3, 224, 320))  # 8x12 windows at stage 1
    calls = sum(e.count for e in prof.key_averages()
                if e.key == 'aten::scaled_dot_product_attention')
    assert calls == 8


def test_traced_matmul_path_equals_attention_path():
    model = randomize_(FocalTransformer('tiny', depths=(1, 1, 1, 1)), seed=5).double().eval()
    x = torch.randn(1, 3, 64, 100, dtype=torch.float64)  # stage 1 padded, 3 levels of windows
    with torch.no_grad():
        eager = model(x)
        traced = torch.jit.trace(model, x, check_trace=False)(x)
    for a, b in zip(eager, traced):
        assert (a - b).abs().max() < 1e-10


@pytest.mark.parametrize('pool', ['conv', 'mean', 'max', 'none'])
def test_other_pool_methods_run(pool):
    model = FocalTransformer('tiny', depths=(1, 1, 1, 1), focal_pool=pool)
    outs = model(torch.randn(1, 3, 70, 90))
    assert outs[-1].shape == (1, 768, 3, 3)
    assert (len(model.layers[0].blocks[0].pool_layers) == 1) == (pool in ('fc', 'conv'))


def test_frozen_stages_survive_train():
    model = FocalTransformer('tiny', depths=(1, 1, 1, 1), frozen_stages=2)
    model.train()
    frozen = [model.patch_embed, model.layers[0], model.layers[1], model.norm0, model.norm1]
    for module in frozen:
        assert not module.training
        assert not any(p.requires_grad for p in module.parameters())
    assert model.layers[2].training and all(p.requires_grad for p in model.layers[2].parameters())


def test_with_cp_same_outputs_and_gradients():
    torch.manual_seed(0)
    plain = randomize_(FocalTransformer('tiny', depths=(1, 1, 2, 1), drop_path_rate=0.), seed=6)
    cp_model = FocalTransformer('tiny', depths=(1, 1, 2, 1), drop_path_rate=0., with_cp=True)
    assert all(block.with_cp for stage in cp_model.layers for block in stage.blocks)
    cp_model.load_state_dict(plain.state_dict())
    x = torch.randn(1, 3, 64, 96)
    grads = []
    for model in (plain, cp_model):
        model.zero_grad()
        sum(o.square().mean() for o in model(x)).backward()
        grads.append({k: p.grad for k, p in model.named_parameters()})
    # stages 3 (4x6) and 4 (2x3) are single windows: their ring tables are unused, as officially
    unused = {k for k, g in grads[0].items() if g is None}
    assert unused == {f'layers.{i}.blocks.{j}.attn.relative_position_bias_table_to_neighbors'
                      for i, depth in ((2, 2), (3, 1)) for j in range(depth)}
    for k in grads[0]:
        assert (grads[1][k] is None) == (k in unused), k
        if k not in unused:
            torch.testing.assert_close(grads[0][k], grads[1][k], rtol=1e-5, atol=1e-6)


def test_registered_in_mm_registries():
    import focalnet_mm  # noqa: F401
    from mmdet.registry import MODELS as DET
    from mmpretrain.registry import MODELS as CLS
    from mmseg.registry import MODELS as SEG
    for registry in (DET, SEG, CLS):
        model = registry.build(dict(type='FocalTransformer', arch='tiny', depths=(1, 1, 1, 1)))
        assert isinstance(model, FocalTransformer)


@pytest.mark.parametrize('kwargs, match', [
    (dict(arch='huge'), "Unknown `arch` 'huge'"),
    (dict(arch=dict(embed_dims=96)), 'missing'),
    (dict(arch=dict(embed_dims=96, depths=(2,), num_heads=(3,), ape=True)), 'unknown keys'),
    (dict(num_heads=(3, 6, 12, 25)), r'`num_heads`\[3\]=25 must divide the stage width 768'),
    (dict(focal_windows=(7, 4, 3, 1)), r'`focal_windows`\[1\]=4 must be odd'),
    (dict(expand_sizes=7), r'`expand_sizes`\[0\]=7 must be in \[0, window_size=7\)'),
    (dict(expand_sizes=(3, 3)), '`expand_sizes` must be an int or a sequence of 4 ints'),
    (dict(focal_levels=0), r'`focal_levels`\[0\]=0 must be >= 1'),
    (dict(focal_levels=4), 'would pool sub-windows of 7 // 8 = 0 tokens'),
    (dict(focal_pool='avg'), '`focal_pool` must be one of'),
    (dict(out_indices=(4, )), '`out_indices` must be non-empty with values in'),
    (dict(frozen_stages=5), r'`frozen_stages` must be in \[-1, 4\]'),
    (dict(drop_path_rate=1.0), r'`drop_path_rate` must be in \[0, 1\)'),
])
def test_bad_arguments_are_refused_clearly(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        FocalTransformer(**kwargs)


def test_bad_input_shape():
    model = FocalTransformer('tiny', depths=(1, 1, 1, 1))
    with pytest.raises(ValueError,
                       match=r'expects an \(N, 3, H, W\) tensor, got shape \(1, 4, 32, 32\)'):
        model(torch.randn(1, 4, 32, 32))


# ---------------------------------------------------------------------------------- zoo configs
# The paper's table rounds params to 1M. Detection rows round to it exactly. UPerNet rows measure
# 1.2-2.6M less (T 60.84 / 62, S 83.11 / 85, B 123.74 / 126, L 237.45 / 240): not the backbone,
# which RetinaNet-T (39.36 / 39: at most +0.14M more backbone) and the classification counts
# (equal to the table) pin down, but the segmentation head the paper counted, which grows with
# the backbone width; ours is mmseg's UPerNet of the FocalNet configs (which reproduce FocalNet's
# UPerNet table), so the gap is stated, not tuned away.
UPERNET_GAP_M = {'upernet_focal-t_8xb2-160k_ade20k-512x512': (1.16, 62),
                 'upernet_focal-s_8xb2-160k_ade20k-512x512': (1.89, 85),
                 'upernet_focal-b_8xb2-160k_ade20k-512x512': (2.26, 126),
                 'upernet_focal-l_8xb2-160k_ade20k-640x640': (2.55, 240)}


def test_zoo_configs_params_match_paper_table():
    from helpers import load_tool
    zoo = load_tool('model_zoo')
    paths = zoo.config_paths(focal_transformer=True)
    paper = zoo.paper_numbers('metafile-focal-transformer.yml')
    assert {p.stem for p in paths} == set(paper) and len(paths) == 19
    for path in paths:
        cfg = zoo.load_config(path)
        assert cfg.model.backbone.type == 'FocalTransformer'
        with torch.device('meta'):
            model = zoo.build_model(cfg, zoo.task_of(path))
        measured = zoo.count_params(model) / 1e6
        expected = paper[path.stem]['params_m']
        if path.stem in UPERNET_GAP_M:
            gap, table = UPERNET_GAP_M[path.stem]
            assert expected == table and abs(expected - measured - gap) < 0.01, (path.stem, measured)
        else:
            assert round(measured) == expected, (path.stem, measured, expected)
