"""``focalnet_mm.apis`` (DetInferencer / SegInferencer over our model index) and ``tools/infer.py``.

Real models (the demo Mask R-CNN and UPerNet configs, full-width FocalNet-T, randomly initialised,
saved as mmengine checkpoints like tools/train.py writes them), real demo images, no mocks. The
inferencers must give exactly what ``model.test_step`` gives on the same image.
"""
from __future__ import annotations

import fractions
import glob
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import warnings

import numpy as np
import pytest
from helpers import NARROW_DET_CONFIG, call_tool_main, load_tool, tool_env
import torch

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..'))
pytestmark = pytest.mark.usefixtures('demo_data')
DET_CFG = 'configs/demo/mask-rcnn_focalnet-t-srf_fpn_demo.py'
# the model the detector inference tests run: the demo's data, pipeline and heads' logic with the
# narrow FocalNet and heads (the inferencer's and the tool's handling is under test, not the width)
DET_MODEL_CFG = NARROW_DET_CONFIG
SEG_CFG = 'configs/demo/upernet_focalnet-t-srf_demo.py'
DET_NAME = 'mask-rcnn_focalnet-t-srf_fpn_1x_coco'
SEG_NAME = 'upernet_focalnet-t-srf_8xb2-160k_ade20k-512x512'


def _det_images(n):
    return sorted(glob.glob(osp.join(ROOT, 'data/demo/coco/val2017/*.jpg')))[:n]


def _seg_images(n):
    return sorted(glob.glob(osp.join(ROOT, 'data/demo/ade/ADEChallengeData2016/images/validation/'
                                     '*.jpg')))[:n]


def _build(config: str, scope: str):
    """The model of a config, randomly initialised (``init_weights``), in eval mode."""
    import importlib
    from mmengine.config import Config
    importlib.import_module(f'{scope}.utils').register_all_modules(init_default_scope=False)
    import focalnet_mm  # noqa: F401
    cfg = Config.fromfile(osp.join(ROOT, config))
    torch.manual_seed(0)
    model = importlib.import_module(f'{scope}.registry').MODELS.build(cfg.model)
    model.init_weights()
    return cfg, model.eval()


def _save_like_runner(model, cfg, path: str) -> str:
    """A checkpoint with what mmengine's Runner writes besides the weights: meta (dataset_meta,
    numpy values) and the message hub (HistoryBuffer of numpy scalars, the config text): a plain
    ``torch.load(weights_only=True)`` refuses it without focalnet_mm's allow-list."""
    from mmengine.logging import MessageHub
    from mmengine.runner import save_checkpoint
    hub = MessageHub.get_instance(f'ckpt-{osp.basename(path)}')
    for v in (2.0, 1.5, 1.25):
        hub.update_scalar('train/loss', np.float64(v))
    hub.update_info('cfg', cfg.pretty_text)
    ds = cfg.test_dataloader.dataset
    meta = dict(epoch=1, iter=12, seed=np.int64(0), experiment_name='test',
                dataset_meta=dict(classes=tuple(ds.metainfo['classes']),
                                  palette=[tuple(p) for p in ds.metainfo['palette']]))
    save_checkpoint(dict(meta=meta, state_dict=model.state_dict(),
                         message_hub=hub.state_dict()), path)
    return path


@pytest.fixture(scope='module')
def det_model(tmp_path_factory):
    cfg, model = _build(DET_MODEL_CFG, 'mmdet')
    path = _save_like_runner(model, cfg, str(tmp_path_factory.mktemp('det') / 'det.pth'))
    return cfg, model, path


@pytest.fixture(scope='module')
def seg_model(tmp_path_factory):
    cfg, model = _build(SEG_CFG, 'mmseg')
    path = _save_like_runner(model, cfg, str(tmp_path_factory.mktemp('seg') / 'seg.pth'))
    return cfg, model, path


def _direct_test_step(cfg, model, img_path: str):
    """``model.test_step`` on the config's test pipeline (without annotation loading)."""
    from mmcv.transforms import Compose
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import init_default_scope
    init_default_scope(cfg.default_scope)
    steps = [t for t in cfg.test_dataloader.dataset.pipeline if t['type'] != 'LoadAnnotations']
    data = Compose(steps)(dict(img_path=img_path, img_id=0))
    # the inferencers run the measured CPU kernels: so does this model (the same, shared plans)
    from focalnet_mm.models.cpu_accel import accelerate
    accelerate(model)
    with torch.no_grad():
        return model.test_step(pseudo_collate([data]))[0]


# ------------------------------------------------------------------------------ name resolution
def test_resolve_name_stem_path_and_unknown(tmp_path, monkeypatch):
    from focalnet_mm.apis import ModelNotFoundError, list_models, resolve_model
    from mmengine.fileio import load

    models = [m for f in load(osp.join(ROOT, 'model-index.yml'))['Import']
              for m in load(osp.join(ROOT, f))['Models']]
    assert len(models) >= 24 and {m['Name'] for m in models} <= set(list_models())
    # config bases are parts of configs, not models: every listed name is a config outside _base_
    configs = {osp.splitext(osp.basename(p))[0]
               for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'), recursive=True)
               if '_base_' not in p.split(os.sep)}
    stems = {osp.splitext(osp.basename(resolve_model(n).config))[0] for n in list_models()}
    assert stems == configs and not {'coco', 'backbones', 'focalnet_runtime'} & set(list_models())
    for m in models:  # every metafile name (and alias) -> its config
        for key in [m['Name'], *m.get('Alias', [])]:
            entry = resolve_model(key)
            assert entry.in_metafile and entry.config == osp.join(ROOT, m['Config'])
            assert osp.isfile(entry.config)
    e = resolve_model(DET_NAME.upper())  # case-insensitive, as mmengine's lookup
    assert e.name == DET_NAME and e.scope == 'mmdet' and e.weights.endswith('focalnet_tiny_srf.pth')
    assert resolve_model(SEG_NAME).scope == 'mmseg'

    monkeypatch.chdir(tmp_path)  # repository-relative paths and stems work from anywhere
    for key in ('mask-rcnn_focalnet-t-srf_fpn_demo', DET_CFG, osp.join(ROOT, DET_CFG)):
        e = resolve_model(key)
        assert e.config == osp.join(ROOT, DET_CFG) and not e.in_metafile and e.weights is None
    private = tmp_path / 'my_cfg.py'
    private.write_text("_base_ = '%s'\n" % osp.join(ROOT, DET_CFG))
    assert resolve_model(str(private)).config == str(private)

    with pytest.raises(ModelNotFoundError) as err:
        resolve_model('mask-rcnn_focalnet-t-srf_fpn_1x_cocco')
    assert isinstance(err.value, ValueError)
    assert DET_NAME in str(err.value) and 'Did you mean' in str(err.value)
    with pytest.raises(ValueError, match='config file not found'):
        resolve_model('configs/demo/nope.py')


def test_inferencer_unknown_name_and_wrong_task():
    from focalnet_mm.apis import DetInferencer, SegInferencer
    with pytest.raises(ValueError, match=r'unknown model .*Did you mean: upernet_focalnet-t-srf'):
        SegInferencer('upernet_focalnet-t-srf_8xb2-160k_ade20k-512x51', device='cpu')
    # a detector name given to the segmentation inferencer: told which one to use, nothing built
    with pytest.raises(ValueError, match='use focalnet_mm.apis.DetInferencer'):
        SegInferencer(DET_NAME, device='cpu')
    with pytest.raises(ValueError, match='use focalnet_mm.apis.SegInferencer'):
        DetInferencer(SEG_CFG, device='cpu')


@pytest.mark.parametrize('name,scope,num_classes', [(DET_NAME, 'mmdet', 80),
                                                    (SEG_NAME, 'mmseg', 150)])
def test_metafile_name_without_weights_warns(name, scope, num_classes):
    """The metafiles' Weights are ImageNet backbones: never loaded as model weights; the model is
    random and a warning says so (and what to do)."""
    from focalnet_mm import apis
    cls = apis.DetInferencer if scope == 'mmdet' else apis.SegInferencer
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        inferencer = cls(name, device='cpu')
    untrained = [w for w in caught if issubclass(w.category, apis.UntrainedModelWarning)]
    assert len(untrained) == 1, [str(w.message) for w in caught]
    text = str(untrained[0].message)
    assert name in text and 'randomly initialised' in text and 'tools/train.py' in text
    assert 'releases/download/v1.0.0/focalnet_tiny_srf.pth' in text
    assert not any('randomly initialized' in str(w.message) for w in caught)  # not twice
    # class names of the config's dataset (COCO 80 / ADE20K 150), matching the heads
    assert len(inferencer.model.dataset_meta['classes']) == num_classes
    assert inferencer.cfg.default_scope == scope


# ------------------------------------------------------------------------------ checkpoints
def test_runner_like_checkpoint_needs_the_allow_list(det_model):
    """What mmengine's own loader meets under torch >= 2.6 (weights_only by default): refused in a
    plain process, read once ``focalnet_mm`` is imported (as ``custom_imports`` does)."""
    # A real process, as it is about a fresh interpreter's allow-list (in the test process,
    # focalnet_mm is imported already). Both loads share one interpreter.
    _, _, path = det_model
    load = f'torch.load({path!r}, map_location="cpu", weights_only=True)'
    script = '\n'.join([
        'import torch',
        'try:',
        f'    {load}',
        'except Exception as e:',
        '    print("plain refused:", e)',
        'else:',
        '    print("plain loaded")',
        'print("--- import focalnet_mm")',
        'import focalnet_mm',
        load,
        'print("ours loaded")'])
    proc = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True)
    plain, _, ours = proc.stdout.partition('--- import focalnet_mm')
    assert 'plain refused:' in plain and 'Weights only load failed' in plain, proc.stdout
    assert proc.returncode == 0 and 'ours loaded' in ours, proc.stderr[-2000:]


def test_unsafe_checkpoint_refused(det_model, tmp_path):
    from focalnet_mm.apis import DetInferencer
    from focalnet_mm.models.checkpoint import UnsafeCheckpointError
    _, model, _ = det_model
    bad = str(tmp_path / 'bad.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {'x': fractions.Fraction(1, 3)}}, bad)
    with pytest.raises(UnsafeCheckpointError, match='fractions.Fraction'):
        DetInferencer(DET_MODEL_CFG, weights=bad, device='cpu')


def test_backbone_checkpoint_refused(tmp_path):
    from focalnet_mm import FocalNet
    from focalnet_mm.apis import SegInferencer
    path = str(tmp_path / 'focalnet_tiny_srf.pth')
    torch.save({'model': FocalNet(arch='tiny-srf').state_dict()}, path)
    with pytest.raises(ValueError, match='backbone .*checkpoint.*whole model'):
        SegInferencer('upernet_focalnet-t-srf_demo', weights=path, device='cpu')


def test_checkpoint_of_another_config_refused(seg_model):
    """The 5-class demo segmentor's checkpoint into the 150-class ADE20K model of the same
    backbone: refused (mmengine's non-strict load would log it and keep random heads)."""
    from focalnet_mm.apis import SegInferencer
    _, _, path = seg_model
    with pytest.raises(ValueError, match=r'differ in shape, e\.g\. .*conv_seg.*another config'):
        SegInferencer(SEG_NAME, weights=path, device='cpu')


# ------------------------------------------------------------------------------ predictions
def test_det_inferencer_equals_test_step(det_model):
    from focalnet_mm.apis import DetInferencer
    cfg, model, path = det_model
    # model=None: the config comes from the checkpoint (as mmengine's Runner stored it)
    inferencer = DetInferencer(None, weights=path, device='cpu', show_progress=False)
    assert inferencer.model.dataset_meta['classes'] == ('rectangle', 'ellipse', 'triangle')
    for k, v in inferencer.model.state_dict().items():
        assert torch.equal(v, model.state_dict()[k]), k
    imgs = _det_images(2)
    out = inferencer(imgs, batch_size=1, return_datasamples=True)['predictions']
    plain = inferencer(imgs[0])['predictions'][0]
    assert set(plain) == {'labels', 'scores', 'bboxes', 'masks'}
    for img, pred in zip(imgs, out):
        ref = _direct_test_step(cfg, model, img)
        h, w = ref.ori_shape
        assert tuple(pred.ori_shape) == (h, w)
        p, r = pred.pred_instances, ref.pred_instances
        assert len(r) > 0
        for key in ('bboxes', 'scores', 'labels', 'masks'):
            assert torch.equal(p[key], r[key]), key
        assert p.masks.shape[1:] == (h, w) and p.labels.max() < 3
        assert (p.bboxes[:, 0::2] <= w).all() and (p.bboxes[:, 1::2] <= h).all()
    assert len(plain['labels']) == len(out[0].pred_instances)
    assert np.allclose(plain['scores'], out[0].pred_instances.scores.numpy())


def test_seg_inferencer_equals_test_step(seg_model):
    from focalnet_mm.apis import SegInferencer
    cfg, model, path = seg_model
    inferencer = SegInferencer('upernet_focalnet-t-srf_demo', weights=path, device='cpu',
                               show_progress=False)
    assert inferencer.model.dataset_meta['classes'] == (
        'wall', 'floor', 'rectangle', 'ellipse', 'triangle')
    imgs = _seg_images(2)
    # a batch of two sizes: mmseg refuses it, SegInferencer runs it as two groups
    assert len({tuple(inferencer.pipeline(img)['inputs'].shape) for img in imgs}) == 2
    preds = inferencer(imgs, batch_size=2, return_datasamples=True)
    for img, pred in zip(imgs, preds):
        ref = _direct_test_step(cfg, model, img)
        assert torch.equal(pred.seg_logits.data, ref.seg_logits.data)
        assert torch.equal(pred.pred_sem_seg.data, ref.pred_sem_seg.data)
        assert pred.pred_sem_seg.shape == tuple(ref.ori_shape)
    label_map = inferencer(imgs[0])['predictions']
    assert isinstance(label_map, np.ndarray) and label_map.max() < 5


# ------------------------------------------------------------------------------ tools/infer.py
def _cli(*args, timeout=600):
    return subprocess.run([sys.executable, osp.join(ROOT, 'tools/infer.py'), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, env=tool_env())


def _cli_in_process(capsys, *args) -> subprocess.CompletedProcess:
    """``tools/infer.py ARGS`` as :func:`_cli` runs it, without a new interpreter importing torch,
    mmdet and mmseg again: the returned status and the captured stdout/stderr."""
    with warnings.catch_warnings():
        # the filters of the tool's __main__ block
        warnings.filterwarnings('ignore', message='pkg_resources is deprecated')
        warnings.filterwarnings('ignore', message='Warning: The .* is out of bounds')
        code, out, err = call_tool_main(capsys, 'infer', *args)
    return subprocess.CompletedProcess(['tools/infer.py', *args], code, out, err)


def test_cli_collects_images(tmp_path):
    infer = load_tool('infer')
    (tmp_path / 'sub').mkdir()
    for name in ('b.JPG', 'a.png', 'notes.txt', 'sub/c.jpeg'):
        (tmp_path / name).write_bytes(b'')
    images, base = infer.collect_images(str(tmp_path), recursive=False)
    assert [osp.relpath(p, base) for p in images] == ['a.png', 'b.JPG']
    images, _ = infer.collect_images(str(tmp_path), recursive=True)
    assert [osp.relpath(p, base) for p in images] == ['a.png', 'b.JPG', 'sub/c.jpeg']
    (tmp_path / 'a.png').unlink()
    (tmp_path / 'b.JPG').unlink()
    with pytest.raises(ValueError, match='no images .*add --recursive'):
        infer.collect_images(str(tmp_path), recursive=False)


def test_cli_clear_errors(tmp_path, det_model, capsys):
    """Usage errors stop before any model is built: exit status 2 and a message (in-process)."""
    infer = load_tool('infer')
    _, _, ckpt = det_model
    img = _det_images(1)[0]
    cases = [
        ([str(tmp_path / 'missing'), DET_MODEL_CFG, '--weights', ckpt], 'input not found'),
        ([str(tmp_path), DET_MODEL_CFG, '--weights', ckpt], 'no images'),
        ([img, 'mask-rcnn_focalnet-t-srf_fpn_1x', '--weights', ckpt],
         'Did you mean: mask-rcnn_focalnet-t-srf_fpn_1x_coco'),
        ([img, DET_NAME], '--weights is required'),
        ([img, DET_MODEL_CFG, '--weights', str(tmp_path / 'no.pth')], 'checkpoint not found'),
        ([img], 'required: inputs, model'),
    ]
    for args, message in cases:
        with pytest.raises(SystemExit) as exit_:
            infer.main(args)
        err = capsys.readouterr().err
        assert exit_.value.code == 2 and message in err, (args, err)
    assert infer.main(['--list-models', 'upernet']) == 0
    assert SEG_NAME in capsys.readouterr().out.split()


def _image_size(path):
    from PIL import Image
    with Image.open(path) as im:
        return im.size


def test_cli_det_folder(tmp_path, det_model, capsys):
    """3 images (+ an unreadable one, skipped with a warning, exit status 1): 3 vis, 3 JSON."""
    _, _, ckpt = det_model
    src = tmp_path / 'images'
    src.mkdir()
    imgs = _det_images(3)
    for img in imgs:
        shutil.copy(img, src)
    (src / 'broken.jpg').write_bytes(open(imgs[0], 'rb').read()[:300])  # truncated JPEG
    (src / 'README.txt').write_text('not an image')
    out = tmp_path / 'out'
    proc = _cli_in_process(capsys, str(src), DET_MODEL_CFG, '--weights', ckpt, '--out-dir',
                           str(out), '--device', 'cpu', '--batch-size', '2',
                           '--pred-score-thr', '0.1')
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert 'skipped' in proc.stdout + proc.stderr and 'broken.jpg' in proc.stderr
    assert '3 image(s) processed' in proc.stdout
    vis = sorted(os.listdir(out / 'vis'))
    preds = sorted(os.listdir(out / 'preds'))
    stems = [osp.splitext(osp.basename(p))[0] for p in imgs]
    assert vis == [s + '.jpg' for s in stems] and preds == [s + '.json' for s in stems]
    for img, stem in zip(imgs, stems):
        assert _image_size(out / 'vis' / (stem + '.jpg')) == _image_size(img)
        with open(out / 'preds' / (stem + '.json')) as f:
            result = json.load(f)
        assert {'labels', 'scores', 'bboxes', 'masks', 'img_path', 'height', 'width',
                'label_names'} <= set(result)
        n = len(result['labels'])
        assert n > 0 and len(result['scores']) == len(result['bboxes']) == len(result['masks']) == n
        assert (result['width'], result['height']) == _image_size(img)
        assert all(m['size'] == [result['height'], result['width']] for m in result['masks'])
        assert set(result['label_names']) <= {'rectangle', 'ellipse', 'triangle'}


def test_cli_seg_folder(tmp_path, seg_model):
    # Stays a real process (the cheapest of the tool's end-to-end runs): `python tools/infer.py`
    # as a user runs it, its __main__ block and exit status included.
    _, _, ckpt = seg_model
    src = tmp_path / 'images' / 'nested'
    src.mkdir(parents=True)
    imgs = _seg_images(3)
    for img in imgs:
        shutil.copy(img, src)
    out = tmp_path / 'out'
    proc = _cli(str(tmp_path / 'images'), SEG_CFG, '--weights', ckpt, '--out-dir', str(out),
                '--device', 'cpu', '--recursive', '--batch-size', '3')
    assert proc.returncode == 0, proc.stderr[-3000:]
    for img in imgs:
        stem = osp.splitext(osp.basename(img))[0]
        assert _image_size(out / 'vis' / 'nested' / osp.basename(img)) == _image_size(img)
        label = out / 'preds' / 'nested' / (stem + '.png')
        assert _image_size(label) == _image_size(img)
        from PIL import Image
        with Image.open(label) as im:
            assert im.mode == 'L' and np.asarray(im).max() < 5
        with open(out / 'preds' / 'nested' / (stem + '.json')) as f:
            result = json.load(f)
        assert set(result) == {'img_path', 'height', 'width', 'sem_seg_path', 'classes',
                               'pixel_counts'}
        assert result['sem_seg_path'] == osp.join('preds', 'nested', stem + '.png')
        assert sum(result['pixel_counts'].values()) == result['height'] * result['width']
