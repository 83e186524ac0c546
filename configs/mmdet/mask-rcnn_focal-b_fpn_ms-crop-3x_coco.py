# Mask R-CNN + FPN, Focal Transformer-B, 3x, COCO: 49.0 box / 43.7 mask AP (paper).
_base_ = '../_base_/mmdet/mask-rcnn_focal_fpn_ms-crop-3x_coco.py'
pretrained = 'https://projects4jw.blob.core.windows.net/model/focal-transformer/imagenet1k/focal-base-is224-ws7.pth'  # noqa: E501
model = dict(
    backbone=dict(arch='base', drop_path_rate=0.5, init_cfg=dict(checkpoint=pretrained)),
    neck=dict(in_channels=[128, 256, 512, 1024]))
