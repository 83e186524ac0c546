# The UPerNet FocalNet demo (configs/demo/upernet_focalnet-t-srf_demo.py: data, pipeline, schedule,
# hooks) with a narrow FocalNet (C=16, one block a stage) and narrow heads, for the tests of the
# training engine (resume, distributed training) and the inference memory loop: what they check
# (checkpoints, random states, gradient averaging, leaks) does not depend on the model's width.
# (The demo's learning check keeps the demo's 512-channel heads: with these the loss does not
# fall within its 12 iterations.)
_base_ = '../../../configs/demo/upernet_focalnet-t-srf_demo.py'
model = dict(
    backbone=dict(arch=dict(_delete_=True, embed_dims=16, depths=(1, 1, 1, 1), focal_levels=2,
                            focal_windows=3)),
    decode_head=dict(in_channels=[16, 32, 64, 128], channels=64),
    auxiliary_head=dict(in_channels=64, channels=64))
