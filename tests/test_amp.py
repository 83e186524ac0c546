"""Mixed precision: the AMP configs (fp16 + dynamic loss scale, as the official detection runs),
their CPU fallback (bf16 autocast), and the backbone's outputs under bf16 autocast against fp32.

The 2-iteration bf16 training of a detector is in tests/integration/test_amp_train.py."""
import ast
import glob
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config

from focalnet_mm import FocalNet
from focalnet_mm.engine.optim import AutocastOptimWrapper, amp_optim_wrapper
from helpers import ROOT, randomize_

AMP_CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs/mmdet/*_amp-*.py')))


def test_amp_configs_are_the_fp16_families():
    """One AMP config per Mask R-CNN (12), Cascade (2) and ATSS (2) config: the families the
    official code trained with fp16; none for Sparse R-CNN (fp32 there)."""
    stems = [osp.basename(p)[:-3] for p in AMP_CONFIGS]
    fp32 = [osp.basename(p)[:-3] for p in glob.glob(osp.join(ROOT, 'configs/mmdet/*.py'))
            if re.match(r'(mask-rcnn|cascade-mask-rcnn|atss)_focalnet-', osp.basename(p))
            and '_amp-' not in p]
    assert len(fp32) == 16
    assert sorted(stems) == sorted(s.replace('_fpn_', '_fpn_amp-') for s in fp32)
    assert not any(s.startswith('sparse-rcnn') for s in stems)


def test_amp_configs_state_only_the_wrapper():
    """Each AMP config inherits its fp32 config and sets nothing but the optimizer wrapper (read
    from the file's syntax tree); two of them, loaded, equal their fp32 config but for it."""
    for path in AMP_CONFIGS:
        tree = ast.parse(open(path).read())
        assigned = {t.id: node.value for node in tree.body if isinstance(node, ast.Assign)
                    for t in node.targets}
        assert set(assigned) == {'_base_', 'optim_wrapper'}, path
        assert ast.literal_eval(assigned['_base_']) == './' + osp.basename(path).replace(
            '_amp-', '_')
        wrapper = assigned['optim_wrapper']
        assert {k.arg: ast.literal_eval(k.value) for k in wrapper.keywords} == dict(
            type='AmpOptimWrapper', loss_scale='dynamic'), path
    for stem in ('mask-rcnn_focalnet-t-srf_fpn_amp-1x_coco', 'atss_focalnet-t-lrf_fpn_amp-ms-crop-3x_coco'):
        path = osp.join(ROOT, 'configs/mmdet', stem + '.py')
        amp, base = Config.fromfile(path), Config.fromfile(path.replace('_amp-', '_'))
        rest = {k: v for k, v in amp.optim_wrapper.items() if k not in ('type', 'loss_scale')}
        assert rest == {k: v for k, v in base.optim_wrapper.items() if k != 'type'}
        skip = ('optim_wrapper', 'filename')
        assert {k: v for k, v in amp.to_dict().items() if k not in skip} == \
            {k: v for k, v in base.to_dict().items() if k not in skip}


def test_amp_wrapper_for_the_device():
    cfg = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-4),
               paramwise_cfg=dict(custom_keys={'norm': dict(decay_mult=0.)}), clip_grad=None)
    gpu, note = amp_optim_wrapper(cfg, accelerator=True)
    assert gpu == dict(cfg, type='AmpOptimWrapper', loss_scale='dynamic'), note
    cpu, note = amp_optim_wrapper(dict(gpu), accelerator=False)
    assert cpu == dict(cfg, type='AutocastOptimWrapper', dtype='bfloat16',
                       modules=['backbone'])
    assert 'bf16' in note
    # an fp16 request cannot be honoured without a loss scale: bf16, and the note says why
    _, note = amp_optim_wrapper(dict(gpu, dtype='float16'), accelerator=False)
    assert 'float16' in note and 'underflow' in note


def test_autocast_wrapper_refuses_fp16():
    model = torch.nn.Linear(2, 2)
    with pytest.raises(ValueError, match='bfloat16'):
        AutocastOptimWrapper(dtype='float16', optimizer=torch.optim.SGD(model.parameters(), 0.1))


def test_autocast_wrapper_runs_forward_in_bf16_and_keeps_fp32_state():
    model = torch.nn.Linear(8, 4)
    wrapper = AutocastOptimWrapper(optimizer=torch.optim.AdamW(model.parameters(), 1e-3),
                                   device_type='cpu')
    with wrapper.optim_context(model):
        out = model(torch.randn(3, 8))
    assert out.dtype == torch.bfloat16
    before = model.weight.detach().clone()
    wrapper.backward(out.float().square().mean())
    assert model.weight.dtype == model.weight.grad.dtype == torch.float32
    wrapper.step()
    assert model.weight.dtype == torch.float32 and not torch.equal(model.weight, before)


def test_autocast_of_named_submodules_only():
    """``modules``: autocast inside those submodules, fp32 outside and at their outputs (what the
    CPU default does for the backbone, keeping mmcv's fp32-only CPU ops in the heads fp32)."""
    model = torch.nn.Module()
    model.backbone, model.head = torch.nn.Linear(8, 8), torch.nn.Linear(8, 2)
    seen = {}

    def record(name):
        def hook(module, inputs, output):
            seen[name] = (inputs[0].dtype, output.dtype)
        return hook

    model.backbone.register_forward_hook(record('backbone'))
    model.head.register_forward_hook(record('head'))
    wrapper = AutocastOptimWrapper(optimizer=torch.optim.SGD(model.parameters(), 0.1),
                                   device_type='cpu', modules=['backbone', 'neck'])
    with wrapper.optim_context(model):
        out = model.head(model.backbone(torch.randn(3, 8)))
        assert not torch.is_autocast_enabled('cpu')
    assert seen == {'backbone': (torch.float32, torch.bfloat16),
                    'head': (torch.float32, torch.float32)}
    assert out.dtype == torch.float32


def test_backbone_under_bf16_autocast_is_close_to_fp32():
    """FocalNet-T under CPU bf16 autocast against fp32 on the same input and weights.

    bf16 keeps 8 significant bits (rounding up to 2^-8 = 0.4 % of a value); the convolutions and
    linear layers run in bf16, LayerNorm and the reductions in fp32 (autocast's lists), and the
    errors of 12 residual blocks add up: measured 0.5 % (stage 1) to 1.0 % (stage 4) relative L2
    error. The tolerance, 3 % per output (and cosine similarity > 0.999), leaves room for other
    CPUs' kernels and is far below what a wrong computation gives (an O(1) relative error)."""
    model = randomize_(FocalNet('tiny-srf', drop_path_rate=0.), scale=0.5).eval()
    seen = []
    model.patch_embed.proj.register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        ref = model(x)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            low = model(x)
    assert seen == [torch.float32, torch.bfloat16]  # autocast really ran the convs in bf16
    errors = []
    for r, o in zip(ref, low):
        o = o.float()
        assert torch.isfinite(o).all()
        rel = ((o - r).norm() / r.norm()).item()
        cos = torch.nn.functional.cosine_similarity(o.flatten(), r.flatten(), dim=0).item()
        errors.append(rel)
        assert rel < 0.03 and cos > 0.999, (rel, cos)
    print(f'\nbf16 autocast vs fp32, relative L2 error per stage: '
          f'{", ".join(f"{e:.2e}" for e in errors)}')
