# The Mask R-CNN FocalNet demo (configs/demo/mask-rcnn_focalnet-t-srf_fpn_demo.py: data, pipeline,
# schedule, hooks) with a narrow FocalNet (C=16, one block a stage) and narrow heads, for the tests
# of the training engine (resume, pre-emption, bad data), the demo recipe's learning check and the
# inference memory loop: what they check (checkpoints, random states, data handling, the loss
# falling, leaks) does not depend on the model's width, and a step costs ~0.4 s instead of ~4 s on
# one CPU core.
_base_ = '../../../configs/demo/mask-rcnn_focalnet-t-srf_fpn_demo.py'
width = 64
model = dict(
    backbone=dict(arch=dict(_delete_=True, embed_dims=16, depths=(1, 1, 1, 1), focal_levels=2,
                            focal_windows=3)),
    neck=dict(in_channels=[16, 32, 64, 128], out_channels=width),
    rpn_head=dict(in_channels=width, feat_channels=width),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=width),
        bbox_head=dict(in_channels=width, fc_out_channels=256),
        mask_roi_extractor=dict(out_channels=width),
        mask_head=dict(in_channels=width, conv_out_channels=width)))
