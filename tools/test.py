#!/usr/bin/env python
"""Test (and evaluate) a detector (mmdet) or a segmentor (mmseg) checkpoint with mmengine's Runner.

Same command line as mmdet's ``tools/test.py``; the OpenMMLab package is taken from the config's
``default_scope``. Examples::

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out results.pkl] [--show-dir vis]
    python tools/test.py CONFIG CHECKPOINT --tta
    bash tools/dist_test.sh CONFIG CHECKPOINT 2

``--out``: mmdet configs dump the predictions to a ``.pkl`` (mmdet's ``DumpDetResults``); mmseg
configs take a ``.pkl`` (mmengine's ``DumpResults``) or, as mmseg's tool, a directory where the
predicted label maps are written. ``--show-dir``: painted predictions go to
``WORK_DIR/TIMESTAMP/SHOW_DIR`` (mmdet) or ``SHOW_DIR/vis_data/vis_image`` (mmseg's visualizer
save_dir, every test image unless the config sets the hook's ``interval``).
"""
import argparse
import os
from copy import deepcopy

from focalnet_mm import runner_utils


def parse_args(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description='Test (and evaluate) a detector or a segmentor')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir',
                        help='the directory to save the file containing evaluation metrics')
    parser.add_argument('--out', type=str,
                        help='dump predictions to a pickle file (or, for mmseg, a directory of '
                        'label maps) for offline evaluation')
    parser.add_argument('--show', action='store_true', help='show prediction results')
    parser.add_argument('--show-dir', help='directory where painted images will be saved')
    parser.add_argument('--wait-time', type=float, default=2, help='the interval of show (s)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override some settings in the used config (key=value pairs)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
                        help='job launcher')
    parser.add_argument('--tta', action='store_true', help='test-time augmentation')
    parser.add_argument('--no-accel', action='store_true',
                        help='run the reference FocalNet only (by default CPU inference uses the '
                        'kernels a one-time micro-benchmark measured faster on this machine)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def _trigger_visualization_hook(cfg, args, scope):
    default_hooks = cfg.default_hooks
    if 'visualization' not in default_hooks:
        raise RuntimeError('VisualizationHook must be included in default_hooks. refer to usage '
                           '"visualization=dict(type=\'VisualizationHook\')"')
    hook = default_hooks['visualization']
    hook['draw'] = True
    if args.show:
        hook['show'] = True
        hook['wait_time'] = args.wait_time
    if args.show_dir:
        if scope == 'mmdet':
            hook['test_out_dir'] = args.show_dir
        else:
            cfg.visualizer['save_dir'] = args.show_dir
            # mmseg's hook paints every `interval`-th test batch (default 50): paint them all
            # unless the config chose an interval.
            hook.setdefault('interval', 1)


def _setup_tta(cfg, scope):
    from mmengine.config import ConfigDict
    if scope == 'mmdet':
        if cfg.model.get('roi_head', {}).get('mask_head') is not None:
            raise SystemExit('--tta: mmdet 3.3\'s DetTTAModel does not support instance segmentation '
                             '("TTA of instance segmentation does not support now"); it works for '
                             'box-only detectors.')
        if 'tta_model' not in cfg:
            cfg.tta_model = dict(type='DetTTAModel',
                                 tta_cfg=dict(nms=dict(type='nms', iou_threshold=0.5),
                                              max_per_img=100))
        if 'tta_pipeline' not in cfg:
            test_data_cfg = cfg.test_dataloader.dataset
            while 'dataset' in test_data_cfg:
                test_data_cfg = test_data_cfg['dataset']
            cfg.tta_pipeline = deepcopy(test_data_cfg.pipeline)
            cfg.tta_pipeline[-1] = dict(
                type='TestTimeAug',
                transforms=[[dict(type='RandomFlip', prob=1.), dict(type='RandomFlip', prob=0.)],
                            [dict(type='PackDetInputs',
                                  meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                                             'scale_factor', 'flip', 'flip_direction'))]])
        cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    else:
        if 'tta_model' not in cfg or 'tta_pipeline' not in cfg:
            raise RuntimeError('--tta needs `tta_model` and `tta_pipeline` in an mmseg config')
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
        cfg.tta_model.module = cfg.model
        cfg.model = cfg.tta_model


def build_runner(args):
    from mmengine.config import Config
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    scope = runner_utils.config_scope(cfg)
    runner_utils.setup_launcher(cfg, args.launcher)
    runner_utils.default_work_dir(cfg, args.config, args.work_dir)
    cfg.load_from = args.checkpoint

    if args.show or args.show_dir:
        _trigger_visualization_hook(cfg, args, scope)
    if args.tta:
        _setup_tta(cfg, scope)
    seg_out_dir = None
    if scope == 'mmseg' and args.out is not None and not args.out.endswith(('.pkl', '.pickle')):
        seg_out_dir = args.out  # mmseg's semantics: a directory of predicted label maps
        cfg.test_evaluator['output_dir'] = args.out
        cfg.test_evaluator['keep_results'] = True

    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)

    if args.out is not None and seg_out_dir is None:
        if scope == 'mmdet':
            from mmdet.evaluation import DumpDetResults
            if not args.out.endswith(('.pkl', '.pickle')):
                raise ValueError('The dump file must be a pkl file.')
            runner.test_evaluator.metrics.append(DumpDetResults(out_file_path=args.out))
        else:
            from mmengine.evaluator import DumpResults
            runner.test_evaluator.metrics.append(DumpResults(out_file_path=args.out))
    return runner


def main(argv=None):
    args = parse_args(argv)
    runner = build_runner(args)
    if not args.no_accel:
        # measured CPU inference kernels for the FocalNet blocks (eval, no autograd, CPU fp32
        # only; elsewhere, and per block where not measured faster, the reference forward)
        from focalnet_mm.models.cpu_accel import accelerate
        accelerate(runner.model)
    metrics = runner.test()
    runner_utils.finish_distributed()
    return metrics


if __name__ == '__main__':
    main()
