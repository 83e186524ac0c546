# Demo: the real FocalNet-L (fl4) Mask2Former ADE20K config, trained from scratch on the synthetic
# ADE20K-layout scenes of `python tools/make_demo_data.py` (data/demo/ade/ADEChallengeData2016:
# 48 training / 16 validation images of ~128 px; classes 1..5, 0 = unlabeled, reduce_zero_label).
# Works with tools/train.py and tools/test.py.
#
# Everything comes from configs/mmseg/mask2former_focalnet-l-fl4_8xb2-160k_ade20k-640x640.py (the
# full FocalNet-L backbone, Mask2Former head and losses, AdamW, poly schedule, the shortest-edge
# multi-scale + crop pipeline) except, as in configs/demo/upernet_focalnet-t-srf_demo.py:
#   * data: root, classes, image lengths (every length of the real pipeline divided by 5: shortest
#     edge 64..256, 128x128 crops), the generic BaseSegDataset with ADE20K's layout,
#   * 5 classes: the head's class count and its classification loss weights (one per class + 0.1
#     for "no object", restated because lists are replaced, not merged),
#   * no pretrained weights (nothing can be downloaded here): `init_cfg=None`, trained from scratch,
#   * schedule: short, batch 2, single-process data loading; checkpoint interval, fixed seed.
_base_ = '../mmseg/mask2former_focalnet-l-fl4_8xb2-160k_ade20k-640x640.py'

data_root = 'data/demo/ade/ADEChallengeData2016'
metainfo = dict(
    classes=('wall', 'floor', 'rectangle', 'ellipse', 'triangle'),
    palette=[[120, 120, 150], [140, 110, 70], [220, 50, 50], [40, 190, 70], [60, 90, 230]])
num_classes = 5
crop_size = (128, 128)
_div = 5

model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(init_cfg=None),  # from scratch: no pretrained FocalNet-L weights offline
    decode_head=dict(
        num_classes=num_classes,
        loss_cls=dict(class_weight=[1.0] * num_classes + [0.1])))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='RandomChoiceResize', scales=[int(x * 0.1 * 640) // _div for x in range(5, 21)],
         resize_type='ResizeShortestEdge', max_size=2560 // _div),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2560 // _div, 640 // _div), keep_ratio=True),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs'),
]

_dataset = dict(
    type='BaseSegDataset',
    metainfo=metainfo,
    data_root=data_root,
    img_suffix='.jpg',
    seg_map_suffix='.png',
    reduce_zero_label=True)
train_dataloader = dict(
    batch_size=2,
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

# Schedule: as the real config (poly 0.9 to 0), 120 iterations.
max_iters = 120
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=max_iters, by_epoch=False)
]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10, log_metric_by_epoch=False),
    checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False, interval=max_iters, max_keep_ckpts=1,
                    save_best=None))
randomness = dict(seed=0, deterministic=False)
