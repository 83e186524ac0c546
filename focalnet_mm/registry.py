"""Registers the package's backbones in every installed OpenMMLab ``MODELS`` registry."""
import importlib

from .models import FocalNet, FocalTransformer

# Registries (module path) that get ``type='FocalNet'`` and ``type='FocalTransformer'``; a missing
# package is skipped.
MM_REGISTRIES = ('mmdet.registry', 'mmseg.registry', 'mmpretrain.registry')
BACKBONES = (FocalNet, FocalTransformer)


def register_all() -> list[str]:
    """Register the backbones; returns the scopes where they are now available."""
    scopes = []
    for module_name in MM_REGISTRIES:
        try:
            models = importlib.import_module(module_name).MODELS
        except ImportError:
            continue
        for backbone in BACKBONES:
            if models.module_dict.get(backbone.__name__) is not backbone:
                models.register_module(module=backbone, force=True)
        scopes.append(models.scope)
    return scopes
