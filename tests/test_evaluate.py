"""Tests of colorlab.evaluate and `colorlab evaluate`: checkpoints scored on held-out images.

Two tiny checkpoints (width 4, a few steps) are trained once with `colorlab train` on the
embedded photos, then scored on a few dozen held-out patches of 32 px. Nothing is downloaded.
"""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
import torch
from torch import nn

from colorlab import cli
from colorlab.color import l_ab_to_rgb, normalize_l, rgb_to_gray, rgb_to_l_ab
from colorlab.colorize import predict_ab
from colorlab.data import LabPairs, load_images, to_float_image
from colorlab.evaluate import (GRAY, TRUTH, Evaluation, Row, evaluate_checkpoints, format_table, held_out_images,
                               paper_claims, save_json)
from colorlab.metrics import auc, colorfulness, rebalanced_auc, uv_loss
from colorlab.models import MODELS
from colorlab.checkpoints import load_checkpoint, save_checkpoint

pytestmark = pytest.mark.usefixtures("one_thread")

SIZE, COUNT, BATCH, SEED = 32, 40, 16, 0  # 40 images in batches of 16: the last batch is a partial one


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs")
    paths = {}
    for model, extra in (("regression", ["--loss", "mse"]), ("classification", ["--rebalance", "0.5"])):
        paths[model] = folder / f"{model}.pt"
        assert cli.main(["train", "--model", model, "--width", "4", "--size", str(SIZE), "--count", "32",
                         "--steps", "4", "--batch-size", "8", "--out", str(paths[model]), *extra]) == 0
    return paths


@pytest.fixture(scope="module")
def evaluation(checkpoints) -> Evaluation:
    return evaluate_checkpoints([checkpoints["regression"], checkpoints["classification"]], data="samples",
                                size=SIZE, count=COUNT, device="cpu", semantic_steps=60, seed=SEED,
                                batch_size=BATCH)


def by_method(rows) -> dict[str, Row]:
    return {row.method: row for row in rows}


@pytest.fixture(scope="module")
def truth() -> torch.Tensor:
    return to_float_image(held_out_images("samples", SIZE, COUNT, SEED))


def test_the_table_has_gray_truth_and_one_row_per_method_and_decoding(evaluation, checkpoints):
    names = [row.method for row in evaluation]
    assert names == [GRAY, "regression (L2)", "classification (lambda=0.5): mode", "classification (lambda=0.5): mean",
                     "classification (lambda=0.5): annealed mean T=0.38",
                     "classification (lambda=0.5): annealed mean T=0.89", TRUTH]
    assert [row.checkpoint for row in evaluation] == [None, str(checkpoints["regression"])] + \
        [str(checkpoints["classification"])] * 4 + [None]
    assert evaluation.info["test_images"] == COUNT and evaluation.info["size"] == SIZE
    text = format_table(evaluation).splitlines()
    table = [line for line in text if line.startswith("|")]
    assert table[0].startswith("| method | checkpoint | UV loss | AuC | rebal. AuC | colorfulness | semantic |")
    assert len(table) == 2 + len(evaluation)
    assert table[2].startswith(f"| {GRAY} |") and table[-1].startswith(f"| {TRUTH} |")
    # every number comes with its interval, and the table says what the interval is
    assert all(line.count("[") == 5 for line in table[2:])
    assert text[-1] == f"[lo, hi]: the 95 % bootstrap interval over the {COUNT} held-out images."
    for row in evaluation:
        assert 0 <= row.auc <= 1 and 0 <= row.rebalanced_auc <= 1 and row.uv_loss >= 0 and row.colorfulness >= 0


def test_the_gray_row_is_colourless_and_is_colorlabs_gray_baseline(evaluation, truth):
    gray = by_method(evaluation)[GRAY]
    assert gray.colorfulness < 0.05
    baseline = rgb_to_gray(truth)  # 000's gray output: the photo's own L, a = b = 0
    assert gray.uv_loss == pytest.approx(float(uv_loss(baseline, truth)), rel=1e-5)
    assert gray.uv_loss > 1e-3  # the held-out photos are colourful: gray is far from free
    _, true_ab = rgb_to_l_ab(truth)
    assert gray.auc == pytest.approx(float(auc(rgb_to_l_ab(baseline)[1], true_ab)), rel=1e-5)


def test_the_truth_row_is_perfect(evaluation, truth):
    row = by_method(evaluation)[TRUTH]
    assert row.uv_loss == 0.0 and row.auc == pytest.approx(1.0, abs=1e-12)
    assert row.rebalanced_auc == pytest.approx(1.0, abs=1e-12)
    assert row.colorfulness == pytest.approx(float(colorfulness(truth)), rel=1e-5)
    assert row.colorfulness > 20


def test_batched_scores_equal_the_metrics_on_the_whole_set_at_once(evaluation, checkpoints, truth):
    """Each row, scored batch by batch, equals colorlab.metrics on all images in one call."""
    l, true_ab = rgb_to_l_ab(truth)
    prior = LabPairs.from_rgb(load_images("samples", "train", size=SIZE, seed=SEED), device="cpu").class_prior()
    rows = by_method(evaluation)
    for name, path, method, temperature in (("regression (L2)", "regression", "annealed", 0.38),
                                            ("classification (lambda=0.5): mode", "classification", "mode", 1.0),
                                            ("classification (lambda=0.5): annealed mean T=0.89", "classification",
                                             "annealed", 0.89)):
        model = load_checkpoint(checkpoints[path])["model"]
        rgb = l_ab_to_rgb(l, predict_ab(model, normalize_l(l), method, temperature))
        ab = rgb_to_l_ab(rgb)[1]
        row = rows[name]
        assert row.uv_loss == pytest.approx(float(uv_loss(rgb, truth)), rel=1e-5), name
        assert row.auc == pytest.approx(float(auc(ab, true_ab)), rel=1e-5), name
        assert row.rebalanced_auc == pytest.approx(float(rebalanced_auc(ab.double(), true_ab.double(), prior)),
                                                   rel=1e-5), name
        assert row.colorfulness == pytest.approx(float(colorfulness(rgb)), rel=1e-5), name
    # the decodings differ: the mode commits to bin centres, the others average
    mode, mean = rows["classification (lambda=0.5): mode"], rows["classification (lambda=0.5): mean"]
    assert mode.colorfulness != mean.colorfulness


def test_the_semantic_classifier_sees_the_true_colours_better_than_chance(evaluation):
    semantic = evaluation.info["semantic"]
    assert semantic["classes"] == 3 and semantic["steps"] == 60  # the three held-out photos
    assert 0 < semantic["chance"] < 1
    rows = by_method(evaluation)
    assert rows[TRUTH].semantic_accuracy > semantic["chance"] + 0.1
    for row in evaluation:
        assert 0 <= row.semantic_accuracy <= 1
        assert (row.semantic_accuracy * COUNT) == pytest.approx(round(row.semantic_accuracy * COUNT))  # k of 40


def test_the_cli_prints_the_device_and_the_table_and_writes_json(checkpoints, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLORLAB_DEVICE", "cpu")
    out = tmp_path / "sub" / "evaluation.json"
    code = cli.main(["evaluate", str(checkpoints["regression"]), str(checkpoints["classification"]),
                     "--data", "samples", "--size", str(SIZE), "--count", "24", "--semantic-steps", "30",
                     "--batch-size", "16", "--temperatures", "0.5", "--json", str(out), "--seed", "1"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "colorlab device: cpu" in printed
    assert "| method | checkpoint | UV loss | AuC | rebal. AuC | colorfulness | semantic |" in printed
    # the papers' orderings that these rows allow, each with a verdict from its interval
    assert "the papers' orderings" in printed
    assert re.search(r"^(agrees|DIFFERS|within noise) +Zhu et al\. \(000\): regression \(L2\) beats gray in UV loss +"
                     r"\(difference [-+]\d", printed, re.M)
    document = json.loads(out.read_text(encoding="utf-8"))
    rows = document["rows"]
    assert [r["method"] for r in rows] == [GRAY, "regression (L2)", "classification (lambda=0.5): mode",
                                           "classification (lambda=0.5): mean",
                                           "classification (lambda=0.5): annealed mean T=0.5", TRUTH]
    for r in rows:
        assert f"| {r['method']} |" in printed
        assert set(r) == {"method", "checkpoint", "uv_loss", "auc", "rebalanced_auc", "colorfulness",
                          "semantic_accuracy", "intervals"}
        for key, (lo, hi) in r["intervals"].items():  # every number with its 95 % interval
            value = r["semantic_accuracy" if key == "semantic" else key]
            assert lo <= value + 1e-12 and value <= hi + 1e-12, (r["method"], key)
        assert all(math.isfinite(r[k]) for k in ("uv_loss", "auc", "rebalanced_auc", "colorfulness",
                                                 "semantic_accuracy"))
    assert rows[-1]["uv_loss"] == 0.0 and rows[-1]["auc"] == pytest.approx(1.0)
    info = document["info"]
    assert info["data"] == "samples" and info["test_images"] == 24 and info["seed"] == 1
    assert [c["model_config"]["name"] for c in info["checkpoints"]] == ["regression", "classification"]
    assert f"wrote {out}" in printed
    assert not list(out.parent.glob(".*tmp"))


def test_a_missing_checkpoint_is_named(checkpoints, tmp_path, capsys):
    missing = tmp_path / "no_such_run.pt"
    code = cli.main(["evaluate", str(checkpoints["regression"]), str(missing), "--size", str(SIZE)])
    err = capsys.readouterr().err
    assert code == 2 and str(missing) in err and "colorlab train" in err and "Traceback" not in err
    with pytest.raises(FileNotFoundError, match="no_such_run.pt"):
        evaluate_checkpoints([missing], device="cpu")


def test_bad_data_is_a_clear_error(checkpoints, tmp_path, capsys, monkeypatch):
    code = cli.main(["evaluate", str(checkpoints["regression"]), "--data", str(tmp_path / "nowhere")])
    err = capsys.readouterr().err
    assert code == 2 and "nowhere" in err and "'samples', 'cifar10'" in err
    # CIFAR-10 not downloaded: the loader's error says how to get it
    monkeypatch.setenv("COLORLAB_DATA", str(tmp_path))
    code = cli.main(["evaluate", str(checkpoints["regression"]), "--data", "cifar10"])
    err = capsys.readouterr().err
    assert code == 2 and "get_cifar10.py" in err
    code = cli.main(["evaluate", str(checkpoints["regression"]), "--data", "cifar10", "--size", "64"])
    assert code == 2 and "32x32" in capsys.readouterr().err


def test_a_checkpoint_of_an_unknown_kind_names_the_known_kinds(tmp_path):
    class Foreign(nn.Module):
        def __init__(self):
            super().__init__()
            self.config = {"name": "vgg16", "width": 4}
            self.conv = nn.Conv2d(1, 2, 1)

    path = save_checkpoint(tmp_path / "foreign.pt", Foreign())
    with pytest.raises(ValueError) as err:
        evaluate_checkpoints([path], device="cpu")
    message = str(err.value)
    assert "foreign.pt" in message and "'vgg16'" in message
    assert all(kind in message for kind in MODELS)


def test_a_run_its_time_limit_stopped_is_footnoted(tmp_path):
    path = tmp_path / "cut.pt"
    assert cli.main(["train", "--model", "regression", "--width", "4", "--size", str(SIZE), "--count", "32",
                     "--steps", "500", "--batch-size", "8", "--seconds", "0", "--out", str(path)]) == 0
    rows = evaluate_checkpoints([path], data="samples", size=SIZE, count=8, device="cpu", semantic_steps=0)
    steps = rows.info["checkpoints"][0]["steps"]
    assert steps < 500
    text = format_table(rows)
    assert f"regression (L2): trained {steps} of 500 steps (stopped by its time limit): not the full run" in text


def test_a_folder_has_no_labels_so_no_semantic_column(checkpoints, tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for i in range(20):  # about 1 in 5 lands in the test split (by a hash of the name): here 3 of 20
        Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(tmp_path / f"photo{i:02d}.png")
    rows = evaluate_checkpoints([checkpoints["regression"]], data=str(tmp_path), size=SIZE, device="cpu")
    assert [r.method for r in rows] == [GRAY, "regression (L2)", TRUTH]
    assert all(r.semantic_accuracy is None for r in rows)
    assert "no labels" in rows.info["semantic"]["skipped"]
    assert format_table(rows).splitlines()[2].endswith(" | - |")
    path = save_json(rows, tmp_path / "e.json")
    assert json.loads(path.read_text())["rows"][0]["semantic_accuracy"] is None


def test_bad_arguments_are_value_errors(checkpoints):
    with pytest.raises(ValueError, match="no checkpoints"):
        evaluate_checkpoints([], device="cpu")
    with pytest.raises(ValueError, match="more than once"):
        evaluate_checkpoints([checkpoints["regression"]] * 2, device="cpu")
    with pytest.raises(ValueError, match="temperatures"):
        evaluate_checkpoints([checkpoints["regression"]], temperatures=(0.38, 0), device="cpu")
    with pytest.raises(ValueError, match="semantic_steps"):
        evaluate_checkpoints([checkpoints["regression"]], semantic_steps=-1, device="cpu")
    with pytest.raises(ValueError, match="format_table"):
        format_table([])


def test_paper_claims_leave_out_what_the_table_cannot_judge():
    plain = "classification (no rebalancing)"
    methods = [GRAY, "regression (L2)", f"{plain}: mode", f"{plain}: annealed mean T=0.89", TRUTH]
    every = paper_claims(methods)
    assert {c.measure for c in every} == {"uv_loss", "semantic"}  # no rebalanced classifier: no Zhang claim
    # a folder of photos has no labels, so no semantic test: only the UV-loss claim is left
    without = paper_claims(methods, ["uv_loss", "auc", "rebalanced_auc", "colorfulness"])
    assert [(c.first, c.second, c.measure) for c in without] == [("regression (L2)", GRAY, "uv_loss")]
    assert paper_claims([GRAY, TRUTH]) == []


def test_two_checkpoints_of_one_kind_get_rows_of_their_own(checkpoints, tmp_path):
    # two regressors (as from two runs of different length) must not share a row and mix their scores
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    first, second, third = tmp_path / "a" / "long.pt", tmp_path / "a" / "short.pt", tmp_path / "b" / "long.pt"
    for copy in (first, second, third):
        copy.write_bytes(checkpoints["regression"].read_bytes())
    rows = evaluate_checkpoints([first, second, third], data="samples", size=SIZE, count=8, device="cpu",
                                semantic_steps=0, seed=SEED, batch_size=BATCH)
    names = [row.method for row in rows][1:-1]  # between gray and truth
    assert names == [f"regression (L2) [{first}]", "regression (L2) [short]", f"regression (L2) [{third}]"]
    assert [c["method"] for c in rows.info["checkpoints"]] == names
    # the same network three times: the same scores, each over the 8 images once
    assert len({row.uv_loss for row in rows[1:-1]}) == 1 and rows.table.n == 8
