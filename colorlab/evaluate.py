"""Evaluating trained checkpoints on held-out images: the table of Li and Wang (003) and its neighbours.

``colorlab train`` writes checkpoints; :func:`evaluate_checkpoints` scores them on the
test split of the same data set, next to the gray output and the truth:

===================  =======================================================  =================
column               what                                                     better
===================  =======================================================  =================
UV loss              squared U, V error / (2 W H), Zhu et al. (000)           lower
AuC                  area under "ab error within t", t = 0..150 (Zhang)       higher, max 1
rebal. AuC           the same, each pixel weighted by 1 / prior of its true   higher, max 1
                     colour's bin, the prior measured on the training images
colorfulness         Hasler and Suesstrunk, 0-255 scale                        closer to truth
semantic             accuracy of a small classifier trained on colour         higher
                     training images, fed this row's images (003, Figure 7)
===================  =======================================================  =================

A regression network or an autoencoder gives one row; a classification network
gives one row per decoding: mode, mean, and the annealed mean at each temperature
(Zhang's 0.38 and 003's 0.89 by default). The metrics are those of
:mod:`colorlab.metrics`, the decoding that of :func:`colorlab.colorize.predict_ab`,
the prior that of :func:`colorlab.train.prior_of`, the classifier that of
:mod:`colorlab.semantic`; this module only puts them together, batch by batch on
the device, so that CIFAR-10's 10,000 test images never need to be held as floats
all at once.

The semantic test uses the same images and labels as notebook 07: on CIFAR-10 the
classifier learns CIFAR's ten classes from the training images; on the embedded
photos (``"samples"``) the label of a patch is the held-out photo it was cut from,
and the classifier learns from *other* patches of those photos (another seed), since
the training photos are other scenes. A folder of photos has no labels: its semantic
column is empty.

From the command line: ``colorlab evaluate runs/*.pt --data cifar10 --json runs/evaluation.json``.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Sequence

import torch

from .quantize import LI_WANG_TEMPERATURE, ZHANG_TEMPERATURE

__all__ = ["Row", "Evaluation", "evaluate_checkpoints", "held_out_images", "semantic_teaching_set",
           "format_table", "save_json", "GRAY", "TRUTH"]

GRAY = "gray"  # the method name of the gray-output row (000's baseline: the photo's own L, a = b = 0)
TRUTH = "truth"  # the method name of the ground-truth row

DEFAULT_TEMPERATURES = (ZHANG_TEMPERATURE, LI_WANG_TEMPERATURE)
SAMPLES_TEACHING_COUNT = 1000  # patches that teach the semantic classifier on "samples", as notebook 07

_LOSS_NAMES = {"mse": "L2", "smooth_l1": "smooth L1", "blur": "blur"}


@dataclass
class Row:
    """One line of the table: a method's mean scores over the held-out images.

    ``method`` names the network and its decoding (``"classification (lambda=0.5): annealed mean T=0.38"``),
    or is :data:`GRAY` / :data:`TRUTH`; ``checkpoint`` is the file it came from (None for gray and
    truth). ``uv_loss`` >= 0 (lower is better); ``auc`` and ``rebalanced_auc`` in [0, 1] (higher);
    ``colorfulness`` >= 0 on a 0-255 scale (closer to the truth's is better); ``semantic_accuracy``
    in [0, 1], or None when the data has no labels or the semantic test was skipped.
    """

    method: str
    checkpoint: str | None
    uv_loss: float
    auc: float
    rebalanced_auc: float
    colorfulness: float
    semantic_accuracy: float | None


class Evaluation(list):
    """The rows of :func:`evaluate_checkpoints` (a ``list[Row]``: gray first, truth last), ``info`` and ``table``.

    ``table`` is the :class:`colorlab.results.ResultsTable` the rows' means come from: per-image
    scores, 95 % bootstrap intervals, and the ordering checks.

    ``info`` is a dict of plain values saying what was measured: the data set, image size and
    number of held-out images, the device, each checkpoint's model and training steps, the
    semantic classifier's classes, teaching images, steps and chance level (the accuracy of
    always guessing the commonest test class), the seed and the seconds it took.
    """

    def __init__(self, rows: Sequence[Row] = (), info: dict | None = None, table=None):
        super().__init__(rows)
        self.info = dict(info or {})
        self.table = table


# ------------------------------------------------------------------ data

def _default_size(data) -> int:
    return 32 if isinstance(data, str) and data == "cifar10" else 64


def _has_labels(data) -> bool:
    from .data import has_labels

    return has_labels(data)


def held_out_images(data="samples", size: int | None = None, count: int | None = None, seed: int = 0,
                    labels: bool = False):
    """The held-out images :func:`evaluate_checkpoints` scores, as uint8 (N,3,size,size), 0-255, on the CPU.

    ``data``: ``"samples"``, ``"cifar10"`` or a folder (see :func:`colorlab.data.load_images`; its test
    split, with seed ``seed + 1`` as the notebooks use); ``size`` defaults to 32 for CIFAR-10, else 64;
    ``count`` None means the loader's default (all 10,000 CIFAR-10 test images, 1000 sample patches,
    every test photo of a folder). With ``labels``, also the int64 (N,) class labels (not for a folder).
    """
    from .data import load_images

    size = _default_size(data) if size is None else size
    return load_images(data, "test", size=size, count=count, seed=seed + 1, labels=labels)


def semantic_teaching_set(data="samples", size: int | None = None, seed: int = 0, count: int | None = None,
                          train_images: torch.Tensor | None = None, train_labels: torch.Tensor | None = None):
    """Colour images and labels that teach the semantic classifier, as in notebook 07.

    Returns ``(images, labels)``: uint8 (N,3,size,size) 0-255 and int64 (N,), on the CPU.

    - ``"cifar10"``: the training images and their CIFAR-10 classes (``train_images`` and
      ``train_labels`` when given, so that they are not read twice; otherwise the first ``count``).
    - ``"samples"``: the labels of the held-out patches are the held-out photos they come from, so the
      classifier learns from other patches of those photos (seed ``seed + 2``; ``count`` patches,
      default 1000), never from the test patches themselves, and the colorizers never saw those photos.
    - a folder: no labels, a ValueError (from :func:`colorlab.data.load_images`).
    """
    from .data import load_images

    size = _default_size(data) if size is None else size
    if isinstance(data, str) and data == "samples":
        return load_images("samples", "test", size=size, count=count or SAMPLES_TEACHING_COUNT, seed=seed + 2,
                           labels=True)
    if train_images is not None and train_labels is not None:
        return train_images, train_labels
    return load_images(data, "train", size=size, count=count, seed=seed, labels=True)


# ------------------------------------------------------------- checkpoints

def _method_name(state: dict) -> str:
    """A readable name for a checkpoint's network, from its model and training configuration."""
    config, train = state["model_config"], state.get("train_config") or {}
    name = config["name"]
    if name in ("regression", "autoencoder"):
        loss = train.get("loss")
        return f"{name} ({_LOSS_NAMES.get(loss, loss)})" if loss else name
    if name == "classification":
        if "rebalance" not in train:
            return name
        lam = train["rebalance"]
        return f"{name} ({'no rebalancing' if lam is None else f'lambda={lam:g}'})"
    return {"palette": "palette-guided", "mean_color": "mean colour", "gray": "gray (network)"}.get(name, name)


def _load(path, device: torch.device) -> dict:
    """A checkpoint read by :func:`colorlab.train.load_checkpoint` (``weights_only=True``), model on ``device``."""
    from .models import MODELS
    from .train import load_checkpoint, read_checkpoint

    try:
        return load_checkpoint(path, device=device)
    except ValueError:
        # a readable checkpoint of a kind this colorlab does not know: say which kinds it knows
        state = read_checkpoint(path, "cpu")  # raises its own clear error when the file itself is bad
        name = state["model_config"].get("name") if isinstance(state["model_config"], dict) else None
        if name not in MODELS:
            raise ValueError(f"{path} holds a model of unknown kind {name!r} (written by colorlab "
                             f"{state.get('colorlab_version', '?')}); the kinds colorlab knows are "
                             f"{', '.join(MODELS)}.") from None
        raise


def _decodings(model, temperatures: Sequence[float]) -> list[tuple[str | None, str, float]]:
    """(suffix of the row's name, predict_ab method, temperature) for each row a network gives."""
    if getattr(model, "kind", "regression") != "classification":
        return [(None, "direct", ZHANG_TEMPERATURE)]  # regression-like: predict_ab ignores method and temperature
    return ([("mode", "mode", ZHANG_TEMPERATURE), ("mean", "mean", 1.0)]
            + [(f"annealed mean T={t:g}", "annealed", float(t)) for t in temperatures])


def _check_temperatures(temperatures) -> tuple[float, ...]:
    try:
        values = tuple(float(t) for t in temperatures)
    except (TypeError, ValueError):
        raise ValueError(f"temperatures must be a sequence of numbers > 0, got {temperatures!r}.") from None
    if any(not math.isfinite(t) or t <= 0 for t in values):
        raise ValueError(f"temperatures must be finite numbers > 0 (0.38 is Zhang's, 0.89 Li and Wang's), "
                         f"got {list(values)}.")
    return tuple(dict.fromkeys(values))  # each once, in the order given


def _whole(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}.")
    return value


# ----------------------------------------------------------------- evaluate

def evaluate_checkpoints(
    checkpoints: Sequence[str | os.PathLike],
    data="samples",
    size: int | None = None,
    count: int | None = None,
    device: torch.device | str | None = None,
    semantic_steps: int = 400,
    judge: str = "auto",
    temperatures: Sequence[float] = DEFAULT_TEMPERATURES,
    seed: int = 0,
    batch_size: int = 256,
    train_count: int | None = None,
    log: Callable[[str], None] | None = None,
) -> Evaluation:
    """Score trained checkpoints on held-out images: UV loss, AuC, rebalanced AuC, colorfulness, semantic.

    Parameters
    ----------
    checkpoints : paths of checkpoints written by ``colorlab train`` (or :func:`colorlab.train.fit`),
        read with ``weights_only=True``. Any network colorlab knows; a classification network gives
        a row per decoding (mode, mean, annealed mean at each of ``temperatures``), any other one row.
        All paths are checked before anything is loaded: the error lists every missing one.
    data : ``"samples"`` (the embedded photos), ``"cifar10"`` (after ``python data_scripts/get_cifar10.py``;
        the loader's error says so when it is missing) or a folder of photos; its test split is scored,
        its training split gives the prior of the rebalanced AuC (and, for CIFAR-10, teaches the
        semantic classifier).
    size : side of the square images in pixels (default 32 for CIFAR-10, which allows nothing else,
        else 64). The networks take any size; use the size they were trained at.
    count : held-out images (default: all 10,000 of CIFAR-10, 1000 sample patches, every test photo
        of a folder).
    device : where the networks run (default :func:`colorlab.default_device`, the GPU when there is one).
    semantic_steps : training steps of a semantic judge trained here (batch 128); 0 skips the semantic test.
    judge : ``"auto"`` (colorlab's reference judge for CIFAR-10, :func:`colorlab.semantic.reference_judge`,
        and a judge trained here for ``semantic_steps`` on any other labelled data), ``"reference"`` or
        ``"train"``.
        A folder has no labels, so its semantic column is None whatever this is.
    temperatures : annealed-mean temperatures, each > 0 (default Zhang's 0.38 and 003's 0.89).
    seed : seeds the sample patches (train ``seed``, test ``seed + 1``, teaching ``seed + 2``, as the
        notebooks do) and the classifier.
    batch_size : held-out images colorized and scored at a time.
    train_count : training images for the prior (and CIFAR-10's classifier); default the loader's
        (all 50,000 of CIFAR-10, 1000 sample patches, every training photo of a folder).
    log : called with a line of progress now and then (e.g. ``print``); None is silent.

    Returns
    -------
    :class:`Evaluation`, a ``list[Row]``: :data:`GRAY` first, then each checkpoint's rows in the order
    given, then :data:`TRUTH`; each value the mean over the held-out images (every image counts
    equally). ``.info`` says what was measured.
    """
    from . import __version__
    from .color import l_ab_to_rgb, normalize_l, rgb_to_gray, rgb_to_l_ab
    from .colorize import predict_ab
    from .data import LabPairs, load_images, to_float_image
    from .device import default_device, describe_device, seed_everything
    from .results import ResultsTable, image_scores
    from .semantic import SemanticClassifier, reference_judge, train_classifier
    from .train import prior_of

    say = log or (lambda _line: None)
    start = time.perf_counter()

    # -- arguments, cheapest checks first, so a typo fails in a second and not after the data is read
    if isinstance(checkpoints, (str, os.PathLike)):
        checkpoints = [checkpoints]
    paths = [Path(p) for p in checkpoints]
    if not paths:
        raise ValueError("evaluate_checkpoints: no checkpoints given; pass the files `colorlab train --out` wrote.")
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"no checkpoint at {', '.join(missing)}"
                                f"{f' ({len(missing)} of the {len(paths)} given)' if len(paths) > 1 else ''}; "
                                f"train one with `colorlab train ... --out PATH`.")
    twice = sorted({str(p) for p in paths if paths.count(p) > 1})
    if twice:
        raise ValueError(f"evaluate_checkpoints: {', '.join(twice)} given more than once.")
    temperatures = _check_temperatures(temperatures)
    semantic_steps = _whole(semantic_steps, "semantic_steps", 0)
    if judge not in ("auto", "reference", "train"):
        raise ValueError(f"judge must be 'auto', 'reference' or 'train', got {judge!r}.")
    if judge == "reference" and not (isinstance(data, str) and data == "cifar10"):
        raise ValueError(f"colorlab's reference judge knows CIFAR-10 only; with data={str(data)!r} use judge='train'.")
    judge_choice = "reference" if judge == "reference" or (judge == "auto" and data == "cifar10") else "train"
    batch_size = _whole(batch_size, "batch_size", 1)
    size = _default_size(data) if size is None else _whole(size, "size", 1)
    device = default_device() if device is None else torch.device(device)

    # -- every network, before any data: a bad file is found at once
    networks, info_checkpoints = [], []
    for path in paths:
        state = _load(path, device)
        name, steps = _method_name(state), (state["history"].get("step") or [0])[-1]
        networks.append((str(path), name, state["model"]))
        info_checkpoints.append({"path": str(path), "method": name, "model_config": dict(state["model_config"]),
                                 "steps": steps, "train_config": state.get("train_config") or {}})
        say(f"  {path}: {name}, width {state['model_config'].get('width', '-')}, {steps} training steps")
        del state  # the optimiser's state is not needed: only the model is kept

    # -- data: held-out images (with labels where the data set has them) and the training images
    labelled = _has_labels(data)
    test = held_out_images(data, size, count, seed, labels=labelled)
    test_images, test_labels = test if labelled else (test, None)
    train_images = load_images(data, "train", size=size, count=train_count, seed=seed,
                               labels=labelled and data != "samples")
    train_images, train_labels = train_images if (labelled and data != "samples") else (train_images, None)
    say(f"{len(test_images)} held-out images of {size} px from {data!r}; prior of the rebalanced AuC from "
        f"{len(train_images)} training images")
    prior = prior_of(LabPairs.from_rgb(train_images, device=device)).cpu()  # float64 (313,)

    # -- the semantic judge: colorlab's reference judge for CIFAR-10, else one trained here on colour images
    judge, semantic_info = None, None
    if not labelled:
        semantic_info = {"skipped": f"a folder of photos has no labels (the semantic test needs 'samples', "
                                    f"'cifar10' or a labelled folder), got {str(data)!r}"}
    elif semantic_steps == 0:
        semantic_info = {"skipped": "semantic_steps is 0"}
    elif judge_choice == "reference":
        judge, record = reference_judge("cifar10", device=device)
        semantic_info = {"judge": "colorlab's reference judge", "record": record,
                         "classes": record["classes"], "teaching_images": record["train_images"],
                         "steps": record["settings"]["steps"]}
        say(f"semantic judge: colorlab's reference CIFAR-10 judge ({record['accuracy']['truth']['mean']:.3f} on true "
            f"colours when it was made)")
    else:
        teach_images, teach_labels = semantic_teaching_set(data, size, seed, train_images=train_images,
                                                           train_labels=train_labels)
        classes = int(max(teach_labels.max(), test_labels.max())) + 1
        seed_everything(seed)
        judge = SemanticClassifier(classes=classes, width=16).to(device)
        say(f"training the semantic judge ({classes} classes) on {len(teach_images)} colour images, "
            f"{semantic_steps} steps")
        losses = train_classifier(judge, teach_images, teach_labels, steps=semantic_steps, seed=seed)
        semantic_info = {"judge": "trained here", "classes": classes, "teaching_images": len(teach_images),
                         "steps": semantic_steps, "final_loss": losses[-1] if losses else None}
    if semantic_info is not None and test_labels is not None:
        semantic_info["chance"] = float(torch.bincount(test_labels).max()) / len(test_labels)

    # -- every method on every batch: one value per image and measure, into one results table
    rows: list[tuple[str, str | None, str, float]] = [(GRAY, None, "gray", 0.0)]
    for path, name, model in networks:
        for suffix, method, temperature in _decodings(model, temperatures):
            rows.append((f"{name}: {suffix}" if suffix else name, path, method, temperature))
    rows.append((TRUTH, None, "truth", 0.0))
    models = {path: model for path, _, model in networks}
    table = ResultsTable(seed=seed)
    n = len(test_images)
    for first in range(0, n, batch_size):
        truth = to_float_image(test_images[first : first + batch_size].to(device))
        labels = test_labels[first : first + batch_size] if test_labels is not None else None
        l, true_ab = rgb_to_l_ab(truth)
        l_norm = normalize_l(l)
        for name, path, method, temperature in rows:
            if method == "gray":
                rgb = rgb_to_gray(truth)
            elif method == "truth":
                rgb = truth
            else:
                ab = predict_ab(models[path], l_norm, "annealed" if method == "direct" else method, temperature)
                rgb = l_ab_to_rgb(l, ab.to(l.dtype))
            table.add(name, image_scores(rgb, truth, prior, judge, labels, true_ab=true_ab))
        done = min(first + batch_size, n)
        if done == n or (first // batch_size) % max(1, math.ceil(n / batch_size) // 10) == 0:
            say(f"  scored {done} of {n} images")  # about ten lines, whatever the number of batches
    # a training that its time limit (--seconds) stopped early is footnoted: it is not the run its settings describe
    planned = {c["path"]: (c["steps"], (c["train_config"] or {}).get("steps")) for c in info_checkpoints}
    for name, path, _, _ in rows:
        done, wanted = planned.get(path, (None, None))
        if wanted and done is not None and done < wanted:
            table.note(name, f"trained {done} of {wanted} steps (stopped by its time limit): not the full run")
    result = Evaluation([
        Row(method=name, checkpoint=path, uv_loss=table.mean(name, "uv_loss"), auc=table.mean(name, "auc"),
            rebalanced_auc=table.mean(name, "rebalanced_auc"), colorfulness=table.mean(name, "colorfulness"),
            semantic_accuracy=table.mean(name, "semantic") if judge is not None else None)
        for name, path, _, _ in rows
    ], table=table)
    result.info = {
        "colorlab_version": __version__,
        "data": str(data),
        "size": size,
        "test_images": n,
        "train_images_for_prior": len(train_images),
        "device": describe_device(device),
        "checkpoints": info_checkpoints,
        "temperatures": list(temperatures),
        "semantic": semantic_info,
        "seed": seed,
        "seconds": round(time.perf_counter() - start, 1),
    }
    return result


# ------------------------------------------------------------------ the papers' orderings

def paper_claims(methods: Sequence[str]) -> list:
    """The papers' orderings that can be checked among ``methods`` (row names of :func:`evaluate_checkpoints`).

    Zhu et al. (000): a CNN (regression, L2) beats gray in UV loss. Li and Wang (003): gray <
    regression < classification (no rebalancing, mode) < its annealed mean (T = 0.89) < truth in the
    semantic test. Zhang et al.: the rebalanced classifier's annealed mean (T = 0.38) is more colourful
    than the L2 regressor. A claim whose rows are missing is left out. Returns
    :class:`colorlab.results.Claim` objects for :meth:`colorlab.results.ResultsTable.check`.
    """
    from .results import Claim

    zhu, li_wang, zhang = "Zhu et al. (000)", "Li and Wang (003)", "Zhang et al."
    regression, plain = "regression (L2)", "classification (no rebalancing)"
    candidates = [
        Claim(zhu, regression, "lower", GRAY, "uv_loss"),
        Claim(li_wang, regression, "higher", GRAY, "semantic"),
        Claim(li_wang, f"{plain}: mode", "higher", regression, "semantic"),
        Claim(li_wang, f"{plain}: annealed mean T=0.89", "higher", f"{plain}: mode", "semantic"),
        Claim(li_wang, TRUTH, "higher", f"{plain}: annealed mean T=0.89", "semantic"),
        Claim(zhang, "classification (lambda=0.5): annealed mean T=0.38", "higher", regression, "colorfulness"),
    ]
    present = set(methods)
    return [c for c in candidates if c.first in present and c.second in present]


# ------------------------------------------------------------------ output

def _cell(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def format_table(rows: Sequence[Row]) -> str:
    """The rows as a Markdown table, one line per row, in the order given.

    Columns: method, checkpoint (empty for gray and truth), UV loss (5 decimals), AuC and rebalanced AuC
    (3), colorfulness (1), semantic accuracy (3; "-" where there is none). For an :class:`Evaluation`
    each cell is "mean [lo, hi]", the 95 % bootstrap interval over the held-out images. Plain ASCII.
    """
    table = getattr(rows, "table", None)
    rows = list(rows)
    if not rows or not all(isinstance(r, Row) for r in rows):
        raise ValueError(f"format_table: expected a non-empty list of colorlab.evaluate.Row, got {rows!r:.200}.")

    def text(s) -> str:
        return "" if s is None else str(s).replace("|", "\\|")

    def cell(row: Row, key: str, value, digits: int) -> str:
        if table is not None and value is not None and row.method in table.methods:
            return table.cell(row.method, key)
        return _cell(value, digits)

    lines = ["| method | checkpoint | UV loss | AuC | rebal. AuC | colorfulness | semantic |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        cells = [cell(r, "uv_loss", r.uv_loss, 5), cell(r, "auc", r.auc, 3),
                 cell(r, "rebalanced_auc", r.rebalanced_auc, 3), cell(r, "colorfulness", r.colorfulness, 1),
                 cell(r, "semantic", r.semantic_accuracy, 3)]
        lines.append(f"| {text(r.method)} | {text(r.checkpoint)} | " + " | ".join(cells) + " |")
    if table is not None:
        lines.append("")
        for method, notes in table.notes.items():
            lines.append(f"{method}: " + "; ".join(notes))
        lines.append(f"[lo, hi]: the 95 % bootstrap interval over the {table.n} held-out images.")
    return "\n".join(lines)


def _finite_or_none(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_none(v) for v in value]
    return value


def save_json(rows: Sequence[Row], path: str | os.PathLike, info: dict | None = None) -> Path:
    """Write ``{"info": ..., "rows": [{"method": ..., "uv_loss": ..., ...}, ...]}`` to ``path`` atomically.

    ``info`` defaults to ``rows.info`` for an :class:`Evaluation`. Strict JSON: a value that is not a
    finite number (there should be none) is written as null.
    """
    path = Path(path)
    if info is None:
        info = getattr(rows, "info", {})
    table = getattr(rows, "table", None)
    documented = []
    for r in rows:
        row = asdict(r)
        if table is not None and r.method in table.methods:
            row["intervals"] = {k: list(table.interval(r.method, k)) for k in table.scores[r.method]}
        documented.append(row)
    document = _finite_or_none({"info": info, "rows": documented})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
