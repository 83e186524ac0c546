"""Shared helpers of ``tools/train.py`` and ``tools/test.py`` (mmdet and mmseg configs alike)."""
from __future__ import annotations

import importlib
import os
import os.path as osp
import sys
import warnings

# Make ``focalnet_mm`` importable from a source checkout that is not pip-installed (as mmdet's
# tools do with PYTHONPATH).
_ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..'))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

SCOPES = ('mmdet', 'mmseg')


def detect_scope(cfg) -> str:
    """The OpenMMLab package a config belongs to, from its ``default_scope``."""
    scope = cfg.get('default_scope')
    if scope not in SCOPES:
        raise ValueError(f'config default_scope={scope!r}: tools/train.py and tools/test.py support '
                         f'{SCOPES} (set default_scope in the config)')
    return scope


def register_scope(scope: str) -> None:
    """``register_all_modules`` of the config's package (and FocalNet in its registries)."""
    importlib.import_module(f'{scope}.utils').register_all_modules(init_default_scope=False)
    # registers FocalNet and our hooks even without custom_imports, and lets torch's weights_only
    # loader read mmengine checkpoints (load_from, --resume)
    import focalnet_mm  # noqa: F401


def _replace_syncbn(node) -> int:
    count = 0
    if isinstance(node, dict):
        for key, value in node.items():
            if key == 'type' and value == 'SyncBN':
                node[key] = 'BN'
                count += 1
            else:
                count += _replace_syncbn(value)
    elif isinstance(node, (list, tuple)):
        for item in node:
            count += _replace_syncbn(item)
    return count


def setup_launcher(cfg, launcher: str) -> None:
    """Set ``cfg.launcher``; on a machine without CUDA make distributed runs work on CPU.

    Without CUDA, mmengine's ``init_dist`` calls ``torch.cuda.set_device`` (fails) and its default
    DDP wrapper passes ``device_ids=[LOCAL_RANK]`` (refused by DDP for CPU modules). So on CPU the
    process group is initialised here with the ``gloo`` backend (from the torchrun / slurm / MPI
    environment variables) before the Runner is built, DDP gets ``device_ids=None``, and SyncBN,
    which torch only implements for accelerators, becomes per-process BN (with a warning).
    """
    import torch
    cfg.launcher = launcher
    if launcher == 'none' or torch.cuda.is_available():
        return
    env_cfg = cfg.setdefault('env_cfg', {})
    dist_cfg = env_cfg.setdefault('dist_cfg', {})
    if dist_cfg.get('backend', 'gloo') != 'gloo':
        warnings.warn(f"dist backend {dist_cfg['backend']!r} needs CUDA; using 'gloo' on CPU")
    dist_cfg['backend'] = 'gloo'
    wrapper = cfg.get('model_wrapper_cfg') or dict(type='MMDistributedDataParallel',
                                                    broadcast_buffers=False,
                                                    find_unused_parameters=cfg.get(
                                                        'find_unused_parameters', False))
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    n = _replace_syncbn(cfg.model)
    if n:
        warnings.warn(f'CPU distributed run: {n} SyncBN layer config(s) replaced by BN (torch has no '
                      'CPU SyncBatchNorm); batch statistics are per process')
    _init_cpu_process_group(launcher, dist_cfg)


def _init_cpu_process_group(launcher: str, dist_cfg: dict) -> None:
    import subprocess

    import torch.distributed as dist
    if dist.is_initialized():
        return
    env = os.environ
    if launcher == 'pytorch':  # torchrun sets everything
        rank, world = int(env['RANK']), int(env['WORLD_SIZE'])
    elif launcher == 'slurm':
        rank, world = int(env['SLURM_PROCID']), int(env['SLURM_NTASKS'])
        env['LOCAL_RANK'] = env.get('SLURM_LOCALID', '0')
        if 'MASTER_ADDR' not in env:
            nodes = env.get('SLURM_NODELIST', '127.0.0.1')
            addr = subprocess.getoutput(f'scontrol show hostname {nodes} | head -n1')
            env['MASTER_ADDR'] = addr if addr and 'not found' not in addr else '127.0.0.1'
        env.setdefault('MASTER_PORT', '29500')
    elif launcher == 'mpi':
        rank, world = int(env['OMPI_COMM_WORLD_RANK']), int(env['OMPI_COMM_WORLD_SIZE'])
        env['LOCAL_RANK'] = env.get('OMPI_COMM_WORLD_LOCAL_RANK', '0')
        env.setdefault('MASTER_ADDR', '127.0.0.1')
        env.setdefault('MASTER_PORT', '29500')
    else:
        raise ValueError(f'unknown launcher {launcher!r}')
    env['RANK'], env['WORLD_SIZE'] = str(rank), str(world)
    kwargs = {k: v for k, v in dist_cfg.items() if k != 'backend'}
    dist.init_process_group(backend='gloo', rank=rank, world_size=world, **kwargs)


def default_work_dir(cfg, config_path: str, work_dir: str | None) -> None:
    # priority: CLI > segment in file > config file name
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])
