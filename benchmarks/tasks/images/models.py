"""Image models: an MLP on the pixels (quick), and ResNet-9 (the paper's CIFAR-10 model).

ResNet-9 here uses GroupNorm instead of BatchNorm: it keeps no running statistics, so a model
is a pure function of its parameters, as the batched engine, per-example gradients and the
influence solvers require (BatchNorm's buffers would make a model's output depend on the
batch it last saw).
"""

from __future__ import annotations

from torch import nn


def make_model(arch: str, shape: tuple[int, ...], hidden: int, n_classes: int) -> nn.Module:
    """The model of ``arch`` for images of ``shape = (C, H, W)``."""
    if arch == "resnet9":
        return resnet9(shape[0], n_classes)
    d = 1
    for s in shape:
        d *= s
    if hidden == 0:
        return nn.Sequential(nn.Flatten(), nn.Linear(d, n_classes))
    return nn.Sequential(nn.Flatten(), nn.Linear(d, hidden), nn.ReLU(),
                         nn.Linear(hidden, n_classes))


def _block(c_in: int, c_out: int, pool: bool = False) -> nn.Sequential:
    layers = [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.GroupNorm(8, c_out),
              nn.ReLU()]
    return nn.Sequential(*layers, *([nn.MaxPool2d(2)] if pool else []))


class _Residual(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.body = nn.Sequential(_block(c, c), _block(c, c))

    def forward(self, x):
        return x + self.body(x)


def resnet9(channels: int, n_classes: int, width: int = 64) -> nn.Module:
    """The DAWNBench ResNet-9 layout (prep, 3 stages, two residual blocks, pooled head)."""
    w = width
    return nn.Sequential(_block(channels, w), _block(w, 2 * w, pool=True), _Residual(2 * w),
                         _block(2 * w, 4 * w, pool=True), _block(4 * w, 8 * w, pool=True),
                         _Residual(8 * w), nn.AdaptiveMaxPool2d(1), nn.Flatten(),
                         nn.Linear(8 * w, n_classes))
