# RetinaNet + FPN, Focal Transformer-B, 1x, COCO: 46.3 box AP (paper).
_base_ = '../_base_/mmdet/retinanet_focal_fpn_1x_coco.py'
pretrained = 'https://projects4jw.blob.core.windows.net/model/focal-transformer/imagenet1k/focal-base-is224-ws7.pth'  # noqa: E501
model = dict(
    backbone=dict(arch='base', drop_path_rate=0.3, init_cfg=dict(checkpoint=pretrained)),
    neck=dict(in_channels=[256, 512, 1024]))
