"""mmseg's ``MMSegInferencer`` with FocalNet model names and safe checkpoint loading."""
from __future__ import annotations

from typing import List, Optional, Union

import torch
from mmseg.apis import MMSegInferencer as _MMSegInferencer

import focalnet_mm  # noqa: F401  (registers FocalNet in mmseg's MODELS)

from ._base import FocalNetInferencerMixin


class SegInferencer(FocalNetInferencerMixin, _MMSegInferencer):
    """``mmseg.apis.MMSegInferencer`` that also knows this repository's models.

    Args:
        model: a name or alias of ``model-index.yml``
            (``'upernet_focalnet-t-srf_8xb2-160k_ade20k-512x512'``), the stem of a config under
            ``configs/`` (``'upernet_focalnet-t-srf_demo'``), a config path, an mmseg model name, or
            None (config taken from ``weights``).
        weights: checkpoint of the whole segmentor (e.g. written by ``tools/train.py``). None runs
            a randomly initialised model with an :class:`UntrainedModelWarning`.
        classes, palette, dataset_name, device, scope: as ``mmseg.apis.MMSegInferencer``.
        show_progress: progress bar while calling (mmseg's inferencer always shows one).
        trusted: unpickle the checkpoint fully (legacy files); default ``weights_only``.

    Calling it is mmseg's ``MMSegInferencer.__call__`` (``out_dir``, ``return_datasamples``, ...).
    """

    def __init__(self, model=None, weights: Optional[str] = None,
                 classes: Optional[Union[str, List]] = None,
                 palette: Optional[Union[str, List]] = None, dataset_name: Optional[str] = None,
                 device: Optional[str] = None, scope: Optional[str] = 'mmseg',
                 show_progress: bool = True, trusted: bool = False) -> None:
        self.trusted = trusted
        self.model_entry = None
        super().__init__(model=model, weights=weights, classes=classes, palette=palette,
                         dataset_name=dataset_name, device=device, scope=scope)
        self.show_progress = show_progress

    @torch.no_grad()
    def forward(self, inputs: dict, **kwargs) -> list:
        """``model.test_step``; a batch of images of different sizes (mmseg's data preprocessor
        refuses them at test time) runs as groups of equal size, in the input order."""
        sizes = [tuple(img.shape[1:]) for img in inputs['inputs']]
        if len(set(sizes)) <= 1:
            return self.model.test_step(inputs)
        preds = [None] * len(sizes)
        for size in dict.fromkeys(sizes):
            idx = [i for i, s in enumerate(sizes) if s == size]
            group = {key: [inputs[key][i] for i in idx] for key in ('inputs', 'data_samples')}
            for i, pred in zip(idx, self.model.test_step(group)):
                preds[i] = pred
        return preds
