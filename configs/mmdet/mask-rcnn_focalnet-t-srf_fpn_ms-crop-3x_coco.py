# Mask R-CNN + FPN, FocalNet-T (SRF, kernels 9, 11), 3x schedule, COCO: 47.6 box / 42.6 mask AP.
# Shared base of the 3x Mask R-CNN variants: 36 epochs, lr x0.1 at epochs 27 and 33.
_base_ = './mask-rcnn_focalnet-t-srf_fpn_1x_coco.py'
model = dict(backbone=dict(drop_path_rate=0.3))
max_epochs = 36
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[27, 33],
        gamma=0.1)
]
