# Mask R-CNN + FPN, Focal Transformer-S (depths 2, 2, 18, 2), ms-crop-3x, COCO.
# Paper: 48.8 box AP / 43.8 mask AP, 71M params, 401G FLOPs.
_base_ = './mask-rcnn_focal-t_fpn_ms-crop-3x_coco.py'
pretrained = ('https://projects4jw.blob.core.windows.net/model/focal-transformer/imagenet1k/'
              'focal-small-is224-ws7.pth')
model = dict(
    backbone=dict(arch='small', drop_path_rate=0.5, init_cfg=dict(checkpoint=pretrained)))
