# Cascade Mask R-CNN + FPN, Focal Transformer-T, 3x, COCO: 51.5 box AP (paper).
_base_ = '../_base_/mmdet/cascade-mask-rcnn_focal_fpn_ms-crop-3x_coco.py'
pretrained = 'https://projects4jw.blob.core.windows.net/model/focal-transformer/imagenet1k/focal-tiny-is224-ws7.pth'  # noqa: E501
model = dict(
    backbone=dict(arch='tiny', drop_path_rate=0.3, init_cfg=dict(checkpoint=pretrained)))
