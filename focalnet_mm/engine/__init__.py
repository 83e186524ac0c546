"""Training-engine additions for mmengine: crash-safe checkpoints, exact resume, rank-averaged
loss logging (docs/robustness.md).

Importing this package registers ``RNGStateHook``, ``AtomicCheckpointHook`` and
``DistLossAverageHook`` in mmengine's ``HOOKS`` registry (visible from the mmdet/mmseg scopes) and
the ``atomic_local`` file backend.
"""
from .fileio import AtomicLocalBackend, atomic_write_bytes, atomic_write_text, remove_stale_tmp
from .hooks import (AtomicCheckpointHook, DistLossAverageHook, RNGStateHook, get_rng_state,
                    set_rng_state)

__all__ = ['AtomicCheckpointHook', 'AtomicLocalBackend', 'DistLossAverageHook', 'RNGStateHook',
           'atomic_write_bytes', 'atomic_write_text', 'get_rng_state', 'remove_stale_tmp',
           'set_rng_state']
