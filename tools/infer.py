#!/usr/bin/env python
"""Run a FocalNet detector (mmdet) or segmentor (mmseg) on an image or a folder of images.

    python tools/infer.py IMAGE_OR_FOLDER MODEL --weights CHECKPOINT [--out-dir outputs/infer]
        [--recursive] [--device cpu] [--batch-size 4] [--pred-score-thr 0.3] [--no-vis] [--no-json]
    python tools/infer.py --list-models [PATTERN]

MODEL: a name or alias of model-index.yml (``mask-rcnn_focalnet-t-srf_fpn_1x_coco``), the stem of
a config under configs/ (``mask-rcnn_focalnet-t-srf_fpn_demo``) or a config path. Detection or
segmentation follows the config's ``default_scope``. ``--weights``: a checkpoint of the whole model
(e.g. written by tools/train.py), read safely (``weights_only``; ``--trusted`` for legacy pickles).
No trained FocalNet weights are published, so ``--weights`` is required; ``--random-init`` runs an
untrained model instead (smoke tests).

Outputs, in the layout of mmdet's ``DetInferencer`` (``out_dir/vis``, ``out_dir/preds``); for a
folder, file names keep their path relative to it:

* ``vis/<name>``: the image with the predictions drawn (same name and size as the input);
  detection draws the predictions scoring >= ``--pred-score-thr`` (mmdet's default 0.3).
* ``preds/<stem>.json``, detection: mmdet's prediction dict (``labels``, ``scores``, ``bboxes``
  [x1, y1, x2, y2] in input pixels, ``masks`` as COCO RLE for instance segmentation), every
  prediction of the model, unfiltered, as mmdet writes it; plus ``img_path``, ``height``,
  ``width`` and ``label_names``.
* ``preds/<stem>.png`` (segmentation): the label map, one uint8 class index per input pixel, and
  ``preds/<stem>.json``: ``img_path``, ``height``, ``width``, ``sem_seg_path``, ``classes``,
  ``pixel_counts`` (pixels per predicted class name).

Images: files with the extensions of mmdet's inferencer (jpg, jpeg, png, ppm, bmp, pgm, tif, tiff,
webp, any case); ``--recursive`` also searches sub-folders. A file that cannot be decoded is skipped
with a warning; the others are processed, the skipped ones are listed at the end and the exit
status is 1. A missing input, a folder without images or an unknown model name stop at once
(exit status 2, with the closest model names).
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import sys
import warnings

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff', '.webp')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('inputs', nargs='?', help='image file or folder of images')
    parser.add_argument('model', nargs='?',
                        help='model name/alias of model-index.yml, config stem or config path')
    parser.add_argument('--weights', help='checkpoint of the whole model (tools/train.py output)')
    parser.add_argument('--out-dir', default='outputs/infer',
                        help='output folder of vis/ and preds/ (default: outputs/infer)')
    parser.add_argument('--device', default=None, help='e.g. cpu, cuda:0 (default: cuda if any)')
    parser.add_argument('--no-accel', action='store_true',
                        help='run the reference FocalNet only (by default CPU inference uses the '
                        'kernels a one-time micro-benchmark measured faster on this machine)')
    parser.add_argument('--batch-size', type=int, default=1,
                        help='images per forward pass (default: 1)')
    parser.add_argument('--pred-score-thr', '--score-thr', dest='pred_score_thr', type=float,
                        default=0.3,
                        help='detection: draw the predictions scoring at least this (default: 0.3)')
    parser.add_argument('--opacity', type=float, default=0.8,
                        help='segmentation: opacity of the drawn label map (default: 0.8)')
    parser.add_argument('--recursive', '-r', action='store_true', help='search sub-folders too')
    parser.add_argument('--no-vis', '--no-save-vis', dest='no_vis', action='store_true',
                        help='do not write vis/ images')
    parser.add_argument('--no-json', '--no-save-pred', dest='no_json', action='store_true',
                        help='do not write preds/ files')
    parser.add_argument('--random-init', action='store_true',
                        help='run without --weights: a randomly initialised model (smoke test)')
    parser.add_argument('--trusted', action='store_true',
                        help='unpickle the checkpoint fully (legacy files you trust)')
    parser.add_argument('--list-models', nargs='?', const='', metavar='PATTERN',
                        help='print the model names (containing PATTERN) and exit')
    args = parser.parse_args(argv)
    if args.list_models is None and (args.inputs is None or args.model is None):
        parser.error('the following arguments are required: inputs, model')
    if args.batch_size < 1:
        parser.error('--batch-size must be >= 1')
    return parser, args


def collect_images(inputs: str, recursive: bool) -> tuple[list[str], str]:
    """Sorted image paths and the folder their output names are relative to.

    Raises FileNotFoundError for a missing path and ValueError for a folder without images."""
    if not osp.exists(inputs):
        raise FileNotFoundError(f'input not found: {inputs!r}')
    if osp.isfile(inputs):
        return [inputs], osp.dirname(inputs)
    images = []
    for dirpath, dirnames, filenames in os.walk(inputs):
        dirnames.sort()
        images += [osp.join(dirpath, f) for f in filenames if f.lower().endswith(IMG_EXTENSIONS)]
        if not recursive:
            break
    if not images:
        msg = f'no images ({", ".join(IMG_EXTENSIONS)}) in folder {inputs!r}'
        if not recursive and any(f.lower().endswith(IMG_EXTENSIONS)
                                 for _, _, files in os.walk(inputs) for f in files):
            msg += ' (its sub-folders hold some: add --recursive)'
        raise ValueError(msg)
    return sorted(images), inputs


def is_readable_image(path: str) -> bool:
    import mmcv
    try:
        return mmcv.imread(path) is not None
    except Exception:
        return False


class Writer:
    """Writes vis/ and preds/ for one image (names relative to the input folder)."""

    def __init__(self, out_dir: str, base: str, vis: bool, pred: bool):
        self.out_dir, self.base, self.vis, self.pred = out_dir, base, vis, pred

    def paths(self, img_path: str) -> tuple[str, str]:
        rel = osp.relpath(img_path, self.base) if self.base else osp.basename(img_path)
        return (osp.join(self.out_dir, 'vis', rel),
                osp.join(self.out_dir, 'preds', osp.splitext(rel)[0]))

    def write_vis(self, img_path: str, drawn_rgb) -> None:
        import mmcv
        mmcv.imwrite(drawn_rgb[..., ::-1], self.paths(img_path)[0])  # creates the folders

    def write_json(self, img_path: str, result: dict) -> None:
        stem = self.paths(img_path)[1]
        os.makedirs(osp.dirname(stem), exist_ok=True)
        with open(stem + '.json', 'w') as f:
            json.dump(result, f)


def run_det_batch(inferencer, paths: list[str], writer: Writer, score_thr: float) -> None:
    res = inferencer(paths, batch_size=len(paths), return_vis=writer.vis,
                     pred_score_thr=score_thr, return_datasamples=True, no_save_vis=True,
                     no_save_pred=True)
    classes = inferencer.model.dataset_meta.get('classes') or ()
    for i, (path, sample) in enumerate(zip(paths, res['predictions'])):
        if writer.vis:
            writer.write_vis(path, res['visualization'][i])
        if writer.pred:
            result = inferencer.pred2dict(sample, '')  # mmdet's dict (labels/scores/bboxes/masks)
            h, w = sample.ori_shape
            result.update(img_path=path, height=int(h), width=int(w),
                          label_names=[classes[k] if k < len(classes) else str(k)
                                       for k in result.get('labels', [])])
            writer.write_json(path, result)


def run_seg_batch(inferencer, paths: list[str], writer: Writer, opacity: float) -> None:
    import numpy as np
    from PIL import Image
    samples = inferencer(paths, batch_size=len(paths), return_datasamples=True)
    samples = samples if isinstance(samples, list) else [samples]
    if writer.vis:
        drawn = inferencer.visualize(paths, samples, return_vis=True, img_out_dir='',
                                     opacity=opacity)
        for path, img in zip(paths, drawn):
            writer.write_vis(path, img)
    if writer.pred:
        classes = list(inferencer.model.dataset_meta.get('classes') or ())
        for path, sample in zip(paths, samples):
            label = sample.pred_sem_seg.data[0].cpu().numpy()
            stem = writer.paths(path)[1]
            os.makedirs(osp.dirname(stem), exist_ok=True)
            dtype = np.uint8 if label.max(initial=0) < 256 else np.uint16
            Image.fromarray(label.astype(dtype)).save(stem + '.png')
            ids, counts = np.unique(label, return_counts=True)
            writer.write_json(path, dict(
                img_path=path, height=int(label.shape[0]), width=int(label.shape[1]),
                sem_seg_path=osp.relpath(stem + '.png', writer.out_dir), classes=classes,
                pixel_counts={(classes[k] if k < len(classes) else str(k)): int(c)
                              for k, c in zip(ids.tolist(), counts.tolist())}))


def main(argv=None) -> int:
    parser, args = parse_args(argv)
    from focalnet_mm.apis import list_models, model_scope, resolve_model
    if args.list_models is not None:
        print('\n'.join(list_models(args.list_models)))
        return 0
    try:
        images, base = collect_images(args.inputs, args.recursive)
        entry = resolve_model(args.model)
        scope = model_scope(args.model)
    except (FileNotFoundError, ValueError) as e:
        parser.error(str(e))
    if args.weights is None and not args.random_init:
        parser.error(f'--weights is required: no trained weights are published for {entry.name} '
                     '(train it with tools/train.py); --random-init runs an untrained model')
    if args.weights is not None and not osp.isfile(args.weights) and '://' not in args.weights:
        parser.error(f'checkpoint not found: {args.weights!r}')

    from tqdm import tqdm

    from focalnet_mm.apis import build_inferencer
    inferencer = build_inferencer(args.model, weights=args.weights, device=args.device,
                                  show_progress=False, trusted=args.trusted)
    if args.no_accel:
        from focalnet_mm.models.cpu_accel import remove_acceleration
        remove_acceleration(inferencer.model)
    writer = Writer(args.out_dir, base, vis=not args.no_vis, pred=not args.no_json)

    def run(paths):
        if scope == 'mmdet':
            run_det_batch(inferencer, paths, writer, args.pred_score_thr)
        else:
            run_seg_batch(inferencer, paths, writer, args.opacity)

    skipped = []
    bar = tqdm(total=len(images), unit='img', desc=f'{entry.name}', dynamic_ncols=True)
    for start in range(0, len(images), args.batch_size):
        batch = images[start:start + args.batch_size]
        try:
            run(batch)
        except Exception:
            # Find the image(s) that cannot be read; anything else is a real error.
            for path in batch:
                try:
                    run([path])
                except Exception as e:
                    if is_readable_image(path):
                        raise
                    skipped.append(path)
                    bar.write(f'WARNING: skipped {path}: cannot be read as an image '
                              f'({type(e).__name__}: {e})')
        bar.update(len(batch))
    bar.close()
    done = len(images) - len(skipped)
    outputs = [name for name, on in (('vis/', writer.vis), ('preds/', writer.pred)) if on]
    print(f'{done} image(s) processed'
          + (f', results in {args.out_dir} ({" ".join(outputs)})' if outputs else ''))
    if skipped:
        print(f'{len(skipped)} image(s) skipped (unreadable): ' + ', '.join(skipped),
              file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', message='pkg_resources is deprecated')
        # mmengine's visualizer, for boxes/polygons partly outside the image: noise per image
        warnings.filterwarnings('ignore', message='Warning: The .* is out of bounds')
        sys.exit(main())
