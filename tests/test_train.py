"""Tests of colorlab.train: the training loop, its history, resuming, and the fast CPU path.

Tiny networks (width 4) on 16 synthetic 16x16 images whose colour is a smooth function of
their lightness, so a few dozen CPU steps are enough to see the loss go down. Every check
of time uses a fake clock, never the wall clock.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import colorlab
import colorlab.objectives as objectives
import colorlab.train as train
from colorlab.checkpoints import load_checkpoint
from colorlab.data import LabPairs
from colorlab.models import Autoencoder, ClassificationCNN, RegressionCNN
from colorlab.quantize import NUM_BINS
from colorlab.train import TrainConfig, fit


pytestmark = pytest.mark.usefixtures("one_thread")


def synthetic_pairs(n: int = 16, size: int = 16, seed: int = 0) -> LabPairs:
    """Smooth random lightness fields coloured by a fixed map: red-yellow where bright, blue where dark."""
    g = torch.Generator().manual_seed(seed)
    v = F.interpolate(torch.rand(n, 1, 4, 4, generator=g), size=(size, size), mode="bilinear", align_corners=False)
    lo, hi = v.amin(dim=(2, 3), keepdim=True), v.amax(dim=(2, 3), keepdim=True)
    v = (v - lo) / (hi - lo)
    rgb = torch.cat([v, 0.3 + 0.4 * v**2, 1 - v], dim=1).clamp(0, 1)
    return LabPairs.from_rgb(rgb, device="cpu")


@pytest.fixture(scope="module")
def pairs() -> LabPairs:
    return synthetic_pairs()


def small(cls=RegressionCNN, seed: int = 0, width: int = 4):
    torch.manual_seed(seed)
    return cls(width=width)


def cfg(**kw) -> TrainConfig:
    base = dict(steps=10, batch_size=8, lr=3e-3, log_every=5, seed=0)
    base.update(kw)
    return TrainConfig(**base)


def weights(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def assert_same_weights(a: dict, b: dict):
    assert list(a) == list(b)
    for k in a:
        assert torch.equal(a[k], b[k]), k


class FakeClock:
    """Stands in for the ``time`` module inside colorlab.train: each call advances one second."""

    def __init__(self):
        self.now = 0.0

    def perf_counter(self):
        self.now += 1.0
        return self.now


# ---------------------------------------------------------------- training


@pytest.mark.parametrize("cls,loss", [(RegressionCNN, "mse"), (Autoencoder, "mse"), (RegressionCNN, "blur"),
                                      (RegressionCNN, "smooth_l1")])
def test_fit_lowers_the_regression_loss(pairs, cls, loss):
    model = small(cls)
    history = fit(model, pairs, cfg(steps=40, batch_size=16, loss=loss), progress=False)
    assert history.step == [5, 10, 15, 20, 25, 30, 35, 40]
    assert all(torch.isfinite(torch.tensor(history.loss)))
    assert history.loss[-1] < 0.9 * history.loss[0], history.loss
    assert not model.training, "fit leaves the model in eval mode"


def test_fit_lowers_the_classification_loss(pairs):
    model = small(ClassificationCNN)
    history = fit(model, pairs, cfg(steps=30, batch_size=16), progress=False)
    assert history.step == [5, 10, 15, 20, 25, 30]
    assert history.loss[-1] < 0.85 * history.loss[0], history.loss
    # it starts near the loss of a uniform guess over the 313 bins, and beats it
    assert history.loss[-1] < torch.log(torch.tensor(float(NUM_BINS))).item()


def test_fit_trained_model_beats_the_gray_baseline(pairs):
    model = small(RegressionCNN)
    fit(model, pairs, cfg(steps=40, batch_size=16), progress=False)
    with torch.no_grad():
        trained = F.mse_loss(model(pairs.l), pairs.ab).item()
    gray = pairs.ab.square().mean().item()
    assert trained < gray


def test_halve_every_halves_the_learning_rate(pairs, monkeypatch):
    applied = []
    real_step = torch.optim.Adam.step

    def step(self, *args, **kwargs):
        applied.append(self.param_groups[0]["lr"])
        return real_step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", step)
    history = fit(small(), pairs, cfg(steps=12, log_every=1, lr=1e-3, halve_every=4), progress=False)
    expected = [1e-3 * 0.5 ** (i // 4) for i in range(12)]
    assert applied == pytest.approx(expected)
    assert history.step == list(range(1, 13))
    # history.lr[i] is the rate of the last step of the i-th logging interval
    assert history.lr == pytest.approx(expected)
    assert history.lr[0] == pytest.approx(1e-3) and history.lr[-1] == pytest.approx(2.5e-4)


def test_without_halve_every_the_learning_rate_is_constant(pairs):
    history = fit(small(), pairs, cfg(steps=6, log_every=2, lr=2e-3), progress=False)
    assert history.lr == pytest.approx([2e-3] * 3)


def test_time_budget_zero_stops_before_any_step(pairs, tmp_path):
    model = small()
    before = weights(model)
    history = fit(model, pairs, cfg(steps=10, time_budget=0), checkpoint=tmp_path / "c.pt", progress=False)
    assert history.step == [] and history.loss == [] and history.lr == []
    assert history.images_seen == 0 and history.steps_done == 0
    assert_same_weights(weights(model), before)
    state = load_checkpoint(tmp_path / "c.pt")
    assert state["history"]["step"] == []


def test_time_budget_stops_early(pairs, monkeypatch):
    monkeypatch.setattr(train, "time", FakeClock())
    history = fit(small(), pairs, cfg(steps=100, log_every=5, time_budget=10.5), progress=False)
    assert 0 < history.images_seen < 100 * 8
    assert history.steps_done < 100


def test_time_budget_stop_keeps_the_history_consistent_and_resumable(pairs, monkeypatch, tmp_path):
    # With the fake clock a budget of 12.5 s allows exactly 12 steps: logs at 5 and 10, then 2 more steps
    # that the history must still record, or a resume would redo them.
    monkeypatch.setattr(train, "time", FakeClock())
    path = tmp_path / "c.pt"
    history = fit(small(), pairs, cfg(steps=100, log_every=5, time_budget=12.5), checkpoint=path, progress=False,
                  save_seconds=None)  # no periodic save: its clock reads would advance the fake clock
    optimizer_steps = {int(s["step"]) for s in load_checkpoint(path)["optimizer"]["state"].values()}
    assert optimizer_steps == {12}
    assert history.images_seen == 12 * 8
    assert history.step == [5, 10, 12]
    assert history.steps_done == 12
    assert len(history.loss) == len(history.lr) == 3
    # resuming continues from step 12 exactly
    monkeypatch.undo()
    resumed = fit(small(seed=1), pairs, cfg(steps=20, log_every=5), checkpoint=path, resume=True, progress=False)
    assert resumed.step == [5, 10, 12, 17, 20]
    assert resumed.images_seen == 20 * 8
    assert {int(s["step"]) for s in load_checkpoint(path)["optimizer"]["state"].values()} == {20}


@pytest.mark.parametrize("steps,log_every,expected", [(12, 5, [5, 10, 12]), (10, 5, [5, 10]), (3, 10, [3]),
                                                      (4, 1, [1, 2, 3, 4])])
def test_history_fields_are_consistent(pairs, steps, log_every, expected):
    history = fit(small(), pairs, cfg(steps=steps, log_every=log_every, batch_size=8), progress=False)
    assert history.step == expected
    assert len(history.loss) == len(history.lr) == len(history.step)
    assert history.steps_done == steps
    assert history.images_seen == steps * 8
    assert history.seconds > 0
    assert all(isinstance(x, float) for x in history.loss)


def test_batch_size_larger_than_the_data_uses_all_of_it():
    data = synthetic_pairs(n=5, size=16, seed=2)
    history = fit(small(), data, cfg(steps=3, batch_size=32, log_every=1), progress=False)
    assert history.images_seen == 3 * 5


def test_fit_is_deterministic_on_cpu(pairs):
    a, b = small(seed=1), small(seed=1)
    ha = fit(a, pairs, cfg(steps=10), progress=False)
    hb = fit(b, pairs, cfg(steps=10), progress=False)
    assert ha.loss == hb.loss
    assert_same_weights(weights(a), weights(b))
    # and the seed matters: another seed visits other batches
    c = small(seed=1)
    hc = fit(c, pairs, cfg(steps=10, seed=7), progress=False)
    assert hc.loss != ha.loss


def test_fit_rejects_bad_input(pairs):
    with pytest.raises(ValueError, match="LabPairs"):
        fit(small(), (pairs.l, pairs.ab), cfg(), progress=False)
    empty = LabPairs(torch.zeros(0, 1, 16, 16), torch.zeros(0, 2, 16, 16))
    with pytest.raises(ValueError, match="empty"):
        fit(small(), empty, cfg(), progress=False)
    with pytest.raises(ValueError, match="nope"):
        fit(small(), pairs, cfg(loss="nope"), progress=False)


def test_a_non_finite_loss_stops_training(pairs, monkeypatch):
    monkeypatch.setattr(objectives, "regression_loss", lambda name: lambda pred, target: (pred - target).mean() * float("nan"))
    with pytest.raises(FloatingPointError, match="step 2"):
        fit(small(), pairs, cfg(steps=4, log_every=2), progress=False)


def test_train_config_from_dict():
    config = TrainConfig.from_dict({"steps": 7, "loss": "blur"})
    assert config.steps == 7 and config.loss == "blur" and config.batch_size == TrainConfig().batch_size
    with pytest.raises(ValueError, match="stepz"):
        TrainConfig.from_dict({"stepz": 7})


# ----------------------------------------------------------------- resume


@pytest.fixture(scope="module")
def resumed(pairs, tmp_path_factory):
    """20 steps with a checkpoint, then resumed to 40; and an uninterrupted 40-step run."""
    folder = tmp_path_factory.mktemp("resume")
    path = folder / "run.pt"
    config20, config40 = cfg(steps=20, log_every=5), cfg(steps=40, log_every=5)
    model = small(seed=11)
    first = fit(model, pairs, config20, checkpoint=path, progress=False)
    at_20 = weights(model)
    (folder / "at20.pt").write_bytes(path.read_bytes())
    second = fit(model, pairs, config40, checkpoint=path, resume=True, progress=False)
    straight_model = small(seed=11)
    straight = fit(straight_model, pairs, config40, progress=False)
    return dict(path=path, at20_path=folder / "at20.pt", first=first, second=second, model=model, at_20=at_20,
                straight=straight, straight_model=straight_model, config40=config40)


def test_resume_continues_the_history_from_step_20(resumed):
    first, second = resumed["first"], resumed["second"]
    assert first.step == [5, 10, 15, 20]
    assert second.step == [5, 10, 15, 20, 25, 30, 35, 40]
    assert second.steps_done == 40
    assert second.loss[:4] == first.loss
    assert second.images_seen == 40 * 8
    assert second.seconds >= first.seconds
    # and the saved history says so too
    assert load_checkpoint(resumed["path"])["history"]["step"][-1] == 40


def test_resume_restores_the_optimizer_state(resumed):
    state = load_checkpoint(resumed["path"])
    steps = {int(s["step"]) for s in state["optimizer"]["state"].values()}
    assert steps == {40}  # 20 restored + 20 new; a fresh Adam would say 20


def test_resume_trains_on_from_the_checkpoint_weights(resumed, pairs, tmp_path):
    # Whatever weights the given model holds, a resume starts from the file's.
    copy = tmp_path / "run.pt"
    copy.write_bytes(resumed["at20_path"].read_bytes())
    fresh = small(seed=12)
    fit(fresh, pairs, resumed["config40"], checkpoint=copy, resume=True, progress=False)
    assert_same_weights(weights(fresh), weights(resumed["model"]))


def test_the_first_20_steps_match_an_uninterrupted_run(resumed):
    assert resumed["straight"].loss[:4] == resumed["first"].loss
    assert resumed["straight"].step == resumed["second"].step
    assert resumed["straight"].images_seen == resumed["second"].images_seen


def test_resume_when_the_steps_are_already_done_changes_nothing(resumed, pairs, tmp_path):
    copy = tmp_path / "run.pt"
    copy.write_bytes(resumed["at20_path"].read_bytes())
    model = small(seed=13)
    history = fit(model, pairs, cfg(steps=20), checkpoint=copy, resume=True, progress=False)
    assert history.step == [5, 10, 15, 20]
    assert_same_weights(weights(model), resumed["at_20"])


def test_resume_without_a_checkpoint_file_starts_from_scratch(pairs, tmp_path):
    a = small(seed=14)
    ha = fit(a, pairs, cfg(steps=5), checkpoint=tmp_path / "new.pt", resume=True, progress=False)
    b = small(seed=14)
    hb = fit(b, pairs, cfg(steps=5), progress=False)
    assert ha.loss == hb.loss
    assert_same_weights(weights(a), weights(b))
    assert (tmp_path / "new.pt").is_file()


def test_resume_refuses_a_checkpoint_of_another_model(resumed, pairs, tmp_path):
    copy = tmp_path / "run.pt"
    copy.write_bytes(resumed["at20_path"].read_bytes())
    with pytest.raises(ValueError, match="width"):
        fit(small(width=8), pairs, cfg(steps=30), checkpoint=copy, resume=True, progress=False)


# ------------------------------------------------------------- the fast CPU path

def _dtypes_seen(model, pairs, **config):
    seen = []
    # training steps only (with gradients), not the batch-norm statistics recomputed at the end
    handle = model.head.register_forward_hook(
        lambda module, inputs, output: seen.append(output.dtype) if torch.is_grad_enabled() else None)
    try:
        fit(model, pairs, cfg(steps=2, log_every=1, **config), progress=False)
    finally:
        handle.remove()
    return set(seen)


@pytest.mark.skipif(not colorlab.device.fast_bf16("cpu"), reason="this CPU computes bf16 by emulation")
def test_fit_trains_in_bf16_on_a_cpu_that_computes_in_bf16(pairs):
    assert _dtypes_seen(small(RegressionCNN), pairs) == {torch.bfloat16}
    assert _dtypes_seen(small(ClassificationCNN), pairs) == {torch.bfloat16}
    assert _dtypes_seen(small(RegressionCNN), pairs, amp=False) == {torch.float32}


def test_fit_stays_in_float32_where_bf16_would_be_emulated(pairs, monkeypatch):
    monkeypatch.setattr(train, "fast_bf16", lambda device: False)
    assert _dtypes_seen(small(RegressionCNN), pairs) == {torch.float32}


def test_fit_trains_channels_last_on_a_cpu_and_returns_the_model_contiguous(pairs):
    model = small(RegressionCNN)
    conv = model.trunk.blocks[1][0]  # weight (8, 4, 3, 3): channels_last and contiguous differ
    formats = []
    handle = conv.register_forward_hook(
        lambda module, inputs, output: formats.append(module.weight.is_contiguous(memory_format=torch.channels_last)
                                                      and inputs[0].is_contiguous(memory_format=torch.channels_last))
        if torch.is_grad_enabled() else None)
    fit(model, pairs, cfg(steps=2, log_every=1), progress=False)
    handle.remove()
    assert formats == [True, True]
    assert conv.weight.is_contiguous()


@pytest.mark.skipif(not colorlab.device.fast_bf16("cpu"), reason="this CPU computes bf16 by emulation")
@pytest.mark.parametrize("cls", [RegressionCNN, ClassificationCNN])
def test_bf16_and_float32_runs_follow_the_same_loss_curve(pairs, cls):
    """The same start and batches in both precisions: the curves stay within a few per cent of each other
    (benchmarks/records/bf16_vs_fp32_cifar10_cpu.txt compares whole trainings on CIFAR-10: bf16's curve
    lies 6-17 times closer to float32's than another float32 seed's does)."""
    curves = {}
    for amp in (True, False):
        curves[amp] = fit(small(cls), pairs, cfg(steps=60, log_every=10, amp=amp), progress=False).loss
    assert len(curves[True]) == len(curves[False]) == 6
    gaps = [abs(a - b) / b for a, b in zip(curves[True], curves[False])]
    assert max(gaps) < 0.05, (curves, gaps)
    assert curves[True][-1] < curves[True][0] and curves[False][-1] < curves[False][0]


def test_batch_norm_statistics_are_those_of_the_final_weights(pairs):
    """After fit, each batch norm's running statistics are the plain average over the first batches of the
    data in order, computed with the final weights: recomputing them changes nothing."""
    model = small(RegressionCNN)
    fit(model, pairs, cfg(steps=10, lr=3e-2), progress=False)
    assert not model.training
    after_fit = {k: v.clone() for k, v in model.state_dict().items() if "running" in k}
    train.recompute_batch_norm(model, pairs, batch_size=8)
    for key, value in after_fit.items():
        torch.testing.assert_close(model.state_dict()[key], value, msg=key)
    # by hand, for the first batch norm: the mean of its input over the two batches of 8
    norm = model.trunk.blocks[0][4]
    inputs = []
    handle = norm.register_forward_hook(lambda module, x, out: inputs.append(x[0].detach()))
    with torch.no_grad():
        model(pairs.l[:8]), model(pairs.l[8:16])
    handle.remove()
    expected = torch.stack([x.mean(dim=(0, 2, 3)) for x in inputs]).mean(dim=0)
    torch.testing.assert_close(norm.running_mean, expected, rtol=1e-4, atol=1e-6)


def test_recomputed_statistics_follow_the_weights_not_the_last_steps(pairs):
    """A momentum average lags behind weights that move; the recomputed statistics do not."""
    model = small(RegressionCNN)
    fit(model, pairs, cfg(steps=10, lr=3e-2), progress=False)
    norm = model.trunk.blocks[1][-1]
    lagging = norm.running_mean.clone()
    with torch.no_grad():
        model.trunk.blocks[1][0].weight.mul_(3.0)  # the weights move after the statistics were taken
    train.recompute_batch_norm(model, pairs, batch_size=8)
    recomputed = norm.running_mean.clone()
    assert not torch.allclose(recomputed, lagging)
    model.train()  # (a train-mode pass moves the running statistics again: compare with the copy)
    with torch.no_grad():
        batch_mean = []
        handle = norm.register_forward_hook(lambda module, x, out: batch_mean.append(x[0].mean(dim=(0, 2, 3))))
        model(pairs.l[:8]), model(pairs.l[8:16])
        handle.remove()
    torch.testing.assert_close(recomputed, torch.stack(batch_mean).mean(dim=0), rtol=1e-4, atol=1e-6)
