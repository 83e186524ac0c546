# Demo: the Focal Transformer-T RetinaNet config (configs/mmdet/retinanet_focal-t_fpn_1x_coco.py),
# trained from scratch on the synthetic COCO-format shapes of `python tools/make_demo_data.py`
# (data/demo/coco: 48 train / 16 val images of ~128 px, 3 classes). Everything comes from that
# config (model, optimizer) except what configs/demo/atss_focalnet-t-lrf_fpn_demo.py changes, in
# the same way: data (root, classes, every length of the multi-scale + crop pipeline divided by
# 5), no pretrained weights, a short schedule with a higher learning rate, batch 4,
# single-process data loading, checkpoint interval, fixed seed. (mmengine refuses the same keys
# from two `_base_` files, so the data section is repeated here.)
_base_ = ['../mmdet/retinanet_focal-t_fpn_1x_coco.py']

model = dict(
    backbone=dict(init_cfg=None),  # from scratch: nothing can be downloaded here
    bbox_head=dict(num_classes=3))

data_root = 'data/demo/coco/'
metainfo = dict(
    classes=('rectangle', 'ellipse', 'triangle'),
    palette=[(220, 50, 50), (40, 190, 70), (60, 90, 230)])
num_classes = 3

# The paper's pipeline (flip; short side 480..800 / long <= 1333, or resize 400..600 + crop
# (384, 600) + resize) with every length divided by 5 for ~128 px images.
_div = 5
_ms_scales = [(1333 // _div, s // _div) for s in range(480, 801, 32)]
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='RandomChoice',
        transforms=[
            [dict(type='RandomChoiceResize', scales=_ms_scales, keep_ratio=True)],
            [
                dict(type='RandomChoiceResize',
                     scales=[(1333 // _div, s // _div) for s in (400, 500, 600)],
                     keep_ratio=True),
                dict(type='RandomCrop', crop_type='absolute_range',
                     crop_size=(384 // _div, 600 // _div), allow_negative_crop=True),
                dict(type='RandomChoiceResize', scales=_ms_scales, keep_ratio=True),
            ],
        ]),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='Resize', scale=(1333 // _div, 800 // _div), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]

train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img='train2017/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=16),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_val2017.json',
        data_prefix=dict(img='val2017/'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(
    type='CocoMetric',
    ann_file=data_root + 'annotations/instances_val2017.json',
    metric='bbox',
    format_only=False)
test_evaluator = val_evaluator

# Schedule: 48 images / batch 4 = 12 iterations per epoch.
max_epochs = 10
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=30),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True,
         milestones=[int(max_epochs * 0.75), int(max_epochs * 11 / 12)], gamma=0.1),
]
optim_wrapper = dict(optimizer=dict(lr=4e-4))
auto_scale_lr = dict(enable=False, base_batch_size=4)

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=4),
    checkpoint=dict(type='AtomicCheckpointHook', interval=5, max_keep_ckpts=1))
randomness = dict(seed=0, deterministic=False)
