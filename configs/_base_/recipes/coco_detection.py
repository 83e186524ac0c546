# The FocalNet / Focal Transformer COCO detection recipe (the official FocalNet detection
# configs), in groups of settings that a family base (configs/_base_/mmdet/*) spreads over its
# mmdet base (handed over as `recipe`, see ../focalnet_runtime.py; the backbones and the runtime
# come with it from ../backbones.py):
#
# * `batch_16`: total batch 16 = 8 GPUs x 2 images; with another total batch, `--auto-scale-lr`
#   scales the learning rate linearly from this base.
# * `ms_crop_boxes`, `ms_crop_masks` (`batch_16` included): the official multi-scale + crop train
#   pipeline, as mmdet's Swin ms-crop-3x configs have it, used for 1x and 3x alike: flip 0.5,
#   then one of (a) short side in {480, 512, ..., 800}, long side <= 1333, or (b) short side in
#   {400, 500, 600}, an absolute-range crop (384, 600), then (a). `ms_crop_boxes_long_short`:
#   the same with the scales written (long, short), which `keep_ratio` reads alike.
# * `schedule_1x`: 12 epochs, lr x0.1 at epochs 9 and 11 (official FocalNet; mmdet's Swin configs
#   step at 8 and 11); `schedule_3x`: 36 epochs, steps at 27 and 33. Both with a linear warmup
#   over the first 500 iterations from 0.001 x lr (mmdet 2.x schedule_1x, which the official
#   configs inherit).
# * `adamw`: AdamW lr 1e-4, weight decay 0.05, with the backbone's `no_decay_keys`; it replaces
#   the SGD of mmdet's ResNet recipes. `adamw_over_swin`: the same over an mmdet Swin config,
#   whose per-parameter keys name Swin modules and are replaced.
_base_ = '../backbones.py'


def _ms_crop(with_mask, long_first=False):
    def scales(shorts):
        return [(1333, s) if long_first else (s, 1333) for s in shorts]

    annotations = dict(with_mask=True) if with_mask else {}
    pipeline = [
        dict(type='LoadImageFromFile', backend_args=None),
        dict(type='LoadAnnotations', with_bbox=True, **annotations),
        dict(type='RandomFlip', prob=0.5),
        dict(
            type='RandomChoice',
            transforms=[
                [dict(type='RandomChoiceResize', scales=scales(range(480, 801, 32)),
                      keep_ratio=True)],
                [
                    dict(type='RandomChoiceResize', scales=scales((400, 500, 600)),
                         keep_ratio=True),
                    dict(type='RandomCrop', crop_type='absolute_range', crop_size=(384, 600),
                         allow_negative_crop=True),
                    dict(type='RandomChoiceResize', scales=scales(range(480, 801, 32)),
                         keep_ratio=True),
                ],
            ]),
        dict(type='PackDetInputs'),
    ]
    return dict(
        train_pipeline=pipeline,
        train_dataloader=dict(batch_size=2, dataset=dict(pipeline=pipeline)),
        auto_scale_lr=dict(enable=False, base_batch_size=16))


def _schedule(max_epochs, milestones):
    return dict(
        max_epochs=max_epochs,
        train_cfg=dict(max_epochs=max_epochs),
        param_scheduler=[
            dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
            dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True,
                 milestones=milestones, gamma=0.1),
        ])


__no_decay = _base_.recipe.no_decay_keys
__adamw = dict(
    type='OptimWrapper',
    optimizer=dict(
        _delete_=True, type='AdamW', lr=0.0001, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(custom_keys=__no_decay))

recipe = dict(
    batch_16=dict(
        train_dataloader=dict(batch_size=2), auto_scale_lr=dict(enable=False, base_batch_size=16)),
    ms_crop_boxes=_ms_crop(with_mask=False),
    ms_crop_masks=_ms_crop(with_mask=True),
    ms_crop_boxes_long_short=dict(
        _ms_crop(with_mask=False, long_first=True),
        _scales=[(1333, s) for s in range(480, 801, 32)]),
    schedule_1x=_schedule(12, [9, 11]),
    schedule_3x=_schedule(36, [27, 33]),
    adamw=dict(optim_wrapper=__adamw),
    adamw_over_swin=dict(
        optim_wrapper=dict(__adamw, paramwise_cfg=dict(_delete_=True, custom_keys=__no_decay))))
