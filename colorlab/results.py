"""One results table for the whole course: every method, every measure, each with a 95 % interval.

The notebooks, ``colorlab evaluate`` and the demo all score colorizations the same way:
:func:`image_scores` gives one value per held-out image for each measure, and a
:class:`ResultsTable` holds those values for every method, prints the means with
their bootstrap intervals, and answers whether an ordering a paper reports holds here.

==============  =======================================================  ==================
measure         what (one value per image)                               better
==============  =======================================================  ==================
uv_loss         squared U, V error / (2 W H), Zhu et al. (000)           lower
auc             area under "ab error within t", t = 0..150 (Zhang)       higher, max 1
rebalanced_auc  the same, each pixel weighted by 1 / prior of its true   higher, max 1
                colour's bin (the prior of the training images)
colorfulness    Hasler and Suesstrunk, 0-255 scale                        closer to the truth
semantic        1 if the judge classifies the image right, else 0 (003)  higher
==============  =======================================================  ==================

**Intervals.** The 95 % interval of a mean is a percentile bootstrap over the held-out
images (1000 resamples, a fixed seed). Every method is scored on the *same* images, so
whether A beats B is decided by the interval of the paired difference A - B (the same
resamples for both): it excludes 0 -> the ordering ``agrees`` or ``DIFFERS``; it contains
0 -> ``within noise``. Two methods whose own intervals overlap can still be told apart
this way, because most of each interval is the spread of the images, shared by both.

An interval says how much the number would move with other images *of the same kind*.
On the embedded photos the held-out images are patches of three photos, so the interval
speaks for those three scenes, not for photos in general.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

__all__ = ["Measure", "MEASURES", "image_scores", "score_outputs", "ResultsTable", "Claim", "GRAY", "TRUTH",
           "AGREES", "DIFFERS", "WITHIN_NOISE", "bootstrap_counts", "paired_difference"]

GRAY = "gray"  # the gray output: the photo's own L with a = b = 0 (000's baseline)
TRUTH = "truth"
AGREES, DIFFERS, WITHIN_NOISE = "agrees", "DIFFERS", "within noise"


@dataclass(frozen=True)
class Measure:
    """A column of the table: its key, its title, which way is better, and the decimals shown."""

    key: str
    title: str
    better: str  # "lower", "higher" or "truth" (closest to the truth's value)
    digits: int


MEASURES = {m.key: m for m in (
    Measure("uv_loss", "UV loss", "lower", 5),
    Measure("auc", "AuC", "higher", 3),
    Measure("rebalanced_auc", "rebal. AuC", "higher", 3),
    Measure("colorfulness", "colorfulness", "truth", 1),
    Measure("semantic", "semantic", "higher", 3),
)}


@torch.no_grad()
def bootstrap_counts(n: int, resamples: int = 1000, seed: int = 0) -> torch.Tensor:
    """How often each of ``n`` images is drawn in each of ``resamples`` bootstrap resamples (with replacement,
    from a generator seeded with ``seed``): a float64 tensor (resamples, n) whose rows sum to n.

    ``counts @ values / n`` is every resample's mean of a per-image value (n,); the same counts applied
    to two methods' values make their comparison paired. n must be at least 2.
    """
    if n < 2:
        raise ValueError(f"a bootstrap interval needs at least 2 images, got {n}.")
    draws = torch.randint(0, n, (resamples, n), generator=torch.Generator().manual_seed(seed))
    return torch.zeros(resamples, n, dtype=torch.float64).scatter_add_(1, draws, torch.ones(resamples, n,
                                                                                          dtype=torch.float64))


def _percentiles(means: torch.Tensor, confidence: float) -> tuple[float, float]:
    tail = (1 - confidence) / 2
    lo, hi = torch.quantile(means, torch.tensor([tail, 1 - tail], dtype=torch.float64)).tolist()
    return lo, hi


def paired_difference(first: torch.Tensor, second: torch.Tensor, resamples: int = 1000, confidence: float = 0.95,
                      seed: int = 0) -> tuple[float, float, float]:
    """The mean of ``first - second`` over the images and its paired bootstrap interval: (difference, lo, hi).

    ``first`` and ``second`` hold one value per image (shape (n,), any real dtype, n >= 2), the same
    images in the same order, as :meth:`ResultsTable.difference` compares two rows of the table; use
    this for a per-image value that is not one of the table's measures.
    """
    difference = torch.as_tensor(first, dtype=torch.float64).reshape(-1).cpu() - \
        torch.as_tensor(second, dtype=torch.float64).reshape(-1).cpu()
    means = bootstrap_counts(len(difference), resamples, seed) @ difference / len(difference)
    return (float(difference.mean()), *_percentiles(means, confidence))


def image_scores(rgb: torch.Tensor, truth: torch.Tensor, prior: torch.Tensor | None = None, judge=None,
                 labels: torch.Tensor | None = None, true_ab: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """Every measure of the course, one value per image: a dict key -> float64 (N,) on the CPU.

    Parameters
    ----------
    rgb, truth : float (N,3,H,W) in [0, 1], the colorization and the true image, on one device.
        ab is taken from the displayed RGB (after clipping to the gamut), as a viewer sees it.
    prior : float (313,) or None
        The class prior of the training images (:meth:`colorlab.data.LabPairs.class_prior`); None leaves out
        the rebalanced AuC.
    judge, labels : a :class:`colorlab.semantic.SemanticClassifier` and int64 (N,) labels, or None
        With both, ``"semantic"`` is 1.0 where the judge is right.
    true_ab : float (N,2,H,W) or None
        ``rgb_to_l_ab(truth)[1]``, when the caller scores many methods against one truth and has it.
    """
    from .color import rgb_to_l_ab
    from .metrics import auc, colorfulness, rebalanced_auc, uv_loss

    if rgb.shape != truth.shape:
        raise ValueError(f"image_scores: rgb and truth must have the same shape, got {tuple(rgb.shape)} and "
                         f"{tuple(truth.shape)}.")
    _, ab = rgb_to_l_ab(rgb)
    if true_ab is None:
        _, true_ab = rgb_to_l_ab(truth)
    scores = {"uv_loss": uv_loss(rgb, truth, reduction="none"), "auc": auc(ab, true_ab, reduction="none")}
    if prior is not None:
        scores["rebalanced_auc"] = rebalanced_auc(ab, true_ab, prior.to(ab.device), reduction="none")
    scores["colorfulness"] = colorfulness(rgb, reduction="none")
    if judge is not None and labels is not None:
        scores["semantic"] = judge.correct(rgb, labels)
    return {k: v.detach().to("cpu", torch.float64) for k, v in scores.items()}


def score_outputs(outputs: dict[str, torch.Tensor], truth: torch.Tensor, prior: torch.Tensor | None = None,
                  judge=None, labels: torch.Tensor | None = None, notes: dict[str, str | None] | None = None,
                  seed: int = 0, table: "ResultsTable | None" = None) -> "ResultsTable":
    """The results table of several colorizations of the same held-out images.

    ``outputs`` maps a method's name to its colorization, float (N,3,H,W) in [0, 1], the same shape as
    ``truth``; the rows keep the dict's order. ``prior``, ``judge`` and ``labels`` are those of
    :func:`image_scores`. ``notes`` maps a method to a footnote (a run cut short by its safety net, where a
    network came from); a None note is skipped, so ``{name: course.run_note(run)}`` can be passed as is.
    ``table``: a :class:`ResultsTable` to add these images to (a held-out set scored batch by batch, the
    same methods each time) and return; None makes a new one with ``seed``.
    """
    from .color import rgb_to_l_ab

    _, true_ab = rgb_to_l_ab(truth)
    table = ResultsTable(seed=seed) if table is None else table
    for method, rgb in outputs.items():
        table.add(method, image_scores(rgb, truth, prior, judge, labels, true_ab=true_ab))
    for method, text in (notes or {}).items():
        if text:
            if method not in outputs:
                raise ValueError(f"score_outputs: a note for {method!r}, which is not one of the outputs "
                                 f"{list(outputs)}.")
            table.note(method, text)
    return table


@dataclass(frozen=True)
class Claim:
    """An ordering a paper reports: ``first`` is ``direction`` ("higher" or "lower") than ``second``."""

    source: str  # who reports it: "Zhu et al. (000)"
    first: str
    direction: str
    second: str
    measure: str

    def text(self) -> str:
        word = {"uv_loss": {"lower": "beats", "higher": "loses to"},
                "colorfulness": {"higher": "is more colourful than", "lower": "is less colourful than"}}
        verb = word.get(self.measure, {}).get(self.direction) or (
            "beats" if self.direction == MEASURES[self.measure].better else "loses to")
        return f"{self.source}: {self.first} {verb} {self.second} in {MEASURES[self.measure].title}"


class ResultsTable:
    """Per-image scores of several methods on the same held-out images, with bootstrap intervals.

    ``add(method, scores)`` takes the dict of :func:`image_scores`; calling it again for the
    same method appends (a data set scored batch by batch). Every method must end with the
    same images. ``note(method, text)`` adds a footnote (a run cut short, where a network
    came from).
    """

    def __init__(self, resamples: int = 1000, confidence: float = 0.95, seed: int = 0):
        if not 0 < confidence < 1:
            raise ValueError(f"confidence must lie in (0, 1), got {confidence!r}.")
        self.resamples, self.confidence, self.seed = int(resamples), float(confidence), int(seed)
        self._parts: dict[str, dict[str, list[torch.Tensor]]] = {}
        self._scores: dict[str, dict[str, torch.Tensor]] | None = None
        self._weights: torch.Tensor | None = None
        self.notes: dict[str, list[str]] = {}

    # -- filling
    def add(self, method: str, scores: dict[str, torch.Tensor]) -> "ResultsTable":
        unknown = set(scores) - set(MEASURES)
        if unknown:
            raise ValueError(f"ResultsTable.add: unknown measures {sorted(unknown)}; known: {list(MEASURES)}.")
        parts = self._parts.setdefault(method, {})
        for key, values in scores.items():
            parts.setdefault(key, []).append(torch.as_tensor(values, dtype=torch.float64).reshape(-1).cpu())
        self._scores, self._weights = None, None
        return self

    def note(self, method: str, text: str) -> None:
        self.notes.setdefault(method, []).append(text)

    @property
    def methods(self) -> list[str]:
        return list(self._parts)

    @property
    def scores(self) -> dict[str, dict[str, torch.Tensor]]:
        if self._scores is None:
            self._scores = {m: {k: torch.cat(v) for k, v in parts.items()} for m, parts in self._parts.items()}
            sizes = {len(v) for parts in self._scores.values() for v in parts.values()}
            if len(sizes) > 1:
                raise ValueError(f"ResultsTable: the methods were scored on different numbers of images "
                                 f"({sorted(sizes)}); score every method on the same held-out images.")
        return self._scores

    @property
    def n(self) -> int:
        return next((len(v) for parts in self.scores.values() for v in parts.values()), 0)

    def measures(self) -> list[str]:
        present = {k for parts in self.scores.values() for k in parts}
        return [k for k in MEASURES if k in present]

    # -- statistics
    def _bootstrap(self) -> torch.Tensor:
        """(resamples, n) counts: how often each image is drawn in each resample; shared by every method."""
        if self._weights is None:
            self._weights = bootstrap_counts(self.n, self.resamples, self.seed)
        return self._weights

    def _values(self, method: str, key: str) -> torch.Tensor:
        if method not in self.scores:
            raise KeyError(f"no method {method!r} in the table; it has {', '.join(self.methods)}.")
        if key not in self.scores[method]:
            raise KeyError(f"{method!r} has no {key!r} score (it has {', '.join(self.scores[method])}).")
        return self.scores[method][key]

    def _interval(self, values: torch.Tensor) -> tuple[float, float]:
        return _percentiles(self._bootstrap() @ values / len(values), self.confidence)

    def mean(self, method: str, key: str) -> float:
        return float(self._values(method, key).mean())

    def interval(self, method: str, key: str) -> tuple[float, float]:
        """The bootstrap interval (lo, hi) of ``method``'s mean ``key``."""
        return self._interval(self._values(method, key))

    def difference(self, first: str, second: str, key: str) -> tuple[float, float, float]:
        """``first - second`` in mean ``key`` and its paired bootstrap interval: (difference, lo, hi)."""
        d = self._values(first, key) - self._values(second, key)
        return (float(d.mean()), *self._interval(d))

    def verdict(self, claim: Claim) -> str:
        """:data:`AGREES`, :data:`DIFFERS` or :data:`WITHIN_NOISE`: the claim against the paired interval."""
        if claim.direction not in ("higher", "lower"):
            raise ValueError(f"a claim's direction is 'higher' or 'lower', got {claim.direction!r}.")
        _, lo, hi = self.difference(claim.first, claim.second, claim.measure)
        if lo <= 0 <= hi:
            return WITHIN_NOISE
        holds = lo > 0 if claim.direction == "higher" else hi < 0
        return AGREES if holds else DIFFERS

    def check(self, claims) -> list[tuple[Claim, str]]:
        """Each claim with its verdict, printed as one line each: verdict, claim, the difference and its interval."""
        out = []
        for claim in claims:
            verdict = self.verdict(claim)
            d, lo, hi = self.difference(claim.first, claim.second, claim.measure)
            digits = MEASURES[claim.measure].digits + 1
            print(f"{verdict:<12}  {claim.text()}  (difference {d:+.{digits}f}, 95% interval "
                  f"[{lo:+.{digits}f}, {hi:+.{digits}f}])")
            out.append((claim, verdict))
        return out

    # -- output
    def cell(self, method: str, key: str) -> str:
        if key not in self.scores.get(method, {}):
            return "-"
        digits = MEASURES[key].digits
        lo, hi = self.interval(method, key)
        return f"{self.mean(method, key):.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"

    def format(self, markdown: bool = False, measures: Sequence[str] | None = None,
               columns: dict[str, dict[str, str | None]] | None = None) -> str:
        """The table as text, one row per method in the order added, each cell "mean [lo, hi]".

        ``measures``: the measure columns, keys of :data:`MEASURES` (default: those some method has); a
        method without a measure shows "-". ``columns``: text columns after the method's, title ->
        {method: text} (a method missing there, or a None text, leaves the cell empty).

        Plain text (``print(table)``): aligned columns, "(1)" after each method that has notes, then the
        number of images and the numbered notes. ``markdown`` (the ``colorlab evaluate`` table, and what
        JupyterLab shows): a Markdown table, then after a blank line (which ends the table) each note as
        "method: note" and what [lo, hi] is.
        """
        keys = list(self.measures() if measures is None else measures)
        unknown = [k for k in keys if k not in MEASURES]
        if unknown:
            raise ValueError(f"ResultsTable.format: unknown measures {unknown}; known: {list(MEASURES)}.")
        columns = columns or {}
        head = ["method", *columns, *(MEASURES[k].title for k in keys)]
        marks = self._note_marks()
        body = []
        for method, mark in zip(self.methods, marks):
            name = f"{method} ({mark})" if mark and not markdown else method
            texts = [columns[title].get(method) or "" for title in columns]
            body.append([name, *texts, *(self.cell(method, k) for k in keys)])
        if markdown:
            def escape(row: list[str]) -> list[str]:
                return [c.replace("|", "\\|") for c in row]

            lines = ["| " + " | ".join(head) + " |", "| --- |" + " --- |" * len(columns) + " ---: |" * len(keys)]
            lines += ["| " + " | ".join(escape(row)) + " |" for row in body]
            lines.append("")
            lines += [f"{method}: " + "; ".join(self.notes[method]) for method in self.methods if method in self.notes]
            lines.append(f"[lo, hi]: the {self.confidence * 100:g} % bootstrap interval over the {self.n} "
                         f"held-out images.")
            return "\n".join(lines)
        texts = len(columns) + 1  # the method's and the text columns are left-aligned, the numbers right-aligned
        widths = [max(len(r[i]) for r in [head] + body) for i in range(len(head))]
        lines = ["  ".join(c.ljust(w) if i < texts else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
                 for r in [head] + body]
        lines.append(f"{self.n} held-out images; [lo, hi] is the {self.confidence:.0%} bootstrap interval "
                     f"({self.resamples} resamples over the images).")
        lines += [f"({mark}) {method}: " + "; ".join(self.notes[method])
                  for method, mark in zip(self.methods, marks) if mark]
        return "\n".join(lines)

    def _note_marks(self) -> list[str]:
        marks, count = [], 0
        for method in self.methods:
            if method in self.notes:
                count += 1
                marks.append(str(count))
            else:
                marks.append("")
        return marks

    def __str__(self) -> str:
        return self.format()

    def _repr_markdown_(self) -> str:  # JupyterLab shows the table as a table
        return self.format(markdown=True)

    def to_dict(self) -> dict:
        """Plain values for JSON: per method and measure, the mean and the interval."""
        rows = []
        for method in self.methods:
            row = {"method": method, "notes": self.notes.get(method, [])}
            for key in self.scores[method]:
                lo, hi = self.interval(method, key)
                mean = self.mean(method, key)
                row[key] = {"mean": mean if math.isfinite(mean) else None, "lo": lo, "hi": hi}
            rows.append(row)
        return {"images": self.n, "confidence": self.confidence, "resamples": self.resamples, "rows": rows}
