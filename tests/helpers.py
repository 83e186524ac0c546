"""Shared test helpers (imported by the tests; not a test module)."""
import contextlib
import functools
import glob
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys
import time

import torch
import torch.nn as nn

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
# Demo configs with a narrow FocalNet and narrow heads (relative to ROOT): for the tests that check
# the engine and the tools, not the model's width.
NARROW_DET_CONFIG = 'tests/data/configs/mask-rcnn_focalnet-narrow_demo.py'
NARROW_SEG_CONFIG = 'tests/data/configs/upernet_focalnet-narrow_demo.py'


@torch.no_grad()
def randomize_(model: nn.Module, seed: int = 0, scale: float = 1.0) -> nn.Module:
    """Give every parameter a non-trivial value, so that parity tests exercise all of them
    (layerscale 1e-4, LayerNorm 1/0 and zero biases would hide mistakes)."""
    gen = torch.Generator().manual_seed(seed)
    for name, p in model.named_parameters():
        noise = torch.randn(p.shape, generator=gen)
        if 'gamma' in name:
            p.copy_(0.5 + 0.25 * noise.abs())
        elif p.dim() == 1 and ('norm' in name or name.endswith('.ln.weight')) and name.endswith('weight'):
            p.copy_(1 + 0.2 * noise)
        elif p.dim() == 1:
            p.copy_(0.05 * noise)
        else:
            fan_in = p[0].numel()
            p.copy_(scale * noise / fan_in ** 0.5)
    return model


class CountingClock:
    """time.perf_counter, counting its readings (how many timings a kernel planner made)."""

    def __init__(self):
        self.readings = 0

    def __call__(self) -> float:
        self.readings += 1
        return time.perf_counter()


def num_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def suite_threads() -> int:
    """Threads for a test process or tool subprocess: up to 2 (the test machine's cores), or
    ``OMP_NUM_THREADS`` when set. tools/run_tests.sh runs the two tiers side by side and names the
    other tier's marker file in ``FOCALNET_TEST_OTHER_TIER``: one thread while that tier runs
    (two OpenMP teams spin-waiting on 2 cores cost far more than the second thread gains), both
    cores once it has ended."""
    cores = max(1, min(2, os.cpu_count() or 1))
    other = os.environ.get('FOCALNET_TEST_OTHER_TIER')
    if other:
        return 1 if osp.exists(other) else cores
    return int(os.environ.get('OMP_NUM_THREADS') or cores)


def tool_env(**overrides: str) -> dict:
    """Environment of the tool subprocesses: :func:`suite_threads` threads, and idle OpenMP
    threads sleep after a short spin (GOMP_SPINCOUNT), so that jobs sharing a small machine do not
    starve each other, unless the caller chose a wait policy."""
    env = dict(os.environ)
    if 'OMP_WAIT_POLICY' not in env:
        env.setdefault('GOMP_SPINCOUNT', '8000')
    if env.get('FOCALNET_TEST_OTHER_TIER'):
        env['OMP_NUM_THREADS'] = str(suite_threads())
    env.update(overrides)
    return env


def run_tool(args: list, timeout: int = 900, env: dict = None) -> str:
    """``python ARGS`` in the repository root; asserts success, returns stdout + stderr."""
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env=env or tool_env())
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f'{args[0]} failed ({proc.returncode}):\n{out[-6000:]}'
    return out


def json_log_records(work_dir: str, pattern: str = osp.join('*', 'vis_data', '*.json')) -> list:
    """Records of mmengine's json logs under ``work_dir``: training scalars are in
    ``<ts>/vis_data/<ts>.json`` (the default pattern), test metrics in ``<ts>/<ts>.json``."""
    records = []
    for path in sorted(glob.glob(osp.join(work_dir, pattern))):
        if osp.basename(path) in ('scalars.json', 'config.json'):
            continue
        with open(path) as f:
            records += [json.loads(line) for line in f if line.strip()]
    return records


def load_tool(name: str, directory: str = osp.join(ROOT, 'tools'), module_name: str = None):
    """``<directory>/<name>.py`` (ours by default) as a module, loaded by path (putting tools/ on
    sys.path would let tools/test.py shadow the standard library's ``test``)."""
    spec = importlib.util.spec_from_file_location(module_name or name,
                                                  osp.join(directory, f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _mmengine_managers() -> list:
    """Every class of mmengine's named singletons (DefaultScope, Visualizer and its subclasses,
    MMLogger, MessageHub...): each keeps its own instance dict."""
    from mmengine.utils import ManagerMixin
    todo, found = [ManagerMixin], []
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo += cls.__subclasses__()
    return [cls for cls in found if '_instance_dict' in vars(cls)]


@contextlib.contextmanager
def in_process_tool():
    """For a tool's ``main`` called in the test process (no new interpreter importing torch and
    mmdet/mmseg again): what the run could leave behind is put back afterwards. The working
    directory (the tool runs in the repository root, as its subprocess would), torch's thread
    count, and mmengine's named singletons, which the run starts without: a tool's default scope
    would become the current one of later tests, a logger first created under ``capsys`` would keep
    writing to its closed stream, and a visualizer made earlier would write into its own run's
    work dir."""
    cwd, threads = os.getcwd(), torch.get_num_threads()
    saved = {cls: cls._instance_dict.copy() for cls in _mmengine_managers()}
    for cls in saved:  # and the run starts without any, as in a new process
        cls._instance_dict = type(cls._instance_dict)()
    os.chdir(ROOT)
    try:
        yield
    finally:
        os.chdir(cwd)
        torch.set_num_threads(threads)
        for cls in _mmengine_managers():  # also the classes the run imported (mmdet's...)
            cls._instance_dict = saved.get(cls, type(cls._instance_dict)())


def call_tool_main(capsys, name: str, *args) -> tuple:
    """``tools/<name>.py ARGS`` through its ``main`` in this process, under :func:`in_process_tool`:
    (what ``main`` returned, captured stdout, captured stderr)."""
    tool = load_tool(name)  # per call: a default such as ``out=sys.stdout`` binds this capture
    capsys.readouterr()
    with in_process_tool():
        result = tool.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return result, out, err


@functools.lru_cache(maxsize=None)
def parsed_config(path):
    """``Config.fromfile(path)``, parsed once per test process (mmengine's parse of the mmdet/mmseg
    bases takes ~0.5 s). For tests that only read it: one that edits a config parses its own."""
    from mmengine.config import Config
    return Config.fromfile(str(path))
