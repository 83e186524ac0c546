"""Real environments: HF transformers 4.57 and 5.x installed next to the stack.

``tools/setup_env.sh`` installs each pinned transformers (``requirements/transformers-*.txt``:
transformers plus exactly the packages ``pip install transformers`` adds to this stack) into a
side folder under ``~/.cache/focalnet-mm/side/``; a subprocess puts that folder first on
``PYTHONPATH``, as if the user had installed it. Per version:

* without ``focalnet_mm``, ``import mmdet.models`` fails (the hazard is real in that environment);
* with ``import focalnet_mm`` first, mmdet/mmseg/mmpretrain import, and our Mask R-CNN and
  UPerNet configs build and run a test step;
* an HF transformers FocalNet, saved as its ``model.safetensors`` and served from loopback under
  its hub path, loads through a config's ``init_cfg`` and computes what HF computes.
"""
from __future__ import annotations

import glob
import hashlib
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
from helpers import ROOT

CACHE = os.environ.get('FOCALNET_MM_CACHE', osp.expanduser('~/.cache/focalnet-mm'))
PIN_FILES = sorted(glob.glob(osp.join(ROOT, 'requirements', 'transformers-*.txt')))


def side_env(pin_file: str) -> str:
    """The folder ``tools/setup_env.sh`` installs ``pin_file`` into (keyed on its content)."""
    with open(pin_file, 'rb') as f:
        key = hashlib.sha1(f.read()).hexdigest()[:16]
    name = osp.splitext(osp.basename(pin_file))[0]
    path = osp.join(CACHE, 'side', f'{name}-{key}')
    if not osp.isfile(osp.join(path, '.complete')):
        pytest.fail(f'side environment {path} is missing: run `make setup` (tools/setup_env.sh '
                    'installs requirements/transformers-*.txt there)')
    return path


def _pinned_version(pin_file: str) -> str:
    with open(pin_file) as f:
        return next(line.split('==')[1].strip() for line in f if line.startswith('transformers=='))


def _start(code: str, site: str, *args: str, **env: str) -> subprocess.Popen:
    """``python -c code args`` in the repository with ``site`` first on the path (started, not
    waited for: the environments' runs go side by side, each mostly imports)."""
    env = dict({k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}, PYTHONPATH=site,
               OMP_NUM_THREADS='1', **env)
    return subprocess.Popen([sys.executable, '-c', code, *args], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.fixture(scope='module')
def runs(tmp_path_factory) -> dict:
    """(pin file, 'plain' | 'fixed') -> (returncode, stdout, stderr), all run at once."""
    procs = {}
    for pin_file in PIN_FILES:
        site = side_env(pin_file)
        procs[pin_file, 'plain'] = _start(_PLAIN, site)
        tmp = tmp_path_factory.mktemp('fixed')
        procs[pin_file, 'fixed'] = _start(_WITH_FIX, site, str(tmp), TORCH_HOME=str(tmp / 'torch'))
    results = {}
    for key, proc in procs.items():
        out, err = proc.communicate(timeout=900)
        results[key] = (proc.returncode, out, err)
    return results


def test_pin_files_cover_4_57_and_5():
    versions = [_pinned_version(p) for p in PIN_FILES]
    assert [v.split('.')[0] for v in versions] == ['4', '5'] and versions[0].startswith('4.57.')


_PLAIN = ('import transformers; print("TF", transformers.__version__, transformers.__file__, '
          'flush=True); import mmdet.models')


@pytest.mark.integration  # four interpreters importing the stack: ~40 s on a core
@pytest.mark.parametrize('pin_file', PIN_FILES, ids=[osp.basename(p) for p in PIN_FILES])
def test_plain_stack_breaks_without_the_fix(pin_file, runs):
    """The environment reproduces the user's failure: mmdet's models do not import at all."""
    returncode, out, err = runs[pin_file, 'plain']
    assert f'TF {_pinned_version(pin_file)} {side_env(pin_file)}' in out, out + err
    assert returncode != 0, 'import mmdet.models worked without focalnet_mm: no hazard?'
    assert 'TypeError: NoneType takes no arguments' in err, err[-2000:]


_WITH_FIX = r'''
import json, sys, warnings
import torch
warnings.simplefilter('ignore')
import focalnet_mm
from focalnet_mm.compat import LAST_FIX
import transformers, mmdet.models, mmseg.models, mmpretrain.models
from mmengine.config import Config
from mmengine.registry import DefaultScope
out = dict(transformers=transformers.__version__, restored=LAST_FIX.restored,
           missing=LAST_FIX.missing, multimodal_disabled=LAST_FIX.multimodal_disabled)
import mmpretrain.registry as pre_reg
# our stand-in for the helper 5.x removed equals transformers' own (where it still exists)
import transformers.pytorch_utils as pytorch_utils
from focalnet_mm.compat import find_pruneable_heads_and_indices as ours
theirs = getattr(pytorch_utils, 'find_pruneable_heads_and_indices', None)
if theirs is not None:
    cases = [([1, 3], 4, 8, set()), ([0, 2, 5], 6, 4, {1, 3}), ([2], 4, 2, {2})]
    out['pruneable_equal'] = all(
        ours(*c)[0] == theirs(*c)[0] and torch.equal(ours(*c)[1], theirs(*c)[1]) for c in cases)
# the real class, not mmpretrain's install-hint placeholder function
out['blip_registered'] = isinstance(pre_reg.MODELS.module_dict.get('BlipCaption'), type)

# Mask R-CNN (mmdet) and UPerNet (mmseg) configs: build and run a test step.
torch.manual_seed(0)
img = torch.randint(0, 256, (3, 96, 128), dtype=torch.uint8)
meta = dict(img_shape=(96, 128), ori_shape=(96, 128), pad_shape=(96, 128), scale_factor=(1., 1.))

from mmdet.registry import MODELS as DET
from mmdet.structures import DetDataSample
from mmdet.utils import register_all_modules as det_modules
det_modules()
cfg = Config.fromfile('configs/mmdet/mask-rcnn_focalnet-t-srf_fpn_1x_coco.py')
cfg.model.backbone.init_cfg = None
with DefaultScope.overwrite_default_scope('mmdet'):
    det = DET.build(cfg.model).eval()
    with torch.no_grad():
        res = det.test_step(dict(inputs=[img], data_samples=[DetDataSample(metainfo=meta)]))[0]
out['det'] = dict(boxes=list(res.pred_instances.bboxes.shape),
                  masks=list(res.pred_instances.masks.shape),
                  finite=bool(torch.isfinite(res.pred_instances.bboxes).all()))

from mmseg.registry import MODELS as SEG
from mmseg.structures import SegDataSample
from mmseg.utils import register_all_modules as seg_modules
seg_modules()
cfg = Config.fromfile('configs/mmseg/upernet_focalnet-t-srf_8xb2-160k_ade20k-512x512.py')
cfg.model.backbone.init_cfg = None
cfg.model.data_preprocessor.size = None
with DefaultScope.overwrite_default_scope('mmseg'):
    seg = SEG.build(cfg.model).eval()
    with torch.no_grad():
        res = seg.test_step(dict(inputs=[img], data_samples=[SegDataSample(metainfo=meta)]))[0]
logits = res.seg_logits.data
out['seg'] = dict(labels=list(res.pred_sem_seg.data.shape), logits=list(logits.shape),
                  finite=bool(torch.isfinite(logits).all()))

# HF transformers' FocalNet-T srf as published (model.safetensors), through a config's init_cfg.
import functools, http.server, os, threading, tempfile
from safetensors.torch import save_file
from transformers import FocalNetConfig, FocalNetModel
from focalnet_mm.models.checkpoint import PRETRAINED_WEIGHTS
hf_cfg = FocalNetConfig(embed_dim=96, depths=[2, 2, 6, 2], focal_levels=[2] * 4,
                        focal_windows=[3] * 4, use_conv_embed=False)
hf = FocalNetModel(hf_cfg).eval()
with torch.no_grad():
    for p in hf.parameters():
        p.add_(torch.randn_like(p) * 0.02)
www = tempfile.mkdtemp(dir=sys.argv[1])
url_path = '/microsoft/focalnet-tiny/resolve/main/model.safetensors'
os.makedirs(www + os.path.dirname(url_path))
save_file({k: v.contiguous() for k, v in hf.state_dict().items()}, www + url_path)
httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(
    http.server.SimpleHTTPRequestHandler, directory=www))
threading.Thread(target=httpd.serve_forever, daemon=True).start()
url = f'http://127.0.0.1:{httpd.server_address[1]}{url_path}'
out['hf_url_is_published'] = PRETRAINED_WEIGHTS['tiny-srf'].hf_url.endswith(url_path)
cfg = Config.fromfile('configs/mmdet/mask-rcnn_focalnet-t-srf_fpn_1x_coco.py')
bb = cfg.model.backbone
bb.update(focal_windows=3, drop_path_rate=0., init_cfg=dict(bb.init_cfg, checkpoint=url))
ours = DET.build(bb)
ours.init_weights()
ours.eval()
httpd.shutdown()
# Our last output norm as HF's final layernorm: then stage 4 equals HF's last hidden state.
ours.norm3.load_state_dict(hf.layernorm.state_dict())
x = torch.randn(1, 3, 64, 96)
with torch.no_grad():
    hf_out = hf(pixel_values=x).last_hidden_state        # (1, H*W, C)
    our_out = ours(x)[3].flatten(2).transpose(1, 2)
out['hf_max_abs_diff'] = float((hf_out - our_out).abs().max())
out['hf_shape'] = list(hf_out.shape)
print('RESULT', json.dumps(out))
'''


@pytest.mark.integration  # four interpreters importing the stack: ~40 s on a core
@pytest.mark.parametrize('pin_file', PIN_FILES, ids=[osp.basename(p) for p in PIN_FILES])
def test_configs_build_and_run_with_transformers_installed(pin_file, runs):
    returncode, stdout, stderr = runs[pin_file, 'fixed']
    assert returncode == 0, stderr[-4000:]
    out = json.loads(stdout.split('RESULT', 1)[1])
    assert out['transformers'] == _pinned_version(pin_file)
    assert {'apply_chunking_to_forward', 'find_pruneable_heads_and_indices',
            'GenerationMixin'} <= set(out['restored'])
    # everything mmpretrain's multimodal code imports is there again: BLIP & co. register
    assert out['missing'] == [] and not out['multimodal_disabled'] and out['blip_registered']
    if out['transformers'].startswith('4.'):
        assert out['pruneable_equal'] is True
    det, seg = out['det'], out['seg']
    assert det['boxes'][1] == 4 and det['masks'][1:] == [96, 128] and det['finite']
    assert det['boxes'][0] == det['masks'][0]
    assert seg['labels'] == [1, 96, 128] and seg['logits'] == [150, 96, 128] and seg['finite']
    assert out['hf_url_is_published']
    assert out['hf_shape'] == [1, 2 * 3, 768]  # 64x96 at stride 32
    assert out['hf_max_abs_diff'] < 1e-4, out['hf_max_abs_diff']
