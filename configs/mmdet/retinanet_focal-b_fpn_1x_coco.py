# RetinaNet + FPN, Focal Transformer-B (C=128, depths 2, 2, 18, 2), 1x, COCO.
# Paper: 46.3 box AP, 101M params, 514G FLOPs.
_base_ = './retinanet_focal-t_fpn_1x_coco.py'
pretrained = ('https://projects4jw.blob.core.windows.net/model/focal-transformer/imagenet1k/'
              'focal-base-is224-ws7.pth')
model = dict(
    backbone=dict(arch='base', drop_path_rate=0.3, init_cfg=dict(checkpoint=pretrained)),
    neck=dict(in_channels=[256, 512, 1024]))
