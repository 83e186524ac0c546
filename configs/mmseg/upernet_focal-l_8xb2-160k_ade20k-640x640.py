# UPerNet, Focal Transformer-L, ImageNet-22k, ADE20K 640x640, 160k: 54.0 / 55.4 (MS) mIoU (paper).
# The authors released neither a Focal-L classification model nor its ImageNet-22k checkpoint: the
# 'large' preset is the paper's C=192 model (depths 2, 2, 18, 2, heads 6-48) with the T/S/B focal
# settings, and `checkpoint_file` is a local file you provide (None trains from scratch).
_base_ = ['./upernet_focalnet-l-fl4_8xb2-160k_ade20k-640x640.py', '../_base_/backbones.py']
__recipe = _base_.pop('recipe')
globals().update(__recipe.focal_transformer)
checkpoint_file = 'checkpoints/focal-large-in22k.pth'
model = dict(backbone=dict(__recipe.focal_transformer_backbone, arch='large', drop_path_rate=0.3,
                           init_cfg=dict(type='Pretrained', checkpoint=checkpoint_file)))
