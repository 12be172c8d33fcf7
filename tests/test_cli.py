import os
from pathlib import Path
import matplotlib
import pytest
import torch

from colorlab import cli
from colorlab.course import CourseSize
from colorlab.demo import run_demo

matplotlib.use("Agg")


def test_tour_prints_device_and_writes_the_figure(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLORLAB_DEVICE", "cpu")
    assert cli.main(["tour", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "colorlab device: cpu" in out and "astronaut" in out and "grace_hopper" in out
    figure = tmp_path / "tour_lab_channels.png"
    assert figure.stat().st_size > 10_000
    assert not list(tmp_path.glob(".*tmp"))


def test_demo_is_reproducible_counts_its_steps_and_shows_whole_photos(tmp_path, capsys):
    # the whole pipeline at a tiny size; the real figures come from `bash run.sh demo`
    from PIL import Image

    from colorlab.data import TEST_PHOTOS, load_photo

    size = CourseSize("tiny", patch=32, train_count=64, test_count=8, width=4, batch_size=16, steps=5, seconds=600)
    table = run_demo(tmp_path / "first", size=size, progress=True)
    first = capsys.readouterr()
    again = run_demo(tmp_path / "again", size=size, progress=False)
    # the same seed trains the same networks: every per-image score is equal bit for bit, so is the printed table
    assert str(again) == str(table) and "5 steps in" in first.out
    for method, scores in table.scores.items():
        for measure, values in scores.items():
            assert torch.equal(again.scores[method][measure], values), (method, measure)
    assert set(table.methods) >= {"gray output", "regression (L2)", "classification: mode", "truth"}
    assert table.mean("truth", "uv_loss") == pytest.approx(0, abs=1e-6) and table.mean("truth", "auc") == pytest.approx(1)
    assert table.mean("gray output", "colorfulness") < 1
    assert "UV loss" in first.out
    # each network's bar counts the steps it trains, not a large number that a time limit cuts short
    assert first.err.count("0/5 [") >= 2 and "100000" not in first.err
    # the figure holds the held-out photos one image pixel to one figure pixel, beside the patches
    width, height = Image.open(tmp_path / "first" / "demo.png").size
    photos = [load_photo(name).shape for name in TEST_PHOTOS]
    assert width > sum(w for _, w, _ in photos) + 3 * 32 and height > 4 * max(h for h, _, _ in photos)


def test_cli_reports_bad_input_in_one_line(capsys, monkeypatch):
    monkeypatch.setenv("COLORLAB_DEVICE", "no-such-device")
    assert cli.main(["tour"]) == 2
    assert "error:" in capsys.readouterr().err


def test_train_then_colorize_many_photos_skipping_a_bad_one(tmp_path, capsys):
    import numpy as np
    from PIL import Image

    checkpoint = tmp_path / "cls.pt"
    assert cli.main(["train", "--model", "classification", "--width", "4", "--size", "32", "--count", "32",
                     "--steps", "3", "--batch-size", "8", "--out", str(checkpoint)]) == 0
    assert checkpoint.is_file()
    good = tmp_path / "good.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 50, 3), dtype=np.uint8)).save(good)
    gray = tmp_path / "gray.jpg"
    Image.fromarray(np.full((30, 20), 128, dtype=np.uint8)).save(gray)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg at all")
    out = tmp_path / "out"
    code = cli.main(["colorize", str(good), str(broken), str(gray), "--checkpoint", str(checkpoint),
                     "--out", str(out), "--temperature", "0.5"])
    assert code == 1  # one input failed: the whole command did not do what it was asked
    assert Image.open(out / "good_color.png").size == (50, 40)
    assert Image.open(out / "gray_color.png").size == (20, 30)
    assert not (out / "broken_color.png").exists()
    printed = capsys.readouterr()
    assert "colorized 2 of 3 photos" in printed.out and "1 failed" in printed.out
    assert "broken.jpg" in printed.out + printed.err
    assert cli.main(["colorize", str(good), str(gray), "--checkpoint", str(checkpoint), "--out", str(out)]) == 0

    # inputs of the same name never overwrite each other's output; the same file twice is done once
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    for folder in ("a", "b"):
        Image.fromarray(np.random.default_rng(1).integers(0, 256, (20, 20, 3), dtype=np.uint8)).save(
            tmp_path / folder / "photo.jpg")
    Image.fromarray(np.zeros((20, 20, 3), dtype=np.uint8)).save(tmp_path / "photo.png")
    named = tmp_path / "named"
    inputs = [str(tmp_path / "a" / "photo.jpg"), str(tmp_path / "b" / "photo.jpg"), str(tmp_path / "photo.png"),
              str(tmp_path / "photo.png")]
    capsys.readouterr()
    assert cli.main(["colorize", *inputs, "--checkpoint", str(checkpoint), "--out", str(named)]) == 0
    assert sorted(p.name for p in named.iterdir()) == ["photo_2_color.png", "photo_jpg_color.png",
                                                        "photo_png_color.png"]
    assert "colorized 3 of 3 photos" in capsys.readouterr().out


def test_output_names_are_distinct_and_readable():
    assert cli.output_names(["x/cat.jpg", "dog.png"]) == {Path("x/cat.jpg"): "cat_color.png",
                                                          Path("dog.png"): "dog_color.png"}
    names = cli.output_names(["a/p.jpg", "b/p.jpg", "P.png", "a/p.jpg"])
    assert list(names) == [Path("a/p.jpg"), Path("b/p.jpg"), Path("P.png")]  # a/p.jpg once
    assert list(names.values()) == ["p_jpg_color.png", "p_2_color.png", "P_png_color.png"]


@pytest.mark.parametrize("extra, message", [
    (["--work-size", "0"], "--work-size must be at least 16 pixels, got 0"),
    (["--work-size", "-5"], "--work-size must be at least 16"),
    (["--work-size", "1"], "--work-size must be at least 16"),
    (["--temperature", "0"], "--temperature must be a positive number"),
])
def test_colorize_refuses_bad_numbers_before_reading_anything(tmp_path, capsys, extra, message):
    out = tmp_path / "out"
    assert cli.main(["colorize", "nothing.jpg", "--checkpoint", "missing.pt", "--out", str(out), *extra]) == 2
    err = capsys.readouterr().err
    assert message.split(", got")[0] in err and err.count("\n") == 1
    assert not out.exists()


def test_colorize_refuses_an_output_that_is_a_file(tmp_path, capsys):
    blocker = tmp_path / "out.png"
    blocker.write_bytes(b"mine")
    assert cli.main(["colorize", "x.jpg", "--checkpoint", "missing.pt", "--out", str(blocker)]) == 2
    assert "is a file; give a folder" in capsys.readouterr().err
    assert blocker.read_bytes() == b"mine"


# ------------------------------------------------------------- bad input to `colorlab train`

TRAIN = ["train", "--model", "regression", "--width", "4", "--size", "16", "--count", "8", "--batch-size", "4",
         "--steps", "2"]


def _replace(args, flag, value):
    args = list(args)
    args[args.index(flag) + 1] = value
    return args


@pytest.mark.parametrize("change, message", [
    (("--width", "0"), "--width must be a whole number >= 1, got 0"),
    (("--steps", "0"), "--steps must be a whole number >= 1, got 0"),
    (("--steps", "-5"), "--steps must be a whole number >= 1, got -5"),
    (("--batch-size", "0"), "--batch-size must be a whole number >= 1"),
    (("--size", "-1"), "--size must be a whole number >= 1"),
    (("--count", "0"), "--count must be a whole number >= 1"),
])
def test_train_refuses_bad_numbers_in_one_line_before_any_work(tmp_path, capsys, monkeypatch, change, message):
    import colorlab.data

    monkeypatch.setattr(colorlab.data, "load_images", lambda *a, **k: pytest.fail("data was read"))
    out = tmp_path / "run.pt"
    assert cli.main(_replace(TRAIN, *change) + ["--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert not out.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("extra, message", [(["--lr", "0"], "--lr must be a positive number, got 0.0"),
                                            (["--lr", "nan"], "--lr must be a positive number, got nan"),
                                            (["--seconds", "-1"], "--seconds must be a number of seconds >= 0")])
def test_train_refuses_bad_rates_and_budgets(tmp_path, capsys, extra, message):
    assert cli.main(TRAIN + extra + ["--out", str(tmp_path / "run.pt")]) == 2
    assert message in capsys.readouterr().err


def test_train_checks_its_output_path_before_training(tmp_path, capsys, monkeypatch):
    import colorlab.data

    monkeypatch.setattr(colorlab.data, "load_images", lambda *a, **k: pytest.fail("data was read"))
    folder = tmp_path / "a-folder"
    folder.mkdir()
    assert cli.main(TRAIN + ["--out", str(folder)]) == 2
    assert "is a folder; give a file name" in capsys.readouterr().err
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert cli.main(TRAIN + ["--out", str(blocker / "run.pt")]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    if os.geteuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        assert cli.main(TRAIN + ["--out", str(locked / "run.pt")]) == 2
        assert "permission denied" in capsys.readouterr().err


def test_train_resume_with_changed_settings_is_refused_and_keeps_the_checkpoint(tmp_path, capsys):
    out = tmp_path / "run.pt"
    assert cli.main(TRAIN + ["--out", str(out)]) == 0
    before = out.read_bytes()
    capsys.readouterr()
    assert cli.main(TRAIN + ["--lr", "0.01", "--resume", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "lr=0.001 -> 0.01" in err and "only --steps and --seconds may change" in err and err.count("\n") == 1
    assert cli.main(_replace(TRAIN, "--width", "8") + ["--resume", "--out", str(out)]) == 2
    assert "'width': 4" in capsys.readouterr().err
    assert out.read_bytes() == before
    assert cli.main(_replace(TRAIN, "--steps", "4") + ["--resume", "--out", str(out)]) == 0  # longer: allowed
    assert "4 steps" in capsys.readouterr().out
