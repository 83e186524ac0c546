# Demo: the real FocalNet-L (fl4) UPerNet ADE20K 640x640 config, trained from scratch on the
# synthetic ADE20K-layout scenes of `python tools/make_demo_data.py` (data/demo/ade/
# ADEChallengeData2016: 48 training / 16 validation images of ~128 px). Works with tools/train.py
# and tools/test.py.
#
# Everything comes from configs/mmseg/upernet_focalnet-l-fl4_8xb2-160k_ade20k-640x640.py (the full
# FocalNet-L backbone, UPerHead + auxiliary FCNHead, AdamW, warmup + poly, the ADE20K 640
# pipeline) except what configs/demo/upernet_focalnet-t-srf_demo.py changes, in the same way:
#   * data: root, classes, image lengths (every length of the 640 pipeline divided by 5: resize to
#     (512, 128) with ratio 0.5-2.0, 128x128 crops), the generic BaseSegDataset,
#   * no pretrained weights (nothing can be downloaded here): `init_cfg=None`, trained from scratch,
#   * schedule: short, with a higher learning rate, batch 2, single-process data loading,
#   * checkpoint interval, fixed seed.
_base_ = '../mmseg/upernet_focalnet-l-fl4_8xb2-160k_ade20k-640x640.py'

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
    decode_head=dict(num_classes=num_classes),
    auxiliary_head=dict(num_classes=num_classes))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='RandomResize', scale=(2560 // _div, 640 // _div), ratio_range=(0.5, 2.0),
         keep_ratio=True),
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
_img_ratios = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
tta_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(
        type='TestTimeAug',
        transforms=[
            [dict(type='Resize', scale=(int(2560 // _div * r), int(640 // _div * r)),
                  keep_ratio=True) for r in _img_ratios],
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

# Schedule: as the real config (linear warmup, then poly decay to 0), 120 iterations; lr 3e-4
# (the real 6e-5 is for fine-tuning pretrained weights), as the FocalNet-T UPerNet demo.
max_iters = 120
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=20),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=20, end=max_iters, by_epoch=False),
]
optim_wrapper = dict(optimizer=dict(lr=3e-4))
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10, log_metric_by_epoch=False),
    checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False, interval=max_iters, max_keep_ckpts=1))
randomness = dict(seed=0, deterministic=False)
