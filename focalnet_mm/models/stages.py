"""What the two focal backbones share as mm backbones: ``frozen_stages`` and ``init_cfg``."""
from __future__ import annotations

import copy
from typing import Callable

import torch.nn as nn
from mmengine.logging import MMLogger


class FocalBackboneMixin:
    """``frozen_stages`` as in mmdet's Swin: -1 freezes nothing, 0 the stem, k the stem and the
    first k stages with their output norms. Frozen modules stay in eval mode (dropout, drop path)
    and get no gradients, also after ``train()`` is called again.

    ``init_cfg``: a ``Pretrained`` one is read by the model's own loader (which converts the
    checkpoint formats it knows and refuses another variant's), any other by mmengine.

    The class using it provides ``patch_embed``, ``layers``, ``norm{i}``, ``out_indices`` and
    ``frozen_stages``; ``_stem_modules`` names what belongs to stage "0".
    """

    def _stem_modules(self) -> list[nn.Module]:
        return [self.patch_embed]

    def _freeze_stages(self) -> None:
        frozen = list(self._stem_modules()) if self.frozen_stages >= 0 else []
        for i in range(self.frozen_stages):
            frozen.append(self.layers[i])
            if i in self.out_indices:
                frozen.append(getattr(self, f'norm{i}'))
        for module in frozen:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True):
        super().train(mode)
        self._freeze_stages()
        return self

    def _apply_init_cfg(self, load_pretrained: Callable) -> None:
        """The part of ``init_weights`` after the module-wise initialisation."""
        if self.init_cfg is not None and self.init_cfg.get('type') == 'Pretrained':
            init_cfg = copy.deepcopy(self.init_cfg)
            load_pretrained(self, init_cfg['checkpoint'], trusted=init_cfg.get('trusted', False),
                            logger=MMLogger.get_current_instance())
        elif self.init_cfg is not None:
            super().init_weights()
        self._is_init = True
