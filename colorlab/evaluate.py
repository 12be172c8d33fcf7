"""Evaluating trained checkpoints on held-out images: the table of Li and Wang (003) and its neighbours.

``colorlab train`` writes checkpoints; :func:`evaluate_checkpoints` scores them on the
test split of the same data set, next to the gray output and the truth, with every measure
of :mod:`colorlab.results` (UV loss, AuC, rebalanced AuC, colorfulness, the semantic test),
each mean with its 95 % interval, in one :class:`colorlab.results.ResultsTable`.

A regression network or an autoencoder gives one row; a classification network
gives one row per decoding: mode, mean, and the annealed mean at each temperature
(Zhang's 0.38 and 003's 0.89 by default). The scores are those of
:func:`colorlab.results.score_outputs`, the colorizations those of
:func:`colorlab.colorize.colorize_batch` and :func:`colorlab.colorize.colorize_decodings`,
the prior that of :meth:`colorlab.data.LabPairs.class_prior`, the judge that of
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
from torch import nn

from ._validate import whole_number
from .files import write_text
from .quantize import LI_WANG_TEMPERATURE, ZHANG_TEMPERATURE
from .results import GRAY, MEASURES, TRUTH, Claim, ResultsTable, score_outputs

__all__ = ["Row", "Evaluation", "evaluate_checkpoints", "held_out_images", "semantic_teaching_set",
           "paper_claims", "format_table", "save_json", "GRAY", "TRUTH"]

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


def held_out_images(data="samples", size: int | None = None, count: int | None = None, seed: int = 0,
                    labels: bool = False):
    """The held-out images :func:`evaluate_checkpoints` scores, as uint8 (N,3,size,size), 0-255, on the CPU.

    ``data``: ``"samples"``, ``"cifar10"`` or a folder (see :func:`colorlab.data.load_images`; its test
    split, with seed ``seed + 1`` as the notebooks use); ``size`` defaults to 32 for CIFAR-10, else 64;
    ``count`` None means the loader's default (all 10,000 CIFAR-10 test images, 1000 sample patches,
    every test photo of a folder). With ``labels``, also the int64 (N,) class labels (not for a folder).
    """
    from .data import load_images, load_labelled_images

    size = _default_size(data) if size is None else size
    return (load_labelled_images if labels else load_images)(data, "test", size=size, count=count, seed=seed + 1)


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
    from .data import load_labelled_images

    size = _default_size(data) if size is None else size
    if isinstance(data, str) and data == "samples":
        return load_labelled_images("samples", "test", size=size, count=count or SAMPLES_TEACHING_COUNT,
                                    seed=seed + 2)
    if train_images is not None and train_labels is not None:
        return train_images, train_labels
    return load_labelled_images(data, "train", size=size, count=count, seed=seed)


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
    """A checkpoint read by :func:`colorlab.checkpoints.load_checkpoint` (``weights_only=True``), model on ``device``."""
    from .checkpoints import load_checkpoint, read_checkpoint
    from .models import MODELS

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


def _decodings(temperatures: Sequence[float]) -> dict[str, tuple[str, float]]:
    """A classification network's rows: suffix of the row's name -> (decoding method, temperature)."""
    return {"mode": ("mode", ZHANG_TEMPERATURE), "mean": ("mean", 1.0),
            **{f"annealed mean T={t:g}": ("annealed", float(t)) for t in temperatures}}


@dataclass
class _Network:
    """A loaded checkpoint: its file, its name in the table, the model on the device, and its record."""

    path: str
    name: str
    model: nn.Module
    record: dict  # what ``Evaluation.info["checkpoints"]`` lists: path, method, model_config, steps, train_config

    @property
    def classifies(self) -> bool:
        return getattr(self.model, "kind", "regression") == "classification"

    def methods(self, temperatures: Sequence[float]) -> list[str]:
        """The rows this network gives: one per decoding for a classification network, else one."""
        if not self.classifies:
            return [self.name]
        return [f"{self.name}: {suffix}" for suffix in _decodings(temperatures)]

    def colorize(self, truth: torch.Tensor, temperatures: Sequence[float]) -> dict[str, torch.Tensor]:
        """Row name -> this network's colorization of ``truth`` (float (N,3,H,W) in [0, 1]), with truth's L."""
        from .colorize import colorize_batch, colorize_decodings

        if not self.classifies:  # regression-like: no decoding to choose
            return {self.name: colorize_batch(self.model, truth)}
        decoded = colorize_decodings(self.model, truth, _decodings(temperatures))
        return {f"{self.name}: {suffix}": rgb for suffix, rgb in decoded.items()}

    def cut_short(self) -> str | None:
        """The footnote of a training that its time limit (--seconds) stopped early, else None."""
        done, wanted = self.record["steps"], self.record["train_config"].get("steps")
        if wanted and done < wanted:
            return f"trained {done} of {wanted} steps (stopped by its time limit): not the full run"
        return None


def _load_networks(paths: Sequence[Path], device: torch.device, say: Callable[[str], None]) -> list[_Network]:
    """Every checkpoint, before any data is read, so that a bad file is found at once."""
    networks = []
    for path in paths:
        state = _load(path, device)
        name, steps = _method_name(state), (state["history"].get("step") or [0])[-1]
        record = {"path": str(path), "method": name, "model_config": dict(state["model_config"]), "steps": steps,
                  "train_config": state.get("train_config") or {}}
        networks.append(_Network(str(path), name, state["model"], record))
        say(f"  {path}: {name}, width {state['model_config'].get('width', '-')}, {steps} training steps")
        del state  # the optimiser's state is not needed: only the model is kept
    return _distinct_names(networks)


def _distinct_names(networks: list[_Network]) -> list[_Network]:
    """Networks of the same kind (two regressors trained for different steps, say) would share a row name
    and their scores would mix; each such name gets its checkpoint's file name, or its whole path where
    even those agree."""
    def clashing(nets):
        names = [n.name for n in nets]
        return {name for name in names if names.count(name) > 1}

    for label in (lambda n: Path(n.path).stem, lambda n: n.path):
        same = clashing(networks)
        if not same:
            break
        for net in networks:
            if net.name in same:
                net.name = f"{net.name.split(' [')[0]} [{label(net)}]"
                net.record["method"] = net.name
    return networks  # the paths differ (_checkpoint_paths refuses one given twice), so the names do now


def _check_temperatures(temperatures) -> tuple[float, ...]:
    try:
        values = tuple(float(t) for t in temperatures)
    except (TypeError, ValueError):
        raise ValueError(f"temperatures must be a sequence of numbers > 0, got {temperatures!r}.") from None
    if any(not math.isfinite(t) or t <= 0 for t in values):
        raise ValueError(f"temperatures must be finite numbers > 0 (0.38 is Zhang's, 0.89 Li and Wang's), "
                         f"got {list(values)}.")
    return tuple(dict.fromkeys(values))  # each once, in the order given


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
    from .device import default_device, describe_device

    say = log or (lambda _line: None)
    start = time.perf_counter()

    # the arguments, cheapest checks first, so that a typo fails in a second and not after the data is read
    paths = _checkpoint_paths(checkpoints)
    temperatures = _check_temperatures(temperatures)
    semantic_steps = whole_number(semantic_steps, "semantic_steps", 0)
    judge_choice = _judge_choice(judge, data)
    batch_size = whole_number(batch_size, "batch_size")
    size = _default_size(data) if size is None else whole_number(size, "size")
    device = default_device() if device is None else torch.device(device)

    networks = _load_networks(paths, device, say)
    images = _Images.load(data, size, count, train_count, seed, device, say)
    semantic_judge, semantic_info = _semantic_judge(judge_choice, semantic_steps, data, size, seed, images, device,
                                                    say)
    table = _score(networks, temperatures, images, semantic_judge, batch_size, device, seed, say)

    checkpoint_of = {method: network.path for network in networks for method in network.methods(temperatures)}
    rows = [Row(method=method, checkpoint=checkpoint_of.get(method), uv_loss=table.mean(method, "uv_loss"),
                auc=table.mean(method, "auc"), rebalanced_auc=table.mean(method, "rebalanced_auc"),
                colorfulness=table.mean(method, "colorfulness"),
                semantic_accuracy=table.mean(method, "semantic") if semantic_judge is not None else None)
            for method in table.methods]
    return Evaluation(rows, table=table, info={
        "colorlab_version": __version__,
        "data": str(data),
        "size": size,
        "test_images": table.n,
        "train_images_for_prior": len(images.train),
        "device": describe_device(device),
        "checkpoints": [network.record for network in networks],
        "temperatures": list(temperatures),
        "semantic": semantic_info,
        "seed": seed,
        "seconds": round(time.perf_counter() - start, 1),
    })


def _checkpoint_paths(checkpoints) -> list[Path]:
    """The checkpoints as paths: at least one, each an existing file, none twice (every missing one named)."""
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
    return paths


def _judge_choice(judge: str, data) -> str:
    """``"reference"`` (colorlab's CIFAR-10 judge) or ``"train"`` (a judge trained here), from ``judge``."""
    if judge not in ("auto", "reference", "train"):
        raise ValueError(f"judge must be 'auto', 'reference' or 'train', got {judge!r}.")
    cifar10 = isinstance(data, str) and data == "cifar10"
    if judge == "reference" and not cifar10:
        raise ValueError(f"colorlab's reference judge knows CIFAR-10 only; with data={str(data)!r} use judge='train'.")
    return "reference" if judge == "reference" or (judge == "auto" and cifar10) else "train"


@dataclass
class _Images:
    """The held-out images (uint8 (N,3,size,size) on the CPU, with int64 (N,) labels where the data set has
    them), the training images (labelled for CIFAR-10 and labelled folders) and their class prior."""

    test: torch.Tensor
    test_labels: torch.Tensor | None
    train: torch.Tensor
    train_labels: torch.Tensor | None
    prior: torch.Tensor  # float64 (313,) on the CPU: the weights of the rebalanced AuC

    @classmethod
    def load(cls, data, size: int, count: int | None, train_count: int | None, seed: int, device: torch.device,
             say: Callable[[str], None]) -> "_Images":
        from .data import LabPairs, has_labels, load_images, load_labelled_images

        labelled = has_labels(data)
        test = held_out_images(data, size, count, seed, labels=labelled)
        test, test_labels = test if labelled else (test, None)
        # the sample patches' labels are the held-out photos: their training patches have none to give
        train_labelled = labelled and data != "samples"
        train = (load_labelled_images if train_labelled else load_images)(data, "train", size=size,
                                                                           count=train_count, seed=seed)
        train, train_labels = train if train_labelled else (train, None)
        say(f"{len(test)} held-out images of {size} px from {data!r}; prior of the rebalanced AuC from "
            f"{len(train)} training images")
        prior = LabPairs.from_rgb(train, device=device).class_prior().cpu()
        return cls(test, test_labels, train, train_labels, prior)


def _semantic_judge(choice: str, steps: int, data, size: int, seed: int, images: _Images, device: torch.device,
                    say: Callable[[str], None]):
    """``(judge, info)``: the judge of the semantic test (None where it is skipped) and what ``info`` says of it.

    colorlab's reference judge for ``choice == "reference"``, else a judge trained here for ``steps`` on the
    colour images of :func:`semantic_teaching_set`. ``info["chance"]`` is the accuracy of always guessing the
    commonest held-out class.
    """
    from .device import seed_everything
    from .semantic import SemanticClassifier, reference_judge, train_classifier

    if images.test_labels is None:
        return None, {"skipped": f"a folder of photos has no labels (the semantic test needs 'samples', "
                                 f"'cifar10' or a labelled folder), got {str(data)!r}"}
    if steps == 0:
        return None, {"skipped": "semantic_steps is 0"}
    if choice == "reference":
        judge, record = reference_judge("cifar10", device=device)
        info = {"judge": "colorlab's reference judge", "record": record, "classes": record["classes"],
                "teaching_images": record["train_images"], "steps": record["settings"]["steps"]}
        say(f"semantic judge: colorlab's reference CIFAR-10 judge ({record['accuracy']['truth']['mean']:.3f} on true "
            f"colours when it was made)")
    else:
        teach_images, teach_labels = semantic_teaching_set(data, size, seed, train_images=images.train,
                                                           train_labels=images.train_labels)
        classes = int(max(teach_labels.max(), images.test_labels.max())) + 1
        seed_everything(seed)
        judge = SemanticClassifier(classes=classes, width=16).to(device)
        say(f"training the semantic judge ({classes} classes) on {len(teach_images)} colour images, {steps} steps")
        losses = train_classifier(judge, teach_images, teach_labels, steps=steps, seed=seed)
        info = {"judge": "trained here", "classes": classes, "teaching_images": len(teach_images), "steps": steps,
                "final_loss": losses[-1] if losses else None}
    info["chance"] = float(torch.bincount(images.test_labels).max()) / len(images.test_labels)
    return judge, info


def _score(networks: Sequence[_Network], temperatures: Sequence[float], images: _Images, judge,
           batch_size: int, device: torch.device, seed: int, say: Callable[[str], None]) -> ResultsTable:
    """Every row on every held-out image, ``batch_size`` at a time on the device, into one results table:
    gray first, then each network's rows in order, then the truth; a network cut short is footnoted."""
    from .color import rgb_to_gray
    from .data import to_float_image

    table = ResultsTable(seed=seed)
    n = len(images.test)
    for first in range(0, n, batch_size):
        truth = to_float_image(images.test[first : first + batch_size].to(device))
        labels = images.test_labels[first : first + batch_size] if images.test_labels is not None else None
        outputs = {GRAY: rgb_to_gray(truth)}
        for network in networks:
            outputs.update(network.colorize(truth, temperatures))
        outputs[TRUTH] = truth
        score_outputs(outputs, truth, images.prior, judge, labels, table=table)
        done = min(first + batch_size, n)
        if done == n or (first // batch_size) % max(1, math.ceil(n / batch_size) // 10) == 0:
            say(f"  scored {done} of {n} images")  # about ten lines, whatever the number of batches
    # a cut run is not the run its settings describe
    for network in networks:
        note = network.cut_short()
        if note:
            for method in network.methods(temperatures):
                table.note(method, note)
    return table


# ------------------------------------------------------------------ the papers' orderings

def paper_claims(methods: Sequence[str], measures: Sequence[str] | None = None) -> list:
    """The papers' orderings that can be checked among ``methods`` (row names of :func:`evaluate_checkpoints`)
    on ``measures`` (the table's, :meth:`colorlab.results.ResultsTable.measures`; None: every measure).

    Zhu et al. (000): a CNN (regression, L2) beats gray in UV loss. Li and Wang (003): gray <
    regression < classification (no rebalancing, mode) < its annealed mean (T = 0.89) < truth in the
    semantic test. Zhang et al.: the rebalanced classifier's annealed mean (T = 0.38) is more colourful
    than the L2 regressor. A claim whose rows or measure are missing (a folder of photos has no semantic
    test) is left out. Returns
    :class:`colorlab.results.Claim` objects for :meth:`colorlab.results.ResultsTable.check`.
    """
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
    scored = set(MEASURES if measures is None else measures)
    return [c for c in candidates if c.first in present and c.second in present and c.measure in scored]


# ------------------------------------------------------------------ output

def format_table(rows: "Evaluation") -> str:
    """The :class:`Evaluation` of :func:`evaluate_checkpoints` as the Markdown table ``colorlab evaluate`` prints.

    One line per row, in order: method, checkpoint (empty for gray and truth), then every measure of
    :data:`colorlab.results.MEASURES`, each cell "mean [lo, hi]" with the 95 % bootstrap interval over the
    held-out images ("-" where a row has no such score: the semantic test of a folder of photos). After
    the table: the footnotes of runs cut short, and what [lo, hi] is (:meth:`colorlab.results.ResultsTable.format`).
    """
    table = getattr(rows, "table", None)
    if not isinstance(table, ResultsTable) or not len(rows):
        raise ValueError(f"format_table: expected the Evaluation that colorlab.evaluate.evaluate_checkpoints "
                         f"returns, got {rows!r:.200}.")
    return table.format(markdown=True, measures=list(MEASURES),
                        columns={"checkpoint": {row.method: row.checkpoint for row in rows}})


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
    return write_text(path, json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
