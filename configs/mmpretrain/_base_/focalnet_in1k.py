# FocalNet ImageNet-1k classification in mmpretrain: ImageClassifier = FocalNet (one output, the
# last stage, through its LayerNorm `norm3`, which is the classification model's final norm) +
# global average pooling + linear head. The shared base of configs/mmpretrain/*: a variant states
# its arch, drop-path rate, head width and weights.
#
# Recipe: the official one is Swin's (FocalNet's classification code is built on it, 300 epochs,
# total batch 1024 = 8 GPUs x 128, AdamW lr 1e-3 / wd 0.05, 20 warmup epochs + cosine, grad clip
# 5, label smoothing 0.1, Mixup 0.8 / CutMix 1.0, RandAugment rand-m9-mstd0.5-inc1, random
# erasing 0.25; evaluation: short side 256 bicubic, centre crop 224), which mmpretrain's Swin
# bases give.
#
# Weights: `load_from` names the published whole-classifier checkpoint (official release asset or
# timm's file); `ClassifierCheckpointHook` converts it (official/timm/HF names -> these, head and
# final norm included, strictly) when the Runner loads it, and focalnet_mm.models
# .classifier_checkpoint downloads those URLs once and reads them safely (weights_only,
# safetensors). Evaluate: mmpretrain's tools/test.py CONFIG CHECKPOINT_OR_URL.
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs64_swin_224.py',
    'mmpretrain::_base_/schedules/imagenet_bs1024_adamw_swin.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(
    imports=['focalnet_mm', 'focalnet_mm.models.classifier_checkpoint'],
    allow_failed_imports=False)

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='FocalNet',
        arch='tiny-srf',
        drop_path_rate=0.2,
        out_indices=(3, ),  # norm3 = the classification model's final norm
        channels_last=True),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=768,
        init_cfg=None,  # FocalNet-style init below (trunc normal Linear, LayerNorm 1/0)
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        cal_acc=False),
    init_cfg=[
        dict(type='TruncNormal', layer='Linear', std=0.02, bias=0.),
        dict(type='Constant', layer='LayerNorm', val=1., bias=0.),
    ],
    train_cfg=dict(augments=[dict(type='Mixup', alpha=0.8), dict(type='CutMix', alpha=1.0)]))

# Total batch 1024 = 8 GPUs x 128 (mmpretrain's Swin dataset base has 64 per GPU).
train_dataloader = dict(batch_size=128)
val_dataloader = dict(batch_size=128)
test_dataloader = val_dataloader

# AdamW as the official recipe (lr 1e-3 for batch 1024, from the schedule base); no weight decay on
# norms, biases and the L/XL/H layer-scale gammas.
optim_wrapper = dict(
    clip_grad=dict(max_norm=5.0),
    paramwise_cfg=dict(
        _delete_=True,
        norm_decay_mult=0.0,
        bias_decay_mult=0.0,
        flat_decay_mult=0.0,
        custom_keys={
            'gamma_1': dict(decay_mult=0.),
            'gamma_2': dict(decay_mult=0.),
        }))

# Exact resume (random generator states in checkpoints), pre-emptible training, rank-averaged
# loss logging (configs/_base_/focalnet_runtime.py has the same for mmdet/mmseg), and the
# conversion of published classification checkpoints at load time.
custom_hooks = [
    dict(type='RNGStateHook'),
    dict(type='PreemptionHook'),
    dict(type='DistLossAverageHook'),
    dict(type='ClassifierCheckpointHook'),
]
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook', interval=1, max_keep_ckpts=3))
