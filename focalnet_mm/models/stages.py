"""What the two focal backbones share as mm backbones: ``frozen_stages`` semantics."""
from __future__ import annotations

import torch.nn as nn


class FrozenStagesMixin:
    """``frozen_stages`` as in mmdet's Swin: -1 freezes nothing, 0 the stem, k the stem and the
    first k stages with their output norms. Frozen modules stay in eval mode (dropout, drop path)
    and get no gradients, also after ``train()`` is called again.

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
