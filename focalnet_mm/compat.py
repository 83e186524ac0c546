"""Fixes, applied on ``import focalnet_mm``, for environments the OpenMMLab 3.x stack meets in
practice but was not released against.

HF transformers >= 4.57 (very common: mmdet's own GroundingDINO needs it). With transformers
installed, mmpretrain 1.2 imports its multimodal models (BLIP, BLIP-2, RAM, OFA, ...), which take
``apply_chunking_to_forward``, ``find_pruneable_heads_and_indices`` and ``prune_linear_layer``
from ``transformers.modeling_utils``. transformers moved them to ``transformers.pytorch_utils``
(and 5.x removed ``find_pruneable_heads_and_indices``), so BLIP's guarded import falls back to
``None`` and ``class BertPreTrainedModel(None)`` raises ``TypeError: NoneType takes no arguments``
inside ``import mmpretrain``, which mmdet 3.3 imports: no mmdet model can be built at all.

:func:`fix_transformers_for_mmpretrain` puts the moved names back where mmpretrain looks for
them (also ``GenerationMixin``/``GenerationConfig``, which moved to ``transformers.generation``,
and ``PretrainedConfig``). If a name that mmpretrain's multimodal code imports at module level is still missing (a
transformers release that removed more), it turns mmpretrain's multimodal models off instead
(``WITH_MULTIMODAL = False``: mmpretrain then registers placeholders that explain themselves), so
that the rest of the stack keeps working. Nothing is done when transformers is not installed or
mmpretrain is already imported.
"""
from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import sys
import warnings
from typing import Optional

import torch

# Names mmpretrain 1.2 imports from ``transformers.modeling_utils`` that transformers moved:
# where they live now (the first module that has them wins).
_MOVED_FROM_MODELING_UTILS = {
    'apply_chunking_to_forward': ('transformers.pytorch_utils',),
    'find_pruneable_heads_and_indices': ('transformers.pytorch_utils',),  # gone in 5.x: ours
    'prune_linear_layer': ('transformers.pytorch_utils',),
    'GenerationMixin': ('transformers.generation',),
    'GenerationConfig': ('transformers.generation',),
    'PretrainedConfig': ('transformers.configuration_utils',),
}


def find_pruneable_heads_and_indices(heads: list, n_heads: int, head_size: int,
                                     already_pruned_heads: set) -> tuple[set, torch.LongTensor]:
    """Heads still to prune (``heads`` minus the pruned ones) and the indices of the rows that
    remain in a ``n_heads * head_size`` projection once they are gone; the signature of the helper
    transformers 5 removed (BERT-style models call it from ``prune_heads``)."""
    mask = torch.ones(n_heads, head_size)
    heads = set(heads) - already_pruned_heads
    for head in heads:
        # positions shift left by the number of already pruned heads before this one
        head = head - sum(1 if h < head else 0 for h in already_pruned_heads)
        mask[head] = 0
    index = torch.arange(len(mask.view(-1)))[mask.view(-1).eq(1)].long()
    return heads, index


class TransformersFix:
    """What :func:`fix_transformers_for_mmpretrain` did (for logs and tests)."""

    def __init__(self):
        self.transformers_version: Optional[str] = None
        self.restored: list[str] = []     # names put back into transformers.modeling_utils
        self.missing: list[str] = []      # 'module.name' still missing: multimodal turned off
        self.multimodal_disabled = False

    def __repr__(self) -> str:
        return (f'TransformersFix(transformers={self.transformers_version}, restored='
                f'{self.restored}, missing={self.missing}, '
                f'multimodal_disabled={self.multimodal_disabled})')


LAST_FIX = TransformersFix()


def _module_level_transformers_imports(path: str) -> list[tuple[str, str]]:
    """(module, name) of every ``from transformers... import name`` run when ``path`` is
    imported (module level, including ``try`` blocks; not inside functions or classes)."""
    with open(path, encoding='utf-8') as f:
        tree = ast.parse(f.read(), filename=path)
    found, todo = [], list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Try):
            todo += node.body
        elif isinstance(node, ast.If):
            todo += node.body + node.orelse
        elif (isinstance(node, ast.ImportFrom) and node.module and node.level == 0
              and node.module.split('.')[0] == 'transformers'):
            found += [(node.module, alias.name) for alias in node.names if alias.name != '*']
    return found


def _mmpretrain_multimodal_imports() -> list[tuple[str, str]]:
    spec = importlib.util.find_spec('mmpretrain')
    if spec is None or not spec.submodule_search_locations:
        return []
    root = os.path.join(list(spec.submodule_search_locations)[0], 'models', 'multimodal')
    imports = []
    for folder, _, files in os.walk(root):
        for name in sorted(files):
            if name.endswith('.py'):
                imports += _module_level_transformers_imports(os.path.join(folder, name))
    return sorted(set(imports))


def _has(module: str, name: str) -> bool:
    try:
        mod = importlib.import_module(module)
    except Exception:  # noqa: BLE001  (any failure to import means: not available)
        return False
    if hasattr(mod, name):
        return True
    try:  # `from package import submodule`
        importlib.import_module(f'{module}.{name}')
        return True
    except Exception:  # noqa: BLE001
        return False


def _dependency_module():
    """``mmpretrain.utils.dependency`` without importing ``mmpretrain`` (whose ``__init__``
    imports the models, multimodal ones included, at once): loaded from its file and registered
    under its name, so that mmpretrain's own import later uses this module and its flags."""
    name = 'mmpretrain.utils.dependency'
    if name in sys.modules:
        return sys.modules[name]
    root = list(importlib.util.find_spec('mmpretrain').submodule_search_locations)[0]
    spec = importlib.util.spec_from_file_location(name, os.path.join(root, 'utils', 'dependency.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules[name] = module
    return module


def fix_transformers_for_mmpretrain() -> TransformersFix:
    """Make ``import mmpretrain`` (and so mmdet) work with the installed transformers; see the
    module docstring. Idempotent; returns what it did."""
    fix = TransformersFix()
    if 'mmpretrain.models' in sys.modules or importlib.util.find_spec('transformers') is None:
        return fix
    try:
        import transformers
        import transformers.modeling_utils as modeling_utils
    except Exception as e:  # noqa: BLE001  (a broken transformers: mmpretrain's own guard decides)
        warnings.warn(f'focalnet_mm: transformers is installed but cannot be imported ({e!r})')
        return fix
    fix.transformers_version = transformers.__version__
    for name, homes in _MOVED_FROM_MODELING_UTILS.items():
        if hasattr(modeling_utils, name):
            continue
        value = None
        for home in homes:
            try:
                value = getattr(importlib.import_module(home), name, None)
            except Exception:  # noqa: BLE001  (a missing home: try the next)
                value = None
            if value is not None:
                break
        if value is None and name == 'find_pruneable_heads_and_indices':
            value = find_pruneable_heads_and_indices
        if value is not None:
            setattr(modeling_utils, name, value)
            fix.restored.append(name)
    if importlib.util.find_spec('mmpretrain') is not None:
        fix.missing = [f'{m}.{n}' for m, n in _mmpretrain_multimodal_imports() if not _has(m, n)]
        if fix.missing:
            _dependency_module().WITH_MULTIMODAL = False
            fix.multimodal_disabled = True
            warnings.warn(
                f'focalnet_mm: transformers {fix.transformers_version} lacks what mmpretrain\'s '
                f'multimodal models import ({", ".join(fix.missing[:4])}'
                f'{", ..." if len(fix.missing) > 4 else ""}): mmpretrain\'s multimodal models '
                '(BLIP, BLIP-2, OFA, ...) are turned off so that mmpretrain and mmdet import; '
                'detection and segmentation are not affected.')
    global LAST_FIX
    LAST_FIX = fix
    return fix
