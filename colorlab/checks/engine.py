"""The comparison engine of the checkers: run the student's function next to the reference, say where they part.

A checker (``check_rgb_to_yuv``, in the modules beside this one) chooses the inputs, the
reference and the words; this module does the rest. :func:`compare` runs both functions on
every :class:`Case` and either prints the ✓ line or raises, at the first disagreement,
:class:`CheckFailed` with one sentence: the input, the element, the two values, the
tolerance, and a hint where the mistake is recognisable. What a checker can say about a
failure is gathered in an :class:`Explanation`; the function to match and how closely, in a
:class:`Reference`.

The helpers below :func:`compare` build the pieces of an Explanation: names for elements
(:func:`image_element`), hints for a known wrong variant (:func:`matches`) or channels in
another order (:func:`channel_order`), and the factors that mean a sum where a mean is
wanted (:func:`summed`).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Callable, NamedTuple, Sequence

import numpy as np
import torch


class ExerciseNotDone(Exception):
    """The exercise's function still raises ``NotImplementedError``: there is nothing to check yet."""


class CheckFailed(AssertionError):
    """The student's function disagrees with the reference; the message says where and by how much."""


class Case(NamedTuple):
    """One input of a check: how the messages name it, the arguments, and the shape of the first one."""

    label: str  # how the messages name this input, e.g. "pure red, shape (3, 1, 1)"
    args: tuple
    kwargs: dict
    input_shape: tuple | None  # shape of the first argument, for the wrong-shape message


def case(what: str, *args, **kwargs) -> Case:
    """A :class:`Case` whose label ends with the shape of its first argument (a tensor or array)."""
    shape = tuple(args[0].shape)
    return Case(f"{what}, shape {shape}", args, kwargs, shape)


@dataclass(frozen=True)
class Reference:
    """colorlab's function the student's must match, its name in the messages, and how closely.

    An element passes when ``|got - want| <= atol + rtol * |want|``.
    """

    fn: Callable
    name: str  # e.g. "colorlab.color.rgb_to_yuv"
    atol: float
    rtol: float = 0.0


def flat_element(index: tuple, shape: tuple) -> str:
    """The default name of a result's element: 'element (0, 2)'."""
    return f"element {index}"


@dataclass(frozen=True)
class Explanation:
    """What a checker can say about a failure, beyond the values.

    ``rule`` completes "it should return ..." for a wrong shape (``{expected}`` is filled in);
    ``element(index, shape)`` names an element ("U at pixel (0, 2)"); each of ``hints``,
    called as ``hint(args, kwargs, got, want)`` on float64 copies of the inputs, may return
    a sentence fragment explaining a recognised mistake; ``nan_hint`` explains NaN or inf;
    ``factors`` (a dict, or a function of the :class:`Case` giving one) names the constant
    factors that mean something ({N: "the batch is summed, not averaged"}); ``proportional``
    ends the hint for a result right up to some other constant factor.
    """

    rule: str = "the same shape as its input"
    element: Callable[[tuple, tuple], str] = flat_element
    hints: Sequence[Callable] = ()
    nan_hint: str = ""
    factors: dict | Callable[[Case], dict] | None = None
    proportional: str = ""


# ------------------------------------------------------------------ running the student's function


def copy(x, upcast: bool = False):
    """A deep copy of tensors and arrays (float32 -> float64 when ``upcast``), recursing into containers."""
    if isinstance(x, torch.Tensor):
        x = x.detach().clone()
        return x.double() if upcast and x.is_floating_point() else x
    if isinstance(x, np.ndarray):
        return x.astype(np.float64) if upcast and x.dtype.kind == "f" else x.copy()
    if isinstance(x, (tuple, list)):
        return type(x)(copy(v, upcast) for v in x)
    if isinstance(x, dict):
        return {k: copy(v, upcast) for k, v in x.items()}
    return x


def num(x: float) -> str:
    """A number as a sentence shows it: 4 significant digits, 'e-5' rather than 'e-05'."""
    x = float(x)
    if math.isnan(x) or math.isinf(x):
        return str(x)
    text = f"{x:.4g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"
    return text


def name_of(fn, default: str) -> str:
    """The function's own name, or the exercise's (``default``) for lambdas and partials."""
    name = getattr(fn, "__name__", "")
    return name if name.isidentifier() else default


def require_callable(fn, checker: str, default: str) -> None:
    """A TypeError for ``check_x(x(...))``: the student passed a result where the function was wanted."""
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


def call(fn, case: Case, name: str, first: bool):
    """Call the student's function on copies of ``case``'s arguments; turn its exceptions into the two answers.

    ``first``: this is the first input, so a ``NotImplementedError`` means the untouched stub.
    """
    __tracebackhide__ = True
    try:
        return fn(*copy(case.args), **copy(case.kwargs))
    except NotImplementedError as err:
        if first:
            raise ExerciseNotDone(
                f'{name} is not written yet: replace "raise NotImplementedError" in the cell above with your '
                f"code, run that cell, then run this check again."
            ) from None
        # It ran on earlier inputs, so this is a deliberate gap, not the untouched stub.
        raise CheckFailed(
            f'{name} raised {_exception_text(err)} on "{case.label}"; it must handle this input too.'
        ) from err
    except Exception as err:
        # `from err`: the traceback keeps the student's failing line above the friendly sentence.
        raise CheckFailed(f'{name} raised {_exception_text(err)} on "{case.label}"{_exception_hint(err)}.') from err


def as_result(out, name: str, label: str, wanted: str) -> torch.Tensor:
    """The student's result as a float64 CPU tensor, or a CheckFailed saying why it cannot be one.

    ``wanted`` completes "it should return ...", e.g. "a torch tensor".
    """
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


def shape_message(name: str, got: tuple, want: tuple, case: Case, rule: str) -> str:
    """The sentence for a result of the wrong shape; ``rule`` as in :class:`Explanation`."""
    where = f"for input shape {case.input_shape}" if case.input_shape is not None else f'on "{case.label}"'
    hint = ""
    if want and len(got) == len(want) + 1 and got[0] == 1 and got[1:] == want:
        hint = " — an unbatched input should give an unbatched result"
    elif len(got) == len(want) and sorted(got) == sorted(want):
        hint = " — the right sizes in another order; check which dimension holds what"
    return f"{name} returned shape {got} {where}; it should return {rule.format(expected=want)}{hint}."


# ------------------------------------------------------------------ comparing values


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
            return f" — hint: that is exactly {num(value)} times {reference_name}'s value, so {meaning}"
    for value, text in _ROUND_FACTORS.items():
        if abs(c - value) <= 1e-3 * abs(value):
            if value == -1.0:
                return f" — hint: that is exactly minus {reference_name}'s value, so a sign is flipped"
            return f" — hint: that is exactly {text} times {reference_name}'s value, so a constant factor is off"
    if want.numel() == 1:
        return ""  # any wrong number is some multiple of a single right one: no information
    return f" — hint: every value is {num(c)} times {reference_name}'s, right up to a constant factor{proportional}"


def _first_hint(hints, args, kwargs, got, want) -> str:
    for hint in hints:
        try:
            text = hint(args, kwargs, got, want)
        except Exception:  # a hint must never hide the failure it explains
            text = None
        if text:
            return f" — hint: {text}"
    return ""


def close(a: torch.Tensor, b: torch.Tensor, atol: float, rtol: float) -> bool:
    """Same shape and every element within ``atol + rtol * |b|``."""
    return a.shape == b.shape and bool(((a - b).abs() <= atol + rtol * b.abs()).all())


def check_values(got: torch.Tensor, want: torch.Tensor, case: Case, name: str, reference: Reference,
                 explanation: Explanation = Explanation()) -> float:
    """Raise CheckFailed at the worst element of ``got`` (same shape as ``want``); return the largest difference."""
    __tracebackhide__ = True
    element = explanation.element
    bad = ~torch.isfinite(got)
    if bad.any():
        index = tuple(int(i) for i in bad.nonzero()[0])
        where = f" for {element(index, tuple(got.shape))}" if got.ndim else ""
        hint = explanation.nan_hint or "look for a division by zero, a log of 0 or an exp of a large number"
        raise CheckFailed(
            f'{name} gave {num(got[index])}{where} on "{case.label}" where {reference.name} gives '
            f"{num(want[index])} — hint: {hint}."
        ) from None
    diff = (got - want).abs()
    excess = diff - (reference.atol + reference.rtol * want.abs())
    if (excess > 0).any():
        flat = int(excess.reshape(-1).argmax())
        index = tuple(int(i) for i in np.unravel_index(flat, tuple(got.shape)))
        what = f"{element(index, tuple(got.shape))} is" if got.ndim else "it gives"
        hint = _first_hint(explanation.hints, copy(case.args, upcast=True), copy(case.kwargs, upcast=True), got, want)
        factors = explanation.factors(case) if callable(explanation.factors) else explanation.factors
        hint = hint or _scale_hint(got, want, reference.name, factors or {}, explanation.proportional)
        allowed = reference.atol + reference.rtol * abs(float(want[index]))
        raise CheckFailed(
            f'{name} is off on "{case.label}": {what} {num(got[index])} where {reference.name} gives '
            f"{num(want[index])} (difference {num(diff[index])}, allowed {num(allowed)}){hint}."
        ) from None
    return float(diff.max()) if diff.numel() else 0.0


def success(name: str, reference_name: str, what: str, worst: float) -> None:
    """Print the ✓ line ("✓ name matches reference on what (largest difference ...).").

    Nothing is returned: a check cell ends with the checker's call, so a returned value would
    be the cell's result, which nbgrader reads as a partial score (and warns that ``True``
    cannot be converted to one). A passing check prints; a failing one raises.
    """
    print(f"✓ {name} matches {reference_name} on {what} (largest difference {worst:.1e}).")


def compare(student, name: str, reference: Reference, cases: Sequence[Case],
            explanation: Explanation = Explanation()) -> None:
    """Run ``student`` and ``reference.fn`` on every case; print the ✓ line or raise at the first disagreement.

    ``reference.fn`` gets float64 copies of the inputs, ``student`` the inputs as they are
    (copied); ``name`` is how the messages call the student's function.
    """
    __tracebackhide__ = True
    worst = 0.0
    for i, each in enumerate(cases):
        want = reference.fn(*copy(each.args, upcast=True), **copy(each.kwargs, upcast=True))
        want = torch.as_tensor(want).detach().cpu().double()
        wanted = "a 0-d tensor" if want.ndim == 0 else "a torch tensor"
        got = as_result(call(student, each, name, first=i == 0), name, each.label, wanted)
        if tuple(got.shape) != tuple(want.shape):
            raise CheckFailed(shape_message(name, tuple(got.shape), tuple(want.shape), each,
                                            explanation.rule)) from None
        worst = max(worst, check_values(got, want, each, name, reference, explanation))
    success(name, reference.name, f"{len(cases)} inputs", worst)


# ------------------------------------------------------------------ naming elements and hints


def summed(case: Case) -> dict:
    """For a loss: a result numel times too large is a sum where a mean is wanted."""
    return {float(np.prod(case.input_shape)): "the errors are summed, not averaged"}


def image_element(channel: Callable[[int], str]):
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


def named_channels(names: str):
    """:func:`image_element` with one letter a channel: ``named_channels("YUV")``."""
    return image_element(lambda c: names[c])


def channel_order(names: tuple[str, ...], atol: float, rtol: float):
    """A hint for results whose channels are the right ones in another order (V, U, Y; b, a)."""

    def hint(args, kwargs, got, want):
        for perm in itertools.permutations(range(len(names))):
            if list(perm) != list(range(len(names))) and close(got, want[..., list(perm), :, :], atol, rtol):
                order = ", ".join(names[p] for p in perm)
                return f"your channels are {order}; put them in the order {', '.join(names)}"
        return None

    return hint


def matches(variant: Callable, text: str, atol: float, rtol: float):
    """A hint for results that equal a known wrong variant computed from the (float64) inputs."""

    def hint(args, kwargs, got, want):
        candidate = torch.as_tensor(variant(*args, **kwargs)).double()
        return text if close(got, candidate, atol, rtol) else None

    return hint


def rng(seed: int) -> torch.Generator:
    """A CPU generator of its own, so that a check's random inputs leave torch's global one alone."""
    return torch.Generator().manual_seed(seed)
