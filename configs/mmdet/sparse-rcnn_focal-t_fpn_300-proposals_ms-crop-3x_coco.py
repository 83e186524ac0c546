# Sparse R-CNN + FPN, Focal Transformer-T, 300 proposals, 3x, COCO: 49.0 box AP (paper).
_base_ = '../_base_/mmdet/sparse-rcnn_focal_fpn_300-proposals_ms-crop-3x_coco.py'
pretrained = 'https://projects4jw.blob.core.windows.net/model/focal-transformer/imagenet1k/focal-tiny-is224-ws7.pth'  # noqa: E501
model = dict(
    backbone=dict(arch='tiny', drop_path_rate=0.3, init_cfg=dict(checkpoint=pretrained)))
