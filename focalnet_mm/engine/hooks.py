"""mmengine hooks that make an interrupted training run resume exactly where it stopped.

What mmengine 0.10.7 restores on ``resume``: model weights, optimizer state, parameter schedulers,
the message hub (log history, ``keep_ckpt_ids``), the loop counters (epoch, iter) and the seed (it
re-seeds only if the checkpoint's seed differs from the config's). The sampler order is a function
of ``seed + epoch`` (``DefaultSampler``), so it is restored too. What it does *not* restore: the
global python / numpy / torch random number generators as they were at the checkpoint. Those drive
the random data transforms (``num_workers=0``: in the main process), drop-path, RoI sampling and the
DataLoader's base seed, so a resumed run diverges from an uninterrupted run from its first
iteration.

* :class:`RNGStateHook` stores the three generators (and CUDA's) of every rank in the checkpoint and
  puts them back at the point where the uninterrupted run stood: at the first
  ``before_train_epoch`` of an epoch-based loop, and, for ``IterBasedTrainLoop`` (which re-iterates
  the dataloader ``iter`` times to skip the consumed batches, running the random transforms again),
  right after that skip, before the next batch is drawn. With it, kill + ``--resume`` gives
  bit-identical weights and losses on CPU (tests/integration/test_resume.py).
  A checkpoint taken in the middle of an epoch of an ``EpochBasedTrainLoop`` (by
  :class:`~focalnet_mm.engine.preemption.PreemptionHook`, or an iteration-interval
  ``CheckpointHook``) resumes in the middle of that epoch too (:func:`resume_mid_epoch`): mmengine
  alone would restart the epoch from its first batch.
* :class:`AtomicCheckpointHook` is mmengine's ``CheckpointHook`` with crash-safe writes: the
  checkpoint and ``last_checkpoint`` are written atomically (:mod:`focalnet_mm.engine.fileio`), and
  checkpoints beyond ``max_keep_ckpts`` are removed only *after* the new one and ``last_checkpoint``
  are in place (mmengine removes the old one first, so a kill while saving leaves
  ``last_checkpoint`` naming a deleted file next to a truncated new one).
"""
from __future__ import annotations

import os.path as osp
import random
import warnings
from typing import Optional

import numpy as np
import torch
from mmengine.dist import all_gather_object, all_reduce, get_rank, get_world_size, is_main_process
from mmengine.hooks import CheckpointHook, Hook
from mmengine.registry import HOOKS

from .fileio import BACKEND_NAME, atomic_write_text, remove_stale_tmp

RNG_KEY = 'rng_state'


def get_rng_state() -> dict:
    """The python, numpy, torch (and CUDA) generator states, as plain types and tensors only (so
    that ``torch.load(weights_only=True)`` reads them)."""
    version, mt, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    state = dict(
        python=dict(version=version, state=list(mt), gauss=gauss),
        numpy=dict(name=str(name), keys=torch.from_numpy(np.asarray(keys, dtype=np.int64)),
                   pos=int(pos), has_gauss=int(has_gauss), cached_gaussian=float(cached)),
        torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Inverse of :func:`get_rng_state`."""
    py = state['python']
    random.setstate((py['version'], tuple(py['state']), py['gauss']))
    npst = state['numpy']
    np.random.set_state((npst['name'], npst['keys'].numpy().astype(np.uint32), npst['pos'],
                         npst['has_gauss'], npst['cached_gaussian']))
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        cuda = state['cuda']
        if len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda)
        else:
            warnings.warn(f'checkpoint holds {len(cuda)} CUDA generator states, this machine has '
                          f'{torch.cuda.device_count()} devices: CUDA generators not restored')


class _RestoreAfter:
    """Wraps ``IterBasedTrainLoop.dataloader_iterator``: after ``skip`` batches have been drawn (the
    loop's skip of the already-trained batches) restores the generator states, then gets out of the
    way."""

    def __init__(self, inner, skip: int, state: dict, loop):
        self._inner, self._skip, self._state, self._loop = inner, skip, state, loop

    def __iter__(self):
        return self

    def __next__(self):
        if self._skip == 0:
            set_rng_state(self._state)
            self._loop.dataloader_iterator = self._inner  # unwrap: the rest is mmengine's
            return next(self._inner)
        self._skip -= 1
        return next(self._inner)

    def __getattr__(self, name):
        return getattr(self._inner, name)


class _PartialEpoch:
    """The first epoch of a run resumed from a mid-epoch checkpoint of an ``EpochBasedTrainLoop``.

    Installed as the loop's ``run_epoch`` for one call. It runs mmengine 0.10's
    ``EpochBasedTrainLoop.run_epoch`` (before_train_epoch hooks, train mode, one ``run_iter`` per
    batch, after_train_epoch hooks, epoch counter) except that it first draws and drops the
    ``skip`` batches the interrupted run had trained on (running their random transforms, as
    ``IterBasedTrainLoop`` does on resume), then calls ``after_skip`` (e.g. the generator restore),
    and numbers the remaining batches from ``skip`` so that per-epoch bookkeeping (logging, end of
    epoch) sees the indices of an uninterrupted epoch.
    """

    def __init__(self, loop, skip: int):
        self.loop, self.skip = loop, skip
        self.after_skip: list = []

    def __call__(self) -> None:
        loop = self.loop
        del loop.run_epoch  # the following epochs: the class's own run_epoch
        runner = loop.runner
        runner.call_hook('before_train_epoch')
        runner.model.train()
        batches = iter(loop.dataloader)
        for _ in range(self.skip):
            next(batches)
        for fn in self.after_skip:
            fn()
        runner.logger.info(f'resumed in the middle of epoch {loop.epoch + 1}: skipped the '
                           f'{self.skip} batch(es) trained before the checkpoint')
        for idx, data_batch in enumerate(batches, start=self.skip):
            loop.run_iter(idx, data_batch)
        runner.call_hook('after_train_epoch')
        loop._epoch += 1


def resume_mid_epoch(runner) -> Optional[_PartialEpoch]:
    """If the run resumed from a checkpoint taken inside an epoch of an ``EpochBasedTrainLoop``,
    make the loop continue that epoch after the batches already trained; returns the
    :class:`_PartialEpoch` (add callbacks to its ``after_skip``), else ``None``. Idempotent: every
    hook that needs it gets the same object. Call it in ``before_train`` (after the resume, before
    the first epoch starts)."""
    loop = runner.train_loop
    current = loop.__dict__.get('run_epoch')
    if isinstance(current, _PartialEpoch):
        return current
    if hasattr(loop, 'dataloader_iterator') or not hasattr(loop, 'run_epoch'):
        return None  # IterBasedTrainLoop skips consumed batches itself
    try:
        per_epoch = len(loop.dataloader)
    except TypeError:
        return None
    skip = loop.iter - loop.epoch * per_epoch
    if per_epoch == 0 or skip <= 0:
        return None
    if skip > per_epoch:
        raise RuntimeError(f'checkpoint at iteration {loop.iter}, epoch {loop.epoch}: more than '
                           f'the {per_epoch} batches of an epoch already trained in it; did the '
                           'dataloader length change since the checkpoint was written?')
    partial = _PartialEpoch(loop, skip)
    loop.run_epoch = partial
    return partial


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Save the random generator states in checkpoints and restore them on ``resume``.

    Add it with ``custom_hooks = [dict(type='RNGStateHook')]`` (the focalnet-mm configs do). In a
    distributed run every rank's states are gathered into the checkpoint; a resume with another
    world size restores none (with a warning), as the data split differs anyway. A mid-epoch
    checkpoint of an epoch-based loop resumes mid-epoch (:func:`resume_mid_epoch`), the states
    restored once the consumed batches are drawn again.
    """

    # restore before any other hook of the first epoch could draw random numbers, and gather the
    # ranks' states before CheckpointHook (VERY_LOW) saves
    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self._pending: Optional[dict] = None
        self._gathered: Optional[list] = None

    # --- saving -----------------------------------------------------------------------------
    # `Runner.save_checkpoint` (and so `before_save_checkpoint`) runs on rank 0 only, so in a
    # distributed run the ranks' states are gathered beforehand, in the `after_train_iter` /
    # `after_train_epoch` where a CheckpointHook is about to save (all ranks call those).

    @staticmethod
    def _saves_now(runner, by_epoch: bool) -> bool:
        hooks = [h for h in runner.hooks if isinstance(h, CheckpointHook)]
        if not hooks:
            return True
        for h in hooks:
            if h.by_epoch != by_epoch or h.interval <= 0 and not h.save_last:
                continue
            if by_epoch:
                due = h.interval > 0 and h.every_n_epochs(runner, h.interval, h.save_begin)
                last = h.is_last_train_epoch(runner)
            else:
                due = h.interval > 0 and h.every_n_train_iters(runner, h.interval, h.save_begin)
                last = h.is_last_train_iter(runner)
            if due or (h.save_last and last):
                return True
        return False

    def _gather(self, runner, by_epoch: bool) -> None:
        if get_world_size() > 1 and self._saves_now(runner, by_epoch):
            self._gathered = all_gather_object(get_rng_state())

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._gather(runner, by_epoch=False)

    def after_train_epoch(self, runner) -> None:
        self._gather(runner, by_epoch=True)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        world = get_world_size()
        if world == 1:
            states = [get_rng_state()]
        elif self._gathered is not None:
            states, self._gathered = self._gathered, None
        else:  # e.g. a best checkpoint saved after validation: only this rank's state is known
            states = None
        if states is not None:
            checkpoint[RNG_KEY] = dict(world_size=world, states=states)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if not getattr(runner, '_resume', False):
            return  # load_from (fine-tuning): keep this run's own seeded generators
        saved = checkpoint.get(RNG_KEY)
        if saved is None:
            runner.logger.warning('RNGStateHook: the checkpoint holds no random generator states; '
                                  'the resumed run will not repeat the uninterrupted one exactly')
            return
        world = get_world_size()
        if saved['world_size'] != world:
            runner.logger.warning(f"RNGStateHook: checkpoint written by {saved['world_size']} "
                                  f'processes, resuming with {world}: generators not restored')
            return
        self._pending = saved['states'][get_rank()]

    def gather_now(self) -> None:
        """Gather every rank's states for a checkpoint saved outside the CheckpointHook's schedule
        (e.g. on pre-emption). All ranks must call it."""
        if get_world_size() > 1:
            self._gathered = all_gather_object(get_rng_state())

    def before_train(self, runner) -> None:
        if self._pending is None:
            return
        partial = resume_mid_epoch(runner)
        if partial is not None:  # restore after the consumed batches were drawn again
            state, self._pending = self._pending, None
            partial.after_skip.append(lambda: set_rng_state(state))
            runner.logger.info('RNGStateHook: random generator states restored from the '
                               'checkpoint (after the skipped batches)')

    def before_train_epoch(self, runner) -> None:
        if self._pending is None:
            return
        state, self._pending = self._pending, None
        loop = runner.train_loop
        skip = getattr(loop, 'iter', 0)
        if hasattr(loop, 'dataloader_iterator') and skip > 0:
            # IterBasedTrainLoop: `before_train_epoch` runs before it skips `iter` batches
            loop.dataloader_iterator = _RestoreAfter(loop.dataloader_iterator, skip, state, loop)
        else:
            set_rng_state(state)
        runner.logger.info('RNGStateHook: random generator states restored from the checkpoint')


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` (same arguments) with crash-safe saving.

    * With no ``backend_args``/``file_client_args`` and a local ``out_dir``, checkpoints are written
      through the ``atomic_local`` backend (temp file + fsync + ``os.replace``).
    * ``last_checkpoint`` is replaced atomically, after the checkpoint it names is complete.
    * Checkpoints beyond ``max_keep_ckpts`` are deleted after that, so at every instant
      ``last_checkpoint`` names a complete file and ``--resume`` finds it.
    * Temporary files of a killed save are removed at the start of training.
    """

    def __init__(self, *args, **kwargs) -> None:
        self._auto_atomic = (kwargs.get('backend_args') is None
                             and kwargs.get('file_client_args') is None)
        super().__init__(*args, **kwargs)

    def before_train(self, runner) -> None:
        out_dir = self.out_dir if self.out_dir is not None else runner.work_dir
        local = '://' not in str(out_dir)
        if self._auto_atomic and local:
            self.backend_args = dict(backend=BACKEND_NAME)
        super().before_train(runner)
        if local and is_main_process() and osp.isdir(self.out_dir):
            for path in remove_stale_tmp(self.out_dir):
                runner.logger.warning(f'removed the partial checkpoint {path} of a killed save')

    def _save_checkpoint_with_step(self, runner, step, meta):
        # Overrides a private method of mmengine 0.10's CheckpointHook (hence mmengine<0.11 in
        # setup.cfg): the same steps, but old checkpoints are removed last.
        outdated = []
        if self.max_keep_ckpts > 0:
            if not (len(self.keep_ckpt_ids) > 0 and self.keep_ckpt_ids[-1] == step):
                if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                    outdated.append(self.keep_ckpt_ids.popleft())
                self.keep_ckpt_ids.append(step)
                runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))

        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)

        runner.save_checkpoint(
            self.out_dir,
            ckpt_filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)

        if not is_main_process():
            return
        atomic_write_text(self.last_ckpt, osp.join(runner.work_dir, 'last_checkpoint'))
        for old in outdated:
            path = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(old))
            if path == self.last_ckpt:
                continue
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):  # deepspeed checkpoints are directories
                self.file_backend.rmtree(path)


@HOOKS.register_module()
class DistLossAverageHook(Hook):
    """Log the losses averaged over all ranks, not rank 0's alone.

    mmengine 3.x's ``BaseModel.parse_losses`` does not reduce ``log_vars`` across processes (mmcv
    1.x / mmdet 2.x did), so a distributed run logs the loss of rank 0's share of the batch: a
    noisier curve than a single process with the same total batch. This hook all-reduces (mean) the
    iteration's scalar outputs before ``RuntimeInfoHook`` puts them in the message hub (one
    all-reduce of a few floats per iteration; a no-op in a single process). With per-sample losses
    and equal shares, the logged loss is then the loss of the whole batch.
    """

    priority = 'HIGHEST'  # before RuntimeInfoHook (VERY_HIGH) reads `outputs`

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if not outputs or get_world_size() == 1:
            return
        keys = [k for k, v in outputs.items()
                if isinstance(v, (int, float)) or (torch.is_tensor(v) and v.numel() == 1)]
        values = torch.tensor([float(torch.as_tensor(outputs[k]).detach()) for k in keys],
                              dtype=torch.float64)
        all_reduce(values, op='mean')  # moves to the backend's device and back
        for k, v in zip(keys, values.tolist()):
            outputs[k] = v
