"""FocalNet (Focal Modulation Networks) for OpenMMLab 3.x.

``import focalnet_mm`` (or ``custom_imports=dict(imports=['focalnet_mm'])`` in a config)
* registers ``FocalNet`` and ``FocalTransformer`` in the mmdet, mmseg and mmpretrain ``MODELS``
  registries;
* registers the training hooks of :mod:`focalnet_mm.engine` (``RNGStateHook``,
  ``AtomicCheckpointHook``, ``DistLossAverageHook``) in mmengine's ``HOOKS``;
* keeps mmpretrain (which mmdet imports) importable with HF transformers >= 4.57 installed
  (:mod:`focalnet_mm.compat`);
* lets ``torch.load(weights_only=True)`` (torch >= 2.6's default, which mmengine's loaders use)
  read mmengine training checkpoints: their numpy data and ``HistoryBuffer`` are allow-listed,
  nothing that can run code (:func:`focalnet_mm.models.checkpoint.mmengine_safe_globals`). So
  ``--resume``, ``load_from`` and the test tools of mmdet/mmseg themselves work with our configs.
"""
from .compat import fix_transformers_for_mmpretrain

# Before anything imports mmpretrain (mmdet does): HF transformers >= 4.57 breaks its import.
fix_transformers_for_mmpretrain()

from . import engine  # noqa: E402,F401  (RNGStateHook, AtomicCheckpointHook, 'atomic_local')
from .models import ARCH_SETTINGS, FocalNet  # noqa: E402
from .models.checkpoint import allow_mmengine_checkpoints  # noqa: E402
from .registry import register_all  # noqa: E402

__version__ = '0.1.0'
REGISTERED_SCOPES = register_all()
allow_mmengine_checkpoints()

__all__ = ['ARCH_SETTINGS', 'FocalNet', 'REGISTERED_SCOPES', '__version__']
