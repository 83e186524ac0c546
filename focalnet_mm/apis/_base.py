"""What :class:`~focalnet_mm.apis.DetInferencer` and :class:`~focalnet_mm.apis.SegInferencer` add to
mmdet's / mmseg's inferencers (a mixin placed before them in the MRO):

* model names of **this** repository's ``model-index.yml`` (name, alias, config stem,
  repository-relative config path), then the parent's own metafile names, then a
  :class:`~focalnet_mm.apis.model_index.ModelNotFoundError` listing close matches;
* safe checkpoint reading: ``weights_only`` unpickling with exactly mmengine's checkpoint data
  types allowed (``focalnet_mm.models.checkpoint.read_checkpoint``), so checkpoints written by
  ``tools/train.py`` load while a file that pickles code is refused
  (:class:`~focalnet_mm.models.checkpoint.UnsafeCheckpointError`; ``trusted=True`` to override);
* a checkpoint that holds none of the model's tensors (e.g. the ImageNet backbone checkpoint named
  by a metafile's ``Weights``) or tensors of other shapes (another config, e.g. another number of
  classes) is refused with an explanation, instead of mmengine's non-strict load that logs the
  mismatch and leaves those layers random;
* the metafiles' ``Weights`` are ImageNet backbone checkpoints (the training's ``init_cfg``; no
  trained detector/segmentor weights are published), so ``weights=None`` never loads them as model
  weights: the model is randomly initialised and an :class:`UntrainedModelWarning` says so;
* class names/palette: from the checkpoint's ``meta.dataset_meta`` (as the parents), otherwise from
  the config's test dataset (the parents fall back to COCO / Cityscapes classes, which do not match
  a model trained on another class list);
* the FocalNet backbone gets the measured CPU inference kernels
  (:func:`focalnet_mm.models.cpu_accel.accelerate`: used on the CPU only, and per block only where
  a one-time micro-benchmark found them faster than the reference; same weights, outputs equal
  within float rounding). ``accelerate_cpu = False`` on the class, or
  ``focalnet_mm.models.cpu_accel.remove_acceleration(inferencer.model)``, runs the reference.
"""
from __future__ import annotations

import copy
import importlib
import warnings
from typing import Optional

import torch

from .model_index import ModelEntry, ModelNotFoundError, find_model, unknown_model_message

_INFERENCER_OF_SCOPE = {'mmdet': 'DetInferencer', 'mmseg': 'SegInferencer'}


class UntrainedModelWarning(UserWarning):
    """The inferencer runs a randomly initialised model (no weights were given)."""


def read_model_checkpoint(weights: str, trusted: bool = False) -> dict:
    """Read a whole-model checkpoint safely (see ``focalnet_mm.models.checkpoint.read_checkpoint``;
    remote/mmengine-scheme paths go through mmengine's loaders under the same allow-list)."""
    from focalnet_mm.models.checkpoint import mmengine_safe_globals, read_checkpoint
    if '://' in weights and not trusted:
        with torch.serialization.safe_globals(mmengine_safe_globals()):
            return read_checkpoint(weights, trusted=trusted)
    return read_checkpoint(weights, trusted=trusted)


def config_from_checkpoint(checkpoint: dict):
    """The config string that mmengine's Runner stores in its checkpoints (as BaseInferencer)."""
    from mmengine.config import Config
    cfg_string = (checkpoint.get('message_hub', {}).get('runtime_info', {}).get('cfg')
                  or checkpoint.get('meta', {}).get('cfg'))
    if not cfg_string:
        raise ValueError('model=None needs a checkpoint written by mmengine\'s Runner (it stores '
                         'the config); this one has no config: pass model=CONFIG_OR_NAME')
    return Config.fromstring(cfg_string, file_format='.py')


def config_dataset_meta(cfg, scope: str) -> Optional[dict]:
    """``classes``/``palette`` of the config's test dataset (built lazily: reads no annotation)."""
    try:
        datasets = importlib.import_module(f'{scope}.registry').DATASETS
        ds_cfg = copy.deepcopy(cfg.test_dataloader.dataset)
        ds_cfg['lazy_init'] = True
        meta = datasets.build(ds_cfg).metainfo
    except Exception:  # no test dataloader, a wrapper dataset, ...: keep the parent's default
        return None
    if not meta.get('classes'):
        return None
    return {'classes': meta['classes'], 'palette': meta.get('palette')}


class FocalNetInferencerMixin:
    """Put before ``mmdet.apis.DetInferencer`` / ``mmseg.apis.MMSegInferencer`` in the bases."""

    trusted: bool = False
    accelerate_cpu: bool = True
    model_entry: Optional[ModelEntry] = None
    _pending_checkpoint: Optional[dict] = None
    _weights_path: Optional[str] = None

    # -- names -----------------------------------------------------------------------------------
    def _load_model_from_metafile(self, model: str):
        """Called by ``BaseInferencer.__init__`` for a ``model`` string that is not a file."""
        entry = find_model(model)
        if entry is not None:
            from mmengine.config import Config
            self.model_entry = entry
            # No weights: a metafile's ``Weights`` is the ImageNet backbone checkpoint.
            return Config.fromfile(entry.config), None
        try:
            return super()._load_model_from_metafile(model)
        except (ValueError, AssertionError, KeyError, FileNotFoundError, ImportError):
            raise ModelNotFoundError(unknown_model_message(
                model, extra=f', nor of {self.scope}\'s own model index')) from None

    def _check_scope(self, cfg) -> None:
        """A config of another package than this inferencer's (no ``default_scope``: any)."""
        from focalnet_mm.runner_utils import config_scope
        name = self.model_entry.name if self.model_entry else None
        try:
            config_scope(cfg, (self.scope,), optional=True, register=False, name=name)
        except ValueError as e:
            other = _INFERENCER_OF_SCOPE.get(cfg.get('default_scope'))
            hint = f': use focalnet_mm.apis.{other}' if other else ''
            raise ValueError(f'{e} (the scope of {type(self).__name__}){hint}') from None

    # -- weights ---------------------------------------------------------------------------------
    def _init_model(self, cfg, weights: Optional[str], device: str = 'cpu'):
        checkpoint = read_model_checkpoint(weights, self.trusted) if weights is not None else None
        if not cfg:
            if checkpoint is None:
                raise ValueError('pass a model name/config, or weights= a checkpoint holding '
                                 'its config')
            cfg.update(config_from_checkpoint(checkpoint)._cfg_dict)
        self._check_scope(cfg)
        self._pending_checkpoint, self._weights_path = checkpoint, weights
        try:
            # The parent builds the model and calls _load_weights_to_model (below) with None.
            model = super()._init_model(cfg, None, device)
        finally:
            self._pending_checkpoint = None  # do not keep the checkpoint's tensors alive
        if self.accelerate_cpu:
            from focalnet_mm.models.cpu_accel import accelerate
            accelerate(model)
        return model

    def _check_fits(self, model: torch.nn.Module, checkpoint: dict) -> None:
        from focalnet_mm.models.checkpoint import unwrap_state_dict
        ckpt_sd = unwrap_state_dict(checkpoint)
        model_sd = model.state_dict()
        ckpt_keys, model_keys = set(ckpt_sd), set(model_sd)
        common = ckpt_keys & model_keys
        if common:
            mismatched = sorted(k for k in common if ckpt_sd[k].shape != model_sd[k].shape)
            if mismatched:
                raise ValueError(
                    f'checkpoint {self._weights_path!r} does not fit this model: '
                    f'{len(mismatched)} tensors differ in shape, e.g. ' + '; '.join(
                        f'{k}: checkpoint {tuple(ckpt_sd[k].shape)} vs model '
                        f'{tuple(model_sd[k].shape)}' for k in mismatched[:3])
                    + '. Is it a checkpoint of another config (e.g. another number of classes)? '
                    'Pass the config it was trained with (or model=None to take it from the '
                    'checkpoint).')
            return  # partial fits: mmengine's non-strict load reports missing/unexpected keys
        backbone_like = any(k.startswith(('patch_embed.', 'layers.', 'stem.', 'focalnet.'))
                            for k in ckpt_keys)
        msg = (f'checkpoint {self._weights_path!r} holds none of the model\'s {len(model_keys)} '
               f'tensors (checkpoint keys e.g. {sorted(ckpt_keys)[:3]}, model keys e.g. '
               f'{sorted(model_keys)[:3]}).')
        if backbone_like:
            msg += (' It is a FocalNet backbone (classification) checkpoint: it initialises the '
                    "backbone for training (init_cfg=dict(type='Pretrained', checkpoint=...)); "
                    'inference needs a checkpoint of the whole model, e.g. one written by '
                    'tools/train.py.')
        raise ValueError(msg)

    def _load_weights_to_model(self, model, checkpoint, cfg) -> None:
        checkpoint = self._pending_checkpoint if checkpoint is None else checkpoint
        if checkpoint is not None:
            self._check_fits(model, checkpoint)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            super()._load_weights_to_model(model, checkpoint, cfg)
        has_meta = checkpoint is not None and 'dataset_meta' in (checkpoint.get('meta') or {})
        replaced = False
        if not has_meta:
            meta = config_dataset_meta(cfg, self.scope)
            if meta is not None:
                self._set_dataset_meta(model, meta)
                replaced = True
        for w in caught:
            text = str(w.message)
            if checkpoint is None and 'randomly initialized' in text:
                continue  # replaced by the UntrainedModelWarning below
            if replaced and ('classes by default' in text or 'class names are not saved' in text):
                continue
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        if checkpoint is None:
            warnings.warn(self._untrained_message(), UntrainedModelWarning, stacklevel=2)

    def _set_dataset_meta(self, model, meta: dict) -> None:
        model.dataset_meta = dict(meta)

    def _untrained_message(self) -> str:
        e = self.model_entry
        msg = ('weights=None: the model is randomly initialised, its predictions are meaningless. '
               'Pass weights= a checkpoint of this model (e.g. written by tools/train.py).')
        if e is not None and e.in_metafile:
            msg = (f'no trained weights are published for {e.name!r}, and weights=None: the model '
                   'is randomly initialised, its predictions are meaningless.')
            if e.weights:
                msg += (f' The model index\'s Weights ({e.weights}) is the ImageNet FocalNet '
                        'checkpoint its training starts from (the backbone init_cfg), not '
                        'weights of the whole model, so it is not loaded.')
            msg += (f' Train it (python tools/train.py {e.config}) and pass weights= the '
                    'resulting checkpoint.')
        return msg
