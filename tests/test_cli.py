import matplotlib
import pytest

from colorlab import cli
from colorlab.demo import DemoSize, run_demo

matplotlib.use("Agg")


def test_tour_prints_device_and_writes_the_figure(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLORLAB_DEVICE", "cpu")
    assert cli.main(["tour", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "colorlab device: cpu" in out and "astronaut" in out and "grace_hopper" in out
    figure = tmp_path / "tour_lab_channels.png"
    assert figure.stat().st_size > 10_000
    assert not list(tmp_path.glob(".*tmp"))


def test_demo_runs_end_to_end_on_a_tiny_budget(tmp_path, capsys):
    # a smoke test of the whole pipeline; the real figures come from `bash run.sh demo`
    size = DemoSize(width=4, patch=32, train_count=64, test_count=8, batch_size=16, seconds_per_model=2)
    rows = run_demo(tmp_path, size=size, progress=False)
    assert set(rows) >= {"gray output", "regression (L2)", "classification: mode", "truth"}
    assert rows["truth"]["UV loss"] == pytest.approx(0, abs=1e-6) and rows["truth"]["AuC"] == pytest.approx(1)
    assert rows["gray output"]["colorfulness"] < 1
    assert (tmp_path / "demo.png").stat().st_size > 10_000
    assert "UV loss" in capsys.readouterr().out


def test_cli_reports_bad_input_in_one_line(capsys, monkeypatch):
    monkeypatch.setenv("COLORLAB_DEVICE", "no-such-device")
    assert cli.main(["tour"]) == 2
    assert "error:" in capsys.readouterr().err
