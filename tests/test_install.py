"""Installing into an existing environment: a wheel built from the repository carries the configs
and the model index in ``focalnet_mm/.mim``; installed non-editable into a temporary target, model
names and config paths resolve from another working directory; the editable build that
``tools/setup_env.sh`` uses still builds. And the set-up refuses an unsupported Python clearly.

The build runs on a copy of the sources in tmp_path (no ``build/`` or ``*.egg-info`` in the
checkout), offline: ``--no-build-isolation`` takes setuptools from the environment.
"""
from __future__ import annotations

import glob
import os
import os.path as osp
import shutil
import subprocess
import sys
import zipfile

import pytest
from helpers import ROOT

# What a source tree needs to build (everything else stays out of the copy).
_SOURCES = ('focalnet_mm', 'configs', 'requirements', 'tools', 'setup.py', 'setup.cfg',
            'pyproject.toml', 'MANIFEST.in', 'README.md', 'LICENSE', 'model-index.yml')


def _copy_sources(dst) -> str:
    dst = str(dst)
    for name in _SOURCES:
        src = osp.join(ROOT, name)
        if osp.isdir(src):
            shutil.copytree(src, osp.join(dst, name),
                            ignore=shutil.ignore_patterns('__pycache__', '*.pyc', '*.egg-info'))
        else:
            shutil.copy2(src, dst)
    return dst


def _pip(*args, cwd=None) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, '-m', 'pip', '--disable-pip-version-check', *args],
                          cwd=cwd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


@pytest.fixture(scope='module')
def wheel(tmp_path_factory) -> str:
    src = _copy_sources(tmp_path_factory.mktemp('src'))
    out = tmp_path_factory.mktemp('dist')
    _pip('wheel', '--no-deps', '--no-build-isolation', '-q', '-w', str(out), src)
    wheels = glob.glob(str(out / 'focalnet_mm-*.whl'))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_wheel_ships_configs_and_model_index(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
    mim = 'focalnet_mm/.mim/'
    assert {mim + 'model-index.yml', mim + 'configs/mmdet/metafile.yml',
            mim + 'configs/mmseg/metafile.yml', mim + 'LICENSE'} <= names
    configs = {osp.relpath(p, ROOT) for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'),
                                                        recursive=True)}
    assert configs and {mim + c for c in configs} <= names  # _base_ and demo configs too
    assert 'focalnet_mm/models/focalnet.py' in names and 'focalnet_mm/compat.py' in names
    assert not any(n.startswith(('tests/', 'tools/')) or '__pycache__' in n for n in names)


_RESOLVE = r'''
import json, os, sys
import focalnet_mm
from focalnet_mm.apis import list_models
from focalnet_mm.apis.model_index import repo_root, resolve_model
from mmengine.config import Config
out = dict(package=focalnet_mm.__file__, root=repo_root(), n_models=len(list_models()))
entry = resolve_model('mask-rcnn_focalnet-t-srf_fpn_1x_coco')
cfg = Config.fromfile(entry.config)  # '../_base_/...' and 'mmdet::' bases from the package
out.update(det_config=entry.config, det_backbone=cfg.model.backbone.arch,
           det_weights=entry.weights, det_scope=entry.scope)
seg = resolve_model('configs/mmseg/upernet_focalnet-t-srf_8xb2-160k_ade20k-512x512.py')
out.update(seg_config=seg.config, seg_scope=seg.scope,
           seg_classes=Config.fromfile(seg.config).model.decode_head.num_classes)
out['demo'] = resolve_model('upernet_focalnet-t-srf_demo').config
print('RESULT', json.dumps(out))
'''


def test_non_editable_install_resolves_names_from_anywhere(wheel, tmp_path):
    """``pip install`` of the wheel into a target directory; run from an unrelated working
    directory with only that target (and the environment's mm stack) on the path."""
    site = tmp_path / 'site'
    _pip('install', '--no-deps', '-q', '--target', str(site), wheel)
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ('FOCALNET_MM_ROOT', 'PYTHONPATH')}
    env['PYTHONPATH'] = str(site)
    proc = subprocess.run([sys.executable, '-c', _RESOLVE], cwd=elsewhere, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    import json
    out = json.loads(proc.stdout.split('RESULT', 1)[1])
    mim = str(site / 'focalnet_mm' / '.mim')
    assert out['package'] == str(site / 'focalnet_mm' / '__init__.py')
    assert out['root'] == mim
    assert out['det_config'] == osp.join(mim, 'configs', 'mmdet',
                                         'mask-rcnn_focalnet-t-srf_fpn_1x_coco.py')
    assert out['det_backbone'] == 'tiny-srf' and out['det_scope'] == 'mmdet'
    assert out['det_weights'].endswith('/v1.0.0/focalnet_tiny_srf.pth')
    assert out['seg_config'].startswith(mim) and out['seg_scope'] == 'mmseg'
    assert out['seg_classes'] == 150
    assert out['demo'] == osp.join(mim, 'configs', 'demo', 'upernet_focalnet-t-srf_demo.py')
    from focalnet_mm.apis import list_models
    assert out['n_models'] == len(list_models()) >= 30


def test_editable_build_still_works(tmp_path):
    """The editable wheel that ``pip install -e .`` builds (PEP 660) builds from the sources and
    copies nothing into ``.mim`` (the checkout itself is read)."""
    src = _copy_sources(tmp_path / 'src')
    out = tmp_path / 'out'
    proc = subprocess.run(
        [sys.executable, '-c', 'import sys; from setuptools import build_meta as b; '
         'print(b.build_editable(sys.argv[1]))', str(out)],
        cwd=src, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    wheel = out / proc.stdout.strip().splitlines()[-1]
    with zipfile.ZipFile(wheel) as z:
        assert not any('.mim/' in n for n in z.namelist())
    assert not osp.exists(osp.join(src, 'focalnet_mm', '.mim'))


# ---------------------------------------------------------------------------- set-up script
def _unsupported_pythons() -> list[str]:
    """Runnable interpreters outside the supported 3.10-3.12 on this machine (one below, one
    above the range at most)."""
    candidates = [shutil.which(f'python3.{m}') for m in (9, 8, 13, 14)]
    candidates += sorted(glob.glob(osp.expanduser('~/.pyenv/versions/3.*/bin/python3')))
    found = {}
    for exe in filter(None, candidates):
        proc = subprocess.run([exe, '-c', 'import sys; print(sys.version_info[1])'],
                              capture_output=True, text=True)
        if proc.returncode == 0 and proc.stdout.strip().isdigit():
            minor = int(proc.stdout)
            side = 'below' if minor < 10 else 'above' if minor > 12 else None
            if side and side not in found:
                found[side] = exe
    return list(found.values())


@pytest.mark.parametrize('python', _unsupported_pythons() or [None])
def test_setup_refuses_an_unsupported_python(tmp_path, python):
    """In a copy of the set-up (no .venv yet) with PYTHON set to an unsupported interpreter: exit
    2 before anything is created, naming the version and the supported range."""
    if python is None:
        pytest.skip('no Python outside 3.10-3.12 on this machine')
    for name in ('tools', 'requirements'):
        shutil.copytree(osp.join(ROOT, name), tmp_path / name)
    shutil.copy2(osp.join(ROOT, 'setup.cfg'), tmp_path)
    proc = subprocess.run(['bash', str(tmp_path / 'tools' / 'setup_env.sh')],
                          env=dict(os.environ, PYTHON=python, FOCALNET_MM_CACHE=str(tmp_path / 'c')),
                          capture_output=True, text=True, timeout=60)
    version = subprocess.run([python, '-c', 'import sys; print("%d.%d" % sys.version_info[:2])'],
                             capture_output=True, text=True).stdout.strip()
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f'Python {version} ({python}) is not supported' in proc.stderr
    assert 'needs Python 3.10-3.12' in proc.stderr and 'PYTHON=python3.11' in proc.stderr
    assert not (tmp_path / '.venv').exists() and not (tmp_path / 'c').exists()
