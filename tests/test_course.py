"""The course machinery: the notebooks' layout, the set-up cell, cached training."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
import torch

from colorlab.colab import INSTALL_CELL_MARK
from colorlab.course import SIZES, Course, setup
from colorlab.models import build_model

pytestmark = pytest.mark.usefixtures("one_thread")

ROOT = Path(__file__).resolve().parents[1]

# ------------------------------------------------------------------ the course's own notebooks

SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.stem for p in SOLUTIONS])
def test_each_solution_notebook_follows_the_course_layout(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    # the install cell for Colab and Kaggle first (tests/test_colab.py checks it), then a parameters cell
    # with the three parameters, then setup() with them
    assert code[0].source.startswith(INSTALL_CELL_MARK), "the first code cell must be the install cell"
    assert "parameters" in code[1].metadata.get("tags", []), "the second code cell must be tagged 'parameters'"
    for name in ("device", "dataset", "size"):
        assert re.search(rf"^{name} = ", code[1].source, re.M), f"the parameters cell must set {name}"
    assert "setup(device, dataset, size)" in code[2].source
    # every exercise is followed by a check cell that calls a checker of colorlab.checks
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and "### BEGIN SOLUTION" in cell.source:
            following = next(c for c in nb.cells[i + 1:] if c.cell_type == "code")
            match = re.search(r"\b(check_\w+)\s*\(", following.source)
            assert match, f"cell {i}: an exercise must be followed by a check cell"
            import colorlab.checks

            assert hasattr(colorlab.checks, match.group(1)), f"colorlab.checks has no {match.group(1)}"
    # the notebook tells its story and asserts its results
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    assert any("assert " in c.source for c in code), "key results must be checked inside the notebook"


# ------------------------------------------------------------------ set-up and cached training

def test_setup_on_a_cpu_picks_the_quick_size_and_says_so(capsys):
    course = setup(device="cpu")
    assert course.size == SIZES["quick"] and course.device == torch.device("cpu")
    out = capsys.readouterr().out
    assert "cpu" in out and "'quick'" in out and "no GPU" in out


@pytest.mark.parametrize("kwargs, message", [
    ({"size": "huge"}, "size must be None, 'quick' or 'full'"),
    ({"device": "tpu"}, "device must be"),
    ({"dataset": 3}, "dataset must be"),
])
def test_setup_rejects_bad_parameters_clearly(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        setup(**{"device": "cpu", **kwargs}, verbose=False)


def test_cifar10_is_always_32_pixels():
    assert setup(device="cpu", dataset="cifar10", size="full", verbose=False).size.patch == 32


def _tiny_course(tmp_path, monkeypatch) -> Course:
    monkeypatch.setenv("COLORLAB_CACHE", str(tmp_path / "cache"))
    course = setup(device="cpu", dataset="samples", verbose=False)
    generator = torch.Generator().manual_seed(0)
    course._images["train"] = torch.randint(0, 256, (8, 3, 16, 16), dtype=torch.uint8, generator=generator)
    return course


def test_train_caches_by_configuration_and_reloads_the_same_weights(tmp_path, monkeypatch, capsys):
    course = _tiny_course(tmp_path, monkeypatch)
    config = course.train_config(steps=3, batch_size=4, log_every=1, time_budget=None)
    first = build_model({"name": "regression", "width": 4})
    history = course.train(first, config, progress=False)
    assert history.steps_done == 3
    assert "trained 3 steps" in capsys.readouterr().out
    files = list((tmp_path / "cache" / "checkpoints").glob("regression-*.pt"))
    assert len(files) == 1

    second = build_model({"name": "regression", "width": 4})
    again = course.train(second, config, progress=False)
    assert "loaded the run trained earlier" in capsys.readouterr().out
    assert again.loss == history.loss
    for a, b in zip(first.state_dict().values(), second.state_dict().values()):
        assert torch.equal(a, b)

    # Anything that changes the result changes the key: the settings, the images, the model.
    other = course.checkpoint_path(second, course.train_config(steps=4, batch_size=4, log_every=1, time_budget=None))
    assert other != files[0]
    flipped = course.images("train").flip(-1).contiguous()
    assert course.checkpoint_path(second, config, images=flipped) != files[0]
    assert course.checkpoint_path(build_model({"name": "regression", "width": 8}), config) != files[0]
    assert course.checkpoint_path(second, config) == files[0]
    # and so does what the training loop itself does: its version, and whether it trains in bf16
    import colorlab.course as course_module

    version = course_module.LOOP_VERSION
    monkeypatch.setattr(course_module, "LOOP_VERSION", version + 1)
    assert course.checkpoint_path(second, config) != files[0]
    monkeypatch.setattr(course_module, "LOOP_VERSION", version)
    monkeypatch.setattr(course_module, "fast_bf16", lambda device: True)
    in_bf16 = course.checkpoint_path(second, config)
    monkeypatch.setattr(course_module, "fast_bf16", lambda device: False)
    in_float32 = course.checkpoint_path(second, config)
    assert in_bf16 != in_float32  # the same settings, trained on a CPU with and without native bf16


def test_a_run_cut_short_is_flagged_and_continued_never_loaded_as_the_full_run(tmp_path, monkeypatch, capsys):
    course = _tiny_course(tmp_path, monkeypatch)
    config = course.train_config(steps=30, batch_size=4, log_every=1, time_budget=0.0)  # the safety net cuts at once
    cut = build_model({"name": "regression", "width": 4})
    history = course.train(cut, config, progress=False)
    assert history.steps_done < 30
    assert "CUT SHORT" in capsys.readouterr().out
    assert "not comparable" in course.run_note("regression")
    assert course.runs["regression"]["steps_done"] == history.steps_done and course.runs["regression"]["steps"] == 30

    # The next call (same configuration, so the same cache key) continues the cut run instead of loading
    # it; here the machine is "idle again": the budget is lifted inside the loop, not in the key.
    config_again = course.train_config(steps=30, batch_size=4, log_every=1, time_budget=0.0)
    resumed = build_model({"name": "regression", "width": 4})
    import colorlab.course as course_module

    real_fit = course_module.fit

    def fit_without_budget(model, data, cfg, **kwargs):
        from dataclasses import replace

        return real_fit(model, data, replace(cfg, time_budget=None), **kwargs)

    monkeypatch.setattr(course_module, "fit", fit_without_budget)
    history = course.train(resumed, config_again, progress=False)
    out = capsys.readouterr().out
    assert "continuing it" in out and "loaded the run" not in out
    assert history.steps_done == 30 and course.run_note("regression") is None
    # now complete, it loads
    course.train(build_model({"name": "regression", "width": 4}), config_again, progress=False)
    assert "loaded the run trained earlier (30 steps" in capsys.readouterr().out


def test_a_corrupt_cache_entry_is_retrained_not_fatal(tmp_path, monkeypatch, capsys):
    course = _tiny_course(tmp_path, monkeypatch)
    config = course.train_config(steps=2, batch_size=4, log_every=1, time_budget=None)
    model = build_model({"name": "regression", "width": 4})
    path = course.checkpoint_path(model, config)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a checkpoint")
    history = course.train(model, config, progress=False)
    assert history.steps_done == 2
    assert "unreadable" in capsys.readouterr().out
    assert course.train(build_model({"name": "regression", "width": 4}), config, progress=False).steps_done == 2
    assert "loaded" in capsys.readouterr().out


def test_checkpoint_names_must_be_file_name_safe(tmp_path, monkeypatch):
    course = _tiny_course(tmp_path, monkeypatch)
    with pytest.raises(ValueError, match="file name"):
        course.checkpoint_path(build_model({"name": "regression", "width": 4}), course.train_config(), name="../x")
