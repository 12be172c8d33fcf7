"""Checkers for the notebooks' exercises: run the student's function, answer in one sentence.

An exercise asks for a function (``rgb_to_yuv``, ``soft_encode``, ...); the cell after it
calls a checker, ``check_rgb_to_yuv(rgb_to_yuv)``. As in the CS231n assignments, the
checker runs the student's function next to colorlab's tested reference on a handful of
inputs -- hand-picked edge cases (pure red, black, a colour exactly on a bin centre, huge
logits) and random ones from a fixed seed, batched and unbatched where the reference takes
both -- and answers with one sentence:

- it works: prints ``✓ rgb_to_yuv matches colorlab.color.rgb_to_yuv on 7 inputs (largest
  difference 3.0e-08).`` and returns None, so that the check cell has no result for nbgrader
  to read as a partial score (it gives a passing cell full marks, a raising one 0);
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

The package: :mod:`~colorlab.checks.engine` runs and compares; the checkers live by topic in
:mod:`~colorlab.checks.color_spaces` (notebooks 00, 01), :mod:`~colorlab.checks.losses`
(01, 03, 04), :mod:`~colorlab.checks.features` (02), :mod:`~colorlab.checks.networks` (04),
:mod:`~colorlab.checks.desaturation` (03, 04), :mod:`~colorlab.checks.bins` and :mod:`~colorlab.checks.rebalancing` (05), :mod:`~colorlab.checks.palette` (06) and :mod:`~colorlab.checks.measures` (07).
"""

from .bins import check_annealed_mean, check_rebalance_weights, check_soft_encode
from .color_spaces import check_rgb_to_lab, check_rgb_to_yuv, check_to_float_image
from .desaturation import check_chroma_kept, check_share_near_hue
from .engine import CheckFailed, ExerciseNotDone
from .features import check_pixel_feature
from .losses import check_blur_loss, check_smooth_l1, check_uv_loss
from .measures import check_auc, check_chroma_band_auc
from .networks import check_conv_block
from .palette import check_ab_histogram, check_donor_overlap
from .rebalancing import check_inverse_frequency

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
    "check_chroma_kept",
    "check_share_near_hue",
    "check_soft_encode",
    "check_rebalance_weights",
    "check_annealed_mean",
    "check_inverse_frequency",
    "check_ab_histogram",
    "check_auc",
    "check_chroma_band_auc",
    "check_donor_overlap",
]
