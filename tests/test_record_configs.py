"""The record-setting FocalNet-L pairings: DINO 4-/5-scale (COCO), Mask2Former (ADE20K
640x640, COCO panoptic), UPerNet (ADE20K 640x640).

CPU only, no data, no checkpoint: every config loads, builds through the registry with the
backbone's ``init_cfg`` set to None (tools/model_zoo.py), has the 'large-fl3'/'large-fl4' preset
(overlapping conv embedding, post-LN, layerscale, normalized modulator for fl4), the parameter
count measured when the configs were written (exact to 0.01M; the backbone's is checked against
the architecture's arithmetic, head differences against the heads' arithmetic), and gives the
expected feature shapes on a small input. Each model (~230M parameters) is built once per
config (module-scoped fixture), on CPU with real weights: the layer-scale init is checked on its
values, which a meta-device build does not hold, and the backbone that holds them is 84-91% of
the parameters and nearly all of the build time (its weights' random init).
"""
from __future__ import annotations

import os.path
from pathlib import Path

import pytest
import torch
import yaml
from helpers import load_tool, parsed_config

ROOT = Path(__file__).resolve().parents[1]


model_zoo = load_tool('model_zoo')

C = 192  # FocalNet-L
DEPTHS = (2, 2, 18, 2)
# Official ImageNet-22k checkpoints (GitHub release assets)
RELEASE = 'https://github.com/microsoft/FocalNet/releases/download/v1.0.0/'
FL4 = RELEASE + 'focalnet_large_lrf_384_fl4.pth'
FL3 = RELEASE + 'focalnet_large_lrf_384.pth'
WIDTHS = [C, 2 * C, 4 * C, 8 * C]

# Parameter counts measured by building each config (tools/model_zoo.py --no-flops).
RECORD = {
    'dino-4scale_focalnet-l-fl4_8xb2-12e_coco': dict(
        task='mmdet', family='dino', arch='large-fl4', checkpoint=FL4, out_indices=(1, 2, 3),
        drop_path=0.2, with_cp=True, params=228_531_908),
    'dino-4scale_focalnet-l-fl3_8xb2-12e_coco': dict(
        task='mmdet', family='dino', arch='large-fl3', checkpoint=FL3, out_indices=(1, 2, 3),
        drop_path=0.2, with_cp=True, params=228_351_404),
    'dino-5scale_focalnet-l-fl4_8xb2-12e_coco': dict(
        task='mmdet', family='dino', arch='large-fl4', checkpoint=FL4, out_indices=(0, 1, 2, 3),
        drop_path=0.2, with_cp=True, params=228_878_276),
    'mask2former_focalnet-l-fl4_16xb1-lsj-100e_coco-panoptic': dict(
        task='mmdet', family='mask2former', arch='large-fl4', checkpoint=FL4,
        out_indices=(0, 1, 2, 3), drop_path=0.3, with_cp=False, params=226_081_342),
    'mask2former_focalnet-l-fl4_8xb2-160k_ade20k-640x640': dict(
        task='mmseg', family='mask2former', arch='large-fl4', checkpoint=FL4,
        out_indices=(0, 1, 2, 3), drop_path=0.3, with_cp=False, params=226_034_511),
    'upernet_focalnet-l-fl4_8xb2-160k_ade20k-640x640': dict(
        task='mmseg', family='upernet', arch='large-fl4', checkpoint=FL4,
        out_indices=(0, 1, 2, 3), drop_path=0.3, with_cp=False, params=244_508_708),
}
# The preset (the official large-fl4 model), written out independently of focalnet_mm's
# ARCH_SETTINGS.
PRESETS = {
    'large-fl4': dict(levels=4, window=3, normalize_modulator=True),  # kernels 3, 5, 7, 9
    'large-fl3': dict(levels=3, window=5, normalize_modulator=False),  # kernels 5, 7, 9
}
# Published results (official FocalNet README): "large FocalNet + Mask2Former": 58.5 mIoU
# ADE20K, 57.9 PQ COCO
# panoptic; nothing for the COCO-only DINO configs nor for UPerNet FocalNet-L.
RESULTS = {
    'mask2former_focalnet-l-fl4_16xb1-lsj-100e_coco-panoptic': {'PQ': 57.9},
    'mask2former_focalnet-l-fl4_8xb2-160k_ade20k-640x640': {'mIoU': 58.5},
}


def focalnet_params(levels: int, window: int, out_indices) -> int:
    """Parameters of a FocalNet-L backbone from the architecture: 7x7/4 conv stem + LN;
    per block norm1, f (C -> 2C + L + 1), h (1x1, C -> C), L depth-wise kernels (no bias), proj,
    norm2, MLP (C -> 4C -> C), two layer-scale vectors; 3x3/2 conv + LN between stages; one LN per
    output stage."""
    total = 3 * C * 7 * 7 + C + 2 * C
    for i, depth in enumerate(DEPTHS):
        dim = C * 2**i
        f_out = 2 * dim + levels + 1
        kernels = [window + 2 * k for k in range(levels)]
        block = (2 * dim + dim * f_out + f_out + dim * dim + dim
                 + sum(k * k for k in kernels) * dim + dim * dim + dim + 2 * dim
                 + dim * 4 * dim + 4 * dim + 4 * dim * dim + dim + 2 * dim)
        total += depth * block
        if i < len(DEPTHS) - 1:
            total += dim * 2 * dim * 3 * 3 + 2 * dim + 2 * 2 * dim
    return total + sum(2 * WIDTHS[i] for i in out_indices)


CONFIGS = [p for p in model_zoo.config_paths() if p.stem in RECORD]


def test_record_configs_are_all_there():
    """Exactly these FocalNet-L configs, each with a metafile entry naming its checkpoint and the
    published result where there is one (no params/FLOPs: none are published)."""
    stems = {p.stem for p in model_zoo.config_paths() if '_focalnet-l-' in p.stem}
    assert stems == set(RECORD)
    paper = model_zoo.paper_numbers()
    for stem, exp in RECORD.items():
        assert paper[stem]['metrics'] == RESULTS.get(stem, {}), stem
        assert paper[stem]['params_m'] is None and paper[stem]['flops_g'] is None
        assert paper[stem]['weights'] == exp['checkpoint']
    index = yaml.safe_load((ROOT / 'model-index.yml').read_text())
    # (configs/mmpretrain/metafile.yml and others are imported too)
    assert {'configs/mmdet/metafile.yml', 'configs/mmseg/metafile.yml'} <= set(index['Import'])


@pytest.fixture(scope='module', params=CONFIGS, ids=[p.stem for p in CONFIGS])
def built(request):
    path = request.param
    cfg = parsed_config(path)
    model = model_zoo.build_model(cfg, model_zoo.task_of(path))
    yield path.stem, cfg, model
    del model


def test_backbone_is_the_preset(built):
    stem, cfg, model = built
    exp = RECORD[stem]
    preset = PRESETS[exp['arch']]
    bb = cfg.model.backbone
    assert (bb.type, bb.arch) == ('FocalNet', exp['arch'])
    assert bb.init_cfg == dict(type='Pretrained', checkpoint=exp['checkpoint'])
    assert tuple(bb.out_indices) == exp['out_indices']
    assert bb.drop_path_rate == pytest.approx(exp['drop_path'])
    backbone = model.backbone
    assert backbone.num_features == WIDTHS
    assert [len(stage.blocks) for stage in backbone.layers] == list(DEPTHS)
    # overlapping conv embedding: 7x7/4 stem (padding 2, as the ImageNet-22k checkpoints),
    # 3x3/2 downsampling with padding 1
    stem_conv = backbone.patch_embed.proj
    assert (stem_conv.kernel_size, stem_conv.stride, stem_conv.padding) == ((7, 7), (4, 4), (2, 2))
    for stage in backbone.layers[:-1]:
        conv = stage.downsample.proj
        assert (conv.kernel_size, conv.stride, conv.padding) == ((3, 3), (2, 2), (1, 1))
    kernels = [preset['window'] + 2 * k for k in range(preset['levels'])]
    for stage in backbone.layers:
        for block in stage.blocks:
            assert block.use_postln is True  # post-LN
            for gamma in (block.gamma_1, block.gamma_2):  # layerscale, init 1e-4
                assert isinstance(gamma, torch.nn.Parameter)
                assert torch.all(gamma == 1e-4)
            modulation = block.modulation
            assert modulation.kernel_sizes == kernels
            assert modulation.normalize_modulator is preset['normalize_modulator']
            assert not hasattr(modulation, 'ln')  # no LN in the modulation (H only)
    assert backbone.layers[-1].blocks[-1].drop_path.drop_prob == pytest.approx(exp['drop_path'])
    assert [hasattr(backbone, f'norm{i}') for i in range(4)] == [
        i in exp['out_indices'] for i in range(4)]
    assert all(stage.with_cp is exp['with_cp'] for stage in backbone.layers)


def test_params(built):
    """Total params as measured (to 0.01M); the backbone's exactly as the architecture says."""
    stem, _, model = built
    exp = RECORD[stem]
    preset = PRESETS[exp['arch']]
    backbone = sum(p.numel() for p in model.backbone.parameters())
    assert backbone == focalnet_params(preset['levels'], preset['window'], exp['out_indices'])
    total = model_zoo.count_params(model)
    assert abs(total - exp['params']) < 0.005e6, (stem, total)


def test_param_differences_between_configs():
    """What the measured totals differ by, from the modules that differ:

    * DINO 5- vs 4-scale: stage 0's output LN (2 x 192), a 1x1 ChannelMapper conv 192 -> 256
      without bias (followed by GN: 2 x 256), one more level embedding (256), and in each of the
      6 encoder + 6 decoder deformable attentions one more level of sampling offsets
      (8 heads x 4 points x 2 -> 64 outputs of Linear(256)) and attention weights (32 outputs).
    * DINO fl4 vs fl3: per block one more depth-wise kernel (3x3) and one more gate row in f.
    * Mask2Former panoptic vs ADE20K: 200 vs 100 queries (query_embed + query_feat: 2 x 256
      each) and 133 + 1 vs 150 + 1 classes in Linear(256, classes + 1).
    """
    p = {stem: exp['params'] for stem, exp in RECORD.items()}
    dino4, dino5 = (p[f'dino-{s}scale_focalnet-l-fl4_8xb2-12e_coco'] for s in (4, 5))
    assert dino5 - dino4 == 2 * C + 192 * 256 + 2 * 256 + 256 + 12 * (64 + 32) * 257 == 346_368
    fl3 = p['dino-4scale_focalnet-l-fl3_8xb2-12e_coco']
    assert dino4 - fl3 == sum(d * (9 * w + w + 1) for d, w in zip(DEPTHS, WIDTHS)) == 180_504
    panoptic = p['mask2former_focalnet-l-fl4_16xb1-lsj-100e_coco-panoptic']
    ade = p['mask2former_focalnet-l-fl4_8xb2-160k_ade20k-640x640']
    assert panoptic - ade == 100 * 2 * 256 + (134 - 151) * 257 == 46_831


def test_forward_shapes(built):
    """A small image through the backbone and the first head stage: channels and strides, and
    finite outputs (real weights)."""
    stem, cfg, model = built
    exp = RECORD[stem]
    model.eval()
    height, width = 64, 96
    x = torch.randn(1, 3, height, width)
    with torch.no_grad():
        feats = model.backbone(x)
        assert [tuple(f.shape) for f in feats] == [
            (1, WIDTHS[i], height // 4 // 2**i, width // 4 // 2**i) for i in exp['out_indices']]
        if exp['family'] == 'dino':
            outs = model.neck(feats)
            strides = [4 * 2**exp['out_indices'][0] * 2**i for i in range(len(feats) + 1)]
            assert model.num_feature_levels == len(feats) + 1 == cfg.model.neck.num_outs
            assert [tuple(o.shape) for o in outs] == [
                (1, 256, -(-height // s), -(-width // s)) for s in strides]
        elif exp['family'] == 'mask2former':
            head = model.panoptic_head if exp['task'] == 'mmdet' else model.decode_head
            mask_features, multi_scale = head.pixel_decoder(feats)
            assert tuple(mask_features.shape) == (1, 256, height // 4, width // 4)
            assert [tuple(f.shape) for f in multi_scale] == [
                (1, 256, height // s, width // s) for s in (32, 16, 8)]
            outs = [mask_features, *multi_scale]
        else:
            out = model.decode_head(feats)
            assert tuple(out.shape) == (1, 150, height // 4, width // 4)
            aux = model.auxiliary_head(feats)
            assert tuple(aux.shape) == (1, 150, height // 16, width // 16)
            outs = [out, aux]
    assert all(torch.isfinite(t).all() for t in [*feats, *outs])


def test_optimizer_groups(built):
    """Through mmengine's optimizer constructor: DINO and Mask2Former train the backbone at
    lr x0.1; Mask2Former and UPerNet give every backbone LayerNorm and layer-scale gamma weight
    decay 0 (the Swin recipes' norm keys, renamed for FocalNet's modules)."""
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import DefaultScope
    stem, cfg, model = built
    exp = RECORD[stem]
    with DefaultScope.overwrite_default_scope(exp['task']):
        wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    base_lr = cfg.optim_wrapper.optimizer.lr
    base_wd = cfg.optim_wrapper.optimizer.weight_decay
    group_of = {}
    for group in wrapper.optimizer.param_groups:
        for p in group['params']:
            group_of[id(p)] = (group['lr'], group['weight_decay'])
    backbone_lr = base_lr if exp['family'] == 'upernet' else 0.1 * base_lr
    counts = {'norm': 0, 'other': 0}
    for name, module in model.backbone.named_modules():
        for pname, p in module.named_parameters(recurse=False):
            lr, wd = group_of[id(p)]
            assert lr == pytest.approx(backbone_lr), f'backbone.{name}.{pname}'
            if exp['family'] == 'dino':
                assert wd == pytest.approx(base_wd)  # DINO: wd 1e-4 everywhere (mmdet's recipe)
            elif isinstance(module, torch.nn.LayerNorm) or pname.startswith('gamma'):
                assert wd == 0, f'backbone.{name}.{pname}'
                counts['norm'] += 1
            elif pname == 'weight':
                assert wd == pytest.approx(base_wd), f'backbone.{name}.{pname}'
                counts['other'] += 1
    if exp['family'] != 'dino':
        # 24 blocks x (2 LN + 2 gammas) + stem/downsample LNs + 4 output LNs, 2 tensors per LN
        assert counts['norm'] == 24 * 2 * 2 + 24 * 2 + 4 * 2 + 4 * 2
        assert counts['other'] > 100
    if exp['family'] == 'mask2former':
        head = model.panoptic_head if exp['task'] == 'mmdet' else model.decode_head
        for p in (head.query_embed.weight, head.query_feat.weight, head.level_embed.weight):
            assert group_of[id(p)] == (pytest.approx(base_lr), 0)


def test_schedules_and_data():
    """What the recipes inherit from mmdet/mmseg's Swin-L configs, and UPerNet-L's 640 data."""
    load = {p.stem: parsed_config(p) for p in CONFIGS}
    for stem, cfg in load.items():  # `--auto-scale-lr` from the paper's total batch
        assert cfg.auto_scale_lr.base_batch_size == 16, stem
    for s in (4, 5):
        cfg = load[f'dino-{s}scale_focalnet-l-fl4_8xb2-12e_coco']
        assert cfg.model.type == 'DINO' and cfg.model.num_queries == 900
        # 4 is DeformableDETR's default, which the 4-scale config keeps
        assert cfg.model.get('num_feature_levels', 4) == cfg.model.neck.num_outs == s
        assert cfg.model.encoder.layer_cfg.self_attn_cfg.num_levels == s
        assert cfg.model.decoder.layer_cfg.cross_attn_cfg.num_levels == s
        assert list(cfg.model.neck.in_channels) == WIDTHS[4 - (s - 1):]
        assert cfg.train_cfg.max_epochs == 12 and cfg.train_dataloader.batch_size == 2
        assert cfg.param_scheduler[0].milestones == [11]
        assert cfg.optim_wrapper.clip_grad == dict(max_norm=0.1, norm_type=2)
    pan = load['mask2former_focalnet-l-fl4_16xb1-lsj-100e_coco-panoptic']
    assert pan.model.panoptic_head.num_queries == 200
    assert list(pan.model.panoptic_head.in_channels) == WIDTHS
    assert (pan.train_cfg.max_iters, pan.train_dataloader.batch_size) == (737500, 1)
    assert [e.type for e in pan.val_evaluator] == ['CocoPanopticMetric', 'CocoMetric']
    ade = load['mask2former_focalnet-l-fl4_8xb2-160k_ade20k-640x640']
    assert list(ade.model.decode_head.in_channels) == WIDTHS
    assert tuple(ade.crop_size) == (640, 640) and ade.train_cfg.max_iters == 160000
    up = load['upernet_focalnet-l-fl4_8xb2-160k_ade20k-640x640']
    assert up.model.backbone.focal_windows is None and up.model.backbone.use_conv_embed is None
    assert list(up.model.decode_head.in_channels) == WIDTHS
    assert up.model.auxiliary_head.in_channels == 4 * C
    assert tuple(up.model.data_preprocessor.size) == (640, 640)
    crop = [t for t in up.train_pipeline if t.type == 'RandomCrop'][0]
    assert tuple(crop.crop_size) == (640, 640)
    assert tuple(up.test_pipeline[1].scale) == (2560, 640)
    assert tuple(up.val_dataloader.dataset.pipeline[1].scale) == (2560, 640)
    assert [tuple(r.scale) for r in up.tta_pipeline[1].transforms[0]] == [
        (int(2560 * r), int(640 * r)) for r in (0.5, 0.75, 1.0, 1.25, 1.5, 1.75)]
    # FLOPs of the 640 configs are counted at their test scale
    assert model_zoo.input_shape_of(
        ROOT / 'configs/mmseg/upernet_focalnet-l-fl4_8xb2-160k_ade20k-640x640.py') == (3, 640, 2560)


def test_model_zoo_counts_mask2former_segmentor_flops():
    """tools/model_zoo.py's FLOPs path for an mmseg Mask2Former (whose head needs the image
    metas), on a small input: more than the backbone alone."""
    from mmengine.analysis import get_model_complexity_info
    path = ROOT / 'configs/mmseg/mask2former_focalnet-l-fl4_8xb2-160k_ade20k-640x640.py'
    cfg = model_zoo.load_config(path)
    # contiguous NCHW: the backbone's fused oneDNN inference kernels (channels_last, no grad) are
    # opaque to the jit trace of mmengine's counter
    cfg.model.backbone.channels_last = False
    cfg.model.backbone.depths = [1, 1, 1, 1]  # the head's path is under test: the widths suffice
    model = model_zoo.build_model(cfg, 'mmseg')
    shape = (3, 64, 64)
    flops = model_zoo.measure_flops(model, 'mmseg', shape)
    with torch.no_grad():
        backbone_flops = get_model_complexity_info(model.backbone, input_shape=shape,
                                                   show_table=False, show_arch=False)['flops']
    assert flops > 1.2 * backbone_flops > 0, (flops, backbone_flops)


def test_demo_panoptic_data_scores_100_pq_against_itself(tmp_path):
    """The COCO-panoptic demo layout (focalnet_mm.demo_data) as mmdet reads it: CocoPanopticDataset
    parses every segment (things with boxes, stuff without), and CocoPanopticMetric, given the
    ground truth itself as the prediction, reports PQ = SQ = RQ = 100 for things and stuff."""
    pytest.importorskip('panopticapi', reason='panopticapi (panopticapi-lite) not installed')
    import numpy as np
    from mmdet.datasets import CocoPanopticDataset
    from mmdet.evaluation import CocoPanopticMetric
    from mmdet.evaluation.functional import INSTANCE_OFFSET
    from mmengine.registry import DefaultScope
    from panopticapi.utils import rgb2id
    from PIL import Image

    from focalnet_mm.demo_data import DemoDataConfig, make_demo_data
    paths = make_demo_data(str(tmp_path), cfg=DemoDataConfig(
        coco_train=1, coco_val=1, ade_train=2, ade_val=3), verbose=False)
    root = paths['coco_panoptic']
    cfg = model_zoo.load_config(
        ROOT / 'configs/demo/mask2former_focalnet-l-fl4_coco-panoptic_demo.py')
    metainfo = cfg.val_dataloader.dataset.metainfo
    with DefaultScope.overwrite_default_scope('mmdet'):
        dataset = CocoPanopticDataset(
            data_root=root, ann_file='annotations/panoptic_val2017.json', metainfo=metainfo,
            data_prefix=dict(img='val2017/', seg='annotations/panoptic_val2017/'),
            test_mode=True, pipeline=[])
        metric = CocoPanopticMetric(
            ann_file=os.path.join(root, 'annotations/panoptic_val2017.json'),
            seg_prefix=os.path.join(root, 'annotations/panoptic_val2017/'))
    metric.dataset_meta = dataset.metainfo
    num_classes = len(metainfo['classes'])
    assert len(dataset) == 3
    samples = []
    for info in dataset:
        segments = info['segments_info']
        stuff = [s for s in segments if not s['is_thing']]
        assert sorted(s['category'] for s in stuff) == [3, 4]  # wall, floor (labels after things)
        assert len(info['instances']) == len(segments) - 2 >= 1
        ids = rgb2id(np.asarray(Image.open(info['seg_map_path']).convert('RGB')))
        pan = np.full(ids.shape, num_classes, np.int64)  # VOID
        for k, s in enumerate(segments):
            pan[ids == s['id']] = s['category'] + (k + 1) * INSTANCE_OFFSET * s['is_thing']
        assert (pan == num_classes).any()  # the unlabeled rings
        samples.append(dict(img_id=info['img_id'], img_path=info['img_path'],
                            ori_shape=ids.shape, segments_info=segments,
                            pred_panoptic_seg=dict(sem_seg=torch.from_numpy(pan)[None])))
    metric.process({}, samples)
    results = metric.compute_metrics(metric.results)
    for key in ('PQ', 'SQ', 'RQ', 'PQ_th', 'PQ_st'):
        assert results[key] == pytest.approx(100.0), (key, results)
