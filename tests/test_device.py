import random

import numpy as np
import pytest
import torch

from colorlab.device import available_devices, default_device, describe_device, seed_everything


def test_default_device_without_override_follows_the_hardware(monkeypatch, capsys):
    monkeypatch.delenv("COLORLAB_DEVICE", raising=False)
    device = default_device(verbose=True)
    expected = "cuda" if torch.cuda.is_available() else (
        "mps" if torch.backends.mps.is_available() else "cpu")
    assert device.type == expected
    out = capsys.readouterr().out
    assert out.startswith("colorlab device: ") and expected in out


def test_environment_variable_overrides(monkeypatch, capsys):
    monkeypatch.setenv("COLORLAB_DEVICE", "cpu")
    assert default_device(verbose=True) == torch.device("cpu")
    assert "set by COLORLAB_DEVICE" in capsys.readouterr().out


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_asking_for_a_missing_gpu_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("COLORLAB_DEVICE", "cuda")
    with pytest.raises(ValueError, match="CUDA is not available.*available: \\['cpu'"):
        default_device()


def test_nonsense_device_name(monkeypatch):
    monkeypatch.setenv("COLORLAB_DEVICE", "gpu please")
    with pytest.raises(ValueError, match="not a device name"):
        default_device()


def test_describe_and_available():
    assert "cpu" in available_devices()
    assert describe_device("cpu").startswith("cpu (")


def test_seed_everything_repeats_python_numpy_and_torch():
    def draw():
        return random.random(), np.random.rand(), torch.rand(1).item()
    seed_everything(123)
    first = draw()
    seed_everything(123)
    assert draw() == first
    seed_everything(124)
    assert draw() != first
    with pytest.raises(ValueError, match="integer"):
        seed_everything(1.5)
