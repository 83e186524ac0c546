"""Training-engine additions for mmengine: crash-safe checkpoints, exact resume, pre-emptible
training, rank-averaged loss logging, bf16 autocast training on CPU (docs/robustness.md).

Importing this package registers ``RNGStateHook``, ``AtomicCheckpointHook``, ``PreemptionHook``
and ``DistLossAverageHook`` in mmengine's ``HOOKS`` registry (visible from the mmdet/mmseg/mmpretrain
scopes), ``AutocastOptimWrapper`` in ``OPTIM_WRAPPERS`` and the ``atomic_local`` file backend.
"""
from .fileio import AtomicLocalBackend, atomic_write_bytes, atomic_write_text, remove_stale_tmp
from .hooks import (AtomicCheckpointHook, DistLossAverageHook, RNGStateHook, get_rng_state,
                    resume_mid_epoch, set_rng_state)
from .optim import AutocastOptimWrapper
from .preemption import (REQUEUE_EXIT_CODE, Preempted, PreemptionHook, preempted_marker)

__all__ = ['AtomicCheckpointHook', 'AtomicLocalBackend', 'AutocastOptimWrapper',
           'DistLossAverageHook', 'Preempted', 'PreemptionHook', 'REQUEUE_EXIT_CODE', 'RNGStateHook',
           'atomic_write_bytes', 'atomic_write_text', 'get_rng_state', 'preempted_marker',
           'remove_stale_tmp', 'resume_mid_epoch', 'set_rng_state']
