"""Integration: an official mmdet 2.11 / mmseg 0.11 FocalNet checkpoint (the layout the key-name
tests of ``tests/test_legacy_checkpoints.py`` check) evaluates through ``tools/test.py`` with our
configs (demo data, 2 images), with no key mismatch and the predictions of the same weights saved
by mmengine. The tool runs through its ``main`` in the test process."""
from __future__ import annotations

import collections
import glob
import pickle
from pathlib import Path

import pytest
import torch
from helpers import ROOT, call_tool_main, randomize_
from test_legacy_checkpoints import FAMILIES, RENAMED_SINCE_2X, _build

pytestmark = pytest.mark.integration


def _mmdet2_checkpoint(model, classes, config_text: str) -> dict:
    """The container mmcv 1.x's ``save_checkpoint`` wrote for an mmdet 2.11 / mmseg 0.11 model."""
    sd = collections.OrderedDict(
        (RENAMED_SINCE_2X.get(k, k), v.detach().clone()) for k, v in model.state_dict().items())
    sd._metadata = model.state_dict()._metadata  # per-module versions, as torch records them
    meta = dict(mmdet_version='2.11.0', mmcv_version='1.3.1', CLASSES=tuple(classes),
                config=config_text, epoch=36, iter=87948, time='Sun Oct 23 10:00:00 2022',
                hook_msgs=dict(last_ckpt='work_dirs/epoch_36.pth'))
    optimizer = dict(state={0: dict(step=10, exp_avg=torch.zeros(3), exp_avg_sq=torch.zeros(3))},
                     param_groups=[dict(lr=1e-4, betas=(0.9, 0.999), eps=1e-8,
                                        weight_decay=0.05, amsgrad=False, params=[0])])
    return dict(meta=meta, state_dict=sd, optimizer=optimizer)


def _predictions(pkl: str) -> list:
    with open(pkl, 'rb') as f:
        results = pickle.load(f)
    out = []
    for r in results:
        if 'pred_instances' in r:
            p = r['pred_instances']
            out.append((p['bboxes'], p['scores'], p['labels']))
        else:
            out.append((r['seg_logits']['data'] if 'seg_logits' in r else r['pred_sem_seg']['data'],))
    return out


@pytest.mark.parametrize('family', ['mask-rcnn', 'upernet'])
def test_mmdet2_checkpoint_evaluates_through_tools_test(family, tmp_path, demo_data, capsys):
    """A randomised model saved in the official 2.x layout and, as a control, by mmengine: both
    evaluate through ``tools/test.py`` without key mismatches, to the same predictions."""
    _, config, demo, _ = FAMILIES[family]
    model = randomize_(_build(demo, Path(config).parent.name, device='cpu'), scale=0.5)
    from mmengine.config import Config
    cfg = Config.fromfile(f'{ROOT}/{demo}')
    classes = cfg.get('metainfo', {}).get('classes', ()) or ('a',)
    legacy = tmp_path / 'official_2x.pth'
    torch.save(_mmdet2_checkpoint(model, classes, cfg.pretty_text), legacy)
    current = tmp_path / 'mmengine.pth'
    torch.save(dict(meta=dict(dataset_meta=dict(classes=classes)), state_dict=model.state_dict()),
               current)
    outs = {}
    for name, ckpt in (('legacy', legacy), ('current', current)):
        _, out, err = call_tool_main(capsys, 'test', demo, ckpt, '--work-dir', tmp_path / name,
                                     '--out', tmp_path / f'{name}.pkl', '--cfg-options',
                                     'test_dataloader.dataset.indices=2')
        out += err
        for log in glob.glob(str(tmp_path / name / '*' / '*.log')):
            out += open(log).read()
        assert 'Loads checkpoint' in out, out[-3000:]  # the log is what is searched
        assert 'do not match exactly' not in out and 'missing keys' not in out, out[-3000:]
        outs[name] = _predictions(str(tmp_path / f'{name}.pkl'))
    assert len(outs['legacy']) == len(outs['current']) == 2
    for a, b in zip(outs['legacy'], outs['current']):
        for x, y in zip(a, b):
            x, y = torch.as_tensor(x).float(), torch.as_tensor(y).float()
            assert x.shape == y.shape and torch.allclose(x, y, rtol=1e-4, atol=1e-4), \
                float((x - y).abs().max())


