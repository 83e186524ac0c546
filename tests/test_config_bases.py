"""Every config resolves to the full config recorded in tests/data/resolved_configs.json.

The configs share their recipes through bases (configs/_base_, configs/mmpretrain/_base_); how a
config is split into bases is free, what it resolves to is not. The snapshot holds, for every
`.py` config outside the `_base_` folders, the whole resolved config (`Config.fromfile(path)
.to_dict()`, tuples as lists, keys sorted). A refactoring of the bases leaves it unchanged; a
change of a recipe changes it on purpose: then write the snapshot anew
(`python tests/test_config_bases.py --write`) and review its diff.

Cheap: configs are only parsed, no model is built.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / 'configs'
SNAPSHOT = ROOT / 'tests' / 'data' / 'resolved_configs.json'
# Keys that would hold the config file's own path (none of the configs has one today).
PATH_KEYS = ('filename', '__file__')


def config_files() -> list[str]:
    """Every `.py` config under configs/ outside `_base_` folders, relative to configs/."""
    return sorted(
        p.relative_to(CONFIGS).as_posix() for p in CONFIGS.rglob('*.py')
        if '_base_' not in p.relative_to(CONFIGS).parts)


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def resolved(path) -> dict:
    """The whole resolved config of `path`, JSON-serialisable and key-sorted."""
    from mmengine.config import Config
    cfg = Config.fromfile(str(path)).to_dict()
    for key in PATH_KEYS:
        cfg.pop(key, None)
    # through JSON, so that it compares equal to what the snapshot file holds
    return json.loads(json.dumps(_plain(cfg), sort_keys=True))


def _differences(got, want, where='', limit=10) -> list[str]:
    """The first `limit` places where `got` differs from `want`, as readable lines."""
    out = []

    def walk(a, b, path):
        if len(out) >= limit:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for k in sorted(set(a) | set(b)):
                if k not in b:
                    out.append(f'{path}.{k}: not in the snapshot (got {a[k]!r:.200})')
                elif k not in a:
                    out.append(f'{path}.{k}: missing (snapshot {b[k]!r:.200})')
                else:
                    walk(a[k], b[k], f'{path}.{k}')
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for i, (x, y) in enumerate(zip(a, b)):
                walk(x, y, f'{path}[{i}]')
        elif a != b or type(a) is not type(b):
            out.append(f'{path}: got {a!r:.200}, snapshot {b!r:.200}')

    walk(got, want, where)
    return out


# read once, at collection (a missing file leaves it empty: the coverage test then fails)
RECORDED = json.loads(SNAPSHOT.read_text()) if SNAPSHOT.is_file() else {}


def test_snapshot_covers_every_config():
    assert set(config_files()) == set(RECORDED)


@pytest.mark.parametrize('path', sorted(RECORDED))
def test_config_resolves_as_recorded(path):
    got = resolved(CONFIGS / path)
    want = RECORDED[path]
    if got != want:
        pytest.fail(f'{path} resolves differently from the snapshot:\n  '
                    + '\n  '.join(_differences(got, want)))


if __name__ == '__main__':
    if sys.argv[1:] != ['--write']:
        sys.exit(f'usage: python {sys.argv[0]} --write  (records the resolved configs)')
    SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
    data = {path: resolved(CONFIGS / path) for path in config_files()}
    SNAPSHOT.write_text(json.dumps(data, indent=1, sort_keys=True) + '\n')
    print(f'{len(data)} configs -> {SNAPSHOT.relative_to(ROOT)}')
