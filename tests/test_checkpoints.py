"""Tests of colorlab.checkpoints: what a checkpoint holds, and that a damaged, foreign or hostile file is refused.

The tiny networks and synthetic pairs of tests/test_train.py.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest
import torch

import colorlab
from colorlab.checkpoints import CHECKPOINT_FORMAT, History, load_checkpoint, read_checkpoint, save_checkpoint
from colorlab.models import Autoencoder, RegressionCNN, build_model
from colorlab.train import TrainConfig, fit
from test_train import assert_same_weights, cfg, small, synthetic_pairs, weights

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def pairs():
    return synthetic_pairs()

@pytest.fixture(scope="module")
def trained(pairs, tmp_path_factory):
    """A regression model trained 10 steps with a checkpoint."""
    path = tmp_path_factory.mktemp("ckpt") / "model.pt"
    model = small(seed=3)
    config = cfg(steps=10)
    history = fit(model, pairs, config, checkpoint=path, progress=False)
    return model, path, history, config


def test_checkpoint_rebuilds_the_model_with_identical_weights_and_outputs(trained, pairs):
    model, path, history, config = trained
    state = load_checkpoint(path)
    rebuilt = state["model"]
    assert type(rebuilt) is RegressionCNN and rebuilt.config == model.config
    assert not rebuilt.training
    assert_same_weights(weights(rebuilt), weights(model))
    with torch.no_grad():
        assert torch.equal(rebuilt(pairs.l[:4]), model.eval()(pairs.l[:4]))
    assert state["format"] == CHECKPOINT_FORMAT
    assert state["colorlab_version"] == colorlab.__version__
    assert state["model_config"] == {"name": "regression", "width": 4}
    assert state["history"] == dataclasses.asdict(history)
    assert TrainConfig.from_dict(state["train_config"]) == config
    assert state["optimizer"]["state"], "the optimiser's moments are saved for resuming"


def test_checkpoint_loads_into_a_given_model(trained):
    model, path, _, _ = trained
    target = small(seed=99)
    state = load_checkpoint(path, model=target)
    assert state["model"] is target
    assert_same_weights(weights(target), weights(model))


def test_save_checkpoint_without_training_state(tmp_path):
    model = small(Autoencoder, seed=4)
    path = save_checkpoint(tmp_path / "sub" / "ae.pt", model)
    assert path == tmp_path / "sub" / "ae.pt"
    state = load_checkpoint(path)
    assert isinstance(state["model"], Autoencoder)
    assert_same_weights(weights(state["model"]), weights(model))
    assert state["history"] == dataclasses.asdict(History())
    assert sorted(os.listdir(tmp_path / "sub")) == ["ae.pt"]


def test_mean_color_checkpoint_keeps_its_colour(tmp_path):
    model = build_model({"name": "mean_color"}).fit(torch.full((2, 2, 3, 3), -0.3))
    save_checkpoint(tmp_path / "m.pt", model)
    rebuilt = load_checkpoint(tmp_path / "m.pt")["model"]
    torch.testing.assert_close(rebuilt.mean_ab, torch.tensor([-0.3, -0.3]))


def test_checkpoints_are_read_with_weights_only(trained, monkeypatch):
    _, path, _, _ = trained
    calls = []
    real_load = torch.load

    def spy(*args, **kwargs):
        calls.append(kwargs.get("weights_only"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    load_checkpoint(path)
    assert calls == [True]


class Payload:
    """Runs code when unpickled: what a malicious checkpoint would carry."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').write('ran')",))


def test_a_checkpoint_with_code_in_it_is_refused_and_the_code_does_not_run(tmp_path):
    marker = tmp_path / "payload-ran"
    model = small()
    evil = {
        "format": CHECKPOINT_FORMAT, "colorlab_version": colorlab.__version__, "model_config": dict(model.config),
        "state_dict": model.state_dict(), "history": dataclasses.asdict(History()), "train_config": {},
        "optimizer": {}, "extra": Payload(marker),
    }
    path = tmp_path / "evil.pt"
    torch.save(evil, path)
    before = weights(model)
    with pytest.raises(ValueError, match="not a readable colorlab checkpoint"):
        load_checkpoint(path, model=model)
    assert not marker.exists()
    assert_same_weights(weights(model), before)
    # the payload is real: an unsafe load would have run it
    torch.load(path, weights_only=False)
    assert marker.read_text() == "ran"


def test_a_failed_save_leaves_the_old_checkpoint_and_no_temporary_file(trained, tmp_path, monkeypatch):
    model, path, _, _ = trained
    target = tmp_path / "keep.pt"
    target.write_bytes(path.read_bytes())
    old = target.read_bytes()

    def broken_save(obj, f, *args, **kwargs):
        Path(f).write_bytes(b"PK\x03\x04 half a checkpoint")  # a partial write, then the disk fills up
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="No space"):
        save_checkpoint(target, small(seed=5))
    assert target.read_bytes() == old
    assert sorted(os.listdir(tmp_path)) == ["keep.pt"]
    monkeypatch.undo()
    assert_same_weights(weights(load_checkpoint(target)["model"]), weights(model))


def test_a_failed_rename_leaves_no_temporary_file(tmp_path, monkeypatch):
    def broken_replace(src, dst):
        raise PermissionError("read-only target")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(PermissionError):
        save_checkpoint(tmp_path / "c.pt", small())
    assert os.listdir(tmp_path) == []


def test_fit_with_a_failing_save_raises_and_leaves_no_file(pairs, tmp_path, monkeypatch):
    def broken_save(obj, f, *args, **kwargs):
        raise OSError("disk gone")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk gone"):
        fit(small(), pairs, cfg(steps=1, log_every=1), checkpoint=tmp_path / "c.pt", progress=False)
    assert os.listdir(tmp_path) == []


def _damaged_files(path: Path, folder: Path) -> dict[str, Path]:
    data = path.read_bytes()
    files = {}
    files["truncated"] = folder / "truncated.pt"
    files["truncated"].write_bytes(data[: len(data) // 2])
    files["random"] = folder / "random.pt"
    files["random"].write_bytes(bytes(torch.randint(0, 256, (4096,), generator=torch.Generator().manual_seed(0),
                                                    dtype=torch.uint8).tolist()))
    files["empty"] = folder / "empty.pt"
    files["empty"].write_bytes(b"")
    files["plain_dict"] = folder / "plain.pt"
    torch.save({"state_dict": RegressionCNN(4).state_dict()}, files["plain_dict"])
    files["plain_tensor"] = folder / "tensor.pt"
    torch.save(torch.zeros(3), files["plain_tensor"])
    files["other_format"] = folder / "other.pt"
    torch.save({"format": "someone-elses-1"}, files["other_format"])
    state = torch.load(path, weights_only=True)
    del state["state_dict"]
    files["no_state_dict"] = folder / "incomplete.pt"
    torch.save(state, files["no_state_dict"])
    return files


DAMAGE_MESSAGES = {
    "truncated": "not a readable colorlab checkpoint",
    "random": "not a readable colorlab checkpoint",
    "empty": "not a readable colorlab checkpoint",
    "plain_dict": "format None",
    "plain_tensor": "not a colorlab checkpoint",
    "other_format": "someone-elses-1",
    "no_state_dict": "state_dict",
}


@pytest.mark.parametrize("kind", sorted(DAMAGE_MESSAGES))
def test_damaged_or_foreign_files_are_value_errors_and_leave_the_model_alone(trained, tmp_path, kind):
    _, path, _, _ = trained
    bad = _damaged_files(path, tmp_path)[kind]
    model = small(seed=6)
    before = weights(model)
    with pytest.raises(ValueError, match=DAMAGE_MESSAGES[kind]) as info:
        load_checkpoint(bad, model=model)
    assert str(bad) in str(info.value)
    assert_same_weights(weights(model), before)
    with pytest.raises(ValueError):
        load_checkpoint(bad)


def test_a_checkpoint_of_another_width_is_refused_by_a_given_model(tmp_path):
    path = save_checkpoint(tmp_path / "w8.pt", small(width=8))
    model = small(width=4, seed=7)
    before = weights(model)
    with pytest.raises(ValueError, match="'width': 8.*'width': 4"):
        load_checkpoint(path, model=model)
    assert_same_weights(weights(model), before)
    # without a given model it rebuilds the width 8 network
    assert load_checkpoint(path)["model"].config == {"name": "regression", "width": 8}


def test_weights_that_do_not_fit_the_configuration_load_nothing(tmp_path):
    # a file whose configuration says width 4 but whose weights are width 8
    liar = small(width=8)
    liar.config = {"name": "regression", "width": 4}
    path = save_checkpoint(tmp_path / "liar.pt", liar)
    model = small(width=4, seed=8)
    before = weights(model)
    with pytest.raises(ValueError, match="wrong shape"):
        load_checkpoint(path, model=model)
    assert_same_weights(weights(model), before)
    with pytest.raises(ValueError, match="wrong shape"):
        load_checkpoint(path)


def test_a_checkpoint_of_another_architecture_is_refused(tmp_path):
    path = save_checkpoint(tmp_path / "ae.pt", small(Autoencoder))
    model = small(RegressionCNN)
    before = weights(model)
    with pytest.raises(ValueError, match="autoencoder"):
        load_checkpoint(path, model=model)
    assert_same_weights(weights(model), before)


def test_a_missing_checkpoint_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing-here.pt"):
        load_checkpoint(tmp_path / "nothing-here.pt")
    with pytest.raises(FileNotFoundError):
        read_checkpoint(tmp_path)  # a folder is not a checkpoint file


def test_read_checkpoint_maps_to_the_device(trained):
    _, path, _, _ = trained
    state = read_checkpoint(path, device="cpu")
    assert all(v.device.type == "cpu" for v in state["state_dict"].values())


# ------------------------------------------------------------- hostile checkpoints

@pytest.mark.parametrize("width", [160, 10**6])
def test_a_checkpoint_whose_configuration_lies_about_its_size_costs_no_memory(trained, tmp_path, width):
    import resource

    _, path, _, _ = trained
    state = torch.load(path, weights_only=True)
    state["model_config"]["width"] = width  # the weights are still width 4's
    lying = tmp_path / "lying.pt"
    torch.save(state, lying)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ValueError, match=rf"do not fit the model \{{'name': 'regression', 'width': {width}\}}"):
        load_checkpoint(lying)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 100, grown_mb  # width 160 would take about 1 GB; width 10**6 could not be allocated


def test_a_checkpoint_with_an_unbuildable_configuration_is_a_value_error(trained, tmp_path):
    _, path, _, _ = trained
    state = torch.load(path, weights_only=True)
    state["model_config"] = {"name": "regression", "width": -3}
    torch.save(state, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="not one colorlab can build"):
        load_checkpoint(tmp_path / "bad.pt")


def test_a_code_running_checkpoint_is_refused_without_advice_to_unpickle_it(tmp_path):
    class RunsCode:
        def __reduce__(self):
            return (os.system, ("echo pwned > " + str(tmp_path / "pwned"),))

    torch.save({"format": CHECKPOINT_FORMAT, "model_config": RunsCode()}, tmp_path / "evil.pt")
    with pytest.raises(ValueError) as refused:
        load_checkpoint(tmp_path / "evil.pt")
    assert "never unpickles" in str(refused.value)
    assert "weights_only" not in str(refused.value) and refused.value.__cause__ is None
    assert not (tmp_path / "pwned").exists()
