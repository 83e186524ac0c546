# DINO (4 scales), FocalNet-L fl3 (3 focal levels at window 5: kernels 5, 7, 9), ImageNet-22k
# pre-trained, 12 epochs, COCO: the 'large-fl3' checkpoint in the same recipe (no paper number).
_base_ = './dino-4scale_focalnet-l-fl4_8xb2-12e_coco.py'
pretrained = 'https://github.com/microsoft/FocalNet/releases/download/v1.0.0/focalnet_large_lrf_384.pth'  # noqa: E501
model = dict(backbone=dict(arch='large-fl3', init_cfg=dict(checkpoint=pretrained)))
