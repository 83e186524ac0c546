# DINO (5 scales), FocalNet-L (fl4), ImageNet-22k, 12e, COCO: no published result. As mmdet's Swin-L
# DINO 5-scale: all four stages feed the ChannelMapper (5th scale: its extra conv, stride 64).
_base_ = './dino-4scale_focalnet-l-fl4_8xb2-12e_coco.py'
num_levels = 5
model = dict(
    num_feature_levels=num_levels,
    backbone=dict(out_indices=(0, 1, 2, 3)),
    neck=dict(in_channels=[192, 384, 768, 1536], num_outs=num_levels),
    encoder=dict(layer_cfg=dict(self_attn_cfg=dict(num_levels=num_levels))),
    decoder=dict(layer_cfg=dict(cross_attn_cfg=dict(num_levels=num_levels))))
