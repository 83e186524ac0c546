"""mmdet's ``DetInferencer`` with FocalNet model names and safe checkpoint loading."""
from __future__ import annotations

from typing import Optional

from mmdet.apis import DetInferencer as _MMDetInferencer

import focalnet_mm  # noqa: F401  (registers FocalNet in mmdet's MODELS)

from ._base import FocalNetInferencerMixin


class DetInferencer(FocalNetInferencerMixin, _MMDetInferencer):
    """``mmdet.apis.DetInferencer`` that also knows this repository's models.

    Args:
        model: a name or alias of ``model-index.yml`` (``'mask-rcnn_focalnet-t-srf_fpn_1x_coco'``),
            the stem of a config under ``configs/`` (``'mask-rcnn_focalnet-t-srf_fpn_demo'``), a
            config path, an mmdet model name, or None (config taken from ``weights``).
        weights: checkpoint of the whole detector (e.g. written by ``tools/train.py``). None runs a
            randomly initialised model with an :class:`UntrainedModelWarning`: no trained FocalNet
            detector weights are published (the metafiles' ``Weights`` are ImageNet backbones).
        trusted: unpickle the checkpoint fully (legacy files that pickle objects); by default it is
            read with ``weights_only`` and mmengine's checkpoint data types only.
        device, scope, palette, show_progress: as ``mmdet.apis.DetInferencer``.

    Calling it is mmdet's ``DetInferencer.__call__`` (``out_dir``, ``no_save_pred``,
    ``pred_score_thr``, ``return_datasamples``, ...).
    """

    def __init__(self, model=None, weights: Optional[str] = None, device: Optional[str] = None,
                 scope: Optional[str] = 'mmdet', palette: str = 'none', show_progress: bool = True,
                 trusted: bool = False) -> None:
        self.trusted = trusted
        self.model_entry = None
        super().__init__(model=model, weights=weights, device=device, scope=scope,
                         palette=palette, show_progress=show_progress)

    def _set_dataset_meta(self, model, meta: dict) -> None:
        meta = dict(meta)
        if self.palette != 'none':  # mmdet's priority: palette argument -> config -> checkpoint
            meta['palette'] = self.palette
        elif meta.get('palette') is None:
            meta['palette'] = 'random'
        model.dataset_meta = meta
