"""Batch-norm folding: every InPlaceABN of the SCHP network merged into the convolution before it, at load time.

In eval, a norm after a convolution is a per-channel affine map, ``abn(conv(x)) = act(conv(x) * scale + shift)``,
with InPlaceABN's effective scale ``(|weight| + eps) / sqrt(var + eps)``
(:meth:`~posewarp.preprocess.schp_net.ActivatedBatchNorm2d.scale_and_shift`, in float64). The convolution then
takes the weights ``W * scale`` (one float32 rounding per weight) and the bias ``b * scale + shift``, and the norm
shrinks to its activation: one pass over each of the 119 feature maps fewer, the same function up to float
rounding.
"""

from __future__ import annotations

import torch
from torch import nn

from posewarp.preprocess.schp_net import LEAKY_SLOPE, ActivatedBatchNorm2d


def fold_conv(conv: nn.Conv2d, scale: torch.Tensor, shift: torch.Tensor) -> nn.Conv2d:
    """A new convolution computing ``conv(x) * scale + shift`` (per output channel)."""
    dtype = conv.weight.dtype
    with torch.device("meta"):  # the weights are computed below, no initialisation to throw away
        folded = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, stride=conv.stride,
                           padding=conv.padding, dilation=conv.dilation, groups=conv.groups, bias=True)  # fmt: skip
    bias = shift if conv.bias is None else conv.bias.double() * scale + shift
    with torch.no_grad():
        folded.weight = nn.Parameter(conv.weight * scale.to(dtype).view(-1, 1, 1, 1), requires_grad=False)
        folded.bias = nn.Parameter(bias.to(dtype), requires_grad=False)
    return folded


def _conv_before(parent: nn.Module, name: str) -> str:
    """The name of the convolution a norm follows: the previous child of a Sequential, else ``bnK`` -> ``convK``."""
    if isinstance(parent, nn.Sequential):
        names = [n for n, _ in parent.named_children()]
        index = names.index(name)
        return names[index - 1] if index > 0 else ""
    return "conv" + name[2:] if name.startswith("bn") else ""


def fold_batch_norms(net: nn.Module) -> nn.Module:
    """Fold every :class:`ActivatedBatchNorm2d` of ``net`` into its convolution, in place; returns ``net``."""
    for parent in list(net.modules()):
        for name, norm in list(parent.named_children()):
            if not isinstance(norm, ActivatedBatchNorm2d):
                continue
            conv_name = _conv_before(parent, name)
            conv = getattr(parent, conv_name, None) if conv_name else None
            if not isinstance(conv, nn.Conv2d) or conv.out_channels != norm.num_features:
                raise ValueError(f"no convolution before the norm {name!r} to fold it into")
            setattr(parent, conv_name, fold_conv(conv, *norm.scale_and_shift()))
            activation = nn.LeakyReLU(LEAKY_SLOPE, inplace=True) if norm.activation == "leaky_relu" else nn.Identity()
            setattr(parent, name, activation)
    return net.eval()
