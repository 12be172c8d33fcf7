"""Where the work runs: GPU first, then Apple's MPS, then the CPU.

Set ``COLORLAB_DEVICE`` (``cuda``, ``cuda:1``, ``mps`` or ``cpu``) to override the choice,
for instance to compare timings or to keep a shared GPU free.
"""

from __future__ import annotations

import math
import os
import random
from pathlib import Path

import numpy as np
import torch

ENV_VAR = "COLORLAB_DEVICE"
_THREADS_AT_IMPORT = torch.get_num_threads()
_THREAD_ENV_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def default_device(verbose: bool = False) -> torch.device:
    """The best device present: CUDA, else Apple MPS, else CPU.

    ``COLORLAB_DEVICE`` overrides the choice; asking for a device that is not
    present is a ``ValueError`` that says what is available. With ``verbose`` it
    prints one line saying which device was chosen and why.
    """
    wanted = os.environ.get(ENV_VAR, "").strip()
    if wanted:
        try:
            device = torch.device(wanted)
        except RuntimeError as err:
            raise ValueError(
                f"{ENV_VAR}={wanted!r} is not a device name; use 'cuda', 'cuda:0', 'mps' or 'cpu'."
            ) from err
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"{ENV_VAR}={wanted!r} but CUDA is not available here; available: {available_devices()}.")
        if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(
                f"{ENV_VAR}={wanted!r} but only {torch.cuda.device_count()} CUDA device(s) are present."
            )
        if device.type == "mps" and not _mps_available():
            raise ValueError(f"{ENV_VAR}={wanted!r} but MPS is not available here; available: {available_devices()}.")
        reason = f"set by {ENV_VAR}"
    elif torch.cuda.is_available():
        device, reason = torch.device("cuda"), "CUDA GPU found"
    elif _mps_available():
        device, reason = torch.device("mps"), "Apple MPS found"
    else:
        device, reason = torch.device("cpu"), "no GPU found"
    if verbose:
        print(f"colorlab device: {describe_device(device)} ({reason})")
    return device


def available_devices() -> list[str]:
    names = ["cpu"]
    if torch.cuda.is_available():
        names += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if _mps_available():
        names.append("mps")
    return names


def describe_device(device: torch.device | str) -> str:
    """A human name for a device, e.g. 'cuda:0 (NVIDIA H100)' or 'cpu (2 threads)'."""
    device = torch.device(device)
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return str(device)


def is_gpu(device: torch.device | str) -> bool:
    return torch.device(device).type in ("cuda", "mps")


def model_device(model: torch.nn.Module) -> torch.device:
    """The device of a model's first parameter or buffer; the CPU for a model that has neither."""
    for tensor in list(model.parameters()) + list(model.buffers()):
        return tensor.device
    return torch.device("cpu")


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and torch (CPU and every GPU)."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise ValueError(f"seed must be an integer, got {seed!r}.")
    random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)
    torch.manual_seed(int(seed))


def fast_bf16(device: torch.device | str) -> bool:
    """Whether bf16 autocast speeds up convolutions on ``device``.

    True on CUDA GPUs that support bf16 and on CPUs with native bf16 arithmetic
    (AVX-512 BF16 or AMX); False elsewhere (Apple MPS, older CPUs), where bf16 is
    emulated and slower than float32.
    """
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
        return any(getattr(torch.cpu, name, lambda: False)() for name in probes)
    return False


# ------------------------------------------------------------------ CPU threads

def _cgroup_cpu_limit(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """The CPUs a cgroup quota allows this process (cgroup v2 ``cpu.max`` or v1 ``cfs_quota_us``), or None."""
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period = int((root / "cpu" / "cpu.cfs_period_us").read_text())
        return None if quota <= 0 else quota / period
    except (OSError, ValueError):
        return None


def physical_cores(cpus=None, topology: Path = Path("/sys/devices/system/cpu"),
                   cgroup: Path = Path("/sys/fs/cgroup")) -> int:
    """How many physical cores this process may use: an int >= 1.

    The logical CPUs it may run on (``os.sched_getaffinity``, or ``cpus``), with hyper-threading
    siblings counted once (by their package and core id in ``topology``), capped by a container's
    CPU quota (``cgroup``). Convolutions gain nothing from a second thread on the same core, and
    more threads than the quota allows make them wait for each other.
    """
    if cpus is None:
        cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else range(os.cpu_count() or 1)
    cores = set()
    for cpu in cpus:
        try:
            folder = topology / f"cpu{cpu}" / "topology"
            cores.add(((folder / "physical_package_id").read_text().strip(), (folder / "core_id").read_text().strip()))
        except OSError:
            cores.add(("cpu", str(cpu)))  # no topology to read: count the logical CPU as a core
    count = max(1, len(cores))
    limit = _cgroup_cpu_limit(cgroup)
    if limit is not None:
        count = min(count, max(1, math.ceil(limit - 1e-9)))
    return count


def use_physical_cores(verbose: bool = False) -> int:
    """Give torch one CPU thread per physical core, unless the user chose a number; return the number.

    A number is the user's when ``OMP_NUM_THREADS`` or ``MKL_NUM_THREADS`` is set or when
    ``torch.set_num_threads`` was called after colorlab was imported; then nothing changes. On a
    CPU shared with other busy programs, fewer threads (``OMP_NUM_THREADS=1``) can be faster.
    """
    global _THREADS_AT_IMPORT
    current = torch.get_num_threads()
    if any(os.environ.get(name) for name in _THREAD_ENV_VARS) or current != _THREADS_AT_IMPORT:
        return current
    wanted = physical_cores()
    if wanted != current:
        torch.set_num_threads(wanted)
        if verbose:
            print(f"colorlab: {wanted} CPU threads, one per physical core (was {current})")
    _THREADS_AT_IMPORT = wanted  # what colorlab chose is not the user's choice
    return wanted
