"""Checkers for the notebooks' exercises: run the student's function, answer in one sentence.

An exercise asks for a function (``rgb_to_yuv``, ``soft_encode``, ...); the cell after it
calls a checker, ``check_rgb_to_yuv(rgb_to_yuv)``. As in the CS231n assignments, the
checker runs the student's function next to colorlab's tested reference on a handful of
inputs -- hand-picked edge cases (pure red, black, a colour exactly on a bin centre, huge
logits) and random ones from a fixed seed, batched and unbatched where the reference takes
both -- and answers with one sentence:

- it works: prints ``✓ rgb_to_yuv matches colorlab.color.rgb_to_yuv on 7 inputs (largest
  difference 3.0e-08).`` and returns True;
- it is still the stub (raises ``NotImplementedError``): raises :class:`ExerciseNotDone`;
- anything else: raises :class:`CheckFailed` (an ``AssertionError``) naming the input and
  what went wrong -- the element and by how much, the shape, the type, the exception -- with
  a hint where a common mistake is recognisable (NaN from an overflowing ``exp``, a constant
  factor, channels in another order, an off-by-one window).

The sentence is the last line of the traceback. When the student's own code raised, that
exception stays attached as ``__cause__``, so the traceback still shows the line of their
code that failed; otherwise the checker's internals are left out (``from None``).

The student's function always gets copies of the inputs, so one that works in place cannot
change what the reference sees. Images are float32, as the course's photos are, while the
reference runs in float64 on the same values, so the tolerances only have to cover float32
rounding. NumPy results are accepted (converted with ``torch.as_tensor``); integer results
are not, since they mean a value was truncated somewhere.
"""

from __future__ import annotations

import itertools
import math
from typing import Callable, NamedTuple

import numpy as np
import torch
from torch import nn

__all__ = [
    "ExerciseNotDone",
    "CheckFailed",
    "check_to_float_image",
    "check_rgb_to_yuv",
    "check_rgb_to_lab",
    "check_uv_loss",
    "check_pixel_feature",
    "check_smooth_l1",
    "check_blur_loss",
    "check_conv_block",
    "check_soft_encode",
    "check_rebalance_weights",
    "check_annealed_mean",
    "check_ab_histogram",
]


class ExerciseNotDone(Exception):
    """The exercise's function still raises ``NotImplementedError``: there is nothing to check yet."""


class CheckFailed(AssertionError):
    """The student's function disagrees with the reference; the message says where and by how much."""


# ------------------------------------------------------------------ the generic check


class _Case(NamedTuple):
    label: str  # how the messages name this input, e.g. "pure red, shape (3, 1, 1)"
    args: tuple
    kwargs: dict
    input_shape: tuple | None  # shape of the first argument, for the wrong-shape message


def _case(what: str, *args, **kwargs) -> _Case:
    shape = tuple(args[0].shape)
    return _Case(f"{what}, shape {shape}", args, kwargs, shape)


def _copy(x, upcast: bool = False):
    """A deep copy of tensors and arrays (float32 -> float64 when ``upcast``), recursing into containers."""
    if isinstance(x, torch.Tensor):
        x = x.detach().clone()
        return x.double() if upcast and x.is_floating_point() else x
    if isinstance(x, np.ndarray):
        return x.astype(np.float64) if upcast and x.dtype.kind == "f" else x.copy()
    if isinstance(x, (tuple, list)):
        return type(x)(_copy(v, upcast) for v in x)
    if isinstance(x, dict):
        return {k: _copy(v, upcast) for k, v in x.items()}
    return x


def _num(x: float) -> str:
    """A number as a sentence shows it: 4 significant digits, 'e-5' rather than 'e-05'."""
    x = float(x)
    if math.isnan(x) or math.isinf(x):
        return str(x)
    text = f"{x:.4g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"
    return text


def _name(fn, default: str) -> str:
    name = getattr(fn, "__name__", "")
    return name if name.isidentifier() else default  # lambdas and partials get the exercise's name


def _require_callable(fn, checker: str, default: str) -> None:
    if not callable(fn):
        raise TypeError(
            f"{checker} wants your function itself, as in {checker}({default}), not what it returns "
            f"(got a {type(fn).__name__})."
        ) from None


def _exception_text(err: BaseException) -> str:
    message = str(err).strip().splitlines()[0] if str(err).strip() else ""
    if len(message) > 160:
        message = message[:157] + "..."
    return f'{type(err).__name__}("{message}")' if message else type(err).__name__


def _exception_hint(err: BaseException) -> str:
    """A hint for the errors whose cause is nearly always the same."""
    text = str(err)
    if ("Double" in text and "Float" in text) or "same dtype" in text:
        return (" — hint: float32 and float64 are mixed; make your constants in the input's dtype, "
                "e.g. torch.tensor(..., dtype=x.dtype)")
    if "NoneType" in text:
        return " — hint: something your code calls returned None, often a function without a return statement"
    if "shapes cannot be multiplied" in text or "size of tensor a" in text:
        return " — hint: check which dimension holds the channels; inputs are (C,H,W) or (N,C,H,W)"
    return ""


def _call(fn, args: tuple, kwargs: dict, name: str, label: str, first: bool):
    """Call the student's function on copies; turn its exceptions into the checker's two answers."""
    __tracebackhide__ = True
    try:
        return fn(*_copy(args), **_copy(kwargs))
    except NotImplementedError as err:
        if first:
            raise ExerciseNotDone(
                f'{name} is not written yet: replace "raise NotImplementedError" in the cell above with your '
                f"code, run that cell, then run this check again."
            ) from None
        # It ran on earlier inputs, so this is a deliberate gap, not the untouched stub.
        raise CheckFailed(f'{name} raised {_exception_text(err)} on "{label}"; it must handle this input too.') from err
    except Exception as err:
        # `from err`: the traceback keeps the student's failing line above the friendly sentence.
        raise CheckFailed(f'{name} raised {_exception_text(err)} on "{label}"{_exception_hint(err)}.') from err


def _as_result(out, name: str, label: str, wanted: str) -> torch.Tensor:
    """The student's result as a float64 CPU tensor, or a CheckFailed saying why it cannot be one."""
    __tracebackhide__ = True
    if out is None:
        raise CheckFailed(
            f'{name} returned None on "{label}"; it should return {wanted} — check that it ends with a return '
            "statement."
        ) from None
    parts = isinstance(out, (list, tuple)) and any(getattr(v, "ndim", 0) >= 1 for v in out)
    if parts:  # torch would stack 1-pixel parts silently and refuse larger ones: say it the same way for both
        raise CheckFailed(
            f'{name} returned a {type(out).__name__} of {len(out)} arrays on "{label}"; it should return {wanted}, '
            f"so join the parts with torch.stack or torch.cat."
        ) from None
    try:
        t = out.detach() if isinstance(out, torch.Tensor) else torch.as_tensor(
            out if isinstance(out, (list, tuple)) else np.asarray(out))
    except Exception:
        raise CheckFailed(f'{name} returned a {type(out).__name__} on "{label}"; it should return {wanted}.') from None
    if t.dtype == torch.bool or not (t.is_floating_point() or t.is_complex()):
        raise CheckFailed(
            f'{name} returned integers ({t.dtype}) on "{label}"; it should return floating-point values '
            f"-- look for a // or a conversion such as .long() that truncates them."
        ) from None
    if t.is_complex():
        raise CheckFailed(
            f'{name} returned complex numbers on "{label}"; it should return real floating-point values.'
        ) from None
    return t.cpu().double()


def _shape_message(name: str, got: tuple, want: tuple, case: _Case, rule: str) -> str:
    where = f"for input shape {case.input_shape}" if case.input_shape is not None else f'on "{case.label}"'
    hint = ""
    if want and len(got) == len(want) + 1 and got[0] == 1 and got[1:] == want:
        hint = " — an unbatched input should give an unbatched result"
    elif len(got) == len(want) and sorted(got) == sorted(want):
        hint = " — the right sizes in another order; check which dimension holds what"
    return f"{name} returned shape {got} {where}; it should return {rule.format(expected=want)}{hint}."


_ROUND_FACTORS = {2.0: "2", 0.5: "1/2", 3.0: "3", 1 / 3: "1/3", 4.0: "4", 0.25: "1/4", -1.0: "-1",
                  100.0: "100", 0.01: "1/100", 255.0: "255", 1 / 255: "1/255", 110.0: "110", 1 / 110: "1/110"}


def _scale_hint(got: torch.Tensor, want: torch.Tensor, reference_name: str, factors: dict, proportional: str) -> str:
    """' — hint: ...' when the result is the reference times a constant, else ''."""
    if not (torch.isfinite(got).all() and torch.isfinite(want).all()) or want.abs().max() == 0:
        return ""
    big = want.abs() > 1e-6 * want.abs().max()
    ratio = got[big] / want[big]
    c = float(ratio.median())
    if c == 0 or abs(c - 1) < 1e-3 or (ratio - c).abs().max() > 1e-3 * abs(c):
        return ""
    if (~big).any() and got[~big].abs().max() > 1e-6 * got.abs().max():
        return ""
    for value, meaning in factors.items():  # factors that say what went wrong come first
        if abs(c - value) <= 1e-3 * abs(value):
            return f" — hint: that is exactly {_num(value)} times {reference_name}'s value, so {meaning}"
    for value, text in _ROUND_FACTORS.items():
        if abs(c - value) <= 1e-3 * abs(value):
            if value == -1.0:
                return f" — hint: that is exactly minus {reference_name}'s value, so a sign is flipped"
            return f" — hint: that is exactly {text} times {reference_name}'s value, so a constant factor is off"
    if want.numel() == 1:
        return ""  # any wrong number is some multiple of a single right one: no information
    return f" — hint: every value is {_num(c)} times {reference_name}'s, right up to a constant factor{proportional}"


def _first_hint(hints, args, kwargs, got, want) -> str:
    for hint in hints:
        try:
            text = hint(args, kwargs, got, want)
        except Exception:  # a hint must never hide the failure it explains
            text = None
        if text:
            return f" — hint: {text}"
    return ""


def _close(a: torch.Tensor, b: torch.Tensor, atol: float, rtol: float) -> bool:
    return a.shape == b.shape and bool(((a - b).abs() <= atol + rtol * b.abs()).all())


def _check_values(got, want, case: _Case, name: str, reference_name: str, atol: float, rtol: float,
                  element, hints=(), nan_hint: str = "", factors=None, proportional: str = "") -> float:
    """Raise CheckFailed at the worst element; return the largest difference."""
    __tracebackhide__ = True
    bad = ~torch.isfinite(got)
    if bad.any():
        index = tuple(int(i) for i in bad.nonzero()[0])
        where = f" for {element(index, tuple(got.shape))}" if got.ndim else ""
        hint = nan_hint or "look for a division by zero, a log of 0 or an exp of a large number"
        raise CheckFailed(
            f'{name} gave {_num(got[index])}{where} on "{case.label}" where {reference_name} gives '
            f"{_num(want[index])} — hint: {hint}."
        ) from None
    diff = (got - want).abs()
    excess = diff - (atol + rtol * want.abs())
    if (excess > 0).any():
        flat = int(excess.reshape(-1).argmax())
        index = tuple(int(i) for i in np.unravel_index(flat, tuple(got.shape)))
        what = f"{element(index, tuple(got.shape))} is" if got.ndim else "it gives"
        hint = _first_hint(hints, _copy(case.args, upcast=True), _copy(case.kwargs, upcast=True), got, want)
        factors = factors(case) if callable(factors) else factors
        hint = hint or _scale_hint(got, want, reference_name, factors or {}, proportional)
        allowed = atol + rtol * abs(float(want[index]))
        raise CheckFailed(
            f'{name} is off on "{case.label}": {what} {_num(got[index])} where {reference_name} gives '
            f"{_num(want[index])} (difference {_num(diff[index])}, allowed {_num(allowed)}){hint}."
        ) from None
    return float(diff.max()) if diff.numel() else 0.0


def _success(name: str, reference_name: str, what: str, worst: float) -> bool:
    print(f"✓ {name} matches {reference_name} on {what} (largest difference {worst:.1e}).")
    return True


def _compare(student, reference, cases, name: str, reference_name: str, atol: float, rtol: float = 0.0, *,
             rule: str = "the same shape as its input", element=None, hints=(), nan_hint: str = "",
             factors: dict | Callable[[_Case], dict] | None = None, proportional: str = "") -> bool:
    """Run ``student`` and ``reference`` on every case; print the ✓ line or raise at the first disagreement.

    ``reference`` gets float64 copies of the inputs, ``student`` the inputs as they are (copied).
    ``rule`` completes "it should return ..." for a wrong shape (``{expected}`` is filled in);
    ``element(index, shape)`` names an element ("U at pixel (0, 2)"); each of ``hints``,
    called as ``hint(args, kwargs, got, want)``, may return a sentence fragment explaining a
    recognised mistake; ``nan_hint`` explains NaN or inf; ``factors`` names constant factors
    that mean something ({N: "the batch is summed, not averaged"}).
    """
    __tracebackhide__ = True
    element = element or _flat_element
    worst = 0.0
    for i, case in enumerate(cases):
        want = reference(*_copy(case.args, upcast=True), **_copy(case.kwargs, upcast=True))
        want = torch.as_tensor(want).detach().cpu().double()
        wanted = "a 0-d tensor" if want.ndim == 0 else "a torch tensor"
        out = _call(student, case.args, case.kwargs, name, case.label, first=i == 0)
        got = _as_result(out, name, case.label, wanted)
        if tuple(got.shape) != tuple(want.shape):
            raise CheckFailed(_shape_message(name, tuple(got.shape), tuple(want.shape), case, rule)) from None
        worst = max(worst, _check_values(got, want, case, name, reference_name, atol, rtol, element, hints,
                                         nan_hint, factors, proportional))
    return _success(name, reference_name, f"{len(cases)} inputs", worst)


# ------------------------------------------------------------------ naming elements and hints


def _summed(case: _Case) -> dict:
    """For a loss: a result numel times too large is a sum where a mean is wanted."""
    return {float(np.prod(case.input_shape)): "the errors are summed, not averaged"}


def _flat_element(index: tuple, shape: tuple) -> str:
    return f"element {index}"


def _image_element(channel: Callable[[int], str]):
    """Names for (C,H,W) / (N,C,H,W) results: 'U', 'U at pixel (2, 3)', 'U at pixel (2, 3) of image 1'."""

    def describe(index: tuple, shape: tuple) -> str:
        *batch, c, row, col = index
        text = channel(c)
        if shape[-2:] != (1, 1):
            text += f" at pixel ({row}, {col})"
        if batch:
            text += f" of image {batch[0]}"
        return text

    return describe


def _named_channels(names: str):
    return _image_element(lambda c: names[c])


def _channel_order(names: tuple[str, ...], atol: float, rtol: float):
    """A hint for results whose channels are the right ones in another order (V, U, Y; b, a)."""

    def hint(args, kwargs, got, want):
        for perm in itertools.permutations(range(len(names))):
            if list(perm) != list(range(len(names))) and _close(got, want[..., list(perm), :, :], atol, rtol):
                order = ", ".join(names[p] for p in perm)
                return f"your channels are {order}; put them in the order {', '.join(names)}"
        return None

    return hint


def _matches(variant: Callable, text: str, atol: float, rtol: float):
    """A hint for results that equal a known wrong variant computed from the (float64) inputs."""

    def hint(args, kwargs, got, want):
        candidate = torch.as_tensor(variant(*args, **kwargs)).double()
        return text if _close(got, candidate, atol, rtol) else None

    return hint


# ------------------------------------------------------------------ inputs


def _rng(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _color_pixels(*rgb) -> torch.Tensor:
    """A (3, 1, k) float32 image of the given RGB triples."""
    return torch.tensor(rgb, dtype=torch.float32).T.reshape(3, 1, len(rgb))


def _rgb_cases() -> list[_Case]:
    g = _rng(0)
    return [
        _case("pure red", _color_pixels((1, 0, 0))),
        _case("pure green", _color_pixels((0, 1, 0))),
        _case("pure blue", _color_pixels((0, 0, 1))),
        _case("white and black", _color_pixels((1, 1, 1), (0, 0, 0))),
        # 0.02 lies on sRGB's linear segment and Lab's linear segment; 0.06 on Lab's only
        _case("dark grays 0.02, 0.06 and 0.2", _color_pixels((0.02,) * 3, (0.06,) * 3, (0.2,) * 3)),
        _case("random image", torch.rand(3, 5, 7, generator=g)),
        _case("random batch", torch.rand(2, 3, 4, 6, generator=g)),
    ]


# ------------------------------------------------------------------ 1. RGB -> YUV


def check_to_float_image(fn) -> bool:
    """Check ``fn(images) -> float images``, uint8 0-255 to float32 0-1, against :func:`colorlab.data.to_float_image`.

    ``images`` is a torch.uint8 tensor of any shape; the result has the same shape, dtype
    torch.float32, 0 -> 0.0 and 255 -> 1.0. Values must agree to 1e-6.
    """
    from .data import to_float_image

    __tracebackhide__ = True
    _require_callable(fn, "check_to_float_image", "to_float_image")
    g = _rng(0)
    cases = [
        _case("black and white pixels", torch.tensor([[[0]], [[255]], [[128]]], dtype=torch.uint8)),
        _case("a random image", torch.randint(0, 256, (3, 4, 5), dtype=torch.uint8, generator=g)),
        _case("a random batch", torch.randint(0, 256, (2, 3, 4, 4), dtype=torch.uint8, generator=g)),
    ]
    name = _name(fn, "to_float_image")
    for case in cases:
        got = _call(fn, case.args, case.kwargs, name, case.label, first=case is cases[0])
        if isinstance(got, torch.Tensor) and got.dtype != torch.float32:
            hint = (" — hint: dividing a uint8 tensor by an integer keeps integers; convert with .float() or "
                    ".to(torch.float32) first" if not got.is_floating_point() else "")
            raise CheckFailed(f'{name} returned dtype {got.dtype} on "{case.label}"; it should return '
                              f"torch.float32{hint}.") from None
    return _compare(fn, to_float_image, cases, name, "colorlab.data.to_float_image", 1e-6,
                    factors={255.0: "the values are 0-255: divide by 255"})


def check_rgb_to_yuv(fn) -> bool:
    """Check ``fn(rgb) -> yuv``, RGB to YUV (BT.601), against :func:`colorlab.color.rgb_to_yuv`.

    ``rgb`` is a float tensor of shape (3,H,W) or (N,3,H,W) with values in [0, 1]; the result
    has the same shape: Y in [0, 1], U in [-0.436, 0.436], V in [-0.615, 0.615] (the matrix
    ``colorlab.color.YUV_FROM_RGB``). Values must agree to 5e-4, which the rounded textbook
    coefficients (0.436, 0.615, -0.515, ...) meet. Returns True and prints ✓, or raises
    :class:`ExerciseNotDone` / :class:`CheckFailed`.
    """
    from .color import rgb_to_yuv

    _require_callable(fn, "check_rgb_to_yuv", "rgb_to_yuv")
    atol = 5e-4
    return _compare(fn, rgb_to_yuv, _rgb_cases(), _name(fn, "rgb_to_yuv"), "colorlab.color.rgb_to_yuv", atol,
                    element=_named_channels("YUV"), hints=[_channel_order(("Y", "U", "V"), atol, 0)])


# ------------------------------------------------------------------ 2. RGB -> Lab


def check_rgb_to_lab(fn) -> bool:
    """Check ``fn(rgb) -> lab``, sRGB to CIE Lab (D65), against :func:`colorlab.color.rgb_to_lab`.

    ``rgb`` is a float tensor (3,H,W) or (N,3,H,W) in [0, 1]; the result has the same shape:
    L in [0, 100], a and b roughly in [-128, 127]. The steps: undo the sRGB gamma (linear
    below 0.04045), the matrix ``colorlab.color.XYZ_FROM_RGB``, divide by the D65 white
    ``colorlab.color.D65_WHITE``, the cube root (linear below 0.008856), then L, a, b.
    Values must agree to 1e-3.
    """
    from .color import _linear_to_srgb, rgb_to_lab

    _require_callable(fn, "check_rgb_to_lab", "rgb_to_lab")
    atol = 1e-3
    no_gamma = _matches(lambda rgb: rgb_to_lab(_linear_to_srgb(rgb)),
                        "that is the Lab of the RGB values taken as linear; undo the sRGB gamma first", atol, 1e-5)
    return _compare(fn, rgb_to_lab, _rgb_cases(), _name(fn, "rgb_to_lab"), "colorlab.color.rgb_to_lab", atol, 1e-5,
                    element=_image_element(lambda c: ("L", "a", "b")[c]),
                    hints=[no_gamma, _channel_order(("L", "a", "b"), atol, 1e-5)])


# ------------------------------------------------------------------ 3. UV loss


def check_uv_loss(fn) -> bool:
    """Check ``fn(pred_rgb, true_rgb) -> loss``, the UV loss of Zhu et al. (000).

    ``pred_rgb`` and ``true_rgb`` are float tensors of the same shape, (3,H,W) or (N,3,H,W),
    RGB in [0, 1]. Convert both to YUV and return the sum of the squared U and V errors
    divided by 2 W H, as a 0-d tensor; for a batch, the mean of that over the images. The
    reference is :func:`colorlab.metrics.uv_loss`; values must agree to a relative 1e-4.
    """
    from .color import rgb_to_gray
    from .metrics import uv_loss

    _require_callable(fn, "check_uv_loss", "uv_loss")
    g = _rng(1)
    photo = torch.rand(3, 8, 8, generator=g)
    batch_true = torch.rand(4, 3, 6, 6, generator=g)
    cases = [
        _case("identical images", photo, photo.clone()),
        _case("its gray version against a colour image", rgb_to_gray(photo), photo),
        _case("pure red against pure blue", _color_pixels((1, 0, 0)), _color_pixels((0, 0, 1))),
        _case("two random images", torch.rand(3, 5, 7, generator=g), torch.rand(3, 5, 7, generator=g)),
        _case("a random batch of 4 pairs", torch.rand(4, 3, 6, 6, generator=g), batch_true),
    ]
    def factors(case):
        shape = case.input_shape
        out = {2.0 * shape[-1] * shape[-2]: "the squared errors are summed but not divided by 2 W H"}
        if len(shape) == 4:
            out[float(shape[0])] = "the images of the batch are summed, not averaged"
        return out

    return _compare(fn, uv_loss, cases, _name(fn, "uv_loss"), "colorlab.metrics.uv_loss", 1e-7, 1e-4,
                    rule="a single number, a 0-d tensor (shape ())", factors=factors)


# ------------------------------------------------------------------ 4. the 37-d pixel feature of 000


_HOG_CELLS = ("top-left", "top-right", "bottom-left", "bottom-right")


def _window_feature(y, row: int, col: int) -> np.ndarray:
    """Y at (row, col) and skimage's HOG of the 16x16 window around it: the reference feature."""
    from .models.hog_svr import window_feature

    return window_feature(y, row, col)


def _feature_element(index: tuple, shape: tuple) -> str:
    k = index[0]
    if k == 0:
        return "feature 0 (Y)"
    cell, b = _HOG_CELLS[(k - 1) // 9], (k - 1) % 9
    return f"feature {k} (the {cell} cell's orientation bin {b}, {20 * b}-{20 * b + 20} degrees)"


def _texture(h: int, w: int) -> np.ndarray:
    """Two crossed sinusoids and a soft diagonal edge: gradients in many directions."""
    r, c = np.mgrid[0:h, 0:w].astype(np.float64)
    y = 0.5 + 0.2 * np.sin(0.9 * r + 0.4 * c) + 0.15 * np.cos(0.3 * r - 1.1 * c) + 0.1 * np.tanh((r - c) / 3)
    return np.clip(y, 0.0, 1.0)


def _photo_luma() -> np.ndarray:
    """Y of a 40x48 crop of the astronaut photo (her badge and suit: edges in many directions)."""
    from .color import rgb_to_yuv
    from .data import load_photo

    rgb = torch.from_numpy(load_photo("astronaut")[100:140, 180:228]).permute(2, 0, 1).double() / 255
    return rgb_to_yuv(rgb)[0].numpy()


def check_pixel_feature(fn) -> bool:
    """Check ``fn(y, row, col) -> feature``, the 37 numbers that describe one pixel in 000.

    ``y`` is a float64 NumPy array (H,W), the luma Y in [0, 1]; ``row`` and ``col`` lie at
    least 8 pixels inside the image (``8 <= row <= H - 8``, ``8 <= col <= W - 8``), so the
    16x16 window ``y[row-8:row+8, col-8:col+8]`` fits. Return 37 numbers, shape (37,): Y at
    (row, col), then ``skimage.feature.hog`` of that window with 9 orientations, 8x8-pixel
    cells, 2x2 cells per block and L2-Hys normalisation (36 values). A NumPy array or a
    tensor; values must agree to 1e-5.

    :func:`colorlab.models.hog_svr.pixel_features` computes the same thing for every pixel at
    once, with one difference: on the window's border it takes the gradient from the pixels
    just outside the window, where ``skimage.feature.hog``, seeing only the window, puts 0.
    Inside a photo the two therefore differ by up to about 0.2 per value; they agree exactly
    when the window is the whole image. The checker wants skimage's definition.
    """
    _require_callable(fn, "check_pixel_feature", "pixel_feature")
    photo = _photo_luma()
    texture = _texture(32, 32)
    g = np.random.default_rng(0)
    r, c = (int(v) for v in (g.integers(8, 33), g.integers(8, 41)))
    points = [
        ("astronaut luma", photo, 20, 25),
        ("astronaut luma, the window in the image's top-left corner", photo, 8, 8),
        ("astronaut luma, the window in the image's bottom-right corner", photo, 32, 40),
        ("astronaut luma, a random pixel", photo, r, c),
        ("crossed sinusoids", texture, 16, 16),
        ("crossed sinusoids", texture, 11, 19),
        ("a flat gray image, so no gradient at all", np.full((20, 20), 0.4), 10, 10),
        ("a 16x16 image, the window is all of it", texture[5:21, 7:23].copy(), 8, 8),
    ]
    cases = [_Case(f"{what}, pixel ({row}, {col}) of a {y.shape[0]}x{y.shape[1]} image", (y, row, col), {}, None)
             for what, y, row, col in points]

    atol = 1e-5
    def dense_feature(y, row, col):
        from .models.hog_svr import pixel_features  # imports scikit-learn: seconds, so only when needed

        return pixel_features(y)[:, row, col]

    dense = _matches(dense_feature,
                     "your values are colorlab's pixel_features, which takes the gradient on the window's border "
                     "from the pixels outside it; this exercise wants skimage.feature.hog of the 16x16 window alone",
                     atol, 0)
    def shifted_feature(dr: int, dc: int):
        return lambda y, row, col: np.concatenate([[y[row, col]], _window_feature(y, row + dr, col + dc)[1:]])

    shifted = []
    for dr, dc in itertools.product((-1, 0, 1), repeat=2):
        if (dr, dc) != (0, 0):
            where = {-1: ["one row higher"], 0: [], 1: ["one row lower"]}[dr]
            where += {-1: ["one column to the left"], 0: [], 1: ["one column to the right"]}[dc]
            shifted.append(_matches(shifted_feature(dr, dc), f"that is the HOG of the window {', '.join(where)}; "
                                    "the window is y[row-8:row+8, col-8:col+8]", atol, 0))
    return _compare(fn, _window_feature, cases, _name(fn, "pixel_feature"),
                    "Y and skimage.feature.hog of the 16x16 window", atol,
                    rule="37 values, shape {expected}: Y at (row, col), then the 36 HOG values",
                    element=_feature_element, hints=[*shifted, dense])


# ------------------------------------------------------------------ 5. SmoothL1


def _smooth_l1_variant(pred, target, beta=0.1, divide_by_beta=True, half_beta=True):
    e = (pred - target).abs()
    quadratic = 0.5 * e**2 / (beta if divide_by_beta else 1.0)
    return torch.where(e < beta, quadratic, e - (0.5 * beta if half_beta else 0.5)).mean()


def check_smooth_l1(fn) -> bool:
    """Check ``fn(pred, target, beta=0.1) -> loss``, the SmoothL1 (Huber-like) loss of 002.

    ``pred`` and ``target`` are float tensors of the same shape (N,C,H,W). For each error
    e = pred - target the loss is 0.5 e**2 / beta where |e| < beta and |e| - 0.5 beta
    elsewhere; return the mean over all elements as a 0-d tensor. ``beta`` defaults to 0.1.
    The reference is :func:`colorlab.losses.smooth_l1` (= ``torch.nn.functional.smooth_l1_loss``);
    values must agree to a relative 1e-5.
    """
    from .losses import smooth_l1

    _require_callable(fn, "check_smooth_l1", "smooth_l1")
    g = _rng(2)
    target = torch.rand(2, 2, 4, 4, generator=g) * 2 - 1
    sign = torch.where(torch.rand(2, 2, 4, 4, generator=g) < 0.5, -1.0, 1.0)
    small = sign * torch.rand(2, 2, 4, 4, generator=g) * 0.09  # every |e| < 0.1
    large = sign * (0.15 + torch.rand(2, 2, 4, 4, generator=g))  # every |e| > 0.1
    mixed = (torch.rand(2, 2, 4, 4, generator=g) * 2 - 1) * 0.3
    wide = (torch.rand(1, 2, 5, 6, generator=g) * 2 - 1) * 2.5
    cases = [
        _case("every error below beta, beta=0.1", target + small, target, beta=0.1),
        _case("every error above beta, beta=0.1", target + large, target, beta=0.1),
        _case("errors on both sides of beta, beta left at its default", target + mixed, target),
        _case("errors on both sides of beta, beta=1.0", wide, torch.zeros(1, 2, 5, 6), beta=1.0),
        _case("no error at all, beta=0.1", target, target.clone(), beta=0.1),
    ]
    atol, rtol = 1e-8, 1e-5
    hints = [
        _matches(lambda p, t, beta=0.1: _smooth_l1_variant(p, t, beta, divide_by_beta=False),
                 "below beta the loss is 0.5 e**2 / beta, divided by beta, so that both pieces meet at |e| = beta",
                 atol, rtol),
        _matches(lambda p, t, beta=0.1: _smooth_l1_variant(p, t, beta, half_beta=False),
                 "above beta the loss is |e| - 0.5 * beta, not |e| - 0.5", atol, rtol),
    ]
    return _compare(fn, smooth_l1, cases, _name(fn, "smooth_l1"), "colorlab.losses.smooth_l1", atol, rtol,
                    rule="a single number, a 0-d tensor (shape ())", hints=hints, factors=_summed)


# ------------------------------------------------------------------ 6. Dahl's blur loss


def _blur_loss_zero_padded(pred, target):
    import torch.nn.functional as F

    from .losses import _gaussian_kernel

    terms = [F.mse_loss(pred, target)]
    for size in (3, 5):
        kernel = _gaussian_kernel(size, pred.shape[1], pred.dtype, str(pred.device))
        blur = lambda x: F.conv2d(x, kernel, padding=size // 2, groups=x.shape[1])  # noqa: E731
        terms.append(F.mse_loss(blur(pred), blur(target)))
    return torch.stack(terms).mean()


def check_blur_loss(fn) -> bool:
    """Check ``fn(pred, target) -> loss``, Dahl's blur loss (004).

    ``pred`` and ``target`` are float tensors (N,2,H,W) with H, W >= 8. Return, as a 0-d
    tensor, the mean of three mean squared errors: of the images themselves, and of the
    two after blurring each channel with a 3x3 and with a 5x5 Gaussian (sigma 0.8 and 1.1,
    OpenCV's defaults; see :func:`colorlab.losses.gaussian_sigma`), the borders padded by
    reflection (``F.pad(..., mode="reflect")``). The reference is
    :func:`colorlab.losses.blur_loss`; values must agree to a relative 1e-4.
    """
    from .losses import blur_loss

    _require_callable(fn, "check_blur_loss", "blur_loss")
    g = _rng(3)
    target = torch.rand(2, 2, 8, 8, generator=g) * 2 - 1
    checker = (torch.arange(10)[:, None] + torch.arange(10)[None, :]) % 2 * 0.4 - 0.2
    base = torch.rand(1, 2, 10, 10, generator=g) * 2 - 1
    cases = [
        _case("identical images", target, target.clone()),
        _case("two random images", torch.rand(2, 2, 8, 8, generator=g) * 2 - 1, target),
        _case("two random images, not square", torch.rand(1, 2, 9, 12, generator=g) * 2 - 1,
              torch.rand(1, 2, 9, 12, generator=g) * 2 - 1),
        _case("the same image shifted by 0.3", target[:1] + 0.3, target[:1]),
        _case("a checkerboard difference, which blurring mostly removes", base + checker, base),
    ]
    atol, rtol = 1e-8, 1e-4
    hints = [_matches(_blur_loss_zero_padded,
                      'that is the loss with zero padding; pad by reflection, F.pad(x, ..., mode="reflect")',
                      atol, rtol)]
    return _compare(fn, blur_loss, cases, _name(fn, "blur_loss"), "colorlab.losses.blur_loss", atol, rtol,
                    rule="a single number, a 0-d tensor (shape ())", hints=hints,
                    factors=lambda case: {**_summed(case), 3.0: "the three terms are summed, not averaged"})


# ------------------------------------------------------------------ 7. the conv block of 003


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


def _compare_structure(block: nn.Module, ref: nn.Module, name: str, call: str, n: int) -> None:
    """Same layers in the same order, with the same settings; else one sentence on the first difference."""
    __tracebackhide__ = True
    mine, theirs = _layers(block), _layers(ref)
    if [type(m) for m in mine] != [type(m) for m in theirs]:
        hint = ""
        if sum(isinstance(m, nn.BatchNorm2d) for m in mine) > 1:
            hint = " — batch norm comes once, at the end of the block"
        raise CheckFailed(
            f"{call} has {len(mine)} layers: {', '.join(map(_layer_name, mine)) or 'none'}; the block of 003 Fig. 4 "
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
                    f"the {_ordinal(counts[type(m)])} {_layer_name(m)} of {call} has {attr}={got!r} where the block "
                    f"of 003 Fig. 4 has {attr}={want!r}{hint}."
                ) from None
        if isinstance(m, nn.Conv2d) and (m.bias is None) != (r.bias is None):
            raise CheckFailed(
                f"the {_ordinal(counts[type(m)])} conv of {call} has bias={m.bias is not None} where the block of "
                f"003 Fig. 4 has bias={r.bias is not None}."
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
            f"the parameters of {call} do not line up with those of the block of 003 Fig. 4: it has "
            f"{[tuple(t.shape) for t in target.values()]}, the block {[tuple(s.shape) for s in source.values()]}."
        ) from None
    block.load_state_dict(dict(zip(target.keys(), source.values())))


def check_conv_block(fn) -> bool:
    """Check ``fn(c_in, c_out, n, stride_last=1, dilation=1) -> nn.Sequential``, one block of 003's Fig. 4.

    The block is ``n`` 3x3 convolutions, each followed by a ReLU, then one BatchNorm2d over
    ``c_out`` channels. The first convolution takes ``c_in`` channels, the others ``c_out``;
    only the last has stride ``stride_last``; all have dilation ``dilation`` and padding
    ``dilation`` (so that a stride-1 block keeps the size) and a bias. The checker compares
    the layers with :func:`colorlab.models.cnn.conv_block`, copies that block's (random)
    weights and batch-norm statistics into yours, and compares the outputs on random input
    in eval and in train mode, to 1e-5.
    """
    _require_callable(fn, "check_conv_block", "conv_block")
    # Building the blocks draws from torch's global generator; keep the notebook's seeded sequence intact.
    with torch.random.fork_rng(devices=[]):
        return _check_conv_block(fn)


def _check_conv_block(fn) -> bool:
    __tracebackhide__ = True
    from .models.cnn import conv_block

    name = _name(fn, "conv_block")
    reference_name = "colorlab.models.cnn.conv_block"
    configs = [((1, 4, 2), {"stride_last": 2, "dilation": 1}),  # block 1: halves the resolution
               ((4, 6, 3), {"stride_last": 1, "dilation": 2}),  # block 5: dilated
               ((3, 5, 1), {})]  # the defaults
    g = _rng(4)
    worst = 0.0
    for i, (args, kwargs) in enumerate(configs):
        call = f"{name}({', '.join(map(str, args))}{''.join(f', {k}={v}' for k, v in kwargs.items())})"
        ref = conv_block(*args, **kwargs)
        _randomise(ref, g)
        block = _call(fn, args, kwargs, name, call, first=i == 0)
        if isinstance(block, (list, tuple)):
            raise CheckFailed(
                f"{call} returned a {type(block).__name__}; wrap the layers in nn.Sequential(*layers)."
            ) from None
        if not isinstance(block, nn.Module):
            raise CheckFailed(f"{call} returned {'None' if block is None else 'a ' + type(block).__name__}; "
                              f"it should return an nn.Sequential of the layers.") from None
        _compare_structure(block, ref, name, call, args[2])
        _copy_state(block, ref, call)
        x = torch.randn(2, args[0], 12, 12, generator=g)
        for mode in ("eval", "train"):
            ref.train(mode == "train")
            block.train(mode == "train")
            case = _Case(f"{call} in {mode} mode, input shape {tuple(x.shape)}", (x,), {}, tuple(x.shape))
            with torch.no_grad():
                want = ref(x.clone()).double()
                got = _as_result(_call(block, (x,), {}, name, case.label, first=False), name, case.label,
                                 "a torch tensor")
            if got.shape != want.shape:
                raise CheckFailed(_shape_message(f"the block {call}", tuple(got.shape), tuple(want.shape), case,
                                                 "shape {expected}")) from None
            worst = max(worst, _check_values(got, want, case, name, reference_name, 1e-5, 1e-5,
                                             _image_element(lambda c: f"channel {c}")))
    return _success(name, reference_name, f"{len(configs)} blocks, each in eval and train mode", worst)


# ------------------------------------------------------------------ 8. soft encoding


def _soft_variant(ab, k=5, sigma=5.0, two=True, normalise=True, nearest=True, shift=True):
    """Soft encoding with one of its steps changed, for recognising a mistake."""
    from .quantize import bin_centers

    single = ab.ndim == 3
    x = ab.unsqueeze(0) if single else ab
    n, _, h, w = x.shape
    centers = bin_centers(dtype=torch.float64)
    d2 = ((x.permute(0, 2, 3, 1).reshape(-1, 1, 2).double() - centers[None]) ** 2).sum(-1)  # (P, 313)
    if nearest:
        keep = torch.zeros_like(d2, dtype=torch.bool).scatter_(1, d2.topk(k, largest=False).indices, True)
    else:
        keep = torch.ones_like(d2, dtype=torch.bool)
    ref = d2.min(1, keepdim=True).values if shift else 0.0
    weights = torch.exp(-(d2 - ref) / ((2 if two else 1) * sigma**2)) * keep
    if normalise:
        weights = weights / weights.sum(1, keepdim=True)
    out = weights.reshape(n, h, w, -1).permute(0, 3, 1, 2)
    return out[0] if single else out


def check_soft_encode(fn) -> bool:
    """Check ``fn(ab) -> distribution``, Zhang's soft encoding over the 313 ab bins.

    ``ab`` is a float tensor (2,H,W) or (N,2,H,W) of unnormalised Lab a and b (about +-110,
    possibly outside the gamut). For every pixel, weight its 5 nearest bin centres
    (:func:`colorlab.quantize.bin_centers`) by exp(-d**2 / (2 * 5**2)), d the distance to the
    centre, normalise the 5 weights to sum to 1 and give every other bin 0. Return shape
    (313,H,W) or (N,313,H,W). Far outside the gamut every exp underflows: subtract the
    smallest squared distance first. The reference is :func:`colorlab.quantize.soft_encode`;
    values must agree to 1e-4.
    """
    from .quantize import BIN_CENTERS, soft_encode

    _require_callable(fn, "check_soft_encode", "soft_encode")
    g = _rng(5)

    def ab(*pairs):
        return torch.tensor(pairs, dtype=torch.float32).T.reshape(2, 1, len(pairs))

    cases = [
        _case("exactly on the centre of bin (0, 0)", ab((0, 0))),
        _case("exactly on bin centres (-50, 30) and (20, -80)", ab((-50, 30), (20, -80))),
        # (100, -85) has two nearest bins at the same distance but no tie for the 5th nearest
        _case("midway between bins (100, -90) and (100, -80)", ab((100, -85))),
        _case("outside the gamut at (110, 95)", ab((110, 95))),
        _case("far outside the gamut at (-115, -105)", ab((-115, -105))),
        _case("random colours", torch.rand(2, 3, 4, generator=g) * 200 - 100),
        _case("a random batch", torch.rand(2, 2, 3, 3, generator=g) * 160 - 80),
    ]
    atol = 1e-4  # float32 distances of ~1e4 (far out of gamut) carry ~1e-5 of rounding into the weights
    hints = [
        _matches(lambda ab: _soft_variant(ab, two=False), "the Gaussian is exp(-d**2 / (2 sigma**2)), with the 2",
                 atol, 0),
        _matches(lambda ab: _soft_variant(ab, normalise=False), "normalise the 5 weights of each pixel to sum to 1",
                 atol, 0),
        _matches(lambda ab: _soft_variant(ab, nearest=False), "only the 5 nearest bins get a weight; the others get 0",
                 atol, 0),
    ]

    def bin_name(q: int) -> str:
        a, b = BIN_CENTERS[q]
        return f"bin {q} (a={a:g}, b={b:g})"

    return _compare(fn, soft_encode, cases, _name(fn, "soft_encode"), "colorlab.quantize.soft_encode", atol,
                    rule="shape {expected}, a distribution over the 313 bins for every pixel",
                    element=_image_element(bin_name), hints=hints,
                    nan_hint="far from every bin each exp(-d**2 / 50) underflows to 0 and 0/0 is nan; "
                             "subtract the smallest d**2 of the pixel before exponentiating")


# ------------------------------------------------------------------ 9. rebalancing weights


def check_rebalance_weights(fn) -> bool:
    """Check ``fn(prior, lam=0.5) -> weights``, Zhang's class-rebalancing weights.

    ``prior`` is a float64 tensor (313,), a distribution over the bins (>= 0, sums to 1);
    ``lam`` lies in [0, 1]. Return the (313,) weights w proportional to
    1 / ((1 - lam) * prior + lam / 313), scaled so that sum(prior * w) == 1. With lam = 0 a
    bin of prior 0 gets weight 0, not infinity. The reference is
    :func:`colorlab.quantize.rebalance_weights`; values must agree to a relative 1e-5.
    """
    from .color import rgb_to_lab
    from .data import load_photo
    from .quantize import BIN_CENTERS, NUM_BINS, class_prior, rebalance_weights

    _require_callable(fn, "check_rebalance_weights", "rebalance_weights")
    rgb = torch.from_numpy(load_photo("coffee")[150:214, 250:314]).permute(2, 0, 1).double() / 255
    ab = rgb_to_lab(rgb)[1:]
    smooth = class_prior(ab)  # Zhang's smoothed prior: every bin > 0
    raw = class_prior(ab, sigma=None)  # raw frequencies: most bins 0
    uniform = torch.full((NUM_BINS,), 1 / NUM_BINS, dtype=torch.float64)
    empty = int((raw == 0).sum())
    cases = [
        _Case("the smoothed prior of a photo, lam left at its default", (smooth,), {}, (NUM_BINS,)),
        _Case("the smoothed prior of a photo, lam=0", (smooth,), {"lam": 0.0}, (NUM_BINS,)),
        _Case(f"a prior with {empty} empty bins, lam=0", (raw,), {"lam": 0.0}, (NUM_BINS,)),
        _Case(f"a prior with {empty} empty bins, lam=0.5", (raw,), {"lam": 0.5}, (NUM_BINS,)),
        _Case(f"a prior with {empty} empty bins, lam=1", (raw,), {"lam": 1.0}, (NUM_BINS,)),
        _Case("the uniform prior, lam=0.5", (uniform,), {"lam": 0.5}, (NUM_BINS,)),
    ]

    def weight_of(index: tuple, shape: tuple) -> str:
        a, b = BIN_CENTERS[index[0]]
        return f"the weight of bin {index[0]} (a={a:g}, b={b:g})"

    return _compare(fn, rebalance_weights, cases, _name(fn, "rebalance_weights"),
                    "colorlab.quantize.rebalance_weights", 1e-9, 1e-5, rule="shape {expected}, one weight per bin",
                    element=weight_of,
                    nan_hint="with lam=0 a bin of prior 0 gives 1/0; give those bins weight 0 "
                             "(and mind that 0 * inf is nan in sum(prior * w))",
                    proportional="; scale the weights so that sum(prior * w) == 1")


# ------------------------------------------------------------------ 10. annealed mean


def check_annealed_mean(fn) -> bool:
    """Check ``fn(logits, temperature) -> ab``, Zhang's annealed mean.

    ``logits`` is a float tensor (313,H,W) or (N,313,H,W), one score per bin and pixel;
    ``temperature`` T > 0. Return ab, shape (2,H,W) or (N,2,H,W): the mean of the bin
    centres (:func:`colorlab.quantize.bin_centers`) weighted by softmax(logits / T) over the
    bins. T = 1 is the plain mean, small T approaches the most probable bin. It must stay
    finite for logits of +-200 at T = 0.01, where a naive exp overflows. The reference is
    :func:`colorlab.quantize.annealed_mean`; values must agree to 1e-3 (ab units).
    """
    from .quantize import annealed_mean

    _require_callable(fn, "check_annealed_mean", "annealed_mean")
    g = _rng(6)
    # At T = 0.01 every pixel has one clear winner (10 above the rest), except pixel (0, 1),
    # where two bins tie for the top: the answer is then exactly midway between their centres.
    huge = torch.rand(1, 313, 2, 2, generator=g) * 390 - 200
    winners = torch.randint(0, 313, (2, 2), generator=g)
    huge[0, winners, torch.arange(2)[:, None], torch.arange(2)[None, :]] = 200.0
    huge[0, (int(winners[0, 1]) + 100) % 313, 0, 1] = 200.0
    cases = [
        _case("T=1, the plain mean", torch.randn(313, 2, 3, generator=g) * 3, 1.0),
        _case("T=0.38, Zhang's temperature", torch.randn(2, 313, 2, 2, generator=g) * 3, 0.38),
        _case("equal logits, T=0.38", torch.zeros(313, 1, 1), 0.38),
        _case("T=0.89, Li and Wang's temperature", torch.randn(313, 3, 2, generator=g) * 3, 0.89),
        _case("T=0.01 with logits up to +-200", huge, 0.01),
    ]
    atol, rtol = 1e-3, 1e-5
    times_t = _matches(lambda logits, t: annealed_mean(logits * t * t, t),
                       "that is softmax(logits * T); divide the logits by T", atol, rtol)
    return _compare(fn, annealed_mean, cases, _name(fn, "annealed_mean"), "colorlab.quantize.annealed_mean", atol, rtol,
                    rule="shape {expected}: a and b for every pixel", element=_named_channels("ab"),
                    hints=[times_t, _channel_order(("a", "b"), atol, rtol)],
                    nan_hint="exp(logits / T) overflows to inf and inf/inf is nan; subtract the max logit "
                             "before exponentiating (or use torch.softmax)")


# ------------------------------------------------------------------ the palette of 001 (notebook 06)


def check_ab_histogram(fn) -> bool:
    """Check ``fn(ab) -> histogram``, an image's colour histogram over the 313 bins (001's palette).

    ``ab`` is a float tensor (2,H,W) or (N,2,H,W) of unnormalised Lab a and b. Give every pixel to
    its nearest bin centre (:func:`colorlab.quantize.bin_centers`; :func:`colorlab.quantize.encode_hard`
    does that) and return the share of the image's pixels in each bin: shape (313,) or (N,313), each
    histogram summing to 1. The reference is :func:`colorlab.palette.ab_histogram`; values must agree to 1e-6.
    """
    from .palette import ab_histogram
    from .quantize import bin_centers

    __tracebackhide__ = True
    _require_callable(fn, "check_ab_histogram", "ab_histogram")
    g = _rng(5)
    centers = bin_centers()
    two_colours = torch.empty(2, 4, 4)
    two_colours[:, :, :] = centers[154].view(2, 1, 1)
    two_colours[:, 3, :] = centers[58].view(2, 1)  # a quarter of the pixels
    cases = [
        _case("a flat image on one bin centre", centers[200].view(2, 1, 1).expand(2, 3, 5).clone()),
        _case("three quarters one colour, one quarter another", two_colours),
        _case("random colours", torch.rand(2, 6, 7, generator=g) * 200 - 100),
        _case("a random batch", torch.rand(3, 2, 5, 5, generator=g) * 200 - 100),
    ]

    def factors(case):
        shape = case.input_shape
        return {float(shape[-1] * shape[-2]): "these are pixel counts: divide by the number of pixels, H x W"}

    return _compare(fn, ab_histogram, cases, _name(fn, "ab_histogram"), "colorlab.palette.ab_histogram", 1e-6,
                    rule="one share per bin, (313,) for (2,H,W) and (N,313) for (N,2,H,W)", factors=factors)
