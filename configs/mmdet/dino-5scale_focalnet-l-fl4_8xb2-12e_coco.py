# DINO (5 feature scales), FocalNet-L (fl4), ImageNet-22k pre-trained, 12 epochs, COCO.
# As mmdet's Swin-L DINO 5-scale config: all four stages (C..8C = 192..1536 channels, strides
# 4-32) feed the ChannelMapper, whose extra conv gives the 5th scale (stride 64); the encoder's
# and decoder's deformable attention sample 5 levels.
_base_ = './dino-4scale_focalnet-l-fl4_8xb2-12e_coco.py'
num_levels = 5
model = dict(
    num_feature_levels=num_levels,
    backbone=dict(out_indices=(0, 1, 2, 3)),
    neck=dict(in_channels=[192, 384, 768, 1536], num_outs=num_levels),
    encoder=dict(layer_cfg=dict(self_attn_cfg=dict(num_levels=num_levels))),
    decoder=dict(layer_cfg=dict(cross_attn_cfg=dict(num_levels=num_levels))))
