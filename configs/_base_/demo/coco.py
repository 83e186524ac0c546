# The demo data in COCO format, written by `python tools/make_demo_data.py` (focalnet_mm.demo_data):
# data/demo/coco (instances: 48 train / 16 val images of ~128 px, 3 classes) and
# data/demo/coco_panoptic (the same scenes with 3 thing classes, 2 stuff classes and VOID rings).
# A demo config (configs/demo/*) inherits a real config and takes one group of this base
# (handed over as `recipe`, see ../focalnet_runtime.py), which replaces its data section, image
# lengths (those of the real pipeline divided by `_div`), schedule and checkpoint interval; it
# trains from scratch (`init_cfg=None`: nothing can be downloaded here), so a demo shows that a
# model learns, not paper accuracy, and sets the class count of the heads:
#
# * `boxes`, `masks`: the detectors' multi-scale + crop pipeline (flip; short side 480..800 /
#   long <= 1333, or resize 400..600 + crop (384, 600) + resize) at 1/5 of the lengths; 48 images
#   / batch 4 = 12 iterations per epoch, 10 epochs = 120 iterations, warmup 30 iterations, lr x0.1
#   at 3/4 and 11/12 of the epochs as the 1x schedule (9 and 11 of 12); lr 4e-4: the real 1e-4
#   (batch 16) is for fine-tuning pretrained weights, from scratch in 120 steps needs more.
# * `dino`: DINO's DETR pipeline (the same, with long side <= 4200 in the crop branch) at 1/5;
#   batch 2 = 24 iterations per epoch, 4 epochs, lr x0.1 for the last (the real 12 epochs with a
#   step at 11, shortened).
# * `panoptic`: the large-scale jittering pipeline of Mask2Former at 1/8 of the lengths (flip,
#   resize to 128x128 x (0.1..2.0), 128x128 crop, fixed-size batch padding); evaluation: PQ only
#   (the real config also runs CocoMetric on COCO's instance annotations, which these scenes do
#   not have; CocoPanopticMetric needs `panopticapi`, PyPI `panopticapi-lite`); 120 iterations,
#   steps at 0.89 and 0.96 of them (as the real 655.6k / 710.2k of 737.5k).
#
# All: single-process data loading, fixed seed. On CPU the runs are reproducible as they are (two
# full demo runs gave identical metrics); deterministic=True would make mmengine call
# torch.use_deterministic_algorithms(True), under which some CUDA backward kernels raise.
__data_root = 'data/demo/coco/'
__metainfo = dict(
    classes=('rectangle', 'ellipse', 'triangle'),
    palette=[(220, 50, 50), (40, 190, 70), (60, 90, 230)])
__single_process = dict(num_workers=0, persistent_workers=False)


def _data(data_root, metainfo, ann, div, train, load_annotations, evaluator, batch_size, **keys):
    """The data section over `data_root`/annotations/`ann`_{train,val}2017.json: the train
    dataset's own settings `train`, the test pipeline at 1333x800 / `div`, and `keys`."""
    test_pipeline = [
        dict(type='LoadImageFromFile', backend_args=None),
        dict(type='Resize', scale=(1333 // div, 800 // div), keep_ratio=True),
        load_annotations,
        dict(type='PackDetInputs',
             meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
    ]
    val = dict(data_root=data_root, metainfo=metainfo, ann_file=f'annotations/{ann}_val2017.json',
               data_prefix=dict(img='val2017/'), pipeline=test_pipeline)
    if ann == 'panoptic':
        val['data_prefix']['seg'] = 'annotations/panoptic_val2017/'
    val_dataloader = dict(batch_size=1, **__single_process, dataset=val)
    return dict(
        data_root=data_root,
        metainfo=metainfo,
        _div=div,
        train_pipeline=train['pipeline'],
        test_pipeline=test_pipeline,
        train_dataloader=dict(
            batch_size=batch_size, **__single_process,
            dataset=dict(train, data_root=data_root, metainfo=metainfo,
                         ann_file=f'annotations/{ann}_train2017.json')),
        val_dataloader=val_dataloader,
        test_dataloader=val_dataloader,
        val_evaluator=evaluator,
        test_evaluator=evaluator,
        randomness=dict(seed=0, deterministic=False),
        **keys)


def _detection(with_mask=False, dino=False):
    div = 5

    def scale(short, long=1333):  # (long, short) as the FocalNet demos have it; DINO (short, long)
        return (short // div, long // div) if dino else (long // div, short // div)

    ms_scales = [scale(s) for s in range(480, 801, 32)]
    annotations = dict(type='LoadAnnotations', with_bbox=True)
    if with_mask:
        annotations['with_mask'] = True
    train = dict(
        data_prefix=dict(img='train2017/'),
        pipeline=[
            dict(type='LoadImageFromFile', backend_args=None),
            annotations,
            dict(type='RandomFlip', prob=0.5),
            dict(
                type='RandomChoice',
                transforms=[
                    [dict(type='RandomChoiceResize', scales=ms_scales, keep_ratio=True)],
                    [
                        dict(type='RandomChoiceResize', keep_ratio=True,
                             scales=[scale(s, 4200 if dino else 1333) for s in (400, 500, 600)]),
                        dict(type='RandomCrop', crop_type='absolute_range',
                             crop_size=(384 // div, 600 // div), allow_negative_crop=True),
                        dict(type='RandomChoiceResize', scales=ms_scales, keep_ratio=True),
                    ],
                ]),
            dict(type='PackDetInputs'),
        ])
    evaluator = dict(ann_file=__data_root + 'annotations/instances_val2017.json')
    if not dino:
        train['filter_cfg'] = dict(filter_empty_gt=True, min_size=16)
        evaluator.update(type='CocoMetric', metric=['bbox', 'segm'] if with_mask else 'bbox',
                         format_only=False)
    return _data(__data_root, __metainfo, 'instances', div, train, annotations, evaluator,
                 batch_size=2 if dino else 4, num_classes=3, _ms_scales=ms_scales)


def _epochs(max_epochs, param_scheduler, checkpoint_interval, batch_size):
    return dict(
        max_epochs=max_epochs,
        train_cfg=dict(max_epochs=max_epochs, val_interval=max_epochs),
        param_scheduler=param_scheduler,
        auto_scale_lr=dict(enable=False, base_batch_size=batch_size),
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=4),
            checkpoint=dict(type='AtomicCheckpointHook', interval=checkpoint_interval,
                            max_keep_ckpts=1)))


def _panoptic():
    data_root = 'data/demo/coco_panoptic/'
    thing_classes = ('rectangle', 'ellipse', 'triangle')
    stuff_classes = ('wall', 'floor')
    metainfo = dict(
        classes=thing_classes + stuff_classes,
        thing_classes=thing_classes,
        stuff_classes=stuff_classes,
        palette=[(220, 50, 50), (40, 190, 70), (60, 90, 230), (120, 120, 150), (140, 110, 70)])
    div = 8
    image_size = (1024 // div, 1024 // div)
    train = dict(
        data_prefix=dict(img='train2017/', seg='annotations/panoptic_train2017/'),
        pipeline=[
            dict(type='LoadImageFromFile', to_float32=True, backend_args=None),
            dict(type='LoadPanopticAnnotations', with_bbox=True, with_mask=True, with_seg=True,
                 backend_args=None),
            dict(type='RandomFlip', prob=0.5),
            dict(type='RandomResize', scale=image_size, ratio_range=(0.1, 2.0), keep_ratio=True),
            dict(type='RandomCrop', crop_size=image_size, crop_type='absolute',
                 recompute_bbox=True, allow_negative_crop=True),
            dict(type='PackDetInputs'),
        ])
    evaluator = [
        dict(type='CocoPanopticMetric', ann_file=data_root + 'annotations/panoptic_val2017.json',
             seg_prefix=data_root + 'annotations/panoptic_val2017/', backend_args=None)
    ]
    max_iters = 120
    return _data(
        data_root, metainfo, 'panoptic', div, train,
        dict(type='LoadPanopticAnnotations', backend_args=None), evaluator, batch_size=2,
        thing_classes=thing_classes,
        stuff_classes=stuff_classes,
        num_things_classes=len(thing_classes),
        num_stuff_classes=len(stuff_classes),
        num_classes=len(metainfo['classes']),
        image_size=image_size,
        max_iters=max_iters,
        param_scheduler=dict(end=max_iters, milestones=[107, 115]),
        train_cfg=dict(max_iters=max_iters, val_interval=max_iters, dynamic_intervals=None),
        auto_scale_lr=dict(enable=False, base_batch_size=2),
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=10),
            checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False, interval=max_iters,
                            max_keep_ckpts=1)),
        log_processor=dict(window_size=10))


__warmup = dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=30)
__steps = dict(type='MultiStepLR', begin=0, by_epoch=True, gamma=0.1)
__detector_schedule = dict(
    _epochs(10, [__warmup, dict(__steps, end=10, milestones=[7, 9])], checkpoint_interval=5,
            batch_size=4),
    optim_wrapper=dict(optimizer=dict(lr=4e-4)))
recipe = dict(
    boxes=dict(_detection(), **__detector_schedule),
    masks=dict(_detection(with_mask=True), **__detector_schedule),
    dino=dict(_detection(dino=True),
              **_epochs(4, [dict(__steps, end=4, milestones=[3])], checkpoint_interval=2,
                        batch_size=2)),
    panoptic=_panoptic())
