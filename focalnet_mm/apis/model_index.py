"""Model names of this repository: the ``model-index.yml`` at its root (or, installed from a
wheel, in ``focalnet_mm/.mim``) and the metafiles it imports.

mmengine's ``BaseInferencer`` looks model names up in the metafiles of the scope's own package
(``mmdet/.mim/model-index.yml``), which knows nothing of FocalNet. This module resolves, in order,

1. a ``Name`` or an ``Alias`` of our metafiles (case-insensitive),
2. the file stem of any config under ``configs/`` (the model-zoo configs and ``configs/demo``),
3. a config path relative to the repository root (``configs/demo/...py`` from any directory,
   also for an installed package),

to a :class:`ModelEntry`. Only mmengine's file loader is imported (no mmdet/mmseg).
"""
from __future__ import annotations

import difflib
import glob
import os
import os.path as osp
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Optional

#: Scope (OpenMMLab package) of the configs in each top-level folder of ``configs/``; the demo
#: configs' scope is read from the config itself when needed.
_FOLDER_SCOPES = {'mmdet': 'mmdet', 'mmseg': 'mmseg'}


class ModelNotFoundError(ValueError):
    """An unknown model name; the message lists the closest known names."""


@dataclass(frozen=True)
class ModelEntry:
    name: str
    config: str                      # absolute path
    aliases: tuple = ()
    weights: Optional[str] = None    # the metafile's ``Weights`` (absolute if a local path)
    in_metafile: bool = True
    metadata: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def scope(self) -> Optional[str]:
        """'mmdet' / 'mmseg' from the config's folder; ``None`` if it must be read from the file."""
        parts = osp.normpath(self.config).split(os.sep)
        return _FOLDER_SCOPES.get(parts[-2]) if len(parts) >= 2 else None


def package_dir() -> str:
    """The installed (or checked-out) ``focalnet_mm`` package directory."""
    return osp.dirname(osp.dirname(osp.abspath(__file__)))


def repo_root() -> str:
    """The directory holding ``model-index.yml`` and ``configs/``: ``$FOCALNET_MM_ROOT``, else the
    source checkout that contains the ``focalnet_mm`` package (editable install), else the
    package's own ``.mim`` folder (``pip install .`` / a wheel copies them there)."""
    candidates = [os.environ.get('FOCALNET_MM_ROOT', ''), osp.dirname(package_dir()),
                  osp.join(package_dir(), '.mim')]
    for root in candidates:
        if root and osp.isfile(osp.join(root, 'model-index.yml')):
            return osp.abspath(root)
    raise FileNotFoundError(
        'model-index.yml not found (looked in $FOCALNET_MM_ROOT, the source checkout '
        f'{candidates[1]} and the installed package {candidates[2]}); pass a config file path '
        'instead of a model name, or set FOCALNET_MM_ROOT to the focalnet-mm repository')


def _abs(root: str, path: Optional[str]) -> Optional[str]:
    if not path or '://' in path or osp.isabs(path):
        return path
    return osp.join(root, path)


@lru_cache(maxsize=4)
def _load_entries(root: str) -> tuple:
    from mmengine.fileio import load
    entries, seen_configs = [], set()
    index = load(osp.join(root, 'model-index.yml'))
    for meta_path in index.get('Import', []):
        meta = load(osp.join(root, meta_path)) or {}
        for model in meta.get('Models', []):
            aliases = model.get('Alias', [])
            aliases = (aliases,) if isinstance(aliases, str) else tuple(aliases or ())
            weights = model.get('Weights')
            weights = weights[0] if isinstance(weights, list) and weights else weights
            config = osp.normpath(osp.join(root, model['Config']))
            entries.append(ModelEntry(name=model['Name'], config=config, aliases=aliases,
                                      weights=_abs(root, weights),
                                      metadata=dict(model.get('Metadata') or {})))
            seen_configs.add(config)
    # Every other config (the demo configs): addressable by its file stem. Bases (files in a
    # `_base_` folder) are parts of configs, not models.
    for config in sorted(glob.glob(osp.join(root, 'configs', '**', '*.py'), recursive=True)):
        config = osp.normpath(config)
        parts = osp.relpath(config, root).split(os.sep)
        if config not in seen_configs and '_base_' not in parts and not parts[-1].startswith('_'):
            entries.append(ModelEntry(name=osp.splitext(osp.basename(config))[0], config=config,
                                      in_metafile=False))
    return tuple(entries)


def list_models(pattern: str = '', root: Optional[str] = None) -> list[str]:
    """Names (and aliases) of the FocalNet models, optionally those containing ``pattern``."""
    names = []
    for e in _load_entries(root or repo_root()):
        names += [e.name, *e.aliases]
    return [n for n in names if pattern.lower() in n.lower()]


def find_model(model: str, root: Optional[str] = None) -> Optional[ModelEntry]:
    """The entry of a model name, alias, config stem or repository-relative config path, or None."""
    try:
        root = root or repo_root()
    except FileNotFoundError:
        return None
    entries = _load_entries(root)
    key = model.strip().lower()
    for e in entries:
        if key == e.name.lower() or key in (a.lower() for a in e.aliases):
            return e
    stem = osp.splitext(osp.basename(key))[0] if key.endswith('.py') else key
    path = osp.normpath(osp.join(root, model)) if model.endswith('.py') else None
    for e in entries:
        if (path is not None and e.config == path) or (
                '/' not in key and osp.splitext(osp.basename(e.config))[0].lower() == stem):
            return e
    if path is not None and osp.isfile(path):  # a config outside configs/ (or a private one)
        return ModelEntry(name=osp.splitext(osp.basename(path))[0], config=path,
                          in_metafile=False)
    return None


def close_matches(model: str, root: Optional[str] = None, n: int = 5) -> list[str]:
    try:
        names = list_models(root=root)
    except FileNotFoundError:
        return []
    key = osp.splitext(osp.basename(model))[0].lower() if model.endswith('.py') else model.lower()
    lowered = {name.lower(): name for name in names}
    found = difflib.get_close_matches(key, list(lowered), n=n, cutoff=0.5)
    if not found:  # a short alias-like query ('focalnet-t'): names containing it
        found = [name for name in lowered if key in name][:n]
    return [lowered[f] for f in found]


def resolve_model(model: str, root: Optional[str] = None) -> ModelEntry:
    """Like :func:`find_model`, but an unknown name raises :class:`ModelNotFoundError` listing the
    closest names. An existing config file path outside the repository is returned as is."""
    entry = find_model(model, root)
    if entry is not None:
        return entry
    if model.endswith('.py') and osp.isfile(model):
        return ModelEntry(name=osp.splitext(osp.basename(model))[0], config=osp.abspath(model),
                          in_metafile=False)
    raise ModelNotFoundError(unknown_model_message(model, root))


def unknown_model_message(model: str, root: Optional[str] = None, extra: str = '') -> str:
    if model.endswith('.py'):
        msg = f'config file not found: {model!r}'
    else:
        msg = (f'unknown model {model!r}: not a name, alias or config stem of the FocalNet '
               'model index')
    msg += extra
    suggestions = close_matches(model, root)
    if suggestions:
        msg += '. Did you mean: ' + ', '.join(suggestions) + '?'
    msg += (' (all names: focalnet_mm.apis.list_models() or `python tools/infer.py --list-models`; '
            'a config file path works too)')
    return msg
