# Sparse R-CNN + FPN (4 levels), FocalNet-T (LRF: 3 focal levels, per-stage focal windows
# 11, 9, 9, 7), 300 learned proposals, 6 stages, 3x schedule, COCO: 49.9 box AP (paper).
# mmdet's own Sparse R-CNN 300-proposal recipe already matches the official one:
# multi-scale + crop train pipeline, AdamW lr 2.5e-5, weight decay 1e-4, gradient clipping at
# max_norm 1, 36 epochs with steps at 27 and 33. Only the backbone and the FPN widths change.
# (The official config's `_base_` paths are broken; this one loads.)
_base_ = [
    'mmdet::sparse_rcnn/sparse-rcnn_r50_fpn_300-proposals_crop-ms-480-800-3x_coco.py',
    '../_base_/focalnet_runtime.py',
]
custom_imports = dict(imports=['focalnet_mm'], allow_failed_imports=False)

# Official ImageNet-1k checkpoint (downloaded once into torch's hub cache).
pretrained = 'https://github.com/microsoft/FocalNet/releases/download/v1.0.0/focalnet_tiny_lrf.pth'  # noqa: E501
model = dict(
    backbone=dict(
        _delete_=True,
        type='FocalNet',
        arch='tiny-lrf',  # C=96, depths (2, 2, 6, 2), focal_levels 3
        focal_windows=[11, 9, 9, 7],  # stage kernels 11/13/15, 9/11/13, 9/11/13, 7/9/11
        drop_path_rate=0.3,
        use_conv_embed=False,
        patch_norm=True,
        out_indices=(0, 1, 2, 3),
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(in_channels=[96, 192, 384, 768]))

# Total batch 16 = 8 GPUs x 2 images.
train_dataloader = dict(batch_size=2)
auto_scale_lr = dict(enable=False, base_batch_size=16)
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))  # ../_base_/focalnet_runtime.py
