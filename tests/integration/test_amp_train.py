"""Integration: ``tools/train.py --amp`` on a CPU-only machine trains the Mask R-CNN demo (the family
the official code trained in fp16; a narrower FocalNet) for 2 iterations in bf16 autocast: the wrapper is
``AutocastOptimWrapper``, the backbone's convolutions really run in bf16, the parameters stay fp32,
and both losses are finite."""
import glob
import json
import math
import os.path as osp

import pytest
import torch
from helpers import ROOT, load_tool

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures('demo_data')]
# A narrower FocalNet (C=32, one block per stage) in the demo Mask R-CNN: CPUs without native bf16
# (AVX2 only, like the test machine) emulate it, ~6x slower than fp32 for FocalNet-T.
NARROW = ['model.backbone.embed_dims=32', 'model.backbone.depths=[1,1,1,1]',
          'model.neck.in_channels=[32,64,128,256]']


def test_amp_trains_two_iterations_in_bf16_on_cpu(tmp_path, monkeypatch):
    if torch.cuda.is_available():
        pytest.skip('on a GPU --amp is fp16 AmpOptimWrapper (this test covers the CPU path)')
    monkeypatch.chdir(ROOT)  # the demo config reads data/demo relative to the repository
    train = load_tool('train')
    args = train.parse_args([
        'configs/demo/mask-rcnn_focalnet-t-srf_fpn_demo.py', '--amp', '--work-dir',
        str(tmp_path), '--cfg-options', 'train_dataloader.dataset.indices=4',
        'train_dataloader.batch_size=2', 'train_cfg.max_epochs=1', 'val_cfg=None',
        'val_dataloader=None', 'val_evaluator=None', 'default_hooks.logger.interval=1',
        'log_processor.window_size=1', 'default_hooks.checkpoint.interval=100',
        'default_hooks.checkpoint.save_last=False', *NARROW])
    runner = train.build_runner(args)
    assert runner.cfg.optim_wrapper.type == 'AutocastOptimWrapper'
    dtypes = []
    runner.model.backbone.patch_embed.proj.register_forward_hook(
        lambda m, i, o: dtypes.append(o.dtype) if m.training else None)
    runner.train()

    assert type(runner.optim_wrapper).__name__ == 'AutocastOptimWrapper'
    assert dtypes == [torch.bfloat16, torch.bfloat16]  # one forward per iteration, in bf16
    assert all(p.dtype == torch.float32 for p in runner.model.parameters())
    (scalars,) = glob.glob(str(tmp_path / '*' / 'vis_data' / 'scalars.json'))
    losses = [json.loads(line)['loss'] for line in open(scalars) if '"loss"' in line]
    assert len(losses) == 2 and all(math.isfinite(v) and v > 0 for v in losses), losses
    print(f'\nbf16 autocast Mask R-CNN demo, losses of iterations 1, 2: {losses}')
