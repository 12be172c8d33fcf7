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


# ------------------------------------------------------------------ CPU threads

def fake_topology(root, cores_of):
    """A /sys/devices/system/cpu tree: logical CPU i on (package, core) cores_of[i]."""
    for cpu, (package, core) in enumerate(cores_of):
        folder = root / f"cpu{cpu}" / "topology"
        folder.mkdir(parents=True)
        (folder / "physical_package_id").write_text(f"{package}\n")
        (folder / "core_id").write_text(f"{core}\n")
    return root


def test_physical_cores_counts_hyperthread_siblings_once(tmp_path):
    from colorlab.device import physical_cores

    # 2 packages x 2 cores x 2 hyper-threads; core ids repeat across packages
    topology = fake_topology(tmp_path / "cpu", [(p, c) for _ in range(2) for p in range(2) for c in range(2)])
    no_cgroup = tmp_path / "none"
    assert physical_cores(range(8), topology, no_cgroup) == 4
    assert physical_cores([0, 4], topology, no_cgroup) == 1  # the two threads of package 0, core 0
    assert physical_cores([0, 1, 2], topology, no_cgroup) == 3


def test_physical_cores_obeys_a_cgroup_quota(tmp_path):
    from colorlab.device import physical_cores

    topology = fake_topology(tmp_path / "cpu", [(0, c) for c in range(8)])
    v2 = tmp_path / "v2"
    v2.mkdir()
    (v2 / "cpu.max").write_text("250000 100000\n")  # 2.5 CPUs
    assert physical_cores(range(8), topology, v2) == 3
    (v2 / "cpu.max").write_text("max 100000\n")
    assert physical_cores(range(8), topology, v2) == 8
    v1 = tmp_path / "v1"
    (v1 / "cpu").mkdir(parents=True)
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("100000\n")
    (v1 / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert physical_cores(range(8), topology, v1) == 1
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert physical_cores(range(8), topology, v1) == 8


def test_physical_cores_without_a_topology_counts_logical_cpus(tmp_path):
    from colorlab.device import physical_cores

    assert physical_cores(range(3), tmp_path / "missing", tmp_path / "none") == 3
    assert physical_cores([], tmp_path / "missing", tmp_path / "none") == 1


def test_use_physical_cores_leaves_a_number_the_user_chose(monkeypatch):
    import colorlab.device as device

    before = torch.get_num_threads()
    try:
        monkeypatch.setattr(device, "physical_cores", lambda: 3)
        monkeypatch.setattr(device, "_THREADS_AT_IMPORT", before)
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
        monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
        monkeypatch.setenv("OMP_NUM_THREADS", "1")
        assert device.use_physical_cores() == before  # the environment's choice
        monkeypatch.delenv("OMP_NUM_THREADS")
        assert device.use_physical_cores() == 3 == torch.get_num_threads()
        torch.set_num_threads(1)  # the user's call, after colorlab's
        assert device.use_physical_cores() == 1 == torch.get_num_threads()
    finally:
        torch.set_num_threads(before)
