# The demo data in the ADE20K layout, written by `python tools/make_demo_data.py`
# (focalnet_mm.demo_data): data/demo/ade/ADEChallengeData2016, 48 training / 16 validation scenes
# of ~128 px; label PNGs with 0 = unlabeled and classes 1..5 (reduce_zero_label). A demo config
# (configs/demo/*) inherits a real config and takes one group of this base (handed over as
# `recipe`, see ../focalnet_runtime.py), which replaces its data section, image lengths (those
# of the real pipeline divided by `_div`: test scale (512, 128), 128x128 crops), schedule and
# checkpoint interval; it trains from scratch (`init_cfg=None`: nothing can be downloaded here)
# and sets the class count of the heads.
#
# The dataset class is mmseg's generic BaseSegDataset with ADE20K's layout and settings
# (.jpg/.png, reduce_zero_label=True): ADE20KDataset only accepts subsets of its 150 class names
# and then reads label values as ADE20K ids, which these 5 synthetic classes are not.
#
# * `upernet_512` (the 512x512 recipe's lengths / 4), `upernet_640` (the 640x640 one's / 5), with
#   the UPerNet model's settings (crop size, no pretrained weights, 5 classes): resize
#   to (512, 128) with ratio 0.5-2.0, 128x128 crops, multi-scale test at ratios of (512, 128);
#   as the real schedule (linear warmup, then poly decay to 0), 120 iterations (~3.5 min on 2 free
#   CPU cores for FocalNet-T; result: mIoU ~80 %), lr 3e-4 (the real 6e-5 is for fine-tuning
#   pretrained weights).
# * `mask2former` (the 640x640 Mask2Former lengths / 5): shortest edge 64..256, 128x128 crops; as
#   the real schedule (poly 0.9 to 0), 120 iterations.
#
# All: single-process data loading, fixed seed (deterministic=True would make mmengine call
# torch.use_deterministic_algorithms(True), under which CUDA's bilinear-upsampling backward, used
# by UPerNet, raises).
__max_iters = 120
__metainfo = dict(
    classes=('wall', 'floor', 'rectangle', 'ellipse', 'triangle'),
    palette=[[120, 120, 150], [140, 110, 70], [220, 50, 50], [40, 190, 70], [60, 90, 230]])
__single_process = dict(num_workers=0, persistent_workers=False)
__dataset = dict(
    type='BaseSegDataset',
    metainfo=__metainfo,
    data_root='data/demo/ade/ADEChallengeData2016',
    img_suffix='.jpg',
    seg_map_suffix='.png',
    reduce_zero_label=True)


def _ade(div, batch_size, resize, param_scheduler, checkpoint=None, tta=False, **rest):
    crop_size = (128, 128)
    train_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', reduce_zero_label=True),
        resize,
        dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
        dict(type='RandomFlip', prob=0.5),
        dict(type='PhotoMetricDistortion'),
        dict(type='PackSegInputs'),
    ]
    load, test_resize, annotations, pack = test_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=(512, 128), keep_ratio=True),
        dict(type='LoadAnnotations', reduce_zero_label=True),
        dict(type='PackSegInputs'),
    ]
    if tta:  # the test pipeline at each ratio of its scale, with and without horizontal flip
        rest['_img_ratios'] = ratios = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
        rest['tta_pipeline'] = [
            dict(load, backend_args=None),
            dict(type='TestTimeAug', transforms=[
                [dict(test_resize, scale=(int(512 * r), int(128 * r))) for r in ratios],
                [dict(type='RandomFlip', prob=p, direction='horizontal') for p in (0., 1.)],
                [annotations],
                [pack],
            ])
        ]
    val_dataloader = dict(
        batch_size=1, **__single_process,
        dataset=dict(
            __dataset,
            _delete_=True,
            data_prefix=dict(img_path='images/validation', seg_map_path='annotations/validation'),
            pipeline=test_pipeline))
    evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
    return dict(
        data_root=__dataset['data_root'],
        metainfo=__metainfo,
        num_classes=len(__metainfo['classes']),
        crop_size=crop_size,
        _div=div,
        _dataset=__dataset,
        train_pipeline=train_pipeline,
        test_pipeline=test_pipeline,
        train_dataloader=dict(
            batch_size=batch_size, **__single_process,
            dataset=dict(
                __dataset,
                _delete_=True,  # replaces ADE20KDataset's settings entirely
                data_prefix=dict(img_path='images/training', seg_map_path='annotations/training'),
                pipeline=train_pipeline)),
        val_dataloader=val_dataloader,
        test_dataloader=val_dataloader,
        val_evaluator=evaluator,
        test_evaluator=evaluator,
        max_iters=__max_iters,
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=__max_iters, val_interval=__max_iters),
        param_scheduler=param_scheduler,
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=10, log_metric_by_epoch=False),
            checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False, interval=__max_iters,
                            max_keep_ckpts=1, **(checkpoint or {}))),
        randomness=dict(seed=0, deterministic=False),
        **rest)


def _upernet(div, batch_size):
    return _ade(
        div, batch_size,
        resize=dict(type='RandomResize', scale=(512, 128), ratio_range=(0.5, 2.0),
                    keep_ratio=True),
        param_scheduler=[
            dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=20),
            dict(type='PolyLR', eta_min=0.0, power=1.0, begin=20, end=__max_iters,
                 by_epoch=False),
        ],
        tta=True,
        optim_wrapper=dict(optimizer=dict(lr=3e-4)),
        model=dict(
            data_preprocessor=dict(size=(128, 128)),
            backbone=dict(init_cfg=None),
            decode_head=dict(num_classes=5),
            auxiliary_head=dict(num_classes=5)))


recipe = dict(
    upernet_512=_upernet(div=4, batch_size=4),
    upernet_640=_upernet(div=5, batch_size=2),
    mask2former=_ade(
        5, 2,
        resize=dict(type='RandomChoiceResize',
                    scales=[int(x * 0.1 * 640) // 5 for x in range(5, 21)],
                    resize_type='ResizeShortestEdge', max_size=2560 // 5),
        param_scheduler=[
            dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=__max_iters, by_epoch=False)
        ],
        checkpoint=dict(save_best=None)))
