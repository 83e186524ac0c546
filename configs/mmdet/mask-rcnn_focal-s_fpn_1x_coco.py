# Mask R-CNN + FPN, Focal Transformer-S, 1x, COCO: 47.4 box / 42.8 mask AP (paper).
_base_ = '../_base_/mmdet/mask-rcnn_focal_fpn_1x_coco.py'
pretrained = 'https://projects4jw.blob.core.windows.net/model/focal-transformer/imagenet1k/focal-small-is224-ws7.pth'  # noqa: E501
model = dict(
    backbone=dict(arch='small', drop_path_rate=0.2, init_cfg=dict(checkpoint=pretrained)))
