"""Where the work runs: GPU first, then Apple's MPS, then the CPU.

Set ``COLORLAB_DEVICE`` (``cuda``, ``cuda:1``, ``mps`` or ``cpu``) to override the choice,
for instance to compare timings or to keep a shared GPU free.
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch

ENV_VAR = "COLORLAB_DEVICE"


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
