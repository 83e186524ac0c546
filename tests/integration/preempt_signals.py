"""A test-only mmengine hook (imported by the configs that tests/integration/test_preemption.py
writes) that sends this very process a real signal at a chosen point of training, as a scheduler
would: ``during_save`` in ``before_save_checkpoint`` (so the signal arrives while a checkpoint is
being written), ``at_iter`` just before a given iteration. Each fires only in the process that
starts training at ``start_iter`` (the first, or a given resumed one)."""
import os
import signal

from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class SendSignalHook(Hook):
    priority = 'HIGHEST'

    def __init__(self, start_iter: int, signal_name: str, during_save: bool = False,
                 at_iter: int = -1):
        self.start_iter, self.during_save, self.at_iter = start_iter, during_save, at_iter
        self.signum = getattr(signal, signal_name)
        self.armed = False

    def before_train(self, runner):
        self.armed = runner.iter == self.start_iter

    def _send(self, runner, where):
        if self.armed:
            self.armed = False
            runner.logger.info(f'SendSignalHook: sending {signal.Signals(self.signum).name} '
                               f'{where}')
            os.kill(os.getpid(), self.signum)

    def before_save_checkpoint(self, runner, checkpoint):
        if self.during_save:
            self._send(runner, 'while the checkpoint is being saved')

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter == self.at_iter:
            self._send(runner, f'during iteration {runner.iter + 1}')
