"""The checker of notebook 04's network exercise: one block of Li and Wang's Figure 4.

A block is compared twice: first its layers and their settings, one sentence on the first
difference (a batch norm after every conv, every conv strided, padding that ignores the
dilation); then, with the reference's random weights and batch-norm statistics copied in,
its outputs in eval and in train mode.
"""

from __future__ import annotations

import torch
from torch import nn

from .engine import (Case, CheckFailed, Explanation, Reference, as_result, call, check_values, image_element,
                     name_of, require_callable, rng, shape_message, success)

_FIGURE = "the block of Li and Wang's Figure 4"
_LAYER_NAMES = {nn.Conv2d: "conv", nn.ReLU: "ReLU", nn.BatchNorm2d: "BatchNorm"}
_ATTRIBUTES = {
    nn.Conv2d: ("in_channels", "out_channels", "kernel_size", "stride", "dilation", "padding", "groups",
                "padding_mode"),
    nn.BatchNorm2d: ("num_features", "eps", "momentum", "affine", "track_running_stats"),
}
_ATTRIBUTE_HINTS = {
    "in_channels": "the first conv takes c_in channels, the later ones c_out",
    "stride": "only the last conv has stride stride_last, the others stride 1",
    "padding": "a 3x3 conv with dilation d needs padding d to keep the size",
    "dilation": "every conv of the block has the block's dilation",
    "kernel_size": "the convolutions are 3x3",
}


def _layers(block: nn.Module) -> list[nn.Module]:
    return [m for m in block.modules() if not list(m.children())]


def _layer_name(m: nn.Module) -> str:
    return _LAYER_NAMES.get(type(m), type(m).__name__)


def _ordinal(k: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(k, f"{k}th")


def _compare_structure(block: nn.Module, ref: nn.Module, call: str, n: int) -> None:
    """Same layers in the same order, with the same settings; else one sentence on the first difference."""
    __tracebackhide__ = True
    mine, theirs = _layers(block), _layers(ref)
    if [type(m) for m in mine] != [type(m) for m in theirs]:
        hint = ""
        if sum(isinstance(m, nn.BatchNorm2d) for m in mine) > 1:
            hint = " — batch norm comes once, at the end of the block"
        raise CheckFailed(
            f"{call} has {len(mine)} layers: {', '.join(map(_layer_name, mine)) or 'none'}; {_FIGURE} "
            f"with n={n} has {len(theirs)}: {', '.join(map(_layer_name, theirs))}{hint}."
        ) from None
    counts: dict[type, int] = {}
    for m, r in zip(mine, theirs):
        counts[type(m)] = counts.get(type(m), 0) + 1
        for attr in _ATTRIBUTES.get(type(m), ()):
            got, want = getattr(m, attr), getattr(r, attr)
            if attr == "padding" and got == "same":
                continue  # equivalent where PyTorch allows it (stride 1); the outputs are compared anyway
            if got != want:
                hint = f" — {_ATTRIBUTE_HINTS[attr]}" if attr in _ATTRIBUTE_HINTS else ""
                raise CheckFailed(
                    f"the {_ordinal(counts[type(m)])} {_layer_name(m)} of {call} has {attr}={got!r} where "
                    f"{_FIGURE} has {attr}={want!r}{hint}."
                ) from None
        if isinstance(m, nn.Conv2d) and (m.bias is None) != (r.bias is None):
            raise CheckFailed(
                f"the {_ordinal(counts[type(m)])} conv of {call} has bias={m.bias is not None} where "
                f"{_FIGURE} has bias={r.bias is not None}."
            ) from None


def _randomise(block: nn.Module, g: torch.Generator) -> None:
    # Non-default batch-norm statistics and affine parameters, so that eval mode tests them too.
    with torch.no_grad():
        for m in block.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * 0.3)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(0.5 + torch.rand(m.weight.shape, generator=g))
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.2)
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=g))


def _copy_state(block: nn.Module, ref: nn.Module, call: str) -> None:
    """Load the reference's parameters and buffers into the student's block, by key or else in order."""
    __tracebackhide__ = True
    source, target = ref.state_dict(), block.state_dict()
    if source.keys() == target.keys() and all(source[k].shape == target[k].shape for k in source):
        block.load_state_dict(source)
        return
    if len(source) != len(target) or any(s.shape != t.shape for s, t in zip(source.values(), target.values())):
        raise CheckFailed(
            f"the parameters of {call} do not line up with those of {_FIGURE}: it has "
            f"{[tuple(t.shape) for t in target.values()]}, the block {[tuple(s.shape) for s in source.values()]}."
        ) from None
    block.load_state_dict(dict(zip(target.keys(), source.values())))


def check_conv_block(fn) -> None:
    """Check ``fn(c_in, c_out, n, stride_last=1, dilation=1) -> nn.Sequential``, one block of Li and Wang's Figure 4.

    The block is ``n`` 3x3 convolutions, each followed by a ReLU, then one BatchNorm2d over
    ``c_out`` channels. The first convolution takes ``c_in`` channels, the others ``c_out``;
    only the last has stride ``stride_last``; all have dilation ``dilation`` and padding
    ``dilation`` (so that a stride-1 block keeps the size) and a bias. The checker compares
    the layers with :func:`colorlab.models.cnn.conv_block`, copies that block's (random)
    weights and batch-norm statistics into yours, and compares the outputs on random input
    in eval and in train mode, to 1e-5.
    """
    require_callable(fn, "check_conv_block", "conv_block")
    # Building the blocks draws from torch's global generator; keep the notebook's seeded sequence intact.
    with torch.random.fork_rng(devices=[]):
        _check_conv_block(fn)


def _check_conv_block(fn) -> None:
    __tracebackhide__ = True
    from ..models.cnn import conv_block

    name = name_of(fn, "conv_block")
    reference = Reference(conv_block, "colorlab.models.cnn.conv_block", 1e-5, 1e-5)
    explanation = Explanation(element=image_element(lambda c: f"channel {c}"))
    configs = [((1, 4, 2), {"stride_last": 2, "dilation": 1}),  # block 1: halves the resolution
               ((4, 6, 3), {"stride_last": 1, "dilation": 2}),  # block 5: dilated
               ((3, 5, 1), {})]  # the defaults
    g = rng(4)
    worst = 0.0
    for i, (args, kwargs) in enumerate(configs):
        text = f"{name}({', '.join(map(str, args))}{''.join(f', {k}={v}' for k, v in kwargs.items())})"
        ref = conv_block(*args, **kwargs)
        _randomise(ref, g)
        block = call(fn, Case(text, args, kwargs, None), name, first=i == 0)
        if isinstance(block, (list, tuple)):
            raise CheckFailed(
                f"{text} returned a {type(block).__name__}; wrap the layers in nn.Sequential(*layers)."
            ) from None
        if not isinstance(block, nn.Module):
            raise CheckFailed(f"{text} returned {'None' if block is None else 'a ' + type(block).__name__}; "
                              f"it should return an nn.Sequential of the layers.") from None
        _compare_structure(block, ref, text, args[2])
        _copy_state(block, ref, text)
        x = torch.randn(2, args[0], 12, 12, generator=g)
        for mode in ("eval", "train"):
            ref.train(mode == "train")
            block.train(mode == "train")
            each = Case(f"{text} in {mode} mode, input shape {tuple(x.shape)}", (x,), {}, tuple(x.shape))
            with torch.no_grad():
                want = ref(x.clone()).double()
                got = as_result(call(block, each, name, first=False), name, each.label, "a torch tensor")
            if got.shape != want.shape:
                raise CheckFailed(shape_message(f"the block {text}", tuple(got.shape), tuple(want.shape), each,
                                                "shape {expected}")) from None
            worst = max(worst, check_values(got, want, each, name, reference, explanation))
    success(name, reference.name, f"{len(configs)} blocks, each in eval and train mode", worst)
