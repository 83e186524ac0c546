"""Whole ImageNet classification checkpoints (official, timm, HF transformers) for mmpretrain's
``ImageClassifier(backbone=FocalNet(out_indices=(3,)), neck=GlobalAveragePooling,
head=LinearClsHead)``, head and final norm included.

The classification FocalNet is our backbone with one output: its ``norm3`` (LayerNorm over the
channels of the last stage output) is the classification model's final ``norm``, applied before
global average pooling, then the linear head. So a classification checkpoint maps onto the
classifier as

    official / timm / HF backbone keys  ->  backbone.*      (names and shapes as the backbone loader)
    norm.*   (timm ``norm.*``, HF ``focalnet.layernorm.*``)  ->  backbone.norm3.*
    head.*   (timm ``head.fc.*``, HF ``classifier.*``)       ->  head.fc.*

strictly: every tensor of the classifier must come from the checkpoint, with its shape (a
checkpoint without head or final norm, or a head with another class count, is refused with
:class:`~focalnet_mm.models.checkpoint.IncompatibleCheckpointError`).

Importing this module (the mmpretrain configs list it in ``custom_imports``) registers

* :class:`ClassifierCheckpointHook`, which converts whatever mmengine's ``Runner.load_checkpoint``
  read (``load_from``, the checkpoint argument of mmpretrain's ``tools/test.py``) before it is
  loaded into the model (mmengine's ``after_load_checkpoint`` point); mmengine/mmpretrain
  checkpoints pass unchanged;
* a safe mmengine checkpoint loader for the published FocalNet weight URLs (the GitHub release
  assets and timm's ``focalnet_*`` files on the HF hub): downloaded once into torch's hub cache,
  read with ``weights_only`` (``.safetensors`` too, which mmengine cannot read), instead of
  mmengine's HTTP loader, which unpickles downloads fully.
"""
from __future__ import annotations

import os
import os.path as osp
import re
from urllib.parse import urlparse

import torch
import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.registry import HOOKS
from mmengine.runner import CheckpointLoader

from .checkpoint import (IncompatibleCheckpointError, LoadReport, adapt_state_dict,
                         read_checkpoint, to_official, unwrap_state_dict)

# URL prefixes served by :func:`load_focalnet_url` (mmengine picks the longest matching scheme)
WEIGHT_URL_PREFIXES = ('https://github.com/microsoft/FocalNet/releases/download/',
                       'https://huggingface.co/timm/focalnet_')


def _unwrap_model(model: nn.Module) -> nn.Module:
    return model.module if hasattr(model, 'module') and isinstance(model.module, nn.Module) \
        else model


def is_mm_classifier_state(sd: dict) -> bool:
    """An mmpretrain ImageClassifier state dict (``backbone.*`` and ``head.*`` keys)."""
    return any(k.startswith('backbone.') for k in sd) and any(k.startswith('head.') for k in sd)


def classifier_state_dict(ckpt: dict, model: nn.Module, missing_head: str = 'error'
                          ) -> tuple[dict, LoadReport]:
    """Convert an official/timm/HF classification checkpoint (or its state dict) into the state
    dict of ``model`` (an ImageClassifier with a FocalNet backbone), or raise
    :class:`IncompatibleCheckpointError`.

    ``missing_head='init'`` accepts a checkpoint that has the final norm but no head (timm's
    FocalNet-H fl4): the head keeps the model's values and ``report.kept_at_init`` says so.
    """
    if missing_head not in ('error', 'init'):
        raise ValueError(f"missing_head must be 'error' or 'init', got {missing_head!r}")
    model = _unwrap_model(model)
    backbone = model.backbone
    if not hasattr(backbone, 'out_indices') or not hasattr(model.head, 'fc'):
        raise TypeError('classifier_state_dict: expected an ImageClassifier with a FocalNet '
                        f'backbone and a linear head, got {type(model).__name__}')
    last = backbone.num_stages - 1
    if tuple(backbone.out_indices) != (last,):
        raise ValueError(f'the classification FocalNet has out_indices=({last},) (its norm{last} '
                         f'is the final norm), got {backbone.out_indices}')
    sd = unwrap_state_dict(ckpt)
    if not sd:
        raise IncompatibleCheckpointError('checkpoint holds no tensors')
    official, fmt = to_official(sd)
    head = {k[len('head.'):]: v for k, v in official.items() if k.startswith('head.')}
    norm = {k[len('norm.'):]: v for k, v in official.items() if k.startswith('norm.')}
    missing = [name for name, part in (('head', head), ('final norm', norm)) if not part]
    head_at_init = missing == ['head'] and missing_head == 'init'
    if missing and not head_at_init:
        raise IncompatibleCheckpointError(
            f'not a classification checkpoint: no {" and no ".join(missing)} '
            f'({fmt} format; a backbone-only or detection checkpoint?). Load it into the backbone '
            "instead: model.backbone.init_cfg=dict(type='Pretrained', checkpoint=...)")
    body = {k: v for k, v in official.items() if not k.startswith(('head.', 'norm.'))}
    body.update({f'norm{last}.{k}': v for k, v in norm.items()})
    backbone_sd = backbone.state_dict()
    adapted, report = adapt_state_dict(body, backbone_sd, fmt)
    for k in report.kept_at_init:  # added focal levels only (norm{last} came from the checkpoint)
        adapted[k] = backbone_sd[k]
    out = {f'backbone.{k}': v for k, v in adapted.items()}

    fc = model.head.fc
    if head_at_init:
        head = {'weight': fc.weight.detach(), 'bias': fc.bias.detach()}
        report.kept_at_init += ['head.fc.weight', 'head.fc.bias']
    if set(head) != {'weight', 'bias'}:
        raise IncompatibleCheckpointError(f'classification head with keys {sorted(head)}, '
                                          'expected weight and bias')
    if tuple(head['weight'].shape) != tuple(fc.weight.shape):
        raise IncompatibleCheckpointError(
            f'checkpoint head {tuple(head["weight"].shape)} (classes x channels) does not fit the '
            f'model head {tuple(fc.weight.shape)}: another number of classes? For another '
            "dataset load the backbone only (model.backbone.init_cfg=dict(type='Pretrained', "
            'checkpoint=...)) or set head.num_classes to the checkpoint\'s')
    out['head.fc.weight'], out['head.fc.bias'] = head['weight'], head['bias']

    model_sd = model.state_dict()
    for k, v in model_sd.items():  # normalisation buffers, not in any classification checkpoint
        if k.startswith('data_preprocessor.'):
            out[k] = v
    expected = set(model_sd)
    if set(out) != expected:
        extra, lacking = sorted(set(out) - expected), sorted(expected - set(out))
        raise IncompatibleCheckpointError(f'converted checkpoint does not match the classifier: '
                                          f'unexpected {extra[:3]}, missing {lacking[:3]}')
    return out, report


def load_classifier_checkpoint(model: nn.Module, path: str, trusted: bool = False,
                               missing_head: str = 'error') -> LoadReport:
    """Read (safely, see :func:`~focalnet_mm.models.checkpoint.read_checkpoint`), convert and
    strictly load a classification checkpoint into an ImageClassifier."""
    ckpt = read_checkpoint(path, trusted=trusted)
    sd = unwrap_state_dict(ckpt)
    if not is_mm_classifier_state(sd):
        sd, report = classifier_state_dict(sd, model, missing_head)
    else:
        report = LoadReport(source_format='mmpretrain')
    _unwrap_model(model).load_state_dict(sd, strict=True)
    return report


@HOOKS.register_module()
class ClassifierCheckpointHook(Hook):
    """Converts an official/timm/HF FocalNet classification checkpoint that mmengine's Runner has
    read (``load_from``, or mmpretrain ``tools/test.py CONFIG CHECKPOINT``) into the
    ImageClassifier's names before the Runner loads it; mmengine-format checkpoints (training
    checkpoints, ``--resume``) are left untouched."""

    priority = 'VERY_HIGH'

    def __init__(self, missing_head: str = 'error') -> None:
        if missing_head not in ('error', 'init'):
            raise ValueError(f"missing_head must be 'error' or 'init', got {missing_head!r}")
        self.missing_head = missing_head

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        sd = unwrap_state_dict(checkpoint)
        if not sd or is_mm_classifier_state(sd):
            return
        converted, report = classifier_state_dict(sd, runner.model, self.missing_head)
        if 'head.fc.weight' in report.kept_at_init:
            runner.logger.warning('ClassifierCheckpointHook: the checkpoint has no classification '
                                  'head; the head keeps its initial values')
        checkpoint.clear()
        checkpoint['state_dict'] = converted
        runner.logger.info(f'ClassifierCheckpointHook: converted the {report.source_format}-'
                           f'format classification checkpoint ({len(converted)} tensors, head '
                           f'and final norm included; {report.summary()})')


def _download(url: str) -> str:
    """Local path of ``url``'s file in torch's hub cache, downloaded first if needed."""
    try:  # atomic, completeness-checked download with errors that name the alternatives
        from .checkpoint import download_checkpoint
    except ImportError:  # an older checkpoint module: torch's downloader (temp file + rename)
        download_checkpoint = None
    if download_checkpoint is not None:
        return download_checkpoint(url)
    from torch.hub import download_url_to_file, get_dir
    parts = urlparse(url).path.strip('/').split('/')
    name = f'{parts[1]}.{parts[-1]}' if 'huggingface.co' in url else parts[-1]
    path = osp.join(get_dir(), 'checkpoints', re.sub(r'[^A-Za-z0-9._-]', '_', name))
    if not osp.isfile(path):
        os.makedirs(osp.dirname(path), exist_ok=True)
        download_url_to_file(url, path, progress=True)
    return path


def load_focalnet_url(url: str, map_location=None) -> dict:
    """mmengine checkpoint loader for the published FocalNet weights: downloaded once into
    ``$TORCH_HOME/hub/checkpoints``, then :func:`read_checkpoint` (``weights_only``;
    safetensors)."""
    ckpt = read_checkpoint(_download(url))
    if map_location not in (None, 'cpu'):
        ckpt = {k: v.to(map_location) if isinstance(v, torch.Tensor) else v
                for k, v in ckpt.items()}
    return ckpt


def register_url_loader() -> None:
    for prefix in WEIGHT_URL_PREFIXES:
        if CheckpointLoader._schemes.get(prefix) is not load_focalnet_url:
            CheckpointLoader.register_scheme(prefix, load_focalnet_url, force=True)


register_url_loader()
