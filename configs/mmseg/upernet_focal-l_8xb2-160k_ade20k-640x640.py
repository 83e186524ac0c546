# UPerNet, Focal Transformer-L (C=192, depths 2, 2, 18, 2, heads 6-48), ImageNet-22k pre-trained,
# ADE20K 640x640, 160k iterations. Paper: 54.0 mIoU, 55.4 mIoU (multi-scale), 240M params,
# 3376G FLOPs.
#
# Data, 640 crops, (2560, 640) test scale and multi-scale test: the FocalNet-L UPerNet config this
# file inherits (itself the FocalNet-T UPerNet recipe); only the backbone changes. The authors
# released neither a Focal-L classification model nor its ImageNet-22k checkpoint: the 'large'
# preset is the paper's C=192 model with the T/S/B focal settings, and the checkpoint below is a
# local file you provide (None trains from scratch).
_base_ = './upernet_focalnet-l-fl4_8xb2-160k_ade20k-640x640.py'

checkpoint_file = 'checkpoints/focal-large-in22k.pth'
model = dict(
    backbone=dict(
        _delete_=True,
        type='FocalTransformer',
        arch='large',
        drop_path_rate=0.3,
        out_indices=(0, 1, 2, 3),
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint_file)))
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'relative_position_bias_table': dict(decay_mult=0.)}))
