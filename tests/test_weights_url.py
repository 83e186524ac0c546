"""Pretrained weights by URL: every config names a published file; files in each published layout
(official classification ``.pth``, timm hub safetensors) served from a loopback HTTP server load
through a config's ``init_cfg``; 404, unreachable and truncated downloads fail fast with the
promised message and never leave a file in the cache.

The server is ``http.server`` on 127.0.0.1 in a thread of the test; ``TORCH_HOME`` points at the
test's tmp_path (the cache is torch's hub dir), so nothing outside the test is read or written.
"""
from __future__ import annotations

import copy
import functools
import glob
import http.server
import os
import os.path as osp
import re
import threading
import time
from urllib.parse import urlparse

import pytest
import torch
from helpers import ROOT, randomize_, load_tool

from focalnet_mm import FocalNet
from focalnet_mm.models.checkpoint import (OFFICIAL_RELEASE_URL, PRETRAINED_WEIGHTS,
                                           CheckpointDownloadError, UnsafeCheckpointError,
                                           cached_file_name, checkpoint_cache_dir,
                                           read_checkpoint)

model_zoo = load_tool('model_zoo')


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Static files, plus the failure modes of real downloads: ``/cut/<file>`` announces the whole
    length and closes the connection halfway, ``/cut-unsized/<file>`` sends half without a
    length (the end of the transfer then looks like the end of the file)."""

    def log_message(self, *args):  # keep pytest's output clean
        pass

    def do_GET(self):
        for prefix, sized in (('/cut/', True), ('/cut-unsized/', False)):
            if self.path.startswith(prefix):
                path = self.translate_path('/' + self.path[len(prefix):])
                data = open(path, 'rb').read()
                self.send_response(200)
                if sized:
                    self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data[:len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
        super().do_GET()


@pytest.fixture
def server(tmp_path):
    """(base URL, folder it serves)."""
    root = tmp_path / 'www'
    root.mkdir()
    httpd = http.server.ThreadingHTTPServer(
        ('127.0.0.1', 0), functools.partial(_Handler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f'http://127.0.0.1:{httpd.server_address[1]}', root
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch'))
    yield tmp_path / 'torch'


def _mirror(url: str, base: str) -> str:
    """``url`` with its scheme and host replaced by the loopback server's (same path)."""
    return base + urlparse(url).path


def _publish(root, url: str, data: bytes) -> None:
    dst = root / urlparse(url).path.lstrip('/')
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(data)


def _official_release_file(arch: str, tmp_path, **extra) -> tuple[bytes, dict]:
    """A classification checkpoint as the official training code saves it: ``{'model': ...}``
    with the classifier (final norm + head, no per-output norms), random values."""
    model = randomize_(FocalNet(arch, drop_path_rate=0.))
    sd = {k: v for k, v in model.state_dict().items() if not re.match(r'norm\d', k)}
    c = model.num_features[-1]
    sd.update({'norm.weight': torch.rand(c) + 0.5, 'norm.bias': torch.randn(c) * 0.1,
               'head.weight': torch.randn(1000, c) * 0.02, 'head.bias': torch.zeros(1000)})
    path = tmp_path / 'official.pth'
    torch.save({'model': sd, 'epoch': 300, 'max_accuracy': 82.1, **extra}, path)
    return path.read_bytes(), sd


def _timm_hub_file(name: str, tmp_path) -> tuple[bytes, dict]:
    """``model.safetensors`` of timm's hub repository: timm's own FocalNet's state dict."""
    import timm
    from safetensors.torch import save_file
    model = randomize_(timm.create_model(name, pretrained=False))
    sd = {k: v.contiguous() for k, v in model.state_dict().items()}
    path = tmp_path / 'model.safetensors'
    save_file(sd, str(path))
    return path.read_bytes(), sd


@pytest.fixture(scope='module')
def official_tiny_srf(tmp_path_factory) -> tuple[bytes, dict]:
    return _official_release_file('tiny-srf', tmp_path_factory.mktemp('official'))


@pytest.fixture(scope='module')
def timm_tiny_srf(tmp_path_factory) -> tuple[bytes, dict]:
    return _timm_hub_file('focalnet_tiny_srf', tmp_path_factory.mktemp('timm'))


def _backbone_from_config(config: str, url: str):
    """The backbone of ``config`` built through the mm registry from the config's own dict, with
    its ``init_cfg`` checkpoint replaced by ``url``; ``init_weights()`` downloads and loads."""
    cfg = model_zoo.load_config(ROOT + '/' + config)
    backbone_cfg = copy.deepcopy(cfg.model.backbone)
    backbone_cfg.drop_path_rate = 0.
    backbone_cfg.with_cp = False
    backbone_cfg.init_cfg = dict(backbone_cfg.init_cfg, checkpoint=url)
    from mmdet.registry import MODELS
    model = MODELS.build(backbone_cfg)
    model.init_weights()
    return cfg, model


# ------------------------------------------------------------------------------ the URL table
def _all_configs() -> list[str]:
    """The FocalNet detection and segmentation configs (repository-relative)."""
    return sorted(osp.relpath(p, ROOT) for folder in ('mmdet', 'mmseg')
                  for p in glob.glob(osp.join(ROOT, 'configs', folder, '*_focalnet-*.py')))


_ASSIGNED_URL = re.compile(r"""(?:pretrained|checkpoint_file|checkpoint)\s*=\s*'(https?://[^']+)'""")
_ARCH = re.compile(r"""arch='([a-z]+-[a-z0-9]+)'""")
_LOCAL_BASE = re.compile(r"""'(\.\.?/[^']+\.py)'""")


def _chain(config: str) -> list[str]:
    """``config`` and the local configs it inherits from (depth first), as text."""
    texts, todo = [], [osp.join(ROOT, config)]
    while todo:
        path = todo.pop(0)
        with open(path) as f:
            texts.append(f.read())
        todo += [osp.normpath(osp.join(osp.dirname(path), b))
                 for b in _LOCAL_BASE.findall(texts[-1])]
    return texts


def test_every_config_and_metafile_names_the_published_url():
    """Each FocalNet config's backbone starts from the official release asset of its arch (as
    written in the file or the local base it inherits it from; tests/test_configs.py and
    tests/test_record_configs.py check the resolved ``init_cfg``), and the metafile's ``Weights``
    is that same URL."""
    from focalnet_mm.apis.model_index import _load_entries, repo_root
    weights = {osp.relpath(e.config, ROOT): e.weights for e in _load_entries(repo_root())
               if e.in_metafile and '_focalnet-' in e.config}
    configs = _all_configs()
    assert len(weights) >= 30 and set(configs) >= set(weights)
    for config in configs:
        texts = _chain(config)
        url = next(m.group(1) for t in texts for m in [_ASSIGNED_URL.search(t)] if m)
        arch = next(m.group(1) for t in texts for m in [_ARCH.search(t)] if m)
        assert url == PRETRAINED_WEIGHTS[arch].official_url, (config, url, arch)
        assert url.startswith(OFFICIAL_RELEASE_URL)
        if config in weights:
            assert weights[config] == url, config


def test_published_weights_table():
    """All 12 variants: the official asset where one was released (none for H), the timm hub
    file for all, HF transformers for all released ones; cache names never collide."""
    assert len(PRETRAINED_WEIGHTS) == 12
    released = {a for a, w in PRETRAINED_WEIGHTS.items() if w.official}
    assert released == set(PRETRAINED_WEIGHTS) - {'huge-fl3', 'huge-fl4'}
    assert PRETRAINED_WEIGHTS['large-fl4'].official_url == \
        'https://github.com/microsoft/FocalNet/releases/download/v1.0.0/focalnet_large_lrf_384_fl4.pth'
    assert PRETRAINED_WEIGHTS['tiny-srf'].timm_url == \
        'https://huggingface.co/timm/focalnet_tiny_srf.ms_in1k/resolve/main/model.safetensors'
    names = [cached_file_name(u) for w in PRETRAINED_WEIGHTS.values() for u in w.urls]
    assert len(names) == len(set(names)) == 10 + 12 + 10
    assert cached_file_name(PRETRAINED_WEIGHTS['huge-fl4'].timm_url) == \
        'focalnet_huge_fl4.ms_in22k.safetensors'


# ------------------------------------------------------------------------------ real layouts
def test_official_release_pth_loads_through_a_config(server, official_tiny_srf, torch_home):
    """The Mask R-CNN T-srf config's URL, served from loopback: downloaded once into
    $TORCH_HOME/hub/checkpoints, window-3 kernels zero-padded into the window-9 model."""
    base, root = server
    config = 'configs/mmdet/mask-rcnn_focalnet-t-srf_fpn_1x_coco.py'
    url = PRETRAINED_WEIGHTS['tiny-srf'].official_url
    data, sd = official_tiny_srf
    _publish(root, url, data)
    _, model = _backbone_from_config(config, _mirror(url, base))
    cached = torch_home / 'hub' / 'checkpoints' / 'focalnet_tiny_srf.pth'
    assert checkpoint_cache_dir() == str(cached.parent)
    assert cached.read_bytes() == data and os.listdir(cached.parent) == [cached.name]
    got = model.state_dict()
    assert torch.equal(got['patch_embed.proj.weight'], sd['patch_embed.proj.weight'])
    k = 'layers.2.blocks.5.modulation.focal_layers.1.0.weight'  # 5x5 -> 11x11, centred
    assert got[k].shape[-1] == 11 and torch.equal(got[k][..., 3:8, 3:8], sd[k])
    assert got[k].abs().sum() == sd[k].abs().sum()  # the padding is zeros
    # Next time the cached file is used: the server is not asked again.
    (root / urlparse(url).path.lstrip('/')).unlink()
    again = read_checkpoint(_mirror(url, base))
    assert torch.equal(again['model'][k], sd[k])


def test_timm_hub_safetensors_loads_through_a_config(server, tmp_path, torch_home):
    """The timm hub file of FocalNet-T lrf (as the config's alternative URL says) through the
    UPerNet T-lrf config: timm's names, 1x1-conv weights and downsample indices converted."""
    base, root = server
    url = PRETRAINED_WEIGHTS['tiny-lrf'].timm_url
    data, timm_sd = _timm_hub_file('focalnet_tiny_lrf', tmp_path)
    _publish(root, url, data)
    _, model = _backbone_from_config('configs/mmseg/upernet_focalnet-t-lrf_8xb2-160k_ade20k-512x512.py',
                                     _mirror(url, base))
    assert (torch_home / 'hub' / 'checkpoints' / 'focalnet_tiny_lrf.ms_in1k.safetensors').is_file()
    got = model.state_dict()
    assert torch.equal(got['patch_embed.proj.weight'], timm_sd['stem.proj.weight'])
    assert torch.equal(got['layers.0.downsample.proj.weight'],
                       timm_sd['layers.1.downsample.proj.weight'])
    assert torch.equal(got['layers.3.blocks.1.modulation.f.weight'],
                       timm_sd['layers.3.blocks.1.modulation.f.weight'].flatten(1))
    k = 'layers.1.blocks.0.modulation.focal_layers.2.0.weight'  # 7x7 -> 13x13
    assert torch.equal(got[k][..., 3:10, 3:10], timm_sd[k])


def test_manually_downloaded_file_in_the_cache_needs_no_network(official_tiny_srf, torch_home):
    """A file fetched by hand and put under the cache name loads although the URL is dead."""
    data, sd = official_tiny_srf
    cache = torch_home / 'hub' / 'checkpoints'
    cache.mkdir(parents=True)
    (cache / 'focalnet_tiny_srf.pth').write_bytes(data)
    dead = 'http://127.0.0.1:9/v1.0.0/focalnet_tiny_srf.pth'  # discard port: nothing listens
    model = FocalNet('tiny-srf', focal_windows=9, init_cfg=dict(type='Pretrained', checkpoint=dead))
    model.init_weights()
    assert torch.equal(model.patch_embed.proj.weight, sd['patch_embed.proj.weight'])


# ------------------------------------------------------------------------------ failures
def _assert_nothing_cached(torch_home):
    cache = torch_home / 'hub' / 'checkpoints'
    assert not cache.exists() or os.listdir(cache) == []


def test_404_names_url_cache_path_and_alternatives(server, torch_home):
    base, _ = server
    url = _mirror(PRETRAINED_WEIGHTS['tiny-lrf'].official_url, base)
    model = FocalNet('tiny-lrf', init_cfg=dict(type='Pretrained', checkpoint=url))
    with pytest.raises(CheckpointDownloadError) as err:
        model.init_weights()
    msg = str(err.value)
    assert f'cannot download checkpoint {url}: HTTP 404' in msg
    assert str(torch_home / 'hub' / 'checkpoints' / 'focalnet_tiny_lrf.pth') in msg
    assert PRETRAINED_WEIGHTS['tiny-lrf'].timm_url in msg
    assert PRETRAINED_WEIGHTS['tiny-lrf'].hf_url in msg
    _assert_nothing_cached(torch_home)


def test_unreachable_host_fails_fast(torch_home):
    url = 'http://127.0.0.1:9/microsoft/FocalNet/releases/download/v1.0.0/focalnet_base_srf.pth'
    t0 = time.perf_counter()
    with pytest.raises(CheckpointDownloadError, match='unreachable') as err:
        read_checkpoint(url)  # what the backbone's init_weights calls
    assert time.perf_counter() - t0 < 2
    assert PRETRAINED_WEIGHTS['base-srf'].timm_url in str(err.value)
    _assert_nothing_cached(torch_home)


@pytest.mark.parametrize('route, needle', [('cut', 'truncated download'),
                                           ('cut-unsized', 'incomplete or invalid file')])
@pytest.mark.parametrize('layout', ['official', 'timm'])
def test_truncated_download_never_stays_in_the_cache(server, official_tiny_srf, timm_tiny_srf,
                                                     torch_home, route, needle, layout):
    base, root = server
    weights = PRETRAINED_WEIGHTS['tiny-srf']
    url, (data, sd) = ((weights.official_url, official_tiny_srf) if layout == 'official'
                       else (weights.timm_url, timm_tiny_srf))
    _publish(root, url, data)
    cut = f'{base}/{route}{urlparse(url).path}'
    with pytest.raises(CheckpointDownloadError, match=needle) as err:
        read_checkpoint(cut)  # what the backbone's init_weights calls
    assert weights.hf_url in str(err.value)
    _assert_nothing_cached(torch_home)
    # The complete file at the same name then downloads and reads.
    ckpt = read_checkpoint(_mirror(url, base))
    assert len(ckpt.get('model', ckpt)) == len(sd)
    assert [p.name for p in (torch_home / 'hub' / 'checkpoints').iterdir()] == [cached_file_name(url)]


class _TrainingConfig:
    """Stands for an object of the training code pickled next to the weights."""

    def __init__(self):
        self.lr = 1e-3


def test_release_file_that_pickles_objects_is_refused_safely(server, official_tiny_srf, tmp_path,
                                                             torch_home):
    """Safe by default: a file that pickles a non-tensor object (here a training-code class) is
    not unpickled; the message names the object, the opt-in, the one-time conversion and the
    safetensors copy of the same weights. ``trusted=True`` reads it (from the cache)."""
    base, root = server
    url = PRETRAINED_WEIGHTS['tiny-srf'].official_url
    _, sd = official_tiny_srf
    torch.save({'model': sd, 'trainer': _TrainingConfig()}, tmp_path / 'x.pth')
    _publish(root, url, (tmp_path / 'x.pth').read_bytes())
    with pytest.raises(UnsafeCheckpointError) as err:
        FocalNet('tiny-srf', init_cfg=dict(type='Pretrained',
                                           checkpoint=_mirror(url, base))).init_weights()
    msg = str(err.value)
    assert 'test_weights_url._TrainingConfig' in msg and 'nothing of it was loaded' in msg
    assert 'trusted=True' in msg and 'tools/convert_checkpoint.py' in msg
    assert PRETRAINED_WEIGHTS['tiny-srf'].timm_url in msg
    (root / urlparse(url).path.lstrip('/')).unlink()  # the download happened once
    ckpt = read_checkpoint(_mirror(url, base), trusted=True)
    assert isinstance(ckpt['trainer'], _TrainingConfig)
    assert torch.equal(ckpt['model']['patch_embed.proj.weight'], sd['patch_embed.proj.weight'])
