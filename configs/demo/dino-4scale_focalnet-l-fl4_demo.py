# Demo: the real FocalNet-L (fl4) DINO 4-scale config, trained from scratch on the synthetic
# COCO-format shapes of `python tools/make_demo_data.py` (data/demo/coco: 48 train / 16 val images
# of ~128 px, 3 classes). Works with tools/train.py, tools/test.py and tools/dist_train.sh.
#
# Everything comes from configs/mmdet/dino-4scale_focalnet-l-fl4_8xb2-12e_coco.py (model: the
# full FocalNet-L backbone, ChannelMapper, DINO transformer and head; AdamW; the DETR multi-scale
# + crop pipeline) except, as in configs/demo/mask-rcnn_focalnet-t-srf_fpn_demo.py:
#   * data: root, classes, image lengths (every length of the real pipeline divided by 5),
#   * no pretrained weights (nothing can be downloaded here): `init_cfg=None`, trained from scratch,
#     so this shows that the pairing runs end to end, not paper accuracy (a 229M-parameter model
#     does not learn much from 48 images in a few CPU minutes),
#   * no activation checkpointing in the backbone,
#   * 100 queries (20 denoising queries), at most 100 detections per image, instead of 900 (100)
#     and 300: a ~128 px image holds <= 4 objects,
#   * schedule: short, batch 2, single-process data loading; checkpoint interval, fixed seed.
_base_ = '../mmdet/dino-4scale_focalnet-l-fl4_8xb2-12e_coco.py'

data_root = 'data/demo/coco/'
metainfo = dict(
    classes=('rectangle', 'ellipse', 'triangle'),
    palette=[(220, 50, 50), (40, 190, 70), (60, 90, 230)])
num_classes = 3

model = dict(
    num_queries=100,
    # from scratch: no pretrained FocalNet-L weights offline; no activation checkpointing (it
    # saves GPU memory at 1333 px at the cost of a second backbone forward; ~128 px needs none)
    backbone=dict(init_cfg=None, with_cp=False),
    bbox_head=dict(num_classes=num_classes),
    dn_cfg=dict(group_cfg=dict(num_dn_queries=20)),
    test_cfg=dict(max_per_img=100))

# The real pipeline (flip; short side 480..800 / long <= 1333, or short side 400..600 / long <=
# 4200 + crop (384, 600) + resize) with every length divided by 5 for ~128 px images.
_div = 5
_ms_scales = [(s // _div, 1333 // _div) for s in range(480, 801, 32)]
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
                     scales=[(s // _div, 4200 // _div) for s in (400, 500, 600)],
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
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img='train2017/'),
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
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val2017.json')
test_evaluator = val_evaluator

# Schedule: 48 images / batch 2 = 24 iterations per epoch, 4 epochs, lr x0.1 for the last
# (the real 12 epochs with a step at 11, shortened).
max_epochs = 4
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[3], gamma=0.1)
]
auto_scale_lr = dict(enable=False, base_batch_size=2)

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=4),
    checkpoint=dict(type='AtomicCheckpointHook', interval=2, max_keep_ckpts=1))
randomness = dict(seed=0, deterministic=False)
