# Mask R-CNN + FPN, FocalNet-T (srf), 1x, COCO, mixed precision: fp16 with a dynamic loss
# scale, the precision of the official FocalNet run (apex fp16 through `use_fp16=True`). Everything
# else is the fp32 config's. On a machine without a GPU, tools/train.py trains it with bf16
# autocast instead (focalnet_mm.engine.AutocastOptimWrapper: mmengine's AmpOptimWrapper needs a GPU).
_base_ = './mask-rcnn_focalnet-t-srf_fpn_1x_coco.py'
optim_wrapper = dict(type='AmpOptimWrapper', loss_scale='dynamic')
