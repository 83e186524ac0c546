"""Integration: the FocalNet-T ImageNet-1k config through mmpretrain's own tools (their
``tools/train.py`` and ``tools/test.py``, i.e. mmengine's Runner with the config; each through its
``main`` in the test process), on an
ImageNet-layout folder generated here (``train/<wnid>/*.JPEG``, ``val/*.JPEG``, ``meta/{train,
val}.txt``; a few classes of the 1000, tiny images).

* training: 2 iterations (2 images, batch 2, 2 epochs), finite losses;
* testing an official-layout whole checkpoint (``{'model': ...}`` with ``norm.*``/``head.*``, as
  released): ``tools/test.py CONFIG CKPT`` converts it (ClassifierCheckpointHook) and prints top-1.
  The validation labels are chosen from an independent reference, timm's FocalNet on the same
  weights and the same preprocessed images: its prediction for half of the images, another class
  for the other half, so the printed top-1 must be exactly 50.0.
"""
import glob
import json
import math
import os.path as osp
import re
import sys
from unittest import mock

import numpy as np
import pytest
import torch
from helpers import ROOT, in_process_tool, load_tool, randomize_

pytestmark = pytest.mark.integration
mmpretrain = pytest.importorskip('mmpretrain')
timm = pytest.importorskip('timm')

CONFIG = osp.join(ROOT, 'configs/mmpretrain/focalnet-t-srf_8xb128_in1k.py')
TOOLS = osp.join(osp.dirname(mmpretrain.__file__), '.mim', 'tools')
WNIDS = ['n01440764', 'n01443537', 'n01484850', 'n01491361']  # ImageNet-1k labels 0-3


def _imagenet_folder(root, n_train=2, n_val=8, size=40):
    """The layout of mmpretrain's ImageNet (data_root with train/, val/, meta/): random-texture
    JPEGs, labels = the ImageNet-1k indices of their folders; val.txt written later."""
    from PIL import Image
    rng = np.random.default_rng(0)
    train_lines = []
    for i in range(n_train):
        label = i % len(WNIDS)
        rel = f'{WNIDS[label]}/{WNIDS[label]}_{i}.JPEG'
        (root / 'train' / WNIDS[label]).mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (size, size + 8, 3), dtype=np.uint8)).save(
            root / 'train' / rel)
        train_lines.append(f'{rel} {label}')
    (root / 'val').mkdir()
    val_files = []
    for i in range(n_val):
        name = f'ILSVRC2012_val_{i + 1:08d}.JPEG'
        Image.fromarray(rng.integers(0, 255, (size + 4 * i, size, 3), dtype=np.uint8)).save(
            root / 'val' / name)
        val_files.append(name)
    (root / 'meta').mkdir()
    (root / 'meta' / 'train.txt').write_text('\n'.join(train_lines) + '\n')
    return val_files


def _options(data_root: str, loaders=('train_dataloader',)) -> list:
    # 2 images / batch 2 = 1 iteration per epoch; 2 epochs (warmup 1, cosine 1: the schedule's
    # shape in miniature)
    opts = ['train_cfg.max_epochs=2', 'param_scheduler.0.end=1',
            'param_scheduler.1.begin=1', 'default_hooks.logger.interval=1',
            'log_processor.window_size=1', 'default_hooks.checkpoint.save_last=False',
            'randomness.seed=0']
    for loader in loaders:
        opts += [f'{loader}.dataset.data_root={data_root}', f'{loader}.batch_size=2',
                 f'{loader}.num_workers=0', f'{loader}.persistent_workers=False']
    return opts


def _mm_tool(capsys, tool: str, args: list) -> str:
    """mmpretrain's ``tools/<tool>.py ARGS`` through its ``main`` in the test process (it reads
    ``sys.argv``): what it printed and logged."""
    module = load_tool(tool, TOOLS, module_name=f'mmpretrain_{tool}')
    capsys.readouterr()
    with in_process_tool(), mock.patch.object(sys, 'argv', [f'{tool}.py', *map(str, args)]):
        module.main()
    out, err = capsys.readouterr()
    return out + err


def test_train_two_iterations_and_test_an_official_checkpoint(tmp_path, capsys):
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import DATASETS, MODELS

    from focalnet_mm.models.checkpoint import official_to_timm
    data = tmp_path / 'imagenet'
    val_files = _imagenet_folder(data)
    (data / 'meta' / 'val.txt').write_text(''.join(f'{f} 0\n' for f in val_files))  # labels: below

    # --- 2 training iterations with mmpretrain's tools/train.py (from scratch: offline) ---
    work = tmp_path / 'train'
    out = _mm_tool(capsys, 'train', [CONFIG, '--work-dir', str(work), '--no-validate',
                                     '--cfg-options', 'load_from=None', *_options(str(data))])
    (scalars,) = glob.glob(str(work / '*' / 'vis_data' / 'scalars.json'))
    losses = [json.loads(line)['loss'] for line in open(scalars) if '"loss"' in line]
    assert len(losses) == 2 and all(math.isfinite(v) and v > 0 for v in losses), losses

    # --- an official-layout checkpoint of a (randomised) FocalNet-T classifier ---
    cfg = Config.fromfile(CONFIG)
    cfg.model.backbone.drop_path_rate = 0.
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = randomize_(MODELS.build(cfg.model), seed=1, scale=0.5).eval()
        cfg.test_dataloader.dataset.data_root = str(data)
        dataset = DATASETS.build(cfg.test_dataloader.dataset)
    official = {}
    for k, v in model.state_dict().items():
        k = k.replace('backbone.norm3.', 'norm.').replace('backbone.', '').replace('head.fc.',
                                                                                   'head.')
        official[k] = v
    ckpt = tmp_path / 'focalnet_tiny_srf.pth'
    torch.save({'model': official}, ckpt)

    # --- labels from timm's FocalNet on the same weights and preprocessed images ---
    ref = timm.create_model('focalnet_tiny_srf', pretrained=False, num_classes=1000).eval()
    ref.load_state_dict(official_to_timm(official, use_postln=False), strict=True)
    mean = torch.tensor(cfg.data_preprocessor.mean).view(3, 1, 1)
    std = torch.tensor(cfg.data_preprocessor.std).view(3, 1, 1)
    with torch.no_grad():
        imgs = torch.stack([dataset[i]['inputs'].flip(0).float() for i in range(len(dataset))])
        logits = ref((imgs - mean) / std)  # BGR -> RGB (to_rgb), then normalise
    top2 = logits.topk(2, dim=1)
    assert (top2.values[:, 0] - top2.values[:, 1]).min() > 1e-3  # no near-ties to flip
    preds = top2.indices[:, 0].tolist()
    labels = [p if i % 2 == 0 else (p + 1) % 1000 for i, p in enumerate(preds)]
    (data / 'meta' / 'val.txt').write_text(
        ''.join(f'{f} {label}\n' for f, label in zip(val_files, labels)))

    # --- mmpretrain's tools/test.py with the official-layout checkpoint ---
    out = _mm_tool(capsys, 'test', [CONFIG, ckpt, '--work-dir', tmp_path / 'test',
                                    '--cfg-options', *_options(str(data), ('test_dataloader', ))])
    assert 'ClassifierCheckpointHook: converted the official-format classification checkpoint' in out
    top1 = float(re.search(r'accuracy/top1: ([\d.]+)', out).group(1))
    print(f'\nmmpretrain train: losses {losses}; test of the official-layout checkpoint: '
          f'top-1 {top1} (expected 50.0: timm-predicted labels for 4 of 8 images)')
    assert top1 == 50.0
