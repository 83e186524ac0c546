"""mmpretrain configs for the 12 published FocalNet classification checkpoints: parameter counts
against the paper's tables, and the whole-checkpoint conversion (official, timm, HF transformers ->
ImageClassifier, head and final norm included), checked against timm's FocalNet on the same
weights. Training and testing through mmpretrain's tools: tests/integration/test_mmpretrain_train.py.
"""
import copy
import functools
import glob
import os.path as osp

import pytest
import torch
import yaml
from mmengine.config import Config
from mmengine.registry import DefaultScope

from focalnet_mm.models.checkpoint import (IncompatibleCheckpointError, official_to_hf,
                                           official_to_timm)
from helpers import ROOT, num_params, randomize_

mmpretrain = pytest.importorskip('mmpretrain')
from focalnet_mm.models import classifier_checkpoint as cc  # noqa: E402  (after mmpretrain)

CONFIG_DIR = osp.join(ROOT, 'configs', 'mmpretrain')
# config stem -> (arch, classes, paper params in M with a 1000-class head, table rounding)
EXPECTED = {
    'focalnet-t-srf_8xb128_in1k': ('tiny-srf', 1000, 28.4, 0.051),
    'focalnet-t-lrf_8xb128_in1k': ('tiny-lrf', 1000, 28.6, 0.051),
    'focalnet-s-srf_8xb128_in1k': ('small-srf', 1000, 49.9, 0.051),
    'focalnet-s-lrf_8xb128_in1k': ('small-lrf', 1000, 50.3, 0.051),
    'focalnet-b-srf_8xb128_in1k': ('base-srf', 1000, 88.1, 0.051),
    'focalnet-b-lrf_8xb128_in1k': ('base-lrf', 1000, 88.7, 0.051),
    'focalnet-l-fl3_in21k-384px': ('large-fl3', 21842, 207, 0.501),
    'focalnet-l-fl4_in21k-384px': ('large-fl4', 21842, 207, 0.501),
    'focalnet-xl-fl3_in21k-384px': ('xlarge-fl3', 21842, 366, 0.501),
    'focalnet-xl-fl4_in21k-384px': ('xlarge-fl4', 21842, 366, 0.501),
    'focalnet-h-fl3_in21k': ('huge-fl3', 21842, 687, 0.501),
    'focalnet-h-fl4_in21k': ('huge-fl4', 21842, 689, 0.501),
}
CONFIGS = sorted(glob.glob(osp.join(CONFIG_DIR, '*.py')))


def build_classifier(cfg_model: dict):
    from mmpretrain.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return MODELS.build(cfg_model)


@functools.lru_cache(maxsize=None)
def _loaded(stem: str) -> Config:
    return Config.fromfile(osp.join(CONFIG_DIR, f'{stem}.py'))


def _config(stem: str) -> Config:
    return copy.deepcopy(_loaded(stem))  # callers may change it


def test_one_config_per_published_checkpoint():
    from mmengine.runner import CheckpointLoader
    assert sorted(osp.basename(p)[:-3] for p in CONFIGS) == sorted(EXPECTED)
    meta = yaml.safe_load(open(osp.join(CONFIG_DIR, 'metafile.yml')))
    entries = {m['Name']: m for m in meta['Models']}
    assert sorted(entries) == sorted(EXPECTED)
    index = yaml.safe_load(open(osp.join(ROOT, 'model-index.yml')))
    assert 'configs/mmpretrain/metafile.yml' in index['Import']
    for stem, (arch, classes, paper, _) in EXPECTED.items():
        cfg = _config(stem)
        entry = entries[stem]
        assert entry['Config'] == f'configs/mmpretrain/{stem}.py'
        assert entry['Weights'] == cfg.load_from
        assert entry['Metadata']['Parameters'] == paper
        assert cfg.model.backbone.arch == arch and cfg.model.backbone.out_indices == (3, )
        assert cfg.model.head.num_classes == cfg.data_preprocessor.num_classes == classes
        assert 'focalnet_mm.models.classifier_checkpoint' in cfg.custom_imports.imports
        assert any(h['type'] == 'ClassifierCheckpointHook' for h in cfg.custom_hooks)
        official = cfg.load_from.startswith('https://github.com/microsoft/FocalNet/releases/')
        assert official != arch.startswith('huge')  # H: timm's copy (official host gone)
        # read by the safe loader of this package, not mmengine's full-unpickling HTTP loader
        assert CheckpointLoader._get_checkpoint_loader(cfg.load_from) is cc.load_focalnet_url


@pytest.mark.parametrize('stem', list(EXPECTED))
def test_param_count_matches_paper(stem):
    """The paper's classification tables count a 1000-class head for every row (the 22k L/XL/H
    ones included); the 22k configs have the 21842-class head of their checkpoints, which adds
    (21842 - 1000) x (8C + 1) parameters."""
    arch, classes, paper, tol = EXPECTED[stem]
    cfg = _config(stem)
    with torch.device('meta'):
        model = build_classifier(cfg.model)
    total = num_params(model)
    width = model.backbone.num_features[-1]
    assert model.head.fc.weight.shape == (classes, width)
    with_1k_head = (total - (classes - 1000) * (width + 1)) / 1e6
    assert abs(with_1k_head - paper) <= tol, f'{stem}: {with_1k_head:.3f}M vs paper {paper}M'
    print(f'\n{stem}: {total / 1e6:.2f}M ({classes} classes), {with_1k_head:.2f}M with a 1000-class '
          f'head (paper {paper}M)')


@pytest.fixture(scope='module')
def tiny():
    """FocalNet-T srf classifier (the T-srf config, no drop-path) with non-trivial weights, and
    its whole checkpoint in the official layout (``{'model': ...}``: backbone keys, ``norm.``,
    ``head.``)."""
    cfg = _config('focalnet-t-srf_8xb128_in1k')
    cfg.model.backbone.drop_path_rate = 0.
    model = randomize_(build_classifier(cfg.model), scale=0.5).eval()
    official = {}
    for k, v in model.state_dict().items():
        if k.startswith('backbone.norm3.'):
            official['norm.' + k.split('.')[-1]] = v.clone()
        elif k.startswith('backbone.'):
            official[k[len('backbone.'):]] = v.clone()
        elif k.startswith('head.fc.'):
            official['head.' + k.split('.')[-1]] = v.clone()
    assert len(official) == len(model.state_dict())
    return cfg, model, official


def _fresh(cfg):
    return build_classifier(cfg.model).eval()


@pytest.mark.parametrize('fmt', ['official', 'timm', 'hf'])
def test_whole_checkpoint_of_each_format_loads_exactly(tiny, fmt):
    cfg, model, official = tiny
    ckpt = {'official': lambda: {'model': official},
            'timm': lambda: official_to_timm(official, use_postln=False),
            'hf': lambda: official_to_hf(official)}[fmt]()
    fresh = _fresh(cfg)
    sd, report = cc.classifier_state_dict(ckpt, fresh)
    assert report.source_format == fmt and report.kept_at_init == []
    fresh.load_state_dict(sd, strict=True)
    for k, v in model.state_dict().items():
        assert torch.equal(fresh.state_dict()[k], v), k
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(fresh(x, mode='tensor'), model(x, mode='tensor'))


def test_logits_equal_timm_focalnet_on_the_same_weights(tiny):
    """An independent implementation: timm's FocalNet-T srf with its 1000-class head, loaded with
    the same checkpoint (timm layout), gives the same logits as the mmpretrain classifier."""
    timm = pytest.importorskip('timm')
    cfg, model, official = tiny
    ref = timm.create_model('focalnet_tiny_srf', pretrained=False, num_classes=1000).eval()
    ref.load_state_dict(official_to_timm(official, use_postln=False), strict=True)
    x = torch.randn(2, 3, 96, 64)
    with torch.no_grad():
        ours, theirs = model(x, mode='tensor'), ref(x)
    assert ours.shape == theirs.shape == (2, 1000)
    torch.testing.assert_close(ours, theirs, atol=1e-4, rtol=1e-4)
    assert torch.equal(ours.argmax(1), theirs.argmax(1))


def test_checkpoints_that_do_not_fit_are_refused(tiny):
    cfg, model, official = tiny
    fresh = _fresh(cfg)
    no_head = {k: v for k, v in official.items() if not k.startswith('head.')}
    with pytest.raises(IncompatibleCheckpointError, match='no head'):
        cc.classifier_state_dict(no_head, fresh)
    no_norm = {k: v for k, v in official.items() if not k.startswith('norm.')}
    with pytest.raises(IncompatibleCheckpointError, match='no final norm'):
        cc.classifier_state_dict(no_norm, fresh)
    ten = dict(official, **{'head.weight': official['head.weight'][:10],
                            'head.bias': official['head.bias'][:10]})
    with pytest.raises(IncompatibleCheckpointError, match='another number of classes'):
        cc.classifier_state_dict(ten, fresh)
    with pytest.raises(IncompatibleCheckpointError):  # a FocalNet-B head on a FocalNet-T body
        cc.classifier_state_dict(dict(official, **{'head.weight': torch.zeros(1000, 1024)}), fresh)
    # headless (timm's H-fl4 file): accepted only when asked, the head kept at init
    sd, report = cc.classifier_state_dict(no_head, fresh, missing_head='init')
    assert report.kept_at_init == ['head.fc.weight', 'head.fc.bias']
    assert torch.equal(sd['head.fc.weight'], fresh.head.fc.weight)
    assert torch.equal(sd['backbone.norm3.weight'], official['norm.weight'])


def test_safe_file_loading_and_url_schemes(tiny, tmp_path):
    from mmengine.runner import CheckpointLoader
    cfg, model, official = tiny
    path = str(tmp_path / 'focalnet_tiny_srf.pth')
    torch.save({'model': official}, path)
    fresh = _fresh(cfg)
    report = cc.load_classifier_checkpoint(fresh, path)
    assert report.source_format == 'official'
    assert torch.equal(fresh.head.fc.weight, model.head.fc.weight)
    for prefix in cc.WEIGHT_URL_PREFIXES:  # the configs' URLs go through the safe loader
        url = prefix + ('v1.0.0/x.pth' if 'github' in prefix else 'x.ms_in1k/resolve/main/m.st')
        assert CheckpointLoader._get_checkpoint_loader(url) is cc.load_focalnet_url
    # other URLs stay with mmengine's loaders
    assert CheckpointLoader._get_checkpoint_loader('https://example.com/x.pth') is not \
        cc.load_focalnet_url
