# UPerNet, Focal Transformer-T, ADE20K 160k: 45.8 mIoU, 47.0 mIoU (MS) (paper).
_base_ = '../_base_/mmseg/upernet_focal_8xb2-160k_ade20k-512x512.py'
checkpoint_file = 'https://projects4jw.blob.core.windows.net/model/focal-transformer/imagenet1k/focal-tiny-is224-ws7.pth'  # noqa: E501
model = dict(backbone=dict(arch='tiny', init_cfg=dict(checkpoint=checkpoint_file)))
