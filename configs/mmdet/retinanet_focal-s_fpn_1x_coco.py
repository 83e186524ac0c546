# RetinaNet + FPN, Focal Transformer-S, 1x, COCO: 45.6 box AP (paper).
_base_ = '../_base_/mmdet/retinanet_focal_fpn_1x_coco.py'
pretrained = 'https://projects4jw.blob.core.windows.net/model/focal-transformer/imagenet1k/focal-small-is224-ws7.pth'  # noqa: E501
model = dict(
    backbone=dict(arch='small', drop_path_rate=0.2, init_cfg=dict(checkpoint=pretrained)))
