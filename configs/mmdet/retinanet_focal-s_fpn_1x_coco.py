# RetinaNet + FPN, Focal Transformer-S (depths 2, 2, 18, 2), 1x, COCO.
# Paper: 45.6 box AP, 62M params, 367G FLOPs.
_base_ = './retinanet_focal-t_fpn_1x_coco.py'
pretrained = ('https://projects4jw.blob.core.windows.net/model/focal-transformer/imagenet1k/'
              'focal-small-is224-ws7.pth')
model = dict(
    backbone=dict(arch='small', drop_path_rate=0.2, init_cfg=dict(checkpoint=pretrained)))
