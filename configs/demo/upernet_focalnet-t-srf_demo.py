# Demo: the real FocalNet-T (srf) UPerNet config, trained from scratch on the synthetic ADE20K-layout
# scenes of `python tools/make_demo_data.py` (data/demo/ade/ADEChallengeData2016: 48 training / 16
# validation images of ~128 px; label PNGs with 0 = unlabeled and classes 1..5, reduce_zero_label).
# Run by `make demo` (tools/run_demo.py); also works with tools/train.py and tools/test.py.
#
# Everything comes from configs/mmseg/upernet_focalnet-t-srf_8xb2-160k_ade20k-512x512.py (full-width
# FocalNet-T backbone, UPerHead 512 channels + auxiliary FCNHead, AdamW, warmup + poly, the ADE20K
# pipeline) except
#   * data: root, classes, image lengths (every length of the ADE20K pipeline divided by 4: resize to
#     (512, 128) with ratio 0.5-2.0, 128x128 crops),
#   * the dataset class: mmseg's generic BaseSegDataset with ADE20K's layout and settings (.jpg/.png,
#     reduce_zero_label=True). ADE20KDataset itself only accepts subsets of its 150 class names and
#     then reads label values as ADE20K ids, which these 5 synthetic classes are not.
#   * no pretrained weights (nothing can be downloaded here): `init_cfg=None`, trained from scratch,
#     so the demo shows learning, not paper accuracy,
#   * schedule: short, with a higher learning rate, batch 4, single-process data loading,
#   * checkpoint interval, fixed seed.
_base_ = '../mmseg/upernet_focalnet-t-srf_8xb2-160k_ade20k-512x512.py'

data_root = 'data/demo/ade/ADEChallengeData2016'
metainfo = dict(
    classes=('wall', 'floor', 'rectangle', 'ellipse', 'triangle'),
    palette=[[120, 120, 150], [140, 110, 70], [220, 50, 50], [40, 190, 70], [60, 90, 230]])
num_classes = 5
crop_size = (128, 128)
_div = 4

model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(init_cfg=None),  # from scratch: no pretrained FocalNet-T weights offline
    decode_head=dict(num_classes=num_classes),
    auxiliary_head=dict(num_classes=num_classes))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='RandomResize', scale=(2048 // _div, 512 // _div), ratio_range=(0.5, 2.0),
         keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2048 // _div, 512 // _div), keep_ratio=True),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs'),
]
_img_ratios = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
tta_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(
        type='TestTimeAug',
        transforms=[
            [dict(type='Resize', scale=(int(2048 // _div * r), int(512 // _div * r)), keep_ratio=True)
             for r in _img_ratios],
            [dict(type='RandomFlip', prob=0., direction='horizontal'),
             dict(type='RandomFlip', prob=1., direction='horizontal')],
            [dict(type='LoadAnnotations', reduce_zero_label=True)],
            [dict(type='PackSegInputs')],
        ])
]

_dataset = dict(
    type='BaseSegDataset',
    metainfo=metainfo,
    data_root=data_root,
    img_suffix='.jpg',
    seg_map_suffix='.png',
    reduce_zero_label=True)
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        _dataset,
        _delete_=True,  # replaces ADE20KDataset's settings entirely
        data_prefix=dict(img_path='images/training', seg_map_path='annotations/training'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        _dataset,
        _delete_=True,
        data_prefix=dict(img_path='images/validation', seg_map_path='annotations/validation'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator

# Schedule: as the real config (linear warmup, then poly decay to 0), 120 iterations (~3.5 min on
# 2 free CPU cores). lr 3e-4 (the real 6e-5 is for fine-tuning pretrained weights). Result:
# mIoU ~80 %.
max_iters = 120
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=20),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=20, end=max_iters, by_epoch=False),
]
optim_wrapper = dict(optimizer=dict(lr=3e-4))

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10, log_metric_by_epoch=False),
    checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False, interval=max_iters,
                    max_keep_ckpts=1))
# Seeded. On CPU the runs are reproducible as they are (two full demo runs gave identical
# metrics); deterministic=True would make mmengine call torch.use_deterministic_algorithms(True),
# under which CUDA's bilinear-upsampling backward (used by UPerNet) raises.
randomness = dict(seed=0, deterministic=False)
