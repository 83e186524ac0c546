# Mask2Former, FocalNet-L (fl4), ImageNet-22k, ADE20K 640x640, 160k iterations: 58.5 mIoU (paper).
#
# From mmseg's Swin-L (in22k) Mask2Former ADE20K config we keep the whole recipe: 100 queries,
# MSDeformAttn pixel decoder, 9 decoder layers, shortest-edge multi-scale (320..1280) + 640 crop
# pipeline, batch 16 (8 GPUs x 2), AdamW lr 1e-4, weight decay 0.05, grad clip 0.01, poly (0.9)
# over 160k iterations. We replace the backbone and the optimizer's per-parameter keys.
#
# Backbone (FocalNet-L fl4, all four stages) and optimizer keys, with the runtime:
# configs/_base_/focalnet-l-fl4_mask2former.py.
_base_ = [
    'mmseg::mask2former/mask2former_swin-l-in22k-384x384-pre_8xb2-160k_ade20k-640x640.py',
    '../_base_/focalnet-l-fl4_mask2former.py',
]
globals().update(_base_.pop('recipe').runtime)

model = dict(
    backbone={{_base_.focalnet_l_fl4_backbone}},
    decode_head=dict(in_channels={{_base_.focalnet_l_fl4_channels}}))
optim_wrapper = dict(paramwise_cfg={{_base_.focalnet_l_fl4_mask2former_paramwise_cfg}})
