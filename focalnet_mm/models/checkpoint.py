"""Checkpoint loading and conversion for :class:`~focalnet_mm.models.focalnet.FocalNet`.

Our parameter names are those of the official FocalNet code. This module
  * downloads published weights by URL once into torch's hub cache (``$TORCH_HOME/hub/checkpoints``,
    :func:`download_checkpoint`; :data:`PRETRAINED_WEIGHTS` lists where every variant is published),
  * reads a checkpoint safely (``weights_only`` unpickling; ``trusted=True`` opts into full pickle),
  * unwraps ``state_dict``/``model``/``module`` containers and ``module.``/``backbone.`` prefixes,
  * converts timm and HF transformers names to the official ones (and back, for export),
  * adapts ImageNet checkpoints to dense-prediction models: depth-wise kernels are zero-padded
    (or centre-cropped) to the model's kernel size, extra focal levels get zero gate rows,
  * refuses anything else: a key of the model that the checkpoint does not provide (other than the
    per-output norms ``norm{i}`` and added focal levels) or a shape that cannot be adapted raises
    :class:`IncompatibleCheckpointError`, which describes the checkpoint's variant.
"""
from __future__ import annotations

import os
import pickle
import re
import zipfile
from dataclasses import dataclass, field
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F


class CheckpointError(RuntimeError):
    """A checkpoint file that cannot be read."""


class UnsafeCheckpointError(CheckpointError):
    """The file needs full unpickling (it could run code); pass ``trusted=True`` if you trust it."""


class IncompatibleCheckpointError(ValueError):
    """The checkpoint's tensors do not fit the model (another variant)."""


def misfit_error(model_name: str, checkpoint: str, model: str, mismatched: list,
                 not_provided: list, unexpected: list) -> IncompatibleCheckpointError:
    """The error for a checkpoint of another variant: both described, then up to three examples
    of each kind of misfit (``mismatched``: (key, checkpoint shape, model shape))."""
    lines = [f'checkpoint does not fit this {model_name} (checkpoint: {checkpoint}; '
             f'model: {model}).']
    if mismatched:
        lines.append(f'{len(mismatched)} tensors with incompatible shapes, e.g. ' + '; '.join(
            f'{k}: checkpoint {a} vs model {b}' for k, a, b in mismatched[:3]))
    if not_provided:
        lines.append(f'{len(not_provided)} model tensors missing from the checkpoint, e.g. '
                     f'{not_provided[:3]}')
    if unexpected:
        lines.append(f'{len(unexpected)} checkpoint tensors unknown to the model, e.g. '
                     f'{unexpected[:3]}')
    return IncompatibleCheckpointError('\n'.join(lines))


_HISTORY_BUFFER_STATS = ('min', 'max', 'mean', 'current')


def _history_buffer_getattr(obj, name: str):
    """``getattr`` as mmengine's ``HistoryBuffer`` pickles it (its statistics methods), and nothing
    else: the general ``getattr`` would let a checkpoint reach any attribute of an allowed type."""
    from mmengine.logging.history_buffer import HistoryBuffer
    if obj is HistoryBuffer and (name in _HISTORY_BUFFER_STATS
                                 or name in HistoryBuffer._statistics_methods):
        return getattr(obj, name)
    raise pickle.UnpicklingError(f'getattr({obj!r}, {name!r}) is not allowed in a weights-only load')


def mmengine_safe_globals() -> list:
    """Data types of mmengine training checkpoints (meta, message hub) for ``weights_only`` loads:
    numpy arrays/scalars/dtypes, ``HistoryBuffer`` and its restricted ``getattr``. No callable that
    could run arbitrary code is among them."""
    import numpy as np
    from mmengine.logging.history_buffer import HistoryBuffer
    multiarray = getattr(np, '_core', np.core).multiarray
    safe = [np.dtype, np.ndarray, multiarray._reconstruct, multiarray.scalar, HistoryBuffer,
            (_history_buffer_getattr, 'builtins.getattr'),
            (_history_buffer_getattr, '__builtin__.getattr')]
    safe += [type(np.dtype(t)) for t in ('float64', 'float32', 'float16', 'int64', 'int32',
                                         'int16', 'int8', 'uint8', 'bool')]
    return safe


class PickledTrainingConfig:
    """Stands in for ``yacs.config.CfgNode`` (the training config that the official FocalNet
    training code pickles next to the weights: ``{'model': ..., 'config': CfgNode, ...}``) in a
    weights-only read: the node unpickles to a plain ``collections.OrderedDict`` with its keys
    (and yacs' bookkeeping as attributes), without importing or running any yacs code (yacs need
    not be installed). torch's weights-only unpickler fills only exact dict types, hence the
    ``OrderedDict`` instead of an instance of this class."""

    def __new__(cls, *args, **kwargs):
        import collections
        return collections.OrderedDict()


def pretrained_safe_globals() -> list:
    """:func:`mmengine_safe_globals` plus the inert objects released classification and
    detection checkpoints pickle beside their tensors: ``argparse.Namespace`` (the ``args`` of
    DETR/DINO-style training scripts: attributes only) and yacs ``CfgNode`` configs, read as
    :class:`PickledTrainingConfig`."""
    import argparse
    return mmengine_safe_globals() + [argparse.Namespace,
                                      (PickledTrainingConfig, 'yacs.config.CfgNode')]


def allow_mmengine_checkpoints() -> None:
    """Let every ``torch.load(weights_only=True)`` (torch >= 2.6's default, which mmengine's own
    loaders use) read mmengine training checkpoints: ``load_from``, ``--resume``, test tools."""
    torch.serialization.add_safe_globals(mmengine_safe_globals())


# ----------------------------------------------------------------------------------------------
# Published ImageNet weights and their download.

OFFICIAL_RELEASE_URL = 'https://github.com/microsoft/FocalNet/releases/download/v1.0.0/'
HF_HUB_URL = 'https://huggingface.co/'


@dataclass(frozen=True)
class PublishedWeights:
    """Where the ImageNet weights of one FocalNet variant are published. The three files hold the
    same weights in three layouts (official ``{'model': ...}`` .pth, timm and HF transformers
    safetensors); the loader converts each of them."""
    arch: str
    official: Optional[str]  # asset of the official GitHub release (None: never released there)
    timm: str                # timm's HF hub repository
    hf: Optional[str]        # HF transformers repository (None: not converted by transformers)

    @property
    def official_url(self) -> Optional[str]:
        return OFFICIAL_RELEASE_URL + self.official if self.official else None

    @property
    def timm_url(self) -> str:
        return f'{HF_HUB_URL}{self.timm}/resolve/main/model.safetensors'

    @property
    def hf_url(self) -> Optional[str]:
        return f'{HF_HUB_URL}{self.hf}/resolve/main/model.safetensors' if self.hf else None

    @property
    def urls(self) -> list[str]:
        """Download URLs, preferred first: the official release asset, then the timm hub file."""
        return [u for u in (self.official_url, self.timm_url, self.hf_url) if u]


def _published(arch, official, timm, hf) -> tuple[str, PublishedWeights]:
    return arch, PublishedWeights(arch, official, timm, hf)


#: arch preset -> where its ImageNet weights are published (T/S/B: ImageNet-1k at 224, window 3;
#: L/XL/H: ImageNet-22k at 384 with 21842-class heads; H was never released officially).
PRETRAINED_WEIGHTS: dict[str, PublishedWeights] = dict([
    _published('tiny-srf', 'focalnet_tiny_srf.pth', 'timm/focalnet_tiny_srf.ms_in1k',
               'microsoft/focalnet-tiny'),
    _published('tiny-lrf', 'focalnet_tiny_lrf.pth', 'timm/focalnet_tiny_lrf.ms_in1k',
               'microsoft/focalnet-tiny-lrf'),
    _published('small-srf', 'focalnet_small_srf.pth', 'timm/focalnet_small_srf.ms_in1k',
               'microsoft/focalnet-small'),
    _published('small-lrf', 'focalnet_small_lrf.pth', 'timm/focalnet_small_lrf.ms_in1k',
               'microsoft/focalnet-small-lrf'),
    _published('base-srf', 'focalnet_base_srf.pth', 'timm/focalnet_base_srf.ms_in1k',
               'microsoft/focalnet-base'),
    _published('base-lrf', 'focalnet_base_lrf.pth', 'timm/focalnet_base_lrf.ms_in1k',
               'microsoft/focalnet-base-lrf'),
    _published('large-fl3', 'focalnet_large_lrf_384.pth', 'timm/focalnet_large_fl3.ms_in22k',
               'microsoft/focalnet-large-lrf-fl3'),
    _published('large-fl4', 'focalnet_large_lrf_384_fl4.pth', 'timm/focalnet_large_fl4.ms_in22k',
               'microsoft/focalnet-large-lrf-fl4'),
    _published('xlarge-fl3', 'focalnet_xlarge_lrf_384.pth', 'timm/focalnet_xlarge_fl3.ms_in22k',
               'microsoft/focalnet-xlarge-lrf-fl3'),
    _published('xlarge-fl4', 'focalnet_xlarge_lrf_384_fl4.pth',
               'timm/focalnet_xlarge_fl4.ms_in22k', 'microsoft/focalnet-xlarge-lrf-fl4'),
    _published('huge-fl3', None, 'timm/focalnet_huge_fl3.ms_in22k', None),
    _published('huge-fl4', None, 'timm/focalnet_huge_fl4.ms_in22k', None),
])


class CheckpointDownloadError(CheckpointError):
    """A checkpoint URL that cannot be fetched (unreachable, HTTP error, truncated transfer)."""


# Seconds without an answer (connect or read) before a download gives up: fail fast when offline.
DOWNLOAD_TIMEOUT_S = float(os.environ.get('FOCALNET_MM_DOWNLOAD_TIMEOUT', 30))


def checkpoint_cache_dir() -> str:
    """Where downloaded checkpoints live: torch's hub cache, ``$TORCH_HOME/hub/checkpoints``
    (default ``~/.cache/torch/hub/checkpoints``), which mmengine's and torch's own URL loaders use
    too."""
    return os.path.join(torch.hub.get_dir(), 'checkpoints')


def cached_file_name(url: str) -> str:
    """File name of ``url`` in the cache: the URL's last path component, except for HF hub files
    (every repository's file is ``model.safetensors``), which are named after their repository:
    ``.../timm/focalnet_tiny_srf.ms_in1k/resolve/main/model.safetensors`` ->
    ``focalnet_tiny_srf.ms_in1k.safetensors``."""
    from urllib.parse import urlparse
    parts = [p for p in urlparse(url).path.split('/') if p]
    if not parts:
        raise ValueError(f'URL names no file: {url!r}')
    if 'resolve' in parts[1:-1]:  # <owner>/<repo>/resolve/<revision>/<file>
        repo = parts[parts.index('resolve') - 1]
        return f'{repo}{os.path.splitext(parts[-1])[1]}'
    return parts[-1]


def alternative_urls(url: str) -> list[str]:
    """The other published copies of the weights behind ``url`` (matched by file name, so that a
    mirror of the same path counts too)."""
    name = cached_file_name(url)
    for weights in PRETRAINED_WEIGHTS.values():
        if name in (cached_file_name(u) for u in weights.urls):
            return [u for u in weights.urls if cached_file_name(u) != name]
    return []


def _check_complete(path: str, name: str) -> None:
    """Raise ``ValueError`` if a downloaded file is cut short or is no checkpoint: a zip ``.pth``
    must have its central directory and intact members, a legacy one start as a pickle, a
    ``.safetensors`` file have as many bytes as its header declares."""
    with open(path, 'rb') as f:
        head = f.read(8)
    if head[:4] == b'PK\x03\x04':
        try:
            with zipfile.ZipFile(path) as z:
                bad = z.testzip()
        except zipfile.BadZipFile as e:
            raise ValueError(f'not a complete zip archive ({e})') from e
        if bad is not None:
            raise ValueError(f'corrupt member {bad!r}')
    elif name.endswith(('.pth', '.pt', '.bin')) and head[:1] != b'\x80':  # not a pickle either
        raise ValueError(f'not a torch checkpoint (it starts with {head!r}: an error page?)')
    elif name.endswith('.safetensors'):
        import json
        size = os.path.getsize(path)
        n = int.from_bytes(head, 'little') if len(head) == 8 else -1
        if n <= 0 or 8 + n > size:
            raise ValueError('safetensors header is cut short')
        with open(path, 'rb') as f:
            f.seek(8)
            header = json.loads(f.read(n))
        end = max((t['data_offsets'][1] for k, t in header.items() if k != '__metadata__'),
                  default=0)
        if 8 + n + end != size:
            raise ValueError(f'{size} bytes, the header declares {8 + n + end}')


def _download_error(url: str, cached: str, reason: str) -> CheckpointDownloadError:
    lines = [f'cannot download checkpoint {url}: {reason}.',
             f'A file fetched by other means is picked up from {cached} (or set the '
             "init_cfg's checkpoint to a local path).",
             'Downloads go to $TORCH_HOME/hub/checkpoints (torch.hub.get_dir()).']
    alternatives = alternative_urls(url)
    if alternatives:
        lines.append('The same weights are also published at: ' + ', '.join(alternatives))
    return CheckpointDownloadError('\n'.join(lines))


def download_checkpoint(url: str, progress: bool = True) -> str:
    """Path of ``url``'s file in :func:`checkpoint_cache_dir`, downloaded first if it is not there.

    The transfer goes to a temporary file next to the target and is renamed only once complete
    (``Content-Length`` bytes and, for zip ``.pth`` and ``.safetensors`` files, an intact
    structure), so a failed or cut-off download never leaves a file in the cache. A file put in
    the cache by hand under the same name is used without any network access. Errors raise
    :class:`CheckpointDownloadError` naming the URL, that cache path and the other published
    copies of the same weights.
    """
    import http.client
    import shutil
    import tempfile
    import urllib.error
    import urllib.request
    cache_dir = checkpoint_cache_dir()
    target = os.path.join(cache_dir, cached_file_name(url))
    if os.path.isfile(target):
        return target
    os.makedirs(cache_dir, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=os.path.basename(target) + '.',
                               suffix='.partial')
    try:
        request = urllib.request.Request(url, headers={'User-Agent': 'focalnet-mm'})
        try:
            with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT_S) as response, \
                    os.fdopen(fd, 'wb') as out:
                fd = None
                expected = response.headers.get('Content-Length')
                expected = int(expected) if expected and expected.isdigit() else None
                bar = _progress_bar(expected, os.path.basename(target)) if progress else None
                received = 0
                while chunk := response.read(1 << 20):
                    out.write(chunk)
                    received += len(chunk)
                    if bar is not None:
                        bar.update(len(chunk))
                if bar is not None:
                    bar.close()
        except urllib.error.HTTPError as e:
            raise _download_error(url, target, f'HTTP {e.code} {e.reason}') from e
        except urllib.error.URLError as e:
            raise _download_error(url, target, f'unreachable ({e.reason})') from e
        except http.client.IncompleteRead as e:  # the server closed before Content-Length
            raise _download_error(url, target, f'truncated download: {received + len(e.partial)} '
                                  f'of {expected} bytes') from e
        except (OSError, ValueError, http.client.HTTPException) as e:  # timeouts, resets
            raise _download_error(url, target, f'transfer failed ({e!r})') from e
        if expected is not None and received != expected:
            raise _download_error(url, target, f'truncated download: {received} of {expected} '
                                  'bytes')
        try:
            _check_complete(tmp, target)
        except (ValueError, OSError, KeyError, TypeError) as e:
            raise _download_error(url, target, f'incomplete or invalid file ({e})') from e
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 would hide the file from a shared cache
        shutil.move(tmp, target)  # same directory: an atomic rename
    finally:
        if fd is not None:
            os.close(fd)
        if os.path.exists(tmp):
            os.remove(tmp)
    return target


def _progress_bar(total: Optional[int], name: str):
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit='B', unit_scale=True, unit_divisor=1024,
                desc=f'downloading {name}')


def read_checkpoint(path: str, trusted: bool = False) -> dict:
    """Read a checkpoint file (``.pth``/``.pt``/``.bin``/``.safetensors``) onto the CPU; an
    ``http(s)://`` URL is downloaded once into torch's hub cache (:func:`download_checkpoint`).

    Safe by default: torch's ``weights_only`` unpickler, which builds tensors, containers and the
    data types of :func:`pretrained_safe_globals` only (training configs and ``args`` pickled next
    to released weights are read as plain data). A file that pickles anything else (a class,
    ``os.system``, ...) is refused with :class:`UnsafeCheckpointError` before any of it runs;
    ``trusted=True`` unpickles it fully (legacy files you trust).
    """
    if path.startswith(('http://', 'https://')):  # fetched once into torch's hub cache
        path = download_checkpoint(path)
    elif '://' in path:  # another mmengine scheme (open-mmlab://, s3://, ...): mmengine's loaders
        from mmengine.runner import CheckpointLoader
        return CheckpointLoader.load_checkpoint(path, map_location='cpu')
    if not os.path.isfile(path):
        raise FileNotFoundError(f'checkpoint file not found: {path!r}')
    if path.endswith('.safetensors'):
        from safetensors.torch import load_file
        try:
            return load_file(path, device='cpu')
        except Exception as e:  # safetensors raises its own SafetensorError
            raise CheckpointError(f'cannot read safetensors checkpoint {path!r} '
                                  f'(truncated or corrupt?): {e}') from e
    try:
        if trusted:
            return torch.load(path, map_location='cpu', weights_only=False)
        # only what is not allowed already: leaving the context removes its entries from torch's
        # global allow-list, which would drop those `import focalnet_mm` added for mmengine's loaders
        allowed = torch.serialization.get_safe_globals()
        extra = [g for g in pretrained_safe_globals() if g not in allowed]
        with torch.serialization.safe_globals(extra):
            return torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as e:
        if not trusted and 'Weights only load failed' in str(e):
            found = re.search(r'GLOBAL (\S+)|getattr\([^)]*\)', str(e))
            what = (found.group(1) or found.group(0)) if found else 'non-tensor objects'
            safe_copies = [u for u in alternative_urls(path) if u.endswith('.safetensors')]
            raise UnsafeCheckpointError(
                f'refusing to load {path!r}: besides tensors it pickles {what}, which could run '
                'arbitrary code when unpickled, so nothing of it was loaded. If you trust the '
                "file, load it with trusted=True (init_cfg=dict(type='Pretrained', "
                'checkpoint=..., trusted=True)), or write its tensors to a safe file once with '
                '`python tools/convert_checkpoint.py SRC DST --trusted`'
                + (f'; the same weights as safetensors: {safe_copies[0]}' if safe_copies else '')
                + '.') from e
        raise CheckpointError(f'cannot read checkpoint {path!r} (truncated or corrupt?): {e}') from e
    except (EOFError, RuntimeError, zipfile.BadZipFile, ValueError, OSError) as e:
        raise CheckpointError(f'cannot read checkpoint {path!r} (truncated or corrupt?): {e}') from e


def unwrap_state_dict(ckpt: dict) -> dict[str, torch.Tensor]:
    """The tensors of a checkpoint, out of its container (``state_dict``/``model``/``module``/
    ``state_dict_ema``) and without DDP's ``module.`` prefixes."""
    for key in ('state_dict', 'model', 'module', 'state_dict_ema'):
        if key in ckpt and isinstance(ckpt[key], dict):
            ckpt = ckpt[key]
            break
    return {k[len('module.'):] if k.startswith('module.') else k: v
            for k, v in ckpt.items() if isinstance(v, torch.Tensor)}


def extract_state_dict(ckpt: dict) -> dict[str, torch.Tensor]:
    """Unwrap containers and prefixes; for a detector/segmentor keep only the backbone:
    ``backbone.*`` (mm detectors/segmentors) or ``backbone.0.*`` (DETR/DINO-style detectors such
    as FocalNet-DINO, whose ``backbone`` is a sequence of the network and the position
    embedding)."""
    if not isinstance(ckpt, dict):
        raise CheckpointError(f'checkpoint is a {type(ckpt).__name__}, expected a dict of tensors')
    sd = unwrap_state_dict(ckpt)
    if not sd:
        raise CheckpointError('checkpoint holds no tensors')
    for prefix in ('backbone.0.', 'backbone.'):
        if any(k.startswith(prefix) for k in sd):
            return {k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix)}
    return sd


def detect_format(sd: dict) -> str:
    """'official' (also ours and the old mm detection code), 'timm' or 'hf'."""
    if any('patch_embeddings.projection' in k or 'encoder.stages.' in k for k in sd):
        return 'hf'
    if any(k.startswith('stem.') or '.ls1.' in k or 'norm1_post' in k for k in sd):
        return 'timm'
    if any(k.startswith(('patch_embed.', 'layers.')) for k in sd):
        return 'official'
    raise IncompatibleCheckpointError(
        'not a FocalNet checkpoint: no patch_embed/stem/embeddings keys; first keys: '
        f'{list(sd)[:5]}')


def _rule(text: str) -> str:
    """A name pattern of the tables below as a regex: ``{}`` is a number, a pattern that does not
    start with '.' is anchored at the start of the key, one ending in '$' at its end."""
    end = text.endswith('$')
    body = re.escape(text[:-1] if end else text).replace(r'\{\}', r'(\d+)')
    return ('' if text.startswith('.') else '^') + body + ('$' if end else '')


def _template(text: str) -> str:
    """The replacement for a name pattern: its ``{}`` numbers carried over in order."""
    parts = text.rstrip('$').split('{}')
    return ''.join(p + (f'\\{i + 1}' if i < len(parts) - 1 else '') for i, p in enumerate(parts))


def _renamer(pairs: list[tuple[str, str]], forward: bool):
    """Renames keys by ``pairs`` (official name, other name), official -> other if ``forward``,
    else back: one table serves both directions."""
    rules = [(_rule(a), _template(b)) if forward else (_rule(b), _template(a)) for a, b in pairs]

    def rename(k: str) -> str:
        for pattern, repl in rules:
            k = re.sub(pattern, repl, k)
        return k
    return rename


# Official <-> timm names. Besides these: timm numbers the downsampling layer with the stage it
# feeds (official: with the stage it ends), names post-norms norm1_post/norm2_post, and stores
# f, proj, fc1, fc2 as 1x1 convolutions.
_TIMM_NAMES = [
    ('patch_embed.', 'stem.'),
    ('.gamma_{}$', '.ls{}.gamma$'),
    ('.modulation.ln.', '.modulation.norm.'),
    ('head.', 'head.fc.'),
]
_LINEAR_IN_TIMM = re.compile(r'(modulation\.(f|proj)|mlp\.fc[12])\.weight$')
_official_name_of_timm = _renamer(_TIMM_NAMES, forward=False)
_timm_name_of_official = _renamer(_TIMM_NAMES, forward=True)


def _shift_downsample(k: str, by: int) -> str:
    return re.sub(r'^layers\.(\d+)\.downsample',
                  lambda m: f'layers.{int(m.group(1)) + by}.downsample', k)


def timm_to_official(sd: dict) -> dict:
    out = {}
    for k, v in sd.items():
        k = _shift_downsample(_official_name_of_timm(k), -1)
        k = re.sub(r'\.norm([12])_post\.', r'.norm\1.', k)
        if _LINEAR_IN_TIMM.search(k) and v.dim() == 4:
            v = v.flatten(1)
        out[k] = v
    return out


def official_to_timm(sd: dict, use_postln: bool) -> dict:
    out = {}
    for k, v in sd.items():
        if re.match(r'^norm\d', k):  # per-output norms of the dense backbone have no timm twin
            continue
        if _LINEAR_IN_TIMM.search(k) and v.dim() == 2:
            v = v[:, :, None, None]
        k = _shift_downsample(_timm_name_of_official(k), +1)
        if use_postln:
            k = re.sub(r'\.blocks\.(\d+)\.norm([12])\.', r'.blocks.\1.norm\2_post.', k)
        out[k] = v
    return out


# Official <-> HF transformers names (after HF's 'focalnet.' prefix is dropped).
_HF_NAMES = [
    ('patch_embed.proj.', 'embeddings.patch_embeddings.projection.'),
    ('patch_embed.norm.', 'embeddings.norm.'),
    ('layers.{}.blocks.{}.', 'encoder.stages.{}.layers.{}.'),
    ('layers.{}.downsample.proj.', 'encoder.stages.{}.downsample.projection.'),
    ('layers.{}.downsample.norm.', 'encoder.stages.{}.downsample.norm.'),
    ('.modulation.f.', '.modulation.projection_in.'),
    ('.modulation.h.', '.modulation.projection_context.'),
    ('.modulation.proj.', '.modulation.projection_out.'),
    ('.modulation.ln.', '.modulation.layernorm.'),
    ('norm.', 'layernorm.'),
    ('head.', 'classifier.'),
]
_official_name_of_hf = _renamer(_HF_NAMES, forward=False)
_hf_name_of_official = _renamer(_HF_NAMES, forward=True)


def hf_to_official(sd: dict) -> dict:
    sd = {k[len('focalnet.'):] if k.startswith('focalnet.') else k: v for k, v in sd.items()}
    return {_official_name_of_hf(k): v for k, v in sd.items() if k != 'embeddings.mask_token'}


def official_to_hf(sd: dict) -> dict:
    """Names of HF ``FocalNetForImageClassification`` (the per-output norms have no HF twin)."""
    out = {}
    for k, v in sd.items():
        if re.match(r'^norm\d', k):
            continue
        k = _hf_name_of_official(k)
        out[k if k.startswith('classifier.') else f'focalnet.{k}'] = v
    return out


def to_official(sd: dict) -> tuple[dict, str]:
    fmt = detect_format(sd)
    converted = {'official': dict, 'timm': timm_to_official, 'hf': hf_to_official}[fmt](sd)
    return converted, fmt


def describe(sd: dict) -> str:
    """A short description of the FocalNet variant a (official-named) state dict holds."""
    parts = []
    if 'patch_embed.proj.weight' in sd:
        w = sd['patch_embed.proj.weight']
        parts.append(f'embed_dims={w.shape[0]}, stem kernel {w.shape[-1]}')
    depths = []
    for i in range(8):
        blocks = {int(m.group(1)) for k in sd if (m := re.match(rf'^layers\.{i}\.blocks\.(\d+)\.', k))}
        if not blocks:
            break
        depths.append(max(blocks) + 1)
    if depths:
        parts.append(f'depths={tuple(depths)}')
    levels = {int(m.group(1)) for k in sd
              if (m := re.match(r'^layers\.0\.blocks\.0\.modulation\.focal_layers\.(\d+)\.', k))}
    if levels:
        k0 = sd['layers.0.blocks.0.modulation.focal_layers.0.0.weight'].shape[-1]
        parts.append(f'focal_levels={max(levels) + 1}, focal_window={k0}')
    if any('gamma_1' in k for k in sd):
        parts.append('layerscale')
    return ', '.join(parts) or 'unknown layout'


# Keys that only classification models have; dropped without complaint.
_CLASSIFICATION_ONLY = re.compile(r'^(head\.|norm\.|head$)')
# Model keys a classification checkpoint cannot provide: the per-output norms.
_OUTPUT_NORM = re.compile(r'^norm\d+\.')


@dataclass
class LoadReport:
    source_format: str = 'official'
    padded: list = field(default_factory=list)      # (key, from_shape, to_shape)
    cropped: list = field(default_factory=list)
    expanded: list = field(default_factory=list)    # modulation.f with added levels
    kept_at_init: list = field(default_factory=list)  # model keys without a checkpoint value
    ignored: list = field(default_factory=list)     # classification-only keys dropped

    def summary(self) -> str:
        return (f'format={self.source_format}, padded kernels={len(self.padded)}, '
                f'cropped kernels={len(self.cropped)}, expanded focal levels={len(self.expanded)}, '
                f'kept at init={len(self.kept_at_init)}, ignored={len(self.ignored)}')


def _resize_kernel(v: torch.Tensor, size: int) -> torch.Tensor:
    """Zero-pad (centred) or centre-crop a square depth-wise kernel to ``size``."""
    diff = size - v.shape[-1]
    if diff >= 0:
        return F.pad(v, [diff // 2] * 4)
    start = -diff // 2
    return v[..., start:start + size, start:start + size].contiguous()


def _expand_levels(v: torch.Tensor, target: torch.Tensor, dim: int) -> torch.Tensor:
    """Rows of ``modulation.f``: [q (C), ctx (C), level gates (L), global gate (1)]."""
    new = torch.zeros_like(target)
    levels_ckpt = v.shape[0] - 2 * dim - 1
    new[:2 * dim + levels_ckpt] = v[:2 * dim + levels_ckpt]
    new[-1] = v[-1]
    return new


def adapt_state_dict(sd: dict, model_sd: dict, source_format: str = 'official'
                     ) -> tuple[dict, LoadReport]:
    """Make an official-named state dict fit ``model_sd`` exactly, or raise."""
    report = LoadReport(source_format=source_format)
    out, mismatched, unexpected = {}, [], []
    for k, v in sd.items():
        if k not in model_sd:
            (report.ignored if _CLASSIFICATION_ONLY.match(k) else unexpected).append(k)
            continue
        target = model_sd[k]
        if v.shape == target.shape:
            out[k] = v
        elif (re.search(r'modulation\.focal_layers\.\d+\.0\.weight$', k) and v.dim() == 4
              and v.shape[:2] == target.shape[:2] and v.shape[-1] % 2 == target.shape[-1] % 2):
            out[k] = _resize_kernel(v, target.shape[-1])
            (report.padded if target.shape[-1] > v.shape[-1] else report.cropped).append(
                (k, tuple(v.shape), tuple(target.shape)))
        elif (re.search(r'modulation\.f\.(weight|bias)$', k) and v.shape[1:] == target.shape[1:]
              and v.shape[0] < target.shape[0]):
            dim = model_sd[k.rsplit('.f.', 1)[0] + '.h.bias'].shape[0]
            if v.shape[0] - 2 * dim - 1 < 1:
                mismatched.append((k, tuple(v.shape), tuple(target.shape)))
                continue
            out[k] = _expand_levels(v, target, dim)
            report.expanded.append((k, tuple(v.shape), tuple(target.shape)))
        else:
            mismatched.append((k, tuple(v.shape), tuple(target.shape)))
    missing = [k for k in model_sd if k not in out]
    new_level = re.compile(r'modulation\.focal_layers\.(\d+)\.')
    expanded_blocks = {k.rsplit('.modulation.f.', 1)[0] for k, _, _ in report.expanded}
    not_provided = []
    for k in missing:
        if _OUTPUT_NORM.match(k):
            report.kept_at_init.append(k)
        elif new_level.search(k) and k.split('.modulation.', 1)[0] in expanded_blocks:
            report.kept_at_init.append(k)
        else:
            not_provided.append(k)
    if mismatched or unexpected or not_provided:
        raise misfit_error('FocalNet', describe(sd), describe(model_sd), mismatched,
                           not_provided, unexpected)
    return out, report


def convert_checkpoint(sd: dict, model: nn.Module) -> tuple[dict, LoadReport]:
    """Any supported state dict -> a state dict that ``model.load_state_dict(strict=True)`` takes,
    with the per-output norms (absent in classification checkpoints) filled from ``model``."""
    official, fmt = to_official(extract_state_dict(sd))
    model_sd = model.state_dict()
    adapted, report = adapt_state_dict(official, model_sd, fmt)
    for k in report.kept_at_init:
        adapted[k] = model_sd[k]
    return adapted, report


def load_pretrained(model: nn.Module, path: str, trusted: bool = False,
                    logger: Optional[object] = None) -> LoadReport:
    """Read, convert and strictly load a checkpoint into a FocalNet; returns what was adapted."""
    adapted, report = convert_checkpoint(read_checkpoint(path, trusted=trusted), model)
    model.load_state_dict(adapted, strict=True)
    if logger is not None:
        logger.info(f'FocalNet: loaded {path} ({report.summary()})')
        if report.kept_at_init:
            logger.info(f'FocalNet: not in the checkpoint, kept at init: {report.kept_at_init}')
    return report
