# UPerNet, Focal Transformer-B, ADE20K 160k: 49.0 mIoU, 50.5 mIoU (MS) (paper).
_base_ = '../_base_/mmseg/upernet_focal_8xb2-160k_ade20k-512x512.py'
checkpoint_file = 'https://projects4jw.blob.core.windows.net/model/focal-transformer/imagenet1k/focal-base-is224-ws7.pth'  # noqa: E501
model = dict(
    backbone=dict(arch='base', init_cfg=dict(checkpoint=checkpoint_file)),
    decode_head=dict(in_channels=[128, 256, 512, 1024]), auxiliary_head=dict(in_channels=512))
