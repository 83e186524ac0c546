from .checkpoint import (CheckpointError, IncompatibleCheckpointError, UnsafeCheckpointError,
                         convert_checkpoint, load_pretrained, read_checkpoint)
from .focalnet import ARCH_SETTINGS, FocalNet
from .cpu_accel import accelerate, remove_acceleration
from .focal_transformer import FocalTransformer

__all__ = ['ARCH_SETTINGS', 'FocalNet', 'CheckpointError', 'IncompatibleCheckpointError',
           'UnsafeCheckpointError', 'convert_checkpoint', 'load_pretrained', 'read_checkpoint',
           'accelerate', 'remove_acceleration', 'FocalTransformer']
