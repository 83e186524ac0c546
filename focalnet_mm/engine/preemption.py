"""Pre-emptible training: a checkpoint on SIGTERM/SIGUSR1, an exit code to requeue on, and an
automatic resume when the job starts again.

Cluster schedulers warn a job before they stop it: slurm sends SIGTERM on pre-emption or
``scancel`` (then SIGKILL after ``KillWait``), and the signal requested with ``--signal=USR1@T`` T
seconds before the time limit. Without a handler, Python dies on SIGTERM and ignores nothing on
SIGUSR1 (its default action also terminates), so everything since the last epoch checkpoint is
lost.

:class:`PreemptionHook` (in every focalnet-mm config through ``configs/_base_/focalnet_runtime.py``)
turns those signals into a clean stop:

1. the handler only records the signal (so a signal that arrives while a checkpoint is being
   written lets the write finish: nothing is interrupted half-way);
2. at the next iteration boundary (after the iteration's optimizer step, logging and any regular
   checkpoint), all ranks agree to stop, a checkpoint of that iteration is written atomically
   (temp file + fsync + rename, ``last_checkpoint`` updated after it) unless the regular
   ``CheckpointHook`` has just saved that very step, and ``work_dir/preempted.json`` marks the
   run as unfinished;
3. the process exits with :data:`REQUEUE_EXIT_CODE` (75, ``EX_TEMPFAIL``: "try again"), on which
   ``tools/slurm_train.sh`` requeues the job (``scontrol requeue``).

``tools/train.py`` resumes automatically from ``last_checkpoint`` when ``preempted.json`` is
there, so the requeued job, which runs the same command line, continues where it stopped; the
resumed run is bit-identical to an uninterrupted one (``RNGStateHook``; a checkpoint taken in the
middle of an epoch resumes in the middle of it). The marker is removed when training completes.
"""
from __future__ import annotations

import glob
import json
import os
import os.path as osp
import signal
import threading
import time
from typing import Optional, Sequence

import torch
from mmengine.dist import barrier, get_world_size, is_main_process
from mmengine.hooks import CheckpointHook, Hook
from mmengine.registry import HOOKS

from .fileio import BACKEND_NAME, atomic_write_text
from .hooks import RNGStateHook, resume_mid_epoch

REQUEUE_EXIT_CODE = 75  # sysexits.h EX_TEMPFAIL: a temporary failure, the caller may retry
MARKER = 'preempted.json'
CKPT_PREFIX = 'preempted_'


class Preempted(SystemExit):
    """Raised (from the hook) to end a pre-empted training run with the requeue exit code."""


def preempted_marker(work_dir: str) -> Optional[dict]:
    """The contents of ``work_dir/preempted.json`` if a pre-empted run left one, else ``None``."""
    path = osp.join(work_dir, MARKER)
    if not osp.isfile(path):
        return None
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}  # unreadable marker: still an unfinished run


@HOOKS.register_module()
class PreemptionHook(Hook):
    """Checkpoint and exit with a requeue code when the job is told to stop.

    Args:
        signals: signal names to handle (default SIGTERM and SIGUSR1).
        exit_code: exit status of a pre-empted run (default 75, what ``tools/slurm_train.sh``
            requeues on).
    """

    priority = 'LOWEST'  # after the iteration's logging and the regular CheckpointHook

    def __init__(self, signals: Sequence[str] = ('SIGTERM', 'SIGUSR1'),
                 exit_code: int = REQUEUE_EXIT_CODE) -> None:
        unknown = [s for s in signals if not hasattr(signal, s)]
        if unknown:
            raise ValueError(f'PreemptionHook: unknown signals {unknown}')
        self.signals = [getattr(signal, s) for s in signals]
        self.exit_code = exit_code
        self._received: Optional[int] = None
        self._previous: dict = {}

    # --- signals ----------------------------------------------------------------------------
    def _handler(self, signum, frame) -> None:
        # only record it: the save happens at the next iteration boundary, so a signal during a
        # checkpoint write (or during any other step) interrupts nothing
        if self._received is None:
            self._received = signum

    def _install(self, runner) -> None:
        if threading.current_thread() is not threading.main_thread():
            runner.logger.warning('PreemptionHook: not in the main thread, signals not handled')
            return
        for sig in self.signals:
            self._previous[sig] = signal.signal(sig, self._handler)

    def restore_signals(self) -> None:
        """Give the signals back to their previous handlers (``after_train`` does; a run that
        raised never gets there, so the tools call this too). Idempotent."""
        for sig, previous in self._previous.items():
            signal.signal(sig, previous if previous is not None else signal.SIG_DFL)
        self._previous = {}

    @property
    def received(self) -> Optional[int]:
        """The signal received so far (a number), or ``None``."""
        return self._received

    # --- hooks ------------------------------------------------------------------------------
    def before_train(self, runner) -> None:
        resume_mid_epoch(runner)  # a pre-emption checkpoint usually is mid-epoch
        self._install(runner)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self._stop_now():
            self._checkpoint_and_exit(runner, by_epoch=False)

    def after_train_epoch(self, runner) -> None:
        if self._stop_now():
            self._checkpoint_and_exit(runner, by_epoch=True)

    def after_train(self, runner) -> None:
        self.restore_signals()
        if not is_main_process():
            return
        marker = osp.join(runner.work_dir, MARKER)
        if osp.exists(marker):
            os.unlink(marker)  # training completed: nothing left to resume
        last = osp.join(runner.work_dir, 'last_checkpoint')
        named = open(last).read().strip() if osp.isfile(last) else ''
        ckpt_hook = next((h for h in runner.hooks if isinstance(h, CheckpointHook)), None)
        out_dir = getattr(ckpt_hook, 'out_dir', None) or runner.work_dir
        if '://' not in str(out_dir):
            for old in glob.glob(osp.join(glob.escape(out_dir), f'{CKPT_PREFIX}*.pth')):
                if osp.abspath(old) != osp.abspath(named):
                    os.unlink(old)  # superseded by the checkpoints of the completed run

    # --- stopping ---------------------------------------------------------------------------
    def _stop_now(self) -> bool:
        """Whether any rank received a signal (all ranks must stop at the same iteration)."""
        flag = self._received is not None
        if get_world_size() == 1:
            return flag
        import torch.distributed as dist
        value = torch.tensor([1 if flag else 0], dtype=torch.int32)
        if dist.get_backend() == 'nccl':
            value = value.cuda()
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
        return bool(value.item())

    def _checkpoint_and_exit(self, runner, by_epoch: bool) -> None:
        ckpt_hook = next((h for h in runner.hooks if isinstance(h, CheckpointHook)), None)
        out_dir = ckpt_hook.out_dir if ckpt_hook is not None and ckpt_hook.out_dir else \
            runner.work_dir
        step = runner.epoch + 1 if by_epoch else runner.iter + 1
        unit = 'epoch' if by_epoch else 'iter'
        # the regular hook saved this very step a moment ago: that checkpoint is the resume point
        just_saved = (ckpt_hook is not None and ckpt_hook.by_epoch == by_epoch
                      and getattr(ckpt_hook, 'last_ckpt', None) is not None
                      and osp.basename(str(ckpt_hook.last_ckpt)) ==
                      ckpt_hook.filename_tmpl.format(step))
        rng_hook = next((h for h in runner.hooks if isinstance(h, RNGStateHook)), None)
        if rng_hook is not None and not just_saved:
            rng_hook.gather_now()
        name = signal.Signals(self._received).name if self._received else 'a signal on another rank'
        if just_saved:
            path = ckpt_hook.last_ckpt
        else:
            filename = f'{CKPT_PREFIX}{unit}_{step}.pth'
            path = osp.join(out_dir, filename)
            local = '://' not in str(out_dir)
            backend_args = dict(backend=BACKEND_NAME) if local else getattr(
                ckpt_hook, 'backend_args', None)
            runner.save_checkpoint(out_dir, filename, save_optimizer=True,
                                   save_param_scheduler=True, by_epoch=by_epoch,
                                   backend_args=backend_args)
        if is_main_process():
            atomic_write_text(path, osp.join(runner.work_dir, 'last_checkpoint'))
            # trained so far: in after_train_epoch the loop counters already count the epoch's
            # iterations; in after_train_iter `iter` is the index of the iteration just done
            done_iters = runner.iter if by_epoch else runner.iter + 1
            done_epochs = runner.epoch + 1 if by_epoch else runner.epoch
            atomic_write_text(json.dumps(dict(
                checkpoint=path, signal=name, epoch=done_epochs, iter=done_iters,
                time=time.strftime('%Y-%m-%d %H:%M:%S')), indent=1),
                osp.join(runner.work_dir, MARKER))
            for old in glob.glob(osp.join(glob.escape(out_dir), f'{CKPT_PREFIX}*.pth')):
                if osp.abspath(old) != osp.abspath(path):
                    os.unlink(old)  # superseded by this one
        barrier()  # rank 0 has written everything before any rank exits
        runner.logger.warning(
            f'PreemptionHook: {name} received; stopped after {unit} {step} with the checkpoint '
            f'{path}; exiting with code {self.exit_code} (requeue). Running the same command '
            'again resumes from it.')
        self.restore_signals()
        raise Preempted(self.exit_code)
