"""One-line inference with the FocalNet models of this repository.

    from focalnet_mm.apis import DetInferencer, SegInferencer
    det = DetInferencer('mask-rcnn_focalnet-t-srf_fpn_1x_coco', weights='epoch_12.pth')
    det('demo.jpg', out_dir='outputs')            # mmdet's DetInferencer call: vis/ and preds/
    seg = SegInferencer('upernet_focalnet-t-srf_8xb2-160k_ade20k-512x512', weights='iter_160k.pth')

``DetInferencer``/``SegInferencer`` import mmdet/mmseg on first access only (lazy attributes);
``list_models``/``resolve_model`` need neither.
"""
from __future__ import annotations

from .model_index import ModelEntry, ModelNotFoundError, list_models, resolve_model

__all__ = ['DetInferencer', 'SegInferencer', 'UntrainedModelWarning', 'ModelEntry',
           'ModelNotFoundError', 'build_inferencer', 'list_models', 'model_scope',
           'resolve_model']


def __getattr__(name: str):
    if name == 'DetInferencer':
        from .det_inferencer import DetInferencer
        return DetInferencer
    if name == 'SegInferencer':
        from .seg_inferencer import SegInferencer
        return SegInferencer
    if name == 'UntrainedModelWarning':
        from ._base import UntrainedModelWarning
        return UntrainedModelWarning
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


def model_scope(model: str) -> str:
    """'mmdet' or 'mmseg' for a model name/alias/config stem or a config path."""
    entry = resolve_model(model)
    if entry.scope is not None:
        return entry.scope
    from mmengine.config import Config

    from focalnet_mm.runner_utils import config_scope
    return config_scope(Config.fromfile(entry.config), register=False)


def build_inferencer(model: str, weights=None, **kwargs):
    """``DetInferencer`` or ``SegInferencer``, whichever the model's config scope asks for
    (``kwargs``: the constructor arguments both take: device, show_progress, trusted, scope)."""
    entry = resolve_model(model)
    cls = __getattr__('DetInferencer' if model_scope(model) == 'mmdet' else 'SegInferencer')
    return cls(entry.name if entry.in_metafile else entry.config, weights=weights, **kwargs)
