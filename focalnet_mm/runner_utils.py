"""What the tools (``tools/*.py``) and :mod:`focalnet_mm.apis` share to run a config: its scope,
its model built without pretrained weights, and the launcher / work dir set-up of
``tools/train.py`` and ``tools/test.py``.

One copy here, so that every entry point validates ``default_scope`` the same way, registers the
same modules and never reads a backbone checkpoint it was not asked for. Module level imports the
standard library only: mmengine, torch and the OpenMMLab package of a scope load when used.
"""
from __future__ import annotations

import copy
import importlib
import os
import os.path as osp
import subprocess
import warnings
from typing import Any, Optional, Sequence

#: The OpenMMLab packages whose configs the tools train, test and infer with (detection and
#: segmentation).
SCOPES = ('mmdet', 'mmseg')
#: Every package the backbones are registered in (``focalnet_mm.registry``): for the tools that
#: also take mmpretrain (classification) configs.
ALL_SCOPES = SCOPES + ('mmpretrain',)


def config_scope(cfg, allowed: Sequence[str] = SCOPES, *, optional: bool = False,
                 register: bool = True, name: Optional[str] = None) -> Optional[str]:
    """The OpenMMLab package a config belongs to: its ``default_scope``, one of ``allowed``.

    Raises ``ValueError`` naming the config and the allowed scopes otherwise; a config without
    ``default_scope`` gives ``None`` if ``optional``. With ``register`` (the default), that
    package's ``register_all_modules(init_default_scope=False)`` runs, so that its registries
    build every type of the config without changing the process-wide default scope; FocalNet and
    the hooks of :mod:`focalnet_mm.engine` are registered by this package's import already.
    ``register=False`` only reads and checks the scope (:mod:`focalnet_mm.apis` resolving a model
    name imports no model code). ``name`` (default: the config's file name) heads the error.
    """
    scope = cfg.get('default_scope') if cfg is not None else None
    if scope is None and optional:
        return None
    _check_scope(scope, allowed, name or getattr(cfg, 'filename', None) or 'the config')
    if register:
        _register_scope(scope)
    return scope


def _check_scope(scope: Optional[str], allowed: Sequence[str], name: str) -> None:
    if scope not in allowed:
        names = [repr(s) for s in allowed]
        expected = ' or '.join([', '.join(names[:-1]), names[-1]] if len(names) > 1 else names)
        fix = ' (set default_scope in the config)' if scope is None else ''
        raise ValueError(f'{name}: default_scope={scope!r}, expected {expected}{fix}')


def _register_scope(scope: str) -> None:
    importlib.import_module(f'{scope}.utils').register_all_modules(init_default_scope=False)


def no_pretrained(model_cfg: dict) -> dict:
    """Switch the backbone's pretrained loading off in ``model_cfg`` (in place; returned).

    The configs point ``backbone.init_cfg`` at an ImageNet checkpoint (a URL or a local file that
    may not exist): building for counting, exporting, visualising or benchmarking must not read
    it. The backbone is ``model_cfg.backbone``, or ``model_cfg`` itself for a bare backbone
    config; the legacy ``pretrained`` keys (mmseg's ``EncoderDecoder``, older backbones) go too.
    """
    model_cfg.pop('pretrained', None)
    backbone = model_cfg['backbone'] if isinstance(model_cfg.get('backbone'), dict) else model_cfg
    backbone.pop('pretrained', None)
    backbone['init_cfg'] = None
    return model_cfg


def build_model(cfg, scope: Optional[str] = None, *, model_cfg: Optional[dict] = None,
                pretrained: bool = False, allowed: Sequence[str] = SCOPES):
    """``cfg.model`` (or ``model_cfg``) built through the ``MODELS`` registry of ``scope``.

    ``scope`` defaults to the config's (:func:`config_scope`); either way that package's modules
    are registered and it is the default scope while building, so unprefixed types resolve there
    as under mmengine's Runner. The caller's config is not modified. Unless ``pretrained``, the
    backbone's ``init_cfg`` is dropped (:func:`no_pretrained`): ``init_weights()`` then gives the
    training-time random initialisation and no checkpoint is read. The module is returned as
    built (train mode, weights not initialised), like ``MODELS.build``.
    """
    from mmengine.registry import DefaultScope
    if scope is None:
        scope = config_scope(cfg, allowed)
    else:  # the caller knows the package (e.g. from the config's folder)
        name = getattr(cfg, 'filename', None) or 'the config'
        _check_scope(scope, allowed, f'{name} (scope argument)')
        _register_scope(scope)
    model_cfg = copy.deepcopy(cfg.model if model_cfg is None else model_cfg)
    if not pretrained:
        no_pretrained(model_cfg)
    registry = importlib.import_module(f'{scope}.registry').MODELS
    with DefaultScope.overwrite_default_scope(scope):
        return registry.build(model_cfg)


# ------------------------------------------------------------------- launcher and work dir
def _replace_syncbn(node: Any) -> int:
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


def finish_distributed() -> None:
    """End a distributed run cleanly: wait for every rank, then destroy the process group.

    Without this the process group is torn down by the interpreter's exit, in no defined order
    with the communication threads still alive; with gloo that intermittently aborts a rank
    (``terminate called without an active exception``, SIGABRT) after a run that succeeded.
    Called on success only: a rank that failed must not wait for the others at a barrier.
    """
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def default_work_dir(cfg, config_path: str, work_dir: Optional[str]) -> None:
    """Set ``cfg.work_dir`` as mmdet's tools do: the command line's ``--work-dir``, else the
    config's own ``work_dir``, else ``./work_dirs/<config file stem>``."""
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])
