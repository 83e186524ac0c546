# Mask R-CNN + FPN, Focal Transformer-B (C=128, depths 2, 2, 18, 2), ms-crop-3x, COCO.
# Paper: 49.0 box AP / 43.7 mask AP, 110M params, 533G FLOPs.
_base_ = './mask-rcnn_focal-t_fpn_ms-crop-3x_coco.py'
pretrained = ('https://projects4jw.blob.core.windows.net/model/focal-transformer/imagenet1k/'
              'focal-base-is224-ws7.pth')
model = dict(
    backbone=dict(arch='base', drop_path_rate=0.5, init_cfg=dict(checkpoint=pretrained)),
    neck=dict(in_channels=[128, 256, 512, 1024]))
