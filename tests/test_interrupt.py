"""Training that survives interruption: periodic saves, SIGINT and SIGTERM, and resumes that refuse other settings.

Tiny networks on synthetic images, as in test_train; a signal is sent by the process to itself from
inside a training step, so the tests need no timing. One subprocess test kills a real
``colorlab train`` with SIGINT.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import colorlab.train as train
from colorlab.models import RegressionCNN
from colorlab.checkpoints import read_checkpoint
from colorlab.train import TrainingInterrupted, fit

from test_train import assert_same_weights, cfg, small, synthetic_pairs, weights

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def pairs():
    return synthetic_pairs()


def signal_at_step(model, step: int, number=signal.SIGINT):
    """Send ``number`` to this process during the forward pass of training step ``step`` (1-based)."""
    calls = {"n": 0}

    def hook(module, inputs, output):
        if torch.is_grad_enabled():
            calls["n"] += 1
            if calls["n"] == step:
                os.kill(os.getpid(), number)

    return model.head.register_forward_hook(hook)


def test_progress_is_saved_every_n_steps_and_at_the_end(pairs, tmp_path, monkeypatch):
    saved = []
    real = train.save_checkpoint

    def spy(path, model, history=None, **kwargs):
        saved.append(history.steps_done)
        return real(path, model, history=history, **kwargs)

    monkeypatch.setattr(train, "save_checkpoint", spy)
    fit(small(), pairs, cfg(steps=12, log_every=1), checkpoint=tmp_path / "run.pt", progress=False,
        save_every=5, save_seconds=None)
    assert saved == [5, 10, 12]
    saved.clear()
    fit(small(), pairs, cfg(steps=12, log_every=1), checkpoint=tmp_path / "other.pt", progress=False,
        save_every=None, save_seconds=0.0)  # due at every log point
    assert saved == list(range(1, 13))


def test_a_periodic_save_resumes_bit_exactly(pairs, tmp_path, monkeypatch):
    """The checkpoint saved at step 10 of a 20-step run, resumed, ends where the uninterrupted run ends."""
    copies = tmp_path / "copies"
    copies.mkdir()
    real = train.save_checkpoint

    def keep(path, model, history=None, **kwargs):
        out = real(path, model, history=history, **kwargs)
        (copies / f"{history.steps_done}.pt").write_bytes(Path(path).read_bytes())
        return out

    monkeypatch.setattr(train, "save_checkpoint", keep)
    straight = small(seed=5)
    fit(straight, pairs, cfg(steps=20), checkpoint=tmp_path / "run.pt", progress=False, save_every=10)
    assert sorted(p.name for p in copies.iterdir()) == ["10.pt", "20.pt"]
    assert read_checkpoint(copies / "10.pt")["history"]["step"] == [5, 10]
    resumed = small(seed=99)
    history = fit(resumed, pairs, cfg(steps=20), checkpoint=copies / "10.pt", resume=True, progress=False)
    assert history.step == [5, 10, 15, 20]
    assert_same_weights(weights(resumed), weights(straight))


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_saves_the_run_and_a_resume_finishes_it_bit_exactly(pairs, tmp_path, number):
    path = tmp_path / "run.pt"
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    model = small(seed=7)
    handle = signal_at_step(model, 7, number)
    with pytest.raises(TrainingInterrupted) as stopped:
        fit(model, pairs, cfg(steps=20), checkpoint=path, progress=False)
    handle.remove()
    assert stopped.value.step == 7 and stopped.value.signal_number == number
    assert str(stopped.value) == (f"{signal.Signals(number).name}: stopped at step 7 of 20, saved to {path}; "
                                  f"resume to continue.")
    assert isinstance(stopped.value, KeyboardInterrupt)  # what a notebook's interrupt button expects
    assert read_checkpoint(path)["history"]["step"] == [5, 7]
    assert signal.getsignal(signal.SIGINT) is handlers[0] and signal.getsignal(signal.SIGTERM) is handlers[1]

    resumed = small(seed=99)
    fit(resumed, pairs, cfg(steps=20), checkpoint=path, resume=True, progress=False)
    straight = small(seed=7)
    fit(straight, pairs, cfg(steps=20), progress=False)
    assert_same_weights(weights(resumed), weights(straight))


def test_without_a_checkpoint_ctrl_c_is_an_ordinary_keyboard_interrupt(pairs):
    model = small()
    handle = signal_at_step(model, 2)
    with pytest.raises(KeyboardInterrupt) as stopped:
        fit(model, pairs, cfg(steps=20), progress=False)
    handle.remove()
    assert not isinstance(stopped.value, TrainingInterrupted)


def test_a_resume_with_other_settings_is_refused_and_names_them(pairs, tmp_path):
    path = tmp_path / "run.pt"
    fit(small(), pairs, cfg(steps=5), checkpoint=path, progress=False)
    before = path.read_bytes()
    with pytest.raises(ValueError, match=r"batch_size=8 -> 4, lr=0\.003 -> 0\.001.*only steps, time_budget, "
                                         r"log_every may change"):
        fit(small(), pairs, cfg(steps=10, lr=1e-3, batch_size=4), checkpoint=path, resume=True, progress=False)
    assert path.read_bytes() == before
    # more steps, another time budget or log interval: a longer run of the same training
    history = fit(small(), pairs, cfg(steps=10, log_every=1, time_budget=100.0), checkpoint=path, resume=True,
                  progress=False)
    assert history.steps_done == 10


# ------------------------------------------------------------- the command line

def test_colorlab_train_stopped_by_sigint_saves_and_exits_with_one_line(tmp_path):
    out = tmp_path / "run.pt"
    command = [sys.executable, "-m", "colorlab.cli", "train", "--model", "regression", "--width", "4", "--size", "16",
               "--count", "16", "--batch-size", "8", "--steps", "1000000", "--out", str(out)]
    env = dict(os.environ, OMP_NUM_THREADS="1", COLORLAB_DEVICE="cpu", PYTHONUNBUFFERED="1")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        # wait until it is training (its first line is printed before the first step), then a little more
        seen = []
        while not (seen and seen[-1].startswith("training regression")):
            seen.append(process.stdout.readline())
            assert seen[-1], (seen, process.stderr.read())
        time.sleep(2.0)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, (stdout, stderr)
    assert "Traceback" not in stderr and "Traceback" not in stdout, stderr
    message = [line for line in (stdout + "".join(seen)).splitlines() if line.startswith("colorlab train:")]
    assert len(message) == 1 and "SIGINT: stopped at step" in message[0] and "--resume" in message[0], stdout
    steps = read_checkpoint(out)["history"]["step"]
    assert steps and 0 < steps[-1] < 1000000
