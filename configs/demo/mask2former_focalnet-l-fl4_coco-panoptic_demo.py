# Demo: the real FocalNet-L (fl4) Mask2Former COCO panoptic config, trained from scratch on the
# synthetic scenes of `python tools/make_demo_data.py` in the COCO panoptic layout
# (data/demo/coco_panoptic: 48 train / 16 val images of ~128 px; things: 3 shapes, stuff: wall,
# floor; the unlabeled rings are VOID). Works with tools/train.py and tools/test.py; evaluation
# needs the `panopticapi` module (PyPI `panopticapi-lite`, see requirements/stack.txt).
#
# Everything comes from configs/mmdet/mask2former_focalnet-l-fl4_16xb1-lsj-100e_coco-panoptic.py
# (the full FocalNet-L backbone, Mask2Former head, fusion head and losses, AdamW, the large-scale
# jittering pipeline) except:
#   * data: root, classes (3 things + 2 stuff), image lengths (every length of the real pipeline
#     divided by 8: LSJ crops and the fixed-size batch padding of 128x128 instead of 1024x1024),
#   * the class counts of the heads and the classification loss weights (one per class + 0.1 for
#     "no object", restated because lists are replaced, not merged),
#   * evaluation: PQ only (CocoPanopticMetric); the real config also runs CocoMetric on COCO's
#     instance annotations, which these scenes do not have,
#   * no pretrained weights (nothing can be downloaded here): `init_cfg=None`, trained from scratch,
#   * 100 queries instead of 200 (a scene holds <= 6 segments),
#   * schedule: short, batch 2, single-process data loading; checkpoint interval, fixed seed.
_base_ = '../mmdet/mask2former_focalnet-l-fl4_16xb1-lsj-100e_coco-panoptic.py'

data_root = 'data/demo/coco_panoptic/'
thing_classes = ('rectangle', 'ellipse', 'triangle')
stuff_classes = ('wall', 'floor')
metainfo = dict(
    classes=thing_classes + stuff_classes,
    thing_classes=thing_classes,
    stuff_classes=stuff_classes,
    palette=[(220, 50, 50), (40, 190, 70), (60, 90, 230), (120, 120, 150), (140, 110, 70)])
num_things_classes = len(thing_classes)
num_stuff_classes = len(stuff_classes)
num_classes = num_things_classes + num_stuff_classes
_div = 8
image_size = (1024 // _div, 1024 // _div)

model = dict(
    data_preprocessor=dict(batch_augments=[
        dict(type='BatchFixedSizePad', size=image_size, img_pad_value=0, pad_mask=True,
             mask_pad_value=0, pad_seg=True, seg_pad_value=255)
    ]),
    backbone=dict(init_cfg=None),  # from scratch: no pretrained FocalNet-L weights offline
    panoptic_head=dict(
        num_queries=100,
        num_things_classes=num_things_classes,
        num_stuff_classes=num_stuff_classes,
        loss_cls=dict(class_weight=[1.0] * num_classes + [0.1])),
    panoptic_fusion_head=dict(
        num_things_classes=num_things_classes, num_stuff_classes=num_stuff_classes))

# The real LSJ pipeline at 1/8 of the lengths: flip, resize to 128x128 x (0.1..2.0), 128x128 crop.
train_pipeline = [
    dict(type='LoadImageFromFile', to_float32=True, backend_args=None),
    dict(type='LoadPanopticAnnotations', with_bbox=True, with_mask=True, with_seg=True,
         backend_args=None),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomResize', scale=image_size, ratio_range=(0.1, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=image_size, crop_type='absolute', recompute_bbox=True,
         allow_negative_crop=True),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='Resize', scale=(1333 // _div, 800 // _div), keep_ratio=True),
    dict(type='LoadPanopticAnnotations', backend_args=None),
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
        ann_file='annotations/panoptic_train2017.json',
        data_prefix=dict(img='train2017/', seg='annotations/panoptic_train2017/'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/panoptic_val2017.json',
        data_prefix=dict(img='val2017/', seg='annotations/panoptic_val2017/'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = [
    dict(
        type='CocoPanopticMetric',
        ann_file=data_root + 'annotations/panoptic_val2017.json',
        seg_prefix=data_root + 'annotations/panoptic_val2017/',
        backend_args=None)
]
test_evaluator = val_evaluator

# Schedule: 120 iterations, steps at 0.89 and 0.96 of them (as the real 655.6k / 710.2k of 737.5k).
max_iters = 120
param_scheduler = dict(end=max_iters, milestones=[107, 115])
train_cfg = dict(max_iters=max_iters, val_interval=max_iters, dynamic_intervals=None)
auto_scale_lr = dict(enable=False, base_batch_size=2)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False, interval=max_iters, max_keep_ckpts=1))
log_processor = dict(window_size=10)
randomness = dict(seed=0, deterministic=False)
