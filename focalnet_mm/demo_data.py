"""Deterministic generator of tiny demo datasets in the real COCO and ADE20K layouts.

Nothing is downloaded: the images are synthetic scenes of solid-coloured shapes (rectangle, ellipse,
triangle) on textured, noisy backgrounds, small enough for a from-scratch FocalNet-T detector and
segmentor to learn something in minutes on a CPU, and written in the exact on-disk formats that
mmdet's ``CocoDataset`` and mmseg's ``ADE20KDataset`` read:

* COCO instance segmentation (``<root>/coco``)::

      train2017/*.jpg  val2017/*.jpg
      annotations/instances_train2017.json  annotations/instances_val2017.json

  ``images``/``annotations``/``categories`` (ids from 1), boxes ``[x, y, w, h]``, ``area`` (mask area,
  as COCO computes it), ``iscrowd``, polygon masks; some objects carry a compressed RLE mask instead,
  and a few images hold an ``iscrowd=1`` group annotated with an uncompressed RLE (evaluation
  ignores those regions, training treats them as ignored instances: the real COCO semantics).

* ADE20K (``<root>/ade/ADEChallengeData2016``)::

      images/{training,validation}/ADE_{train,val}_%08d.jpg
      annotations/{training,validation}/ADE_{train,val}_%08d.png

  Label PNGs hold 0 for "unlabeled" (a thin ring around each shape, as ADE leaves unlabeled pixels)
  and classes 1..N; ``reduce_zero_label=True`` maps them to 255 (ignored) and 0..N-1.

* COCO panoptic (``<root>/coco_panoptic``), the ADE scenes (same images) as mmdet's
  ``CocoPanopticDataset`` and ``CocoPanopticMetric`` read them::

      train2017/*.jpg  val2017/*.jpg
      annotations/panoptic_{train,val}2017.json  annotations/panoptic_{train,val}2017/*.png

  Things: the shapes (category ids 1..3, ``isthing=1``, one segment per visible shape); stuff:
  wall and floor (ids 4, 5, ``isthing=0``); the unlabeled rings are VOID (id 0). PNG colours encode
  segment ids as R + 256 G + 256^2 B.

Generation is seeded and idempotent: a stamp file records a digest of the parameters and of this
generator's source, and a dataset is regenerated only when the stamp is missing or different, or
with ``force=True``.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import os.path as osp
import shutil
import time
from dataclasses import asdict, dataclass
from typing import Optional

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

GENERATOR_VERSION = 1
DEFAULT_ROOT = 'data/demo'

#: Instance classes (COCO category ids 1, 2, 3) and their base colours (RGB).
SHAPE_CLASSES = ('rectangle', 'ellipse', 'triangle')
SHAPE_COLORS = ((220, 50, 50), (40, 190, 70), (60, 90, 230))
#: Semantic classes (label values 1..5 in the ADE-style PNGs; 0 = unlabeled).
SEG_CLASSES = ('wall', 'floor') + SHAPE_CLASSES
#: Palettes for the visualizers (class order).
DET_PALETTE = [list(c) for c in SHAPE_COLORS]
SEG_PALETTE = [[120, 120, 150], [140, 110, 70]] + [list(c) for c in SHAPE_COLORS]


@dataclass(frozen=True)
class DemoDataConfig:
    """Sizes of the generated sets (the defaults are what the demo configs expect)."""
    seed: int = 0
    coco_train: int = 48
    coco_val: int = 16
    ade_train: int = 48
    ade_val: int = 16
    min_size: int = 112      # image sides are drawn from [min_size, max_size]
    max_size: int = 144
    min_objects: int = 1
    max_objects: int = 4
    min_object: int = 18     # object box side range (pixels)
    max_object: int = 48

    def digest(self) -> str:
        """Identifies the data: sizes, seed and the generator's own source (any change regenerates)."""
        with open(__file__, 'rb') as f:
            source = hashlib.sha1(f.read()).hexdigest()
        blob = json.dumps(dict(asdict(self), version=GENERATOR_VERSION, source=source),
                          sort_keys=True)
        return hashlib.sha1(blob.encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- drawing primitives
def _smooth_noise(rng: np.random.Generator, h: int, w: int, cells: int) -> np.ndarray:
    """Value noise in [0, 1]: a coarse random grid bicubically upsampled to (h, w)."""
    grid = rng.random((cells, cells)).astype(np.float32)
    img = Image.fromarray((grid * 255).astype(np.uint8)).resize((w, h), Image.BICUBIC)
    return np.asarray(img, dtype=np.float32) / 255.


def _texture(rng: np.random.Generator, h: int, w: int, base: np.ndarray, amp: float,
             stripes: Optional[str] = None) -> np.ndarray:
    """A textured (h, w, 3) float field around colour ``base``: smooth blobs, optional stripes, grain."""
    field = (_smooth_noise(rng, h, w, int(rng.integers(3, 7))) - .5) * amp
    field = field + (_smooth_noise(rng, h, w, int(rng.integers(10, 20))) - .5) * amp * .5
    if stripes is not None:
        period = rng.uniform(5, 11)
        coord = np.arange(w if stripes == 'v' else h, dtype=np.float32)
        wave = np.sin(2 * math.pi * coord / period + rng.uniform(0, 2 * math.pi)) * amp * .25
        field = field + (wave[None, :] if stripes == 'v' else wave[:, None])
    tint = rng.normal(0, 6, size=3)
    return base[None, None, :] + tint + field[..., None]


def _finish(img: np.ndarray, rng: np.random.Generator, grain: float = 7.) -> Image.Image:
    img = img + rng.normal(0, grain, size=img.shape)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


def _shape_polygon(rng: np.random.Generator, cls: int, cx: float, cy: float, bw: float,
                   bh: float) -> list[tuple[float, float]]:
    """Vertices of a (possibly rotated) shape of class ``cls`` centred on (cx, cy), size ~(bw, bh)."""
    angle = rng.uniform(-math.pi / 6, math.pi / 6) if cls != 1 else rng.uniform(0, math.pi)
    if cls == 0:  # rectangle
        pts = [(-bw / 2, -bh / 2), (bw / 2, -bh / 2), (bw / 2, bh / 2), (-bw / 2, bh / 2)]
    elif cls == 1:  # ellipse as a 28-gon
        pts = [(bw / 2 * math.cos(t), bh / 2 * math.sin(t))
               for t in np.linspace(0, 2 * math.pi, 28, endpoint=False)]
    else:  # triangle, apex up (jittered)
        apex = rng.uniform(-bw / 4, bw / 4)
        pts = [(apex, -bh / 2), (bw / 2, bh / 2), (-bw / 2, bh / 2)]
    ca, sa = math.cos(angle), math.sin(angle)
    return [(cx + x * ca - y * sa, cy + x * sa + y * ca) for x, y in pts]


def _fits(poly, w: int, h: int) -> bool:
    xs, ys = [p[0] for p in poly], [p[1] for p in poly]
    return min(xs) >= 1 and min(ys) >= 1 and max(xs) <= w - 2 and max(ys) <= h - 2


def _bbox(poly) -> list[float]:
    xs, ys = [p[0] for p in poly], [p[1] for p in poly]
    return [min(xs), min(ys), max(xs), max(ys)]


def _overlaps(box, boxes, margin: float = 3.) -> bool:
    return any(box[0] < b[2] + margin and b[0] < box[2] + margin and box[1] < b[3] + margin
               and b[1] < box[3] + margin for b in boxes)


def _mask(poly, w: int, h: int) -> np.ndarray:
    canvas = Image.new('L', (w, h), 0)
    ImageDraw.Draw(canvas).polygon(poly, fill=1)
    return np.asarray(canvas, dtype=np.uint8)


def _paint(img: np.ndarray, mask: np.ndarray, cls: int, rng: np.random.Generator) -> None:
    color = np.array(SHAPE_COLORS[cls], np.float32) + rng.normal(0, 12, size=3)
    shade = (_smooth_noise(rng, *mask.shape, cells=3) - .5) * 30  # mild shading, still "solid"
    img[mask.astype(bool)] = (color[None, None] + shade[..., None])[mask.astype(bool)]


def _sample_shapes(rng, cfg: DemoDataConfig, w: int, h: int, n: int, avoid_overlap: bool):
    """Up to ``n`` (cls, polygon) pairs inside the image; boxes disjoint when ``avoid_overlap``."""
    shapes, boxes = [], []
    for _ in range(n * 30):
        if len(shapes) == n:
            break
        cls = int(rng.integers(len(SHAPE_CLASSES)))
        bw, bh = rng.uniform(cfg.min_object, cfg.max_object, size=2)
        cx, cy = rng.uniform(bw / 2, w - bw / 2), rng.uniform(bh / 2, h - bh / 2)
        poly = _shape_polygon(rng, cls, cx, cy, bw, bh)
        box = _bbox(poly)
        if not _fits(poly, w, h) or (avoid_overlap and _overlaps(box, boxes)):
            continue
        shapes.append((cls, poly))
        boxes.append(box)
    return shapes


# --------------------------------------------------------------------------- COCO
def _coco_background(rng, h: int, w: int) -> np.ndarray:
    # greyish, weakly tinted: the shapes' saturated colours stay distinct from the background
    base = (rng.uniform(95, 165) + rng.uniform(-20, 20, size=3)).astype(np.float32)
    return _texture(rng, h, w, base, amp=70., stripes=rng.choice(['v', 'h', None]))


def _write_coco_split(root: str, split: str, num: int, cfg: DemoDataConfig,
                      rng: np.random.Generator, first_image_id: int, first_ann_id: int) -> dict:
    from pycocotools import mask as mask_utils

    img_dir = osp.join(root, f'{split}2017')
    os.makedirs(img_dir, exist_ok=True)
    images, annotations = [], []
    ann_id = first_ann_id
    for k in range(num):
        image_id = first_image_id + k
        w, h = (int(v) for v in rng.integers(cfg.min_size, cfg.max_size + 1, size=2))
        img = _coco_background(rng, h, w)
        n = int(rng.integers(cfg.min_objects, cfg.max_objects + 1))
        shapes = _sample_shapes(rng, cfg, w, h, n, avoid_overlap=True)
        # Every 7th image also gets a crowd: a tight cluster of small same-class shapes that is
        # annotated once, iscrowd=1, with an uncompressed RLE (COCO's format for crowds).
        crowd = None
        if k % 7 == 3:
            cls = int(rng.integers(len(SHAPE_CLASSES)))
            boxes = [_bbox(p) for _, p in shapes]
            for _ in range(40):
                cx, cy = rng.uniform(14, w - 14), rng.uniform(14, h - 14)
                if not _overlaps([cx - 13, cy - 13, cx + 13, cy + 13], boxes):
                    polys = [_shape_polygon(rng, cls, cx + dx, cy + dy, 7, 7)
                             for dx in (-6, 0, 6) for dy in (-6, 6) if rng.random() < .8]
                    if polys:
                        crowd = (cls, polys)
                    break
        file_name = f'{image_id:012d}.jpg'
        for j, (cls, poly) in enumerate(shapes):
            mask = _mask(poly, w, h)
            _paint(img, mask, cls, rng)
            flat = [round(float(c), 2) for p in poly for c in p]
            x0, y0, x1, y1 = _bbox(poly)
            if (k + j) % 5 == 2:  # a compressed RLE (string counts) for a non-crowd object
                rle = mask_utils.encode(np.asfortranarray(mask))
                ys, xs = np.nonzero(mask)
                segmentation = {'size': [h, w], 'counts': rle['counts'].decode('ascii')}
                area = float(mask_utils.area(rle))
                bbox = [float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1),
                        float(ys.max() - ys.min() + 1)]
            else:  # polygon, as most COCO objects; area = area of the rasterised polygon
                segmentation = [flat]
                area = float(mask_utils.area(mask_utils.merge(
                    mask_utils.frPyObjects(segmentation, h, w))))
                bbox = [x0, y0, x1 - x0, y1 - y0]
            annotations.append(dict(id=ann_id, image_id=image_id, category_id=cls + 1,
                                    segmentation=segmentation, area=round(area, 2),
                                    bbox=[round(v, 2) for v in bbox], iscrowd=0))
            ann_id += 1
        if crowd is not None:
            cls, polys = crowd
            mask = np.zeros((h, w), np.uint8)
            for poly in polys:
                mask |= _mask(poly, w, h)
            _paint(img, mask, cls, rng)
            ys, xs = np.nonzero(mask)
            annotations.append(dict(
                id=ann_id, image_id=image_id, category_id=cls + 1,
                segmentation=_uncompressed_rle(mask), area=float(mask.sum()),
                bbox=[float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1),
                      float(ys.max() - ys.min() + 1)], iscrowd=1))
            ann_id += 1
        _finish(img, rng).save(osp.join(img_dir, file_name), quality=92)
        images.append(dict(id=image_id, file_name=file_name, width=w, height=h, license=1,
                           date_captured=''))
    return dict(
        info=dict(description=f'focalnet-mm synthetic shapes ({split})', version='1.0',
                  year=2024, contributor='focalnet_mm.demo_data', date_created=''),
        licenses=[dict(id=1, name='CC0', url='')],
        images=images, annotations=annotations,
        categories=[dict(id=i + 1, name=n, supercategory='shape') for i, n in enumerate(SHAPE_CLASSES)])


def _uncompressed_rle(mask: np.ndarray) -> dict:
    """COCO's uncompressed RLE (column-major run lengths, starting with a run of zeros)."""
    flat = mask.flatten(order='F')
    change = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat[0] == 1:
        counts = [0] + counts
    return {'size': [int(mask.shape[0]), int(mask.shape[1])], 'counts': [int(c) for c in counts]}


def generate_coco(root: str, cfg: DemoDataConfig) -> None:
    rng = np.random.default_rng([cfg.seed, 1])
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    train = _write_coco_split(root, 'train', cfg.coco_train, cfg, rng, 1, 1)
    val = _write_coco_split(root, 'val', cfg.coco_val, cfg, rng, 100001,
                            len(train['annotations']) + 1)
    for split, data in (('train', train), ('val', val)):
        with open(osp.join(root, 'annotations', f'instances_{split}2017.json'), 'w') as f:
            json.dump(data, f)


# --------------------------------------------------------------------------- ADE20K
def _ade_scenes(split: str, num: int, cfg: DemoDataConfig, rng: np.random.Generator):
    """The ADE-style scenes of a split, in order: ``(stem, image, label, instances, classes)``.

    ``label`` holds the semantic classes (0 = unlabeled ring, 1 wall, 2 floor, 3.. shapes);
    ``instances`` holds, per pixel, 1 + the index of the shape visible there (0 elsewhere), and
    ``classes[j]`` is the shape class of instance j + 1 (0-based in ``SHAPE_CLASSES``). Both
    writers (ADE20K and COCO panoptic) draw from this one generator, so with the same ``rng`` they
    see the same images.
    """
    for k in range(num):
        w, h = (int(v) for v in rng.integers(cfg.min_size, cfg.max_size + 1, size=2))
        label = np.zeros((h, w), np.uint8)
        instances = np.zeros((h, w), np.int32)
        # Stuff: a wall (class 1) above a floor (class 2), split by a sloped horizon.
        horizon = rng.uniform(.35, .65) * h + (np.arange(w) - w / 2) * rng.uniform(-.3, .3)
        below = np.arange(h)[:, None] >= horizon[None, :]
        wall = _texture(rng, h, w, rng.uniform([100, 100, 125], [150, 150, 185]).astype(np.float32),
                        amp=45., stripes='v')
        floor = _texture(rng, h, w, rng.uniform([120, 90, 50], [170, 130, 90]).astype(np.float32),
                         amp=60., stripes='h')
        img = np.where(below[..., None], floor, wall)
        label[:] = np.where(below, 2, 1)
        # Things: shapes (classes 3..5) may overlap, later ones on top; each keeps a 1-pixel
        # unlabeled (0) ring around it.
        n = int(rng.integers(cfg.min_objects, cfg.max_objects + 1))
        classes = []
        for cls, poly in _sample_shapes(rng, cfg, w, h, n, avoid_overlap=False):
            mask = _mask(poly, w, h)
            ring = np.asarray(Image.fromarray(mask * 255).filter(ImageFilter.MaxFilter(3))) > 0
            _paint(img, mask, cls, rng)
            label[ring] = 0
            label[mask.astype(bool)] = cls + 3
            instances[ring] = 0
            classes.append(cls)
            instances[mask.astype(bool)] = len(classes)
        yield f'ADE_{split}_{k + 1:08d}', _finish(img, rng), label, instances, classes


def _write_ade_split(root: str, split: str, num: int, cfg: DemoDataConfig,
                     rng: np.random.Generator) -> None:
    folder = 'training' if split == 'train' else 'validation'
    img_dir = osp.join(root, 'images', folder)
    ann_dir = osp.join(root, 'annotations', folder)
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(ann_dir, exist_ok=True)
    for stem, image, label, _, _ in _ade_scenes(split, num, cfg, rng):
        image.save(osp.join(img_dir, stem + '.jpg'), quality=92)
        Image.fromarray(label, mode='L').save(osp.join(ann_dir, stem + '.png'))


def generate_ade(root: str, cfg: DemoDataConfig) -> None:
    rng = np.random.default_rng([cfg.seed, 2])
    _write_ade_split(root, 'train', cfg.ade_train, cfg, rng)
    _write_ade_split(root, 'val', cfg.ade_val, cfg, rng)


# --------------------------------------------------------------------------- COCO panoptic
#: Panoptic categories: the shapes are things (ids 1..3, as in the COCO instance set), wall and
#: floor are stuff (ids 4, 5); mmdet orders classes things first, then stuff.
PANOPTIC_THING_CLASSES = SHAPE_CLASSES
PANOPTIC_STUFF_CLASSES = ('wall', 'floor')
PANOPTIC_CLASSES = PANOPTIC_THING_CLASSES + PANOPTIC_STUFF_CLASSES
PANOPTIC_PALETTE = [list(c) for c in SHAPE_COLORS] + [[120, 120, 150], [140, 110, 70]]


def _panoptic_id_png(segments: np.ndarray) -> Image.Image:
    """COCO panoptic PNG: segment id = R + 256 G + 256^2 B (``panopticapi.utils.id2rgb``)."""
    rgb = np.stack([segments % 256, segments // 256 % 256, segments // 65536 % 256], axis=-1)
    return Image.fromarray(rgb.astype(np.uint8), mode='RGB')


def _write_panoptic_split(root: str, split: str, num: int, cfg: DemoDataConfig,
                          rng: np.random.Generator, first_image_id: int) -> dict:
    img_dir = osp.join(root, f'{split}2017')
    png_dir = osp.join(root, 'annotations', f'panoptic_{split}2017')
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(png_dir, exist_ok=True)
    images, annotations = [], []
    stuff_ids = {1: len(PANOPTIC_THING_CLASSES) + 1, 2: len(PANOPTIC_THING_CLASSES) + 2}
    for k, (_, image, label, instances, classes) in enumerate(_ade_scenes(split, num, cfg, rng)):
        image_id = first_image_id + k
        h, w = label.shape
        segments = np.zeros((h, w), np.int64)  # 0 = VOID (the unlabeled rings)
        regions = [(stuff_ids[v], label == v) for v in (1, 2)]  # one segment per stuff class
        regions += [(cls + 1, instances == j + 1) for j, cls in enumerate(classes)]
        segments_info = []
        for n, (category_id, region) in enumerate(regions):
            if not region.any():  # a shape entirely covered by later ones
                continue
            segment_id = category_id * 1000 + n  # unique in the image, < 256^3
            segments[region] = segment_id
            ys, xs = np.nonzero(region)
            segments_info.append(dict(
                id=segment_id, category_id=category_id, iscrowd=0, area=int(region.sum()),
                bbox=[int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1),
                      int(ys.max() - ys.min() + 1)]))
        file_name = f'{image_id:012d}'
        image.save(osp.join(img_dir, file_name + '.jpg'), quality=92)
        _panoptic_id_png(segments).save(osp.join(png_dir, file_name + '.png'))
        images.append(dict(id=image_id, file_name=file_name + '.jpg', width=w, height=h,
                           license=1, date_captured=''))
        annotations.append(dict(image_id=image_id, file_name=file_name + '.png',
                                segments_info=segments_info))
    categories = [
        dict(id=i + 1, name=name, isthing=int(name in PANOPTIC_THING_CLASSES),
             supercategory='shape' if name in PANOPTIC_THING_CLASSES else 'stuff',
             color=PANOPTIC_PALETTE[i]) for i, name in enumerate(PANOPTIC_CLASSES)
    ]
    return dict(
        info=dict(description=f'focalnet-mm synthetic scenes, panoptic ({split})', version='1.0',
                  year=2024, contributor='focalnet_mm.demo_data', date_created=''),
        licenses=[dict(id=1, name='CC0', url='')],
        images=images, annotations=annotations, categories=categories)


def generate_coco_panoptic(root: str, cfg: DemoDataConfig) -> None:
    """The ADE scenes (same seed stream, so the same images) in the COCO panoptic layout."""
    rng = np.random.default_rng([cfg.seed, 2])
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    train = _write_panoptic_split(root, 'train', cfg.ade_train, cfg, rng, 1)
    val = _write_panoptic_split(root, 'val', cfg.ade_val, cfg, rng, 100001)
    for split, data in (('train', train), ('val', val)):
        with open(osp.join(root, 'annotations', f'panoptic_{split}2017.json'), 'w') as f:
            json.dump(data, f)


# --------------------------------------------------------------------------- entry point
def _stamp_path(path: str) -> str:
    return osp.join(path, '.demo_data_stamp')


def _up_to_date(path: str, digest: str) -> bool:
    try:
        with open(_stamp_path(path)) as f:
            return f.read().strip() == digest
    except OSError:
        return False


def make_demo_data(root: str = DEFAULT_ROOT, force: bool = False,
                   cfg: DemoDataConfig = DemoDataConfig(), verbose: bool = True) -> dict:
    """Create ``<root>/coco``, ``<root>/ade/ADEChallengeData2016`` and ``<root>/coco_panoptic``
    unless already up to date.

    Returns ``dict(coco=path, ade=path, coco_panoptic=path, generated=[names], seconds=float)``.
    """
    t0 = time.perf_counter()
    digest = cfg.digest()
    targets = dict(coco=(osp.join(root, 'coco'), generate_coco),
                   ade=(osp.join(root, 'ade', 'ADEChallengeData2016'), generate_ade),
                   coco_panoptic=(osp.join(root, 'coco_panoptic'), generate_coco_panoptic))
    generated = []
    for name, (path, fn) in targets.items():
        if not force and _up_to_date(path, digest):
            continue
        if osp.isdir(path):
            shutil.rmtree(path)
        os.makedirs(path)
        fn(path, cfg)
        with open(_stamp_path(path), 'w') as f:
            f.write(digest + '\n')
        generated.append(name)
    seconds = time.perf_counter() - t0
    if verbose:
        state = f'generated {", ".join(generated)}' if generated else 'already up to date'
        print(f'[demo data] {root}: {state} ({seconds:.1f} s)')
    return dict(coco=targets['coco'][0], ade=targets['ade'][0],
                coco_panoptic=targets['coco_panoptic'][0], generated=generated, seconds=seconds)
