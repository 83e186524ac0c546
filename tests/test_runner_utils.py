"""focalnet_mm.runner_utils: the scope of a config, building without pretrained weights, and the
CPU set-up of distributed runs that tools/train.py and tools/test.py share."""
import socket

import pytest
import torch
import torch.distributed as dist
from mmengine.config import Config

from focalnet_mm import runner_utils
from helpers import ROOT

UPERNET = f'{ROOT}/configs/mmseg/upernet_focalnet-t-srf_8xb2-160k_ade20k-512x512.py'


def test_config_scope_validates_and_names_the_config():
    assert runner_utils.config_scope(Config(dict(default_scope='mmdet')), register=False) == 'mmdet'
    with pytest.raises(ValueError, match=r"x\.py: default_scope='mmengine', expected 'mmdet' or "
                                         r"'mmseg'$"):
        runner_utils.config_scope(Config(dict(default_scope='mmengine')), name='x.py')
    with pytest.raises(ValueError, match='set default_scope in the config'):
        runner_utils.config_scope(Config(dict()), name='x.py')
    assert runner_utils.config_scope(Config(dict()), optional=True) is None


def test_build_model_reads_no_pretrained_file(tmp_path):
    cfg = Config.fromfile(UPERNET)
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=str(tmp_path / 'absent.pth'))
    model = runner_utils.build_model(cfg)
    model.init_weights()  # would raise on the absent file had init_cfg been kept
    assert type(model.backbone).__name__ == 'FocalNet'
    assert cfg.model.backbone.init_cfg is not None  # the caller's config is left as it was


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.mark.skipif(torch.cuda.is_available(), reason='the CPU (no CUDA) path')
def test_cpu_distributed_setup_uses_gloo_and_replaces_syncbn(monkeypatch):
    """Without CUDA: a gloo process group from the torchrun variables (world size 1 here), DDP
    without device ids, and the config's SyncBN layers (the UPerNet heads) become BN, with a
    warning that says so."""
    cfg = Config.fromfile(UPERNET)
    assert cfg.model.decode_head.norm_cfg.type == 'SyncBN'
    syncbn = str(cfg.model.to_dict()).count("'SyncBN'")
    for key, value in dict(RANK='0', WORLD_SIZE='1', LOCAL_RANK='0', MASTER_ADDR='127.0.0.1',
                           MASTER_PORT=str(_free_port())).items():
        monkeypatch.setenv(key, value)
    assert not dist.is_initialized()
    try:
        with pytest.warns(UserWarning, match=rf'{syncbn} SyncBN layer config\(s\) replaced by BN'):
            runner_utils.setup_launcher(cfg, 'pytorch')
        assert dist.is_initialized() and dist.get_backend() == 'gloo'
        assert dist.get_world_size() == 1
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    assert cfg.launcher == 'pytorch' and cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert cfg.model_wrapper_cfg.device_ids is None
    assert cfg.model.decode_head.norm_cfg.type == 'BN'
    assert cfg.model.auxiliary_head.norm_cfg.type == 'BN'
    assert syncbn >= 2 and 'SyncBN' not in str(cfg.model.to_dict())
