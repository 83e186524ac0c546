"""An atomic local file backend for mmengine's ``fileio`` (checkpoints that are never truncated).

mmengine 0.10.7 saves a checkpoint with ``torch.save`` into memory and then
``LocalBackend.put(bytes, path)``, which is ``open(path, 'wb').write(bytes)``: the file is truncated
first and filled afterwards, so a process killed during the write (SIGKILL, OOM killer, pre-emption,
a full disk) leaves a truncated ``epoch_N.pth``/``iter_N.pth`` under the final name.

:class:`AtomicLocalBackend` (registered as ``backend='atomic_local'``) writes to a temporary file in
the same directory, flushes and ``fsync``\\ s it, then ``os.replace``\\ s it over the target (atomic
on POSIX and Windows within one file system) and fsyncs the directory. A reader sees the old
complete file or the new complete file, never a partial one; a killed write leaves at most a
``.<name>.tmp-*`` file, which :func:`remove_stale_tmp` (and the next successful write) cleans up.
"""
from __future__ import annotations

import glob
import os
import os.path as osp
import tempfile
from pathlib import Path
from typing import Union

from mmengine.fileio import LocalBackend, register_backend

BACKEND_NAME = 'atomic_local'
_TMP_MARK = '.tmp-'


def atomic_write_bytes(data: bytes, filepath: Union[str, Path]) -> None:
    """Write ``data`` to ``filepath`` atomically (temp file + fsync + ``os.replace``)."""
    filepath = os.fspath(filepath)
    dirname = osp.dirname(osp.abspath(filepath))
    os.makedirs(dirname, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{osp.basename(filepath)}{_TMP_MARK}', dir=dirname)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(dirname)


def atomic_write_text(text: str, filepath: Union[str, Path], encoding: str = 'utf-8') -> None:
    atomic_write_bytes(text.encode(encoding), filepath)


def _fsync_dir(dirname: str) -> None:
    """Make the rename durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(dirname, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_stale_tmp(dirname: str) -> list[str]:
    """Delete temporary files left in ``dirname`` by killed atomic writes; returns their paths."""
    removed = []
    for path in glob.glob(osp.join(glob.escape(dirname), f'.*{_TMP_MARK}*')):
        try:
            os.unlink(path)
            removed.append(path)
        except OSError:
            pass
    return removed


class AtomicLocalBackend(LocalBackend):
    """mmengine ``LocalBackend`` whose ``put``/``put_text`` replace the target atomically.

    Select it with ``backend_args=dict(backend='atomic_local')`` (e.g. in ``CheckpointHook``);
    :class:`focalnet_mm.engine.AtomicCheckpointHook` uses it by default for local directories.
    """

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        atomic_write_bytes(obj, filepath)

    def put_text(self, obj: str, filepath: Union[str, Path], encoding: str = 'utf-8') -> None:
        atomic_write_text(obj, filepath, encoding)


def register() -> None:
    from mmengine.fileio.backends import backends
    if backends.get(BACKEND_NAME) is not AtomicLocalBackend:
        register_backend(BACKEND_NAME, AtomicLocalBackend, force=True)


register()
