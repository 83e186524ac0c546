#!/usr/bin/env python
"""Train a detector (mmdet) or a segmentor (mmseg) from a config, with mmengine's Runner.

Same command line as mmdet's ``tools/train.py``; the OpenMMLab package is taken from the config's
``default_scope``. Beyond mmdet's tool:

* ``--amp`` (and the ``*_amp-*`` configs' ``AmpOptimWrapper``) train in fp16 with dynamic loss
  scaling on a GPU and in bf16 autocast on a CPU-only machine (mmengine's AmpOptimWrapper cannot
  run there; see focalnet_mm/engine/optim.py);
* ``--cpu-accel`` gives the FocalNet's depth-wise convolutions a faster backward on a CPU, where a
  one-time measurement per layer shape finds it faster (focalnet_mm/models/train_accel.py: weight
  gradients equal within float rounding; off by default, as the measured choice can differ
  between processes and bit-identical reruns need the same kernels);
* a work dir left by a pre-empted run (``preempted.json``, written by ``PreemptionHook`` on
  SIGTERM/SIGUSR1) is resumed automatically from its ``last_checkpoint``, so a requeued job that
  runs the same command continues where it stopped (exit status 75 = pre-empted, requeue).

Examples::

    python tools/train.py configs/demo/mask-rcnn_focalnet-t-srf_fpn_demo.py
    python tools/train.py CONFIG --work-dir work_dirs/x --resume            # latest in work dir
    python tools/train.py CONFIG --resume work_dirs/x/epoch_4.pth            # a given checkpoint
    bash tools/dist_train.sh CONFIG 2                                        # torchrun, 2 procs

On a machine without CUDA, distributed runs use the gloo backend (see
focalnet_mm/runner_utils.py). The tool imports the installed ``focalnet_mm`` (``pip install -e .``;
``make setup`` does it).
"""
import argparse
import os

from focalnet_mm import runner_utils


def parse_args(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description='Train a detector or a segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument('--amp', action='store_true', default=False,
                        help='enable automatic-mixed-precision training')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='enable automatically scaling LR')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='If specify checkpoint path, resume from it, while if not specify, try to auto resume '
        'from the latest checkpoint in the work directory.')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override some settings in the used config, the key-value pair in xxx=yyy format will '
        'be merged into config file. If the value to be overwritten is a list, it should be like '
        'key="[a,b]" or key=a,b It also allows nested list/tuple values, e.g. '
        'key="[(a,b),(c,d)]" Note that the quotation marks are necessary and that no white space '
        'is allowed.')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
                        help='job launcher')
    parser.add_argument('--cpu-accel', action='store_true',
                        help='measured faster CPU backward of the depth-wise convolutions '
                        '(gradients within float rounding of the reference)')
    # torch >= 2.0 launchers pass `--local-rank`
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def build_runner(args):
    from mmengine.config import Config
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    runner_utils.config_scope(cfg)
    runner_utils.setup_launcher(cfg, args.launcher)
    runner_utils.default_work_dir(cfg, args.config, args.work_dir)

    setup_amp(cfg, args.amp)
    if args.auto_scale_lr:
        if 'auto_scale_lr' in cfg and 'enable' in cfg.auto_scale_lr and \
                'base_batch_size' in cfg.auto_scale_lr:
            cfg.auto_scale_lr.enable = True
        else:
            raise RuntimeError('Can not find "auto_scale_lr" or "auto_scale_lr.enable" or '
                               '"auto_scale_lr.base_batch_size" in your configuration file.')
    # resume is determined in this priority: resume from > auto_resume > pre-empted work dir
    if args.resume is None:
        from focalnet_mm.engine import preempted_marker
        marker = preempted_marker(cfg.work_dir)
        if marker is not None:
            print(f"{cfg.work_dir} holds a pre-empted run (stopped by {marker.get('signal', '?')} "
                  f"at iteration {marker.get('iter', '?')}): resuming from its last checkpoint",
                  flush=True)
            args.resume = 'auto'
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume

    if 'runner_type' not in cfg:
        return Runner.from_cfg(cfg)
    return RUNNERS.build(cfg)


def setup_amp(cfg, requested: bool) -> None:
    """``--amp``, or a config whose optim_wrapper is already ``AmpOptimWrapper``: mmdet's fp16
    AmpOptimWrapper (dynamic loss scale) where a GPU is present, else bf16 autocast."""
    from focalnet_mm.engine.optim import amp_optim_wrapper
    if not requested and cfg.optim_wrapper.get('type') != 'AmpOptimWrapper':
        return
    cfg.optim_wrapper, note = amp_optim_wrapper(cfg.optim_wrapper)
    print(f'mixed precision: {note}', flush=True)


def main(argv=None):
    args = parse_args(argv)
    runner = build_runner(args)
    if args.cpu_accel:
        from focalnet_mm.models.train_accel import FastGradDepthwiseConv2d, accelerate_training
        accelerate_training(runner.model)
        convs = sum(type(m) is FastGradDepthwiseConv2d for m in runner.model.modules())
        print(f'cpu-accel: {convs} depth-wise convolutions take the measured backward', flush=True)
    try:
        runner.train()
    finally:
        # a run that raised skips after_train, where PreemptionHook gives the signals back: a
        # long-lived caller (notebook, in-process call) would keep its handlers
        from focalnet_mm.engine import PreemptionHook
        for hook in runner.hooks:
            if isinstance(hook, PreemptionHook):
                hook.restore_signals()
    runner_utils.finish_distributed()


if __name__ == '__main__':
    main()
