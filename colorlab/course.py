"""The course around the notebooks: the set-up cell, cached training, and the student notebooks.

Three things live here.

``setup(device, dataset, size)`` is what every notebook's first code cell calls,
with the values of its papermill ``parameters`` cell. It picks the device (GPU
first), chooses how big to train (the CPU-quick size when there is no GPU, and
says so) and hands out the data the notebook trains and tests on.

``Course.train(model, config)`` trains a network once per configuration. The
checkpoint is cached under a key made of everything that determines the result
(the model's configuration and weight shapes, the training configuration, the
bytes of the training images, the colorlab and torch versions), so the student
notebook reuses what its solution notebook trained, and a notebook run a second
time starts at once. Change anything that matters and the key changes.

``build_notebooks`` makes ``notebooks/`` from ``solutions/``, the single source:
each ``### BEGIN SOLUTION`` .. ``### END SOLUTION`` block (nbgrader's markers, so
an instructor can also import the course into nbgrader) becomes
``# YOUR CODE HERE`` and ``raise NotImplementedError``; the exercise cell and
the check cell after it get the ``raises-exception`` tag, which lets "Run All"
in JupyterLab, nbclient and nbval go on past them; outputs are cleared.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
from torch import nn

from . import __version__
from .data import DATA_ENV_VAR, LabPairs, data_root, find_cifar10, load_images, resolve_dataset
from .device import default_device, describe_device, fast_bf16, is_gpu, seed_everything
from .train import LOOP_VERSION, History, TrainConfig, fit, load_checkpoint

# ------------------------------------------------------------------ sizes


@dataclass(frozen=True)
class CourseSize:
    """How much a notebook trains: the same notebook, sized for a laptop CPU or a GPU."""

    name: str
    patch: int  # side of the training and test images, in pixels
    train_count: int  # training images
    test_count: int  # held-out images
    width: int  # channels of the networks' first layer
    batch_size: int
    steps: int  # optimiser steps per model
    seconds: float  # a safety net: never more than this many seconds per model


# "quick" keeps every notebook under 3 minutes on a 2-core CPU; "full" is for a GPU. A model's training is
# ended by its step count: 900 quick steps take about 25 s on an idle 2-core CPU (fit's fast CPU path made
# them cost what 600 plain float32 steps did; benchmarks/train_throughput.py), so the time limit (more
# than twice that) only cuts in on a busy machine. Ending by steps, not seconds, makes a run the same run on
# every idle machine, and so do the results the notebooks check.
SIZES = {
    "quick": CourseSize("quick", patch=32, train_count=2000, test_count=2000, width=8, batch_size=32, steps=900,
                        seconds=60.0),
    "full": CourseSize("full", patch=64, train_count=20000, test_count=2000, width=32, batch_size=128, steps=3000,
                       seconds=120.0),
}

CACHE_ENV_VAR = "COLORLAB_CACHE"


def cache_dir() -> Path:
    """Where trained checkpoints are kept: ``$COLORLAB_CACHE``, else ``~/.cache/colorlab``."""
    if os.environ.get(CACHE_ENV_VAR):
        return Path(os.environ[CACHE_ENV_VAR]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "colorlab"


# ------------------------------------------------------------------ set-up


class Course:
    """The device, the size and the data of one notebook run. Made by :func:`setup`."""

    def __init__(self, device: torch.device, dataset, size: CourseSize, seed: int = 0):
        self.device = device
        self.dataset = dataset
        self.size = size
        self.seed = seed
        self._images: dict[str, torch.Tensor] = {}
        self._pairs: dict[str, LabPairs] = {}
        self._fingerprints: dict[int, str] = {}
        self.runs: dict[str, dict] = {}  # what train() did for each run: steps done and planned, seconds, loaded

    def __repr__(self) -> str:
        return (f"Course(device={str(self.device)!r}, dataset={self.dataset!r}, size={self.size.name!r}, "
                f"seed={self.seed})")

    def images(self, split: str = "train") -> torch.Tensor:
        """The notebook's ``"train"`` or ``"test"`` images: torch.uint8 (N,3,patch,patch), on the CPU.

        Loaded once and kept; the same for every notebook of the same set-up.
        """
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}.")
        if split not in self._images:
            count = self.size.train_count if split == "train" else self.size.test_count
            # Different seeds for the two splits: the photos differ already, the patch positions need not match.
            self._images[split] = load_images(self.dataset, split, size=self.size.patch, count=count,
                                              seed=self.seed + (split == "test"))
        return self._images[split]

    def labels(self, split: str = "train") -> torch.Tensor:
        """Class labels (N,) of :meth:`images` (``split``): the photo of a sample patch, or the CIFAR-10 class.

        A folder data set has none (ValueError). Used by the semantic test of notebook 07.
        """
        key = f"{split}-labels"
        if key not in self._images:
            count = self.size.train_count if split == "train" else self.size.test_count
            images, labels = load_images(self.dataset, split, size=self.size.patch, count=count,
                                         seed=self.seed + (split == "test"), labels=True)
            self._images.setdefault(split, images)
            self._images[key] = labels
        return self._images[key]

    def pairs(self, split: str = "train") -> LabPairs:
        """The same images as normalised (L, ab) pairs, resident on the course's device."""
        if split not in self._pairs:
            self._pairs[split] = LabPairs.from_rgb(self.images(split), device=self.device)
        return self._pairs[split]

    def test_rgb(self) -> torch.Tensor:
        """The held-out images as float RGB in [0, 1], (N,3,H,W), on the course's device."""
        return self.images("test").to(self.device).float() / 255.0

    def config(self, **changes) -> TrainConfig:
        """A :class:`~colorlab.train.TrainConfig` of this size (steps, batch, time limit), with ``changes``."""
        base = TrainConfig(steps=self.size.steps, batch_size=self.size.batch_size,
                           time_budget=self.size.seconds, seed=self.seed)
        return replace(base, **changes)

    def _fingerprint(self, images: torch.Tensor) -> str:
        key = id(images)
        if key not in self._fingerprints:
            digest = hashlib.sha256(str(tuple(images.shape)).encode())
            digest.update(images.detach().cpu().contiguous().numpy().tobytes())
            self._fingerprints[key] = digest.hexdigest()
        return self._fingerprints[key]

    def checkpoint_path(self, model: nn.Module, config: TrainConfig, images: torch.Tensor | None = None,
                        name: str | None = None, trainer=None) -> Path:
        """Where :meth:`train` keeps (or finds) this model trained with this configuration on these images."""
        images = self.images("train") if images is None else images
        key = {
            "model": dict(model.config),
            "shapes": {k: list(v.shape) for k, v in model.state_dict().items()},
            "train": asdict(config),
            "images": self._fingerprint(images),
            "colorlab": __version__,
            "torch": ".".join(torch.__version__.split(".")[:2]),
            "device": self.device.type,
            "bf16": bool(config.amp and fast_bf16(self.device)),  # bf16 trains a (slightly) different model
            "loop": LOOP_VERSION,  # what fit does, beyond its settings
        }
        if trainer is not None and trainer is not fit:
            key["trainer"] = f"{trainer.__module__}.{trainer.__qualname__}"
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
        name = name or model.config["name"]
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            raise ValueError(f"name must be letters, digits, '_', '.' or '-' (it becomes a file name), got {name!r}.")
        return cache_dir() / "checkpoints" / f"{name}-{digest}.pt"

    def train(self, model: nn.Module, config: TrainConfig | None = None, images: torch.Tensor | None = None,
              name: str | None = None, retrain: bool = False, progress: bool = True, trainer=None) -> History:
        """Train ``model`` in place on the training images, or load it if this exact run was cached.

        Parameters
        ----------
        model : a colorlab network (it has a ``config``), freshly built
        config : TrainConfig or None
            None means :meth:`config` (this size's steps, batch and time limit).
        images : uint8 (N,3,H,W) or None
            The training images; None means ``self.images("train")``.
        name : str or None
            A label for the checkpoint file (default: the model's name).
        retrain : bool
            Train even if a cached checkpoint exists (and replace it).
        trainer : None or a function like :func:`colorlab.train.fit`
            ``trainer(model, data, config, checkpoint=..., resume=..., progress=...) -> History``;
            None means ``fit``. The palette network of notebook 06 brings its own.

        Returns the training history (loss curve); the model ends in eval mode on the course's device.
        A run that the time limit (``config.time_budget``, the safety net) cut short is cached only
        to be continued: the next call resumes it instead of loading it, and :meth:`run_note` gives
        the footnote that a results table prints for it.
        """
        config = config or self.config()
        images = self.images("train") if images is None else images
        path = self.checkpoint_path(model, config, images, name, trainer)
        label = name or model.config["name"]
        resume = False
        if path.exists() and not retrain:
            try:
                state = load_checkpoint(path, device=self.device, model=model)
            except ValueError as err:
                print(f"the cached checkpoint {path} is unreadable ({err}); training again.")
            else:
                history = History(**state["history"])
                if history.steps_done >= config.steps:
                    print(f"{label}: loaded the run trained earlier ({history.steps_done} steps, "
                          f"{history.seconds:.0f} s) from {path}; pass retrain=True to train again.")
                    return self._record(label, history, config, loaded=True)
                # A run the safety net cut short is kept only to be continued, never used as the full run.
                print(f"{label}: the cached run stopped at {history.steps_done} of {config.steps} steps; "
                      f"continuing it.")
                resume = True
        data = self.pairs("train") if images is self._images.get("train") else LabPairs.from_rgb(images, self.device)
        seed_everything(config.seed)
        history = (trainer or fit)(model, data, config, checkpoint=path, resume=resume, progress=progress)
        final = f", final loss {history.loss[-1]:.4f}" if history.loss else ""
        if history.steps_done < config.steps:
            print(f"{label}: CUT SHORT by the {config.time_budget:.0f} s safety net at {history.steps_done} of "
                  f"{config.steps} steps (the machine is busy){final}. It is not comparable with full runs; the "
                  f"next run of this cell continues it.")
        else:
            print(f"{label}: trained {history.steps_done} steps in {history.seconds:.0f} s{final}; cached in {path}")
        return self._record(label, history, config, loaded=False)

    def _record(self, label: str, history: History, config: TrainConfig, loaded: bool) -> History:
        self.runs[label] = {"steps_done": history.steps_done, "steps": config.steps,
                            "seconds": round(history.seconds, 1), "loaded": loaded}
        return history

    def run_note(self, name: str) -> str | None:
        """A footnote for a results table when the run ``name`` was cut short, else None."""
        run = self.runs.get(name)
        if run is None or run["steps_done"] >= run["steps"]:
            return None
        return (f"trained {run['steps_done']} of {run['steps']} steps (cut by the time limit on a busy machine): "
                f"not comparable with the full runs")


def setup(device=None, dataset="auto", size: str | None = None, seed: int = 0, verbose: bool = True) -> Course:
    """The first call of every notebook: device, data set and size, each with a sensible default.

    Parameters
    ----------
    device : None, "cpu", "cuda", "cuda:1", "mps" or torch.device
        None picks CUDA, then MPS, then the CPU (``COLORLAB_DEVICE`` overrides).
    dataset : "auto", "samples", "cifar10", a labelled folder or a folder of photos
        "auto" (the default) is "cifar10" when CIFAR-10 is on disk under ``colorlab.data.data_root()``
        (``$COLORLAB_DATA``, else the nearest ``data/`` folder; the official binary files or a copy in
        class folders, see :func:`colorlab.data.find_cifar10`), else "samples", and says which it
        picked. "samples" (the photos shipped with scikit-image, scikit-learn and matplotlib) needs no
        download. A labelled folder (``train/<class>/`` and ``test/<class>/``) has labels, a plain
        folder of photos has none (see :func:`colorlab.data.load_images`).
    size : None, "quick" or "full"
        None picks "full" on a GPU and "quick" on a CPU. CIFAR-10 is always 32 px; every other data
        set gets the size's patch (32 quick, 64 full).
    seed : int

    Returns a :class:`Course` whose ``dataset`` is the resolved value ("cifar10", "samples" or the path),
    never "auto".
    """
    if device is None:
        device = default_device(verbose=verbose)
    else:
        try:
            device = torch.device(device)
        except (RuntimeError, TypeError) as err:
            raise ValueError(f"device must be None, 'cpu', 'cuda', 'cuda:0' or 'mps', got {device!r}.") from err
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device={str(device)!r} but this machine has no CUDA GPU; use device=None or 'cpu'.")
        if verbose:
            print(f"colorlab device: {describe_device(device)} (chosen in the parameters cell)")
    if size is None:
        size = "full" if is_gpu(device) else "quick"
        reason = "a GPU is present" if is_gpu(device) else "no GPU, so the CPU-quick size"
    else:
        reason = "chosen in the parameters cell"
    if size not in SIZES:
        raise ValueError(f"size must be None, 'quick' or 'full', got {size!r}.")
    chosen = SIZES[size]
    if not (dataset in ("auto", "samples", "cifar10") or isinstance(dataset, (str, os.PathLike))):
        raise ValueError(f"dataset must be 'auto', 'samples', 'cifar10' or a folder path, got {dataset!r}.")
    if isinstance(dataset, str) and dataset == "auto":
        found = find_cifar10()
        dataset = resolve_dataset("auto")
        if verbose:
            if found is not None:
                print(f"dataset 'auto': CIFAR-10 found in {found[1]}, using it; dataset='samples' uses the embedded "
                      f"photos instead.")
            else:
                print(f"dataset 'auto': no CIFAR-10 in {data_root()}, using the embedded photos; "
                      f"`python data_scripts/get_cifar10.py`, run from the course's top folder, downloads it "
                      f"(170 MB) into its data/ folder, where every notebook finds it; or set ${DATA_ENV_VAR} to a "
                      f"folder that holds it.")
    if dataset == "cifar10" and chosen.patch != 32:
        chosen = replace(chosen, patch=32)  # CIFAR-10 is 32x32 and nothing else
    seed_everything(seed)
    if verbose:
        print(f"size {chosen.name!r} ({reason}): {chosen.train_count} training and {chosen.test_count} test images "
              f"of {chosen.patch} px from {dataset!r}; networks of width {chosen.width}, at most "
              f"{chosen.steps} steps or {chosen.seconds:.0f} s each.")
    return Course(device, dataset, chosen, seed)


# ------------------------------------------------------------------ student notebooks

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
CODE_STUB = ("# YOUR CODE HERE", "raise NotImplementedError")
MARKDOWN_STUB = ("YOUR ANSWER HERE",)
RAISES = "raises-exception"
_CHECK_CALL = re.compile(r"\bcheck_\w+\s*\(")


class NotebookSourceError(ValueError):
    """A solution notebook whose solution markers do not pair up."""


def strip_solutions(source: str, cell_type: str = "code", where: str = "cell") -> tuple[str, int]:
    """Replace each ``### BEGIN SOLUTION`` .. ``### END SOLUTION`` block of ``source`` by the stub.

    The stub takes the indentation of the BEGIN line, so a block inside a function
    body stays inside it. Returns the new source and the number of blocks replaced.
    """
    stub = CODE_STUB if cell_type == "code" else MARKDOWN_STUB
    out: list[str] = []
    inside_from = None
    blocks = 0
    for number, line in enumerate(source.split("\n"), start=1):
        marker = line.strip()
        if marker == BEGIN_SOLUTION:
            if inside_from is not None:
                raise NotebookSourceError(f"{where}, line {number}: {BEGIN_SOLUTION} inside the block opened on "
                                          f"line {inside_from}; close it with {END_SOLUTION} first.")
            inside_from = number
            indent = line[: len(line) - len(line.lstrip())]
            out.extend(indent + s for s in stub)
        elif marker == END_SOLUTION:
            if inside_from is None:
                raise NotebookSourceError(f"{where}, line {number}: {END_SOLUTION} without a {BEGIN_SOLUTION}.")
            inside_from = None
            blocks += 1
        elif inside_from is None:
            out.append(line)
    if inside_from is not None:
        raise NotebookSourceError(f"{where}: the {BEGIN_SOLUTION} on line {inside_from} is never closed "
                                  f"with {END_SOLUTION}.")
    return "\n".join(out), blocks


def _add_tag(cell, tag: str) -> None:
    tags = list(cell.metadata.get("tags", []))
    if tag not in tags:
        cell.metadata["tags"] = tags + [tag]


def clear_outputs(nb):
    """Remove outputs, execution counts and run-time metadata, in place; returns ``nb``."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        for key in ("execution", "collapsed", "scrolled", "papermill"):
            cell.metadata.pop(key, None)
    nb.metadata.pop("papermill", None)
    return nb


def student_notebook(solution, where: str = "notebook"):
    """The student version of a solution notebook (an ``nbformat`` node; the input is not changed).

    Returns ``(student_nb, exercises)``. A solution notebook without any
    solution block is copied with its outputs cleared.
    """
    nb = clear_outputs(copy.deepcopy(solution))
    exercises = 0
    after_exercise = False
    for index, cell in enumerate(nb.cells):
        blocks = 0
        if BEGIN_SOLUTION in cell.source or END_SOLUTION in cell.source:
            cell.source, blocks = strip_solutions(cell.source, cell.cell_type, f"{where}, cell {index}")
        if blocks and cell.cell_type == "code":
            _add_tag(cell, RAISES)  # a stub at the top level raises; one in a function body is harmless
            exercises += blocks
            after_exercise = True
        elif blocks:
            exercises += blocks
        elif cell.cell_type == "code" and after_exercise:
            # The check cell calls the student's function, which raises until it is written.
            if _CHECK_CALL.search(cell.source):
                _add_tag(cell, RAISES)
            after_exercise = False
    return nb, exercises


def _read(path: Path):
    import nbformat

    try:
        return nbformat.read(path, as_version=4)
    except Exception as err:  # nbformat raises several kinds for broken JSON or schema
        raise NotebookSourceError(f"{path} is not a readable notebook: {type(err).__name__}: {err}") from err


def _text(nb) -> str:
    import nbformat

    return nbformat.writes(nb) + "\n"


def _write_if_changed(path: Path, text: str) -> bool:
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return True


@dataclass
class BuildReport:
    """What :func:`build_notebooks` did, or (with ``check``) would do."""

    written: list[Path]  # student notebooks (re)written, or stale
    stripped: list[Path]  # solution notebooks whose outputs were cleared, or that hold outputs
    removed: list[Path]  # student notebooks without a solution, removed or to remove
    exercises: dict[str, int]  # exercises per notebook

    @property
    def up_to_date(self) -> bool:
        return not (self.written or self.stripped or self.removed)


def build_notebooks(solutions="solutions", notebooks="notebooks", check: bool = False) -> BuildReport:
    """Regenerate ``notebooks/`` from ``solutions/``; with ``check``, change nothing and report what differs.

    Also clears outputs left in the solution notebooks (they are committed
    without outputs), and removes a student notebook whose solution is gone.
    """
    solutions, notebooks = Path(solutions), Path(notebooks)
    if not solutions.is_dir():
        raise FileNotFoundError(f"no solutions folder at {solutions.resolve()}; run this from the course's root "
                                f"folder or pass --solutions.")
    report = BuildReport([], [], [], {})
    sources = sorted(solutions.glob("*.ipynb"))
    for source in sources:
        solution = _read(source)
        clean_text = _text(clear_outputs(copy.deepcopy(solution)))
        if source.read_text(encoding="utf-8") != clean_text:
            report.stripped.append(source)
            if not check:
                _write_if_changed(source, clean_text)
        student, exercises = student_notebook(solution, where=str(source))
        report.exercises[source.name] = exercises
        target = notebooks / source.name
        text = _text(student)
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            report.written.append(target)
            if not check:
                _write_if_changed(target, text)
    wanted = {s.name for s in sources}
    for orphan in sorted(notebooks.glob("*.ipynb")) if notebooks.is_dir() else []:
        if orphan.name not in wanted:
            report.removed.append(orphan)
            if not check:
                orphan.unlink()
    return report

