# The UPerNet recipe (./ade20k_upernet_160k.py) on ADE20K at 640x640: mmseg's ADE20K 640x640
# setting (`mmseg::_base_/datasets/ade20k_640x640.py`: resize to (2560, 640) with ratio 0.5-2.0,
# 640x640 crops; test at (2560, 640), multi-scale test at ratios of it), restated because
# mmengine refuses the same keys from two `_base_` files.
_base_ = './ade20k_upernet_160k.py'
crop_size = (640, 640)
model = dict(data_preprocessor=dict(size=crop_size))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='RandomResize', scale=(2560, 640), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2560, 640), keep_ratio=True),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
__tta = _base_.tta_pipeline
tta_pipeline = [__tta[0], dict(__tta[1], transforms=[
    [dict(type='Resize', scale=(int(2560 * r), int(640 * r)), keep_ratio=True)
     for r in _base_.img_ratios],
    *__tta[1].transforms[1:]])]
