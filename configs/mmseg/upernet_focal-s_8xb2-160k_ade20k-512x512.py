# UPerNet, Focal Transformer-S (depths 2, 2, 18, 2), ADE20K 160k.
# Paper: 48.0 mIoU, 50.0 mIoU (multi-scale), 85M params, 1130G FLOPs.
_base_ = './upernet_focal-t_8xb2-160k_ade20k-512x512.py'
checkpoint_file = ('https://projects4jw.blob.core.windows.net/model/focal-transformer/imagenet1k/'
                   'focal-small-is224-ws7.pth')
model = dict(backbone=dict(arch='small', init_cfg=dict(checkpoint=checkpoint_file)))
