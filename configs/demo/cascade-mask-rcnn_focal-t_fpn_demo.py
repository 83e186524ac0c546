# Demo: the Focal Transformer-T Cascade Mask R-CNN config
# (configs/mmdet/cascade-mask-rcnn_focal-t_fpn_ms-crop-3x_coco.py), trained from scratch on the
# synthetic demo data of `python tools/make_demo_data.py`. That config is the FocalNet-T one with
# its backbone swapped; this file is the FocalNet-T demo
# (cascade-mask-rcnn_focalnet-t-lrf_fpn_demo.py: data, image sizes, classes, short schedule, no
# pretrained weights) with the same swap.
_base_ = './cascade-mask-rcnn_focalnet-t-lrf_fpn_demo.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='FocalTransformer',
        arch='tiny',
        drop_path_rate=0.3,
        out_indices=(0, 1, 2, 3),
        init_cfg=None))  # from scratch: nothing can be downloaded here
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'relative_position_bias_table': dict(decay_mult=0.)}))
