# RetinaNet + FPN with the Focal Transformer, 1x schedule, COCO. No FocalNet RetinaNet exists to
# build on: this is mmdet's Swin-T RetinaNet (stages 1-3 into the FPN from its first input, extra
# convs on the input for 5 levels, single-scale 1333x800 + flip training, 12 epochs with steps 8
# and 11) with the Focal Transformer backbone (../backbones.py; only the stages the FPN reads,
# as unused outputs would be unused parameters), batch 16, and the AdamW of the other detectors
# (mmdet's file keeps the SGD lr 0.01 of the ResNet schedule): no weight decay on norms and
# relative position bias tables (this backbone has no layer-scale gammas). Drop path of the
# variants as the Mask R-CNN ones but 0.2 for T 1x, mmdet's Swin-T RetinaNet value.
_base_ = ['mmdet::swin/retinanet_swin-t-p4-w7_fpn_1x_coco.py', '../recipes/coco_detection.py']
__recipe = _base_.pop('recipe')
globals().update(**__recipe.runtime, **__recipe.batch_16)
model = dict(
    backbone=dict(__recipe.focal_transformer_backbone, out_indices=(1, 2, 3)),
    neck=dict(in_channels=[192, 384, 768], start_level=0, num_outs=5))
optim_wrapper = dict(
    __recipe.adamw.optim_wrapper,
    paramwise_cfg=dict(custom_keys=dict(
        norm=dict(decay_mult=0.), relative_position_bias_table=dict(decay_mult=0.))))
