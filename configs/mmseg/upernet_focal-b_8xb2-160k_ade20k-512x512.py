# UPerNet, Focal Transformer-B (C=128, depths 2, 2, 18, 2), ADE20K 160k.
# Paper: 49.0 mIoU, 50.5 mIoU (multi-scale), 126M params, 1354G FLOPs.
_base_ = './upernet_focal-t_8xb2-160k_ade20k-512x512.py'
checkpoint_file = ('https://projects4jw.blob.core.windows.net/model/focal-transformer/imagenet1k/'
                   'focal-base-is224-ws7.pth')
model = dict(
    backbone=dict(arch='base', init_cfg=dict(checkpoint=checkpoint_file)),
    decode_head=dict(in_channels=[128, 256, 512, 1024]),
    auxiliary_head=dict(in_channels=512))
