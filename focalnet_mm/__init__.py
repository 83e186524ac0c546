"""FocalNet (Focal Modulation Networks) for OpenMMLab 3.x.

``import focalnet_mm`` (or ``custom_imports=dict(imports=['focalnet_mm'])`` in a config) registers
``FocalNet`` in the mmdet, mmseg and mmpretrain ``MODELS`` registries.
"""
from .models import ARCH_SETTINGS, FocalNet
from .registry import register_all

__version__ = '0.1.0'
REGISTERED_SCOPES = register_all()

__all__ = ['ARCH_SETTINGS', 'FocalNet', 'REGISTERED_SCOPES', '__version__']
