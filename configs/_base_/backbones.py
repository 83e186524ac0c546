# The two backbones of focalnet-mm as they replace the backbone of an mmdet/mmseg config (hence
# `_delete_`), to be completed by the family base or the variant (arch, drop path, focal windows,
# checkpoint). Handed over as `recipe` (see ./focalnet_runtime.py).
#
# * `focalnet_backbone`: FocalNet with a LayerNorm after each patch embedding (`patch_norm`) and,
#   unless a config narrows `out_indices`, all four stages to the neck; weights from the
#   variant's ImageNet checkpoint (`init_cfg.checkpoint`), downloaded once into torch's hub cache
#   (README "Pretrained weights"). The ImageNet-1k T/S/B checkpoints (focal window 3: kernels
#   3, 5 for SRF, 3, 5, 7 for LRF) load into the larger windows of the detection and
#   segmentation family bases with their kernels zero-padded. FocalNet-L (the 'large-fl3' /
#   'large-fl4' presets, ImageNet-22k checkpoints at 384 px): C=192, depths (2, 2, 18, 2),
#   overlapping conv embedding (7x7/4 stem with padding 2 as the checkpoints, 3x3/2
#   downsampling), post-LN blocks, layerscale (1e-4); fl4: 4 focal levels at window 3 (kernels
#   3, 5, 7, 9), normalized modulator; fl3: 3 levels at window 5 (kernels 5, 7, 9). The focal
#   windows of the paper's FocalNet-L pairings (DINO, Mask2Former) are not published: the
#   FocalNet-L configs keep the preset's own, so the ImageNet-22k kernels load unchanged.
# * `no_decay_keys`: the per-parameter keys of the AdamW recipes: no weight decay on the
#   backbone's LayerNorms (every one is named `*norm*`) nor on the layer-scale gammas (L/XL/H
#   presets), as mmdet's / mmseg's Swin configs do for their norms.
# * `focal_transformer_backbone` and `focal_transformer` (its optimizer keys): the Focal
#   Transformer. Its authors never released detection or segmentation configs: every Focal
#   Transformer config is the FocalNet config of its family with this backbone (and the drop
#   path rate of the FocalNet variant of its size), plus no weight decay on the relative
#   position bias tables (the official classification code exempts them too). Official
#   ImageNet-1k checkpoints: projects4jw.blob.core.windows.net (a local path works too).
_base_ = './focalnet_runtime.py'

recipe = dict(
    focalnet_backbone=dict(
        _delete_=True,
        type='FocalNet',
        patch_norm=True,
        out_indices=(0, 1, 2, 3),
        init_cfg=dict(type='Pretrained')),
    no_decay_keys={name: dict(decay_mult=0.) for name in ('norm', 'gamma_1', 'gamma_2')},
    focal_transformer_backbone=dict(
        _delete_=True,
        type='FocalTransformer',
        out_indices=(0, 1, 2, 3),
        init_cfg=dict(type='Pretrained')),
    focal_transformer=dict(
        optim_wrapper=dict(
            paramwise_cfg=dict(
                custom_keys={'relative_position_bias_table': dict(decay_mult=0.)}))))
