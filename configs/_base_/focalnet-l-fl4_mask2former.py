# What the mmdet (COCO panoptic) and mmseg (ADE20K) FocalNet-L Mask2Former configs share: the
# backbone and the optimizer's per-parameter keys. Variables only (no `model`/`optim_wrapper`
# keys, which the mmdet/mmseg Mask2Former base beside this file defines): the configs put them in
# place with `{{_base_.*}}`. The runtime comes with it (`recipe`, see ./focalnet_runtime.py).
#
# Backbone: FocalNet-L fl4 with its preset's focal windows (./backbones.py); all four stages feed
# the head.
_base_ = './backbones.py'

focalnet_l_fl4_depths = [2, 2, 18, 2]
focalnet_l_fl4_backbone = dict(
    _base_.recipe.focalnet_backbone,  # replaces the Swin-L backbone of the base
    arch='large-fl4',  # conv embed, post-LN, layerscale, normalize_modulator: the preset's
    drop_path_rate=0.3,  # as mmdet's / mmseg's Swin Mask2Former configs
    with_cp=False,
    # Official ImageNet-22k FocalNet-L checkpoint (384 px, 4 focal levels).
    init_cfg=dict(
        type='Pretrained',
        checkpoint='https://github.com/microsoft/FocalNet/releases/download/v1.0.0/focalnet_large_lrf_384_fl4.pth'))  # noqa: E501
focalnet_l_fl4_channels = [192, 384, 768, 1536]

# As the Swin configs: the backbone at lr x0.1; no weight decay on its LayerNorms (stem,
# downsampling, blocks, output norms) nor on its layer-scale gammas, nor on the query/level
# embeddings. (Longest key wins in mmengine, so each backbone norm is named like Swin's; the
# inherited Swin keys name Swin modules, hence `_delete_`.)
focalnet_l_fl4_norm_multi = dict(lr_mult=0.1, decay_mult=0.0)
focalnet_l_fl4_embed_multi = dict(lr_mult=1.0, decay_mult=0.0)
focalnet_l_fl4_mask2former_paramwise_cfg = dict(
    _delete_=True,
    norm_decay_mult=0.0,
    custom_keys={
        'backbone': dict(lr_mult=0.1, decay_mult=1.0),
        'backbone.patch_embed.norm': focalnet_l_fl4_norm_multi,
        'backbone.norm': focalnet_l_fl4_norm_multi,  # norm0..norm3
        'query_embed': focalnet_l_fl4_embed_multi,
        'query_feat': focalnet_l_fl4_embed_multi,
        'level_embed': focalnet_l_fl4_embed_multi,
        **{f'backbone.layers.{stage}.blocks.{block}.{name}': focalnet_l_fl4_norm_multi
           for stage, num_blocks in enumerate(focalnet_l_fl4_depths) for block in range(num_blocks)
           for name in ('norm', 'gamma')},  # norm1/norm2, gamma_1/gamma_2
        **{f'backbone.layers.{stage}.downsample.norm': focalnet_l_fl4_norm_multi
           for stage in range(len(focalnet_l_fl4_depths) - 1)},
    })
