# Mask2Former, FocalNet-L (fl4), ImageNet-22k, COCO panoptic, LSJ 1024x1024, 100e: 57.9 PQ (paper).
#
# From mmdet's Swin-L (in21k) Mask2Former panoptic config we keep the whole recipe: 200 queries,
# MSDeformAttn pixel decoder on strides 8-32, 9 decoder layers, batch 16 (16 GPUs x 1 image),
# AdamW lr 1e-4, weight decay 0.05, grad clip 0.01, 737.5k iterations (steps at 655.6k, 710.2k),
# CocoPanopticMetric + CocoMetric (bbox, segm). We replace the backbone and the optimizer's
# per-parameter keys (the Swin ones name Swin's modules).
#
# Backbone (FocalNet-L fl4, all four stages) and optimizer keys, with the runtime:
# configs/_base_/focalnet-l-fl4_mask2former.py.
_base_ = ['mmdet::mask2former/mask2former_swin-l-p4-w12-384-in21k_16xb1-lsj-100e_coco-panoptic.py', '../_base_/focalnet-l-fl4_mask2former.py']  # noqa: E501
globals().update(_base_.pop('recipe').runtime)

model = dict(
    backbone={{_base_.focalnet_l_fl4_backbone}},
    panoptic_head=dict(in_channels={{_base_.focalnet_l_fl4_channels}}))
optim_wrapper = dict(paramwise_cfg={{_base_.focalnet_l_fl4_mask2former_paramwise_cfg}})
