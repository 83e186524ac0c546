# Demo: the real FocalNet-T (lrf) Cascade Mask R-CNN config, trained from scratch on the synthetic COCO-format
# shapes of `python tools/make_demo_data.py` (data/demo/coco: 48 train / 16 val images of ~128 px,
# 3 classes). Works with tools/train.py, tools/test.py and tools/dist_train.sh.
#
# Everything comes from configs/mmdet/cascade-mask-rcnn_focalnet-t-lrf_fpn_ms-crop-3x_coco.py (model: full-width FocalNet-T lrf backbone, neck, heads;
# optimizer; the official multi-scale + crop pipeline) except what
# configs/demo/mask-rcnn_focalnet-t-srf_fpn_demo.py changes, in the same way (the data section below
# is that config's, boxes and masks):
#   * data: root, classes, image lengths (every length of the paper's pipeline divided by 5),
#   * no pretrained weights (nothing can be downloaded here): `init_cfg=None`, trained from scratch,
#   * schedule: short, with a higher learning rate, batch 4, single-process data loading,
#   * checkpoint every few epochs, fixed seed.
# (mmengine refuses duplicate keys among several `_base_` files, and the real config defines the
# same data keys, so the data section cannot be a second base: it is repeated here.)
_base_ = ['../mmdet/cascade-mask-rcnn_focalnet-t-lrf_fpn_ms-crop-3x_coco.py']

data_root = 'data/demo/coco/'
metainfo = dict(
    classes=('rectangle', 'ellipse', 'triangle'),
    palette=[(220, 50, 50), (40, 190, 70), (60, 90, 230)])
num_classes = 3

# Cascade heads: the real config's three ConvFCBBoxHeads (4 shared convs, GIoU) with 3 classes and
# BN instead of SyncBN (SyncBN needs a process group and an accelerator; this demo runs one CPU
# process). Lists are replaced, not merged, by config inheritance, so the heads are restated.
model = dict(
    backbone=dict(init_cfg=None),  # from scratch: no pretrained FocalNet-T weights offline
    roi_head=dict(
        bbox_head=[
            dict(
                type='ConvFCBBoxHead',
                num_shared_convs=4,
                num_shared_fcs=1,
                in_channels=256,
                conv_out_channels=256,
                fc_out_channels=1024,
                roi_feat_size=7,
                num_classes=num_classes,
                bbox_coder=dict(
                    type='DeltaXYWHBBoxCoder',
                    target_means=[0., 0., 0., 0.],
                    target_stds=target_stds),
                reg_class_agnostic=False,
                reg_decoded_bbox=True,
                norm_cfg=dict(type='BN', requires_grad=True),
                loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
                loss_bbox=dict(type='GIoULoss', loss_weight=10.0))
            for target_stds in ([0.1, 0.1, 0.2, 0.2], [0.05, 0.05, 0.1, 0.1],
                                [0.033, 0.033, 0.067, 0.067])
        ],
        mask_head=dict(num_classes=num_classes)))

# The paper's pipeline (flip; short side 480..800 / long <= 1333, or resize 400..600 + crop
# (384, 600) + resize) with every length divided by 5 for ~128 px images.
_div = 5
_ms_scales = [(1333 // _div, s // _div) for s in range(480, 801, 32)]
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
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
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
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
    metric=['bbox', 'segm'],
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
