"""Checkpoint reading and conversion: official / timm / HF / mm, kernel padding, focal-level
expansion, wrong variants, corrupt and unsafe files."""
import os
import re

import pytest
import torch

from focalnet_mm import FocalNet
from focalnet_mm.models.checkpoint import (CheckpointError, IncompatibleCheckpointError,
                                           UnsafeCheckpointError, convert_checkpoint, hf_to_official,
                                           load_pretrained, official_to_hf, official_to_timm,
                                           read_checkpoint, timm_to_official)
from helpers import randomize_


def _official_classification_ckpt(arch: str, **kw) -> dict:
    """What the official repo saves: {'model': backbone (no norm{i}) + final norm + head}."""
    model = randomize_(FocalNet(arch, drop_path_rate=0., **kw))
    sd = {k: v for k, v in model.state_dict().items() if not re.match(r'norm\d', k)}
    c = model.num_features[-1]
    sd.update({'norm.weight': torch.rand(c) + 0.5, 'norm.bias': torch.randn(c) * 0.1,
               'head.weight': torch.randn(1000, c) * 0.02, 'head.bias': torch.zeros(1000)})
    return {'model': sd}, model


def _pretrained(arch: str, path, **kw) -> FocalNet:
    model = FocalNet(arch, drop_path_rate=0., init_cfg=dict(type='Pretrained', checkpoint=str(path)),
                     **kw)
    model.init_weights()
    return model.eval()


def test_window3_checkpoint_into_window9_model_is_exact(tmp_path):
    """Zero-padding the kernels 3/5/7 -> 9/11/13 only adds zero terms: the same function (fp64:
    within 1e-12). In fp32 the larger kernels sum their terms in another order, so the features
    differ by rounding, bounded by the fp32 rounding error measured against fp64."""
    import copy
    from numerics import assert_same_function_fp32
    ckpt, window3 = _official_classification_ckpt('tiny-lrf')
    torch.save(ckpt, tmp_path / 'focalnet_tiny_lrf.pth')
    window9 = _pretrained('tiny-lrf', tmp_path / 'focalnet_tiny_lrf.pth', focal_windows=9)
    w = window9.layers[0].blocks[0].modulation.focal_layers
    assert [f[0].weight.shape[-1] for f in w] == [9, 11, 13]
    # the norms of the outputs are not in a classification checkpoint: same init on both sides
    for i in range(4):
        getattr(window3, f'norm{i}').load_state_dict(getattr(window9, f'norm{i}').state_dict())
    window3.eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        out3, out9 = window3(x), window9(x)
        out3_64 = copy.deepcopy(window3).double()(x.double())
        out9_64 = copy.deepcopy(window9).double()(x.double())
    for a, b in zip(out9_64, out3_64):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=1e-12)
    assert_same_function_fp32(out9, out3, out3_64, what='window 9 vs window 3')


def test_per_stage_windows_and_crop(tmp_path):
    ckpt, _ = _official_classification_ckpt('tiny-srf', focal_windows=5)
    torch.save(ckpt, tmp_path / 'w5.pth')
    model = FocalNet('tiny-srf', focal_windows=[11, 9, 9, 3], drop_path_rate=0.,
                     init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'w5.pth')))
    report = load_pretrained(model, str(tmp_path / 'w5.pth'))
    src = ckpt['model']['layers.3.blocks.0.modulation.focal_layers.0.0.weight']
    dst = model.layers[3].blocks[0].modulation.focal_layers[0][0].weight
    assert torch.equal(dst, src[..., 1:4, 1:4])  # 5 -> 3: centre crop
    big = model.layers[0].blocks[0].modulation.focal_layers[1][0].weight  # 7 -> 13: centred pad
    assert torch.equal(big[..., 3:10, 3:10],
                       ckpt['model']['layers.0.blocks.0.modulation.focal_layers.1.0.weight'])
    assert big.abs().sum() == big[..., 3:10, 3:10].abs().sum()
    # 2 levels per block; stages 0-2 (10 blocks) pad, stage 3 (2 blocks) crops
    assert len(report.padded) == 20 and len(report.cropped) == 4


def test_extra_focal_level_gets_zero_gates(tmp_path):
    ckpt, _ = _official_classification_ckpt('tiny-srf')  # 2 levels
    torch.save(ckpt, tmp_path / 'srf.pth')
    model = _pretrained('tiny-lrf', tmp_path / 'srf.pth')  # 3 levels
    f_old = ckpt['model']['layers.1.blocks.1.modulation.f.weight']  # (2C+3, C)
    f_new = model.layers[1].blocks[1].modulation.f.weight           # (2C+4, C)
    c = 192
    assert f_old.shape == (2 * c + 3, c) and f_new.shape == (2 * c + 4, c)
    assert torch.equal(f_new[:2 * c + 2], f_old[:2 * c + 2])   # q, ctx, gates of levels 0, 1
    assert torch.equal(f_new[2 * c + 2], torch.zeros(c))        # new level 2 gate
    assert torch.equal(f_new[-1], f_old[-1])                    # global gate stays last
    b_new = model.layers[1].blocks[1].modulation.f.bias
    assert b_new[2 * c + 2] == 0 and b_new[-1] == ckpt['model']['layers.1.blocks.1.modulation.f.bias'][-1]


@pytest.mark.parametrize('src,dst,needle', [
    ('base-srf', 'tiny-srf', 'embed_dims=128'),
    ('small-srf', 'tiny-srf', 'depths=(2, 2, 18, 2)'),
    ('tiny-lrf', 'tiny-srf', 'incompatible shapes'),   # fewer levels in the model: not adaptable
])
def test_checkpoint_of_another_variant_raises(tmp_path, src, dst, needle):
    ckpt, _ = _official_classification_ckpt(src)
    torch.save(ckpt, tmp_path / 'other.pth')
    model = FocalNet(dst, init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'other.pth')))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(IncompatibleCheckpointError, match=re.escape(needle)):
        load_pretrained(model, str(tmp_path / 'other.pth'))
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())  # nothing half-loaded


def test_unknown_extra_keys_are_refused(tmp_path):
    ckpt, _ = _official_classification_ckpt('tiny-srf')
    ckpt['model']['layers.0.blocks.0.extra.weight'] = torch.zeros(3)
    torch.save(ckpt, tmp_path / 'extra.pth')
    with pytest.raises(IncompatibleCheckpointError, match='unknown to the model'):
        load_pretrained(FocalNet('tiny-srf'), str(tmp_path / 'extra.pth'))


@pytest.mark.parametrize('wrap', ['state_dict', 'model', 'bare', 'ddp', 'detector'])
def test_containers_and_prefixes(tmp_path, wrap):
    src = randomize_(FocalNet('tiny-srf', drop_path_rate=0.))
    sd = src.state_dict()
    if wrap == 'ddp':
        obj = {'state_dict': {f'module.{k}': v for k, v in sd.items()}}
    elif wrap == 'detector':  # an mm detector checkpoint: backbone next to neck/heads
        obj = {'meta': {'epoch': 12}, 'state_dict': {
            **{f'backbone.{k}': v for k, v in sd.items()},
            'neck.lateral_convs.0.conv.weight': torch.zeros(256, 96, 1, 1),
            'rpn_head.rpn_conv.weight': torch.zeros(256, 256, 3, 3)}}
    elif wrap == 'bare':
        obj = sd
    else:
        obj = {wrap: sd}
    torch.save(obj, tmp_path / 'c.pth')
    dst = _pretrained('tiny-srf', tmp_path / 'c.pth')
    for k, v in sd.items():
        assert torch.equal(dst.state_dict()[k], v), k  # norm{i} included: nothing kept at init


def test_round_trips_official_timm_hf():
    model = randomize_(FocalNet('tiny-lrf', drop_path_rate=0.))
    sd = {k: v for k, v in model.state_dict().items() if not re.match(r'norm\d', k)}
    sd['norm.weight'] = torch.ones(768)
    sd['head.weight'] = torch.zeros(10, 768)
    back = timm_to_official(official_to_timm(sd, use_postln=False))
    assert back.keys() == sd.keys() and all(torch.equal(back[k], sd[k]) for k in sd)
    hf = official_to_hf(sd)
    assert 'focalnet.embeddings.patch_embeddings.projection.weight' in hf
    assert 'focalnet.encoder.stages.2.layers.5.modulation.projection_in.weight' in hf
    assert 'focalnet.encoder.stages.0.downsample.projection.weight' in hf
    assert 'focalnet.layernorm.weight' in hf and 'classifier.weight' in hf
    back = hf_to_official(hf)
    assert back.keys() == sd.keys() and all(torch.equal(back[k], sd[k]) for k in sd)


def test_hf_checkpoint_loads_postln_layerscale_ln_in_modulation(tmp_path):
    """HF names for a huge-style block structure, on a small custom arch."""
    arch = dict(embed_dims=16, depths=(1, 1, 2, 1), focal_levels=3, focal_windows=3,
                use_conv_embed=True, use_postln=True, use_layerscale=True,
                use_postln_in_modulation=True)
    src = randomize_(FocalNet(arch, drop_path_rate=0.))
    hf = official_to_hf(src.state_dict())
    assert 'focalnet.encoder.stages.3.layers.0.modulation.layernorm.weight' in hf
    assert 'focalnet.encoder.stages.1.layers.0.gamma_2' in hf
    from safetensors.torch import save_file
    save_file(hf, str(tmp_path / 'model.safetensors'))
    dst = FocalNet(arch, drop_path_rate=0.)
    report = load_pretrained(dst, str(tmp_path / 'model.safetensors'))
    assert report.source_format == 'hf' and report.kept_at_init == [f'norm{i}.{p}' for i in range(4)
                                                                     for p in ('weight', 'bias')]
    for k, v in src.state_dict().items():
        if not re.match(r'norm\d', k):
            assert torch.equal(dst.state_dict()[k], v), k


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(FileNotFoundError, match='not found'):
        read_checkpoint(str(tmp_path / 'nope.pth'))
    ckpt, _ = _official_classification_ckpt('tiny-srf')
    torch.save(ckpt, tmp_path / 'ok.pth')
    data = (tmp_path / 'ok.pth').read_bytes()
    (tmp_path / 'trunc.pth').write_bytes(data[:len(data) // 2])
    with pytest.raises(CheckpointError, match='truncated or corrupt'):
        read_checkpoint(str(tmp_path / 'trunc.pth'))
    (tmp_path / 'garbage.pth').write_bytes(b'not a checkpoint at all')
    with pytest.raises(CheckpointError):
        read_checkpoint(str(tmp_path / 'garbage.pth'))
    model = FocalNet('tiny-srf', init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'trunc.pth')))
    with pytest.raises(CheckpointError):
        model.init_weights()


class _Exploit:
    def __reduce__(self):
        return (os.system, (f'touch {_Exploit.marker}',))


def test_pickle_that_runs_code_is_refused(tmp_path):
    _Exploit.marker = str(tmp_path / 'pwned')
    torch.save({'model': {'x': torch.zeros(1)}, 'evil': _Exploit()}, tmp_path / 'evil.pth')
    with pytest.raises(UnsafeCheckpointError, match='trusted=True'):
        read_checkpoint(str(tmp_path / 'evil.pth'))
    assert not os.path.exists(_Exploit.marker)


class _LegacyTrainer:
    """An object of the training code pickled next to the weights (not an inert data type)."""

    def __init__(self):
        self.lr = 1e-3


def test_trusted_opt_in_reads_legacy_objects(tmp_path):
    ckpt, _ = _official_classification_ckpt('tiny-srf')
    ckpt['trainer'] = _LegacyTrainer()  # as old training scripts saved
    torch.save(ckpt, tmp_path / 'legacy.pth')
    with pytest.raises(UnsafeCheckpointError):
        read_checkpoint(str(tmp_path / 'legacy.pth'))
    model = FocalNet('tiny-srf', init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'legacy.pth'),
                                               trusted=True))
    model.init_weights()
    assert torch.equal(model.patch_embed.proj.weight, ckpt['model']['patch_embed.proj.weight'])


def test_mmengine_training_checkpoint_is_safe_to_read(tmp_path):
    """A real mmengine Runner checkpoint (meta, message hub with HistoryBuffers, numpy) loads
    with weights_only: its harmless types are allow-listed."""
    import numpy as np
    from mmengine.logging import MessageHub
    hub = MessageHub.get_instance('ckpt-test')
    for v in (1.0, 0.5):
        hub.update_scalar('train/loss', v)
    src = randomize_(FocalNet('tiny-srf', drop_path_rate=0.))
    obj = {'meta': {'epoch': 1, 'iter': 10, 'seed': np.int64(3), 'dataset_meta': {'classes': ('a',)}},
           'state_dict': {f'backbone.{k}': v for k, v in src.state_dict().items()},
           'message_hub': hub.state_dict(), 'ratio': np.float64(0.5), 'arr': np.arange(3)}
    torch.save(obj, tmp_path / 'epoch_1.pth')
    loaded = read_checkpoint(str(tmp_path / 'epoch_1.pth'))
    assert loaded['meta']['iter'] == 10
    sd, report = convert_checkpoint(loaded, FocalNet('tiny-srf'))
    assert report.kept_at_init == [] and torch.equal(sd['norm3.weight'], src.norm3.weight)


class _GetattrGadget:
    """Reaches a method of an allow-listed class through getattr: must be refused too."""

    def __reduce__(self):
        from mmengine.logging.history_buffer import HistoryBuffer
        return (getattr, (HistoryBuffer, 'register_statistics'))


def test_only_history_buffer_statistics_getattr_is_allowed(tmp_path):
    torch.save({'model': {'x': torch.zeros(1)}, 'gadget': _GetattrGadget()}, tmp_path / 'g.pth')
    with pytest.raises(UnsafeCheckpointError, match='register_statistics'):
        read_checkpoint(str(tmp_path / 'g.pth'))
    _Exploit.marker = str(tmp_path / 'pwned')
    torch.save({'evil': _Exploit()}, tmp_path / 'evil.pth')
    with pytest.raises(UnsafeCheckpointError, match='posix.system'):
        read_checkpoint(str(tmp_path / 'evil.pth'))


def test_reading_a_checkpoint_keeps_the_global_allow_list(tmp_path):
    """``import focalnet_mm`` allows mmengine's checkpoint types for every ``torch.load``; reading a
    checkpoint with the wider set of released checkpoints must leave exactly that list behind."""
    from focalnet_mm.models.checkpoint import mmengine_safe_globals
    before = torch.serialization.get_safe_globals()
    assert all(g in before for g in mmengine_safe_globals())
    torch.save({'state_dict': {'w': torch.ones(2)}}, tmp_path / 'ckpt.pth')
    assert torch.equal(read_checkpoint(str(tmp_path / 'ckpt.pth'))['state_dict']['w'], torch.ones(2))
    assert set(torch.serialization.get_safe_globals()) == set(before)  # (a set: its order may change)
