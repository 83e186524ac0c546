"""Registers the one FocalNet implementation in every installed OpenMMLab ``MODELS`` registry."""
import importlib

from .models import FocalNet

# Registries (module path) that get ``type='FocalNet'``; a missing package is skipped.
MM_REGISTRIES = ('mmdet.registry', 'mmseg.registry', 'mmpretrain.registry')


def register_all() -> list[str]:
    """Register :class:`FocalNet`; returns the scopes where it is now available."""
    scopes = []
    for module_name in MM_REGISTRIES:
        try:
            models = importlib.import_module(module_name).MODELS
        except ImportError:
            continue
        if models.module_dict.get('FocalNet') is not FocalNet:
            models.register_module(module=FocalNet, force=True)
        scopes.append(models.scope)
    return scopes
