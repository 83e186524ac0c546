# Mask R-CNN + FPN, Focal Transformer-T, 1x, COCO: 44.8 box / 41.0 mask AP (paper).
_base_ = '../_base_/mmdet/mask-rcnn_focal_fpn_1x_coco.py'
pretrained = 'https://projects4jw.blob.core.windows.net/model/focal-transformer/imagenet1k/focal-tiny-is224-ws7.pth'  # noqa: E501
model = dict(
    backbone=dict(arch='tiny', drop_path_rate=0.1, init_cfg=dict(checkpoint=pretrained)))
