#!/usr/bin/env python
"""The main job (`make demo`): FocalNet-T Mask R-CNN and UPerNet trained and evaluated end to end.

1. generates the synthetic demo datasets (COCO and ADE20K layouts) under ``data/demo``;
2. for each model (configs/demo/*.py, which inherit the real configs): builds it with mmengine's
   ``Runner``, initialises it as training would, and evaluates it untrained (BEFORE: COCO bbox/segm
   mAP with ``CocoMetric``, mIoU with ``IoUMetric``);
3. trains it from those very weights with the same ``Runner`` and evaluates it again (AFTER);
4. runs mmdet's ``DetInferencer`` / mmseg's ``MMSegInferencer`` on a validation image and writes
   the painted predictions to ``outputs/demo/*.png``;
5. prints BEFORE/AFTER side by side and writes ``outputs/demo/summary.json`` (metrics, timings).

No pretrained weights exist offline, so both models learn from scratch: the point is a working
pipeline whose metrics clearly move, not paper accuracy. ``--quick`` runs a few iterations only
(a smoke test of the whole job).
"""
from __future__ import annotations

import argparse
import json
import os

# Before torch (libgomp) is loaded: idle OpenMP threads spin only briefly, then sleep. libgomp's
# default spinning makes jobs that share a small machine starve each other (measurements: the
# "Threads" section of docs/speed.md). A user's own OMP_WAIT_POLICY / GOMP_SPINCOUNT take precedence.
if 'OMP_WAIT_POLICY' not in os.environ:
    os.environ.setdefault('GOMP_SPINCOUNT', '8000')
import os.path as osp
import platform
import time

from focalnet_mm.runner_utils import config_scope  # noqa: E402  (loads torch: after the above)

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..'))

TASKS = {
    'det': dict(
        title='Mask R-CNN + FPN, FocalNet-T (srf)',
        config='configs/demo/mask-rcnn_focalnet-t-srf_fpn_demo.py',
        metrics={'bbox mAP': 'coco/bbox_mAP', 'bbox mAP@50': 'coco/bbox_mAP_50',
                 'segm mAP': 'coco/segm_mAP', 'segm mAP@50': 'coco/segm_mAP_50'},
        quick={'train_cfg.max_epochs': 1}),
    'seg': dict(
        title='UPerNet, FocalNet-T (srf)',
        config='configs/demo/upernet_focalnet-t-srf_demo.py',
        metrics={'mIoU (%)': 'mIoU', 'mAcc (%)': 'mAcc', 'aAcc (%)': 'aAcc'},
        quick={'train_cfg.max_iters': 8, 'param_scheduler.0.end': 2,
               'param_scheduler.1.begin': 2, 'param_scheduler.1.end': 8}),
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default='work_dirs/demo', help='runner work dirs (checkpoints, logs)')
    parser.add_argument('--out-dir', default='outputs/demo', help='summary.json and painted predictions')
    parser.add_argument('--tasks', nargs='+', choices=list(TASKS), default=list(TASKS))
    parser.add_argument('--quick', action='store_true',
                        help='smoke test: train only a few iterations (metrics will barely move)')
    return parser.parse_args(argv)


def load_cfg(task: str, work_dir: str, quick: bool):
    from mmengine.config import Config
    spec = TASKS[task]
    cfg = Config.fromfile(osp.join(ROOT, spec['config']))
    config_scope(cfg)
    options = dict(spec['quick']) if quick else {}
    cfg.merge_from_dict(options)
    cfg.work_dir = work_dir
    cfg.launcher = 'none'
    # Validation happens once, explicitly, after training (runner.test on the val split).
    cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    if cfg.train_cfg.get('val_interval') is not None:
        cfg.train_cfg.pop('val_interval')
    return cfg


def run_task(task: str, args) -> dict:
    from mmengine.runner import Runner, find_latest_checkpoint

    spec = TASKS[task]
    name = osp.splitext(osp.basename(spec['config']))[0]
    work_dir = osp.join(args.work_dir, name)
    cfg = load_cfg(task, work_dir, args.quick)
    times = {}

    t = time.perf_counter()
    runner = Runner.from_cfg(cfg)
    # Initialise exactly as Runner.train() would (init_weights is idempotent: train() will not
    # re-initialise), so BEFORE evaluates the very weights training starts from.
    runner.model.init_weights()
    times['build_s'] = time.perf_counter() - t

    t = time.perf_counter()
    before = runner.test()
    times['eval_before_s'] = time.perf_counter() - t

    print('[demo] training from the weights just evaluated (mmengine will warn that init_weights '
          'was called more than once: expected, it does not re-initialise)', flush=True)
    t = time.perf_counter()
    runner.train()
    times['train_s'] = time.perf_counter() - t
    iters = runner.iter

    t = time.perf_counter()
    after = runner.test()
    times['eval_after_s'] = time.perf_counter() - t

    checkpoint = find_latest_checkpoint(work_dir)
    t = time.perf_counter()
    vis = infer_and_paint(task, spec['config'], checkpoint, cfg, args.out_dir)
    times['inference_s'] = time.perf_counter() - t

    return dict(
        title=spec['title'], config=spec['config'], work_dir=work_dir, checkpoint=checkpoint,
        train_iterations=iters, train_images=len(runner.train_dataloader.dataset),
        val_images=len(runner.test_dataloader.dataset),
        batch_size=cfg.train_dataloader.batch_size,
        before={k: _num(before.get(v)) for k, v in spec['metrics'].items()},
        after={k: _num(after.get(v)) for k, v in spec['metrics'].items()},
        before_raw={k: _num(v) for k, v in before.items()},
        after_raw={k: _num(v) for k, v in after.items()},
        seconds_per_iteration=round(times['train_s'] / max(iters, 1), 2),
        visualization=vis, seconds={k: round(v, 1) for k, v in times.items()})


def _num(v):
    try:
        return round(float(v), 4)
    except (TypeError, ValueError):
        return None


def _val_image(cfg) -> str:
    ds = cfg.test_dataloader.dataset
    if 'ann_file' in ds:  # COCO: the first image of the val annotations
        with open(osp.join(ds.data_root, ds.ann_file)) as f:
            return osp.join(ds.data_root, ds.data_prefix.img, json.load(f)['images'][0]['file_name'])
    folder = osp.join(ds.data_root, ds.data_prefix.img_path)
    return osp.join(folder, sorted(os.listdir(folder))[0])


def infer_and_paint(task: str, config: str, checkpoint: str, cfg, out_dir: str) -> dict:
    """Predict one val image with the high-level inferencer and save the painted result as PNG."""
    import numpy as np
    from PIL import Image

    os.makedirs(out_dir, exist_ok=True)
    image = _val_image(cfg)
    stem = osp.splitext(osp.basename(image))[0]
    if task == 'det':
        from mmdet.apis import DetInferencer
        inferencer = DetInferencer(model=osp.join(ROOT, config), weights=checkpoint, device='cpu',
                                   show_progress=False)
        result = inferencer(image, return_vis=True, no_save_vis=True, pred_score_thr=0.5)
        pred = result['predictions'][0]
        classes = inferencer.model.dataset_meta['classes']
        keep = [i for i, s in enumerate(pred['scores']) if s >= 0.5]
        summary = [dict(label=classes[pred['labels'][i]], score=round(pred['scores'][i], 3),
                        bbox=[round(v, 1) for v in pred['bboxes'][i]]) for i in keep]
    else:
        from mmseg.apis import MMSegInferencer
        inferencer = MMSegInferencer(model=osp.join(ROOT, config), weights=checkpoint, device='cpu')
        result = inferencer(image, return_vis=True, show=False)
        labels = np.asarray(result['predictions'])
        classes = inferencer.model.dataset_meta['classes']
        ids, counts = np.unique(labels, return_counts=True)
        summary = {classes[i]: round(c / labels.size, 3) for i, c in zip(ids.tolist(), counts)}
    vis = result['visualization']
    vis = np.asarray(vis[0] if isinstance(vis, list) else vis).astype(np.uint8)  # RGB
    path = osp.join(out_dir, f'{task}_{stem}_pred.png')
    Image.fromarray(vis).save(path)
    # The demo images are ~128 px: also a 3x (nearest) panel input | ground truth | prediction.
    rgb = np.asarray(Image.open(image).convert('RGB'))
    gt = _draw_gt(task, rgb, image, cfg, inferencer.model.dataset_meta['palette'])
    panel = osp.join(out_dir, f'{task}_{stem}_panel.png')
    _save_panel([rgb, gt, vis], panel, scale=3)
    return dict(image=image, png=path, panel=panel, predictions=summary)


def _draw_gt(task: str, rgb, image: str, cfg, palette):
    """The ground truth of ``image`` painted over it (instance masks + boxes, or the label map)."""
    import numpy as np
    from PIL import Image, ImageDraw
    out = rgb.astype(np.float32).copy()
    ds = cfg.test_dataloader.dataset
    if task == 'det':
        from pycocotools.coco import COCO
        coco = COCO(osp.join(ds.data_root, ds.ann_file))
        info = next(i for i in coco.dataset['images'] if i['file_name'] == osp.basename(image))
        cat_index = {c: k for k, c in enumerate(sorted(coco.getCatIds()))}
        anns = coco.loadAnns(coco.getAnnIds(imgIds=info['id']))
        for ann in anns:
            mask = coco.annToMask(ann).astype(bool)
            out[mask] = .4 * out[mask] + .6 * np.array(palette[cat_index[ann['category_id']]])
        img = Image.fromarray(out.astype(np.uint8))
        draw = ImageDraw.Draw(img)
        for ann in anns:
            x, y, w, h = ann['bbox']
            draw.rectangle([x, y, x + w, y + h],
                           outline=(255, 255, 255) if ann['iscrowd'] else (255, 255, 0))
        return np.asarray(img)
    stem = osp.splitext(osp.basename(image))[0]
    label = np.asarray(Image.open(osp.join(ds.data_root, ds.data_prefix.seg_map_path, stem + '.png')))
    for value in range(1, len(palette) + 1):  # file values 1..N = classes 0..N-1; 0 = unlabeled
        m = label == value
        out[m] = .2 * out[m] + .8 * np.array(palette[value - 1])
    out[label == 0] = 0
    return out.astype(np.uint8)


def _save_panel(images, path: str, scale: int = 3, gap: int = 4) -> None:
    from PIL import Image
    tiles = [Image.fromarray(im).resize((im.shape[1] * scale, im.shape[0] * scale), Image.NEAREST)
             for im in images]
    w = sum(t.width for t in tiles) + gap * (len(tiles) - 1)
    canvas = Image.new('RGB', (w, max(t.height for t in tiles)), (255, 255, 255))
    x = 0
    for t in tiles:
        canvas.paste(t, (x, 0))
        x += t.width + gap
    canvas.save(path)


def print_table(results: dict, total_s: float, cpu_s: float) -> str:
    lines = ['', '=' * 78, 'FocalNet-T demo: untrained (BEFORE) vs trained (AFTER), val split', '=' * 78,
             f'{"model / metric":44s}{"BEFORE":>11s}{"AFTER":>11s}{"delta":>11s}', '-' * 78]
    for res in results.values():
        lines.append(f'{res["title"]}  [{res["train_iterations"]} iters, '
                     f'{res["seconds"]["train_s"]:.0f} s training]')
        for k in res['before']:
            b, a = res['before'][k], res['after'][k]
            d = f'{a - b:+.4f}' if a is not None and b is not None else ''
            lines.append(f'  {k:42s}{_fmt(b):>11s}{_fmt(a):>11s}{d:>11s}')
    lines += ['-' * 78, f'total wall time {total_s / 60:.1f} min, CPU time {cpu_s / 60:.1f} min '
              f'({cpu_s / total_s:.2f} cores busy on average)', '=' * 78]
    text = '\n'.join(lines)
    print(text, flush=True)
    return text


def _fmt(v):
    return 'n/a' if v is None else f'{v:.4f}'


def main(argv=None):
    args = parse_args(argv)
    os.chdir(ROOT)
    t0, c0 = time.perf_counter(), time.process_time()
    from focalnet_mm.demo_data import make_demo_data
    data = make_demo_data('data/demo')  # the path the demo configs read

    results = {}
    for task in args.tasks:
        print(f'\n##### {TASKS[task]["title"]}: evaluate untrained, train, evaluate, infer #####',
              flush=True)
        results[task] = run_task(task, args)
    total = time.perf_counter() - t0
    cpu = time.process_time() - c0
    table = print_table(results, total, cpu)

    import mmdet
    import mmengine
    import mmseg
    import torch
    summary = dict(
        quick=args.quick, total_seconds=round(total, 1), cpu_seconds=round(cpu, 1),
        data_seconds=round(data['seconds'], 2),
        tasks=results, table=table,
        environment=dict(python=platform.python_version(), torch=torch.__version__,
                         mmengine=mmengine.__version__, mmdet=mmdet.__version__,
                         mmseg=mmseg.__version__, cuda=torch.cuda.is_available(),
                         threads=torch.get_num_threads(), cpus=os.cpu_count()))
    os.makedirs(args.out_dir, exist_ok=True)
    with open(osp.join(args.out_dir, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    print(f'summary: {osp.join(args.out_dir, "summary.json")}; painted predictions: '
          + ', '.join(r['visualization']['panel'] for r in results.values()))


if __name__ == '__main__':
    main()
