"""Tests of training on several processes (colorlab.distributed and DDP in colorlab.train.fit),
and of the exact resume that makes a stopped run continue as if it had never stopped.

The distributed tests start ``torchrun`` with two CPU processes (gloo) as a subprocess, as a user
would. The first runs this very file as the worker (``python tests/test_distributed.py OUT``): it
trains a width-4 regression network on 16 random 16x16 images, writes what each process saw and
ended with to ``OUT``, and the test compares. The second runs ``colorlab train`` under torchrun.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import colorlab.distributed as distributed
import colorlab.train as train
from colorlab.data import LabPairs
from colorlab.models import RegressionCNN
from colorlab.train import TrainConfig, fit, load_checkpoint

pytestmark = pytest.mark.usefixtures("one_thread")

ROOT = Path(__file__).resolve().parents[1]


def random_pairs(n: int = 16, size: int = 16, seed: int = 0) -> LabPairs:
    """Random RGB images: every one differs from every other, so a batch tells which images it holds."""
    rgb = torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed))
    return LabPairs.from_rgb(rgb, device="cpu")


def small(seed: int) -> RegressionCNN:
    torch.manual_seed(seed)
    return RegressionCNN(width=4)


def cfg(**kw) -> TrainConfig:
    base = dict(steps=4, batch_size=4, lr=3e-3, log_every=1, seed=0, flip=False)
    base.update(kw)
    return TrainConfig(**base)


def weights(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def same_weights(a: dict, b: dict) -> bool:
    return list(a) == list(b) and all(torch.equal(a[k], b[k]) for k in a)


# --------------------------------------------- exact resume, one process


@pytest.mark.parametrize("steps,batch_size", [(3, 8), (2, 8), (5, 6)])  # mid-epoch, epoch end, with a dropped rest
def test_resume_is_bit_exact(tmp_path, steps, batch_size):
    # N steps, save, resume for N more == 2N steps straight, to the last bit
    data = random_pairs()
    config = dict(batch_size=batch_size, flip=True, log_every=1)
    straight = small(seed=1)
    h_straight = fit(straight, data, cfg(steps=2 * steps, **config), progress=False)
    path = tmp_path / "run.pt"
    fit(small(seed=1), data, cfg(steps=steps, **config), checkpoint=path, progress=False)
    resumed = small(seed=2)  # whatever weights it holds: the checkpoint's are loaded
    h_resumed = fit(resumed, data, cfg(steps=2 * steps, **config), checkpoint=path, resume=True, progress=False)
    assert same_weights(weights(resumed), weights(straight))
    assert h_resumed.images_seen == h_straight.images_seen
    assert h_resumed.loss == h_straight.loss  # every step's loss, the saved ones and the new ones
    order = load_checkpoint(path)["batch_order"]
    assert order["world_size"] == 1 and order["generator"].dtype == torch.uint8


def test_a_checkpoint_without_the_batch_order_still_resumes(tmp_path):
    # checkpoints written before the batch order was saved: the order is re-seeded (seed + step), as it was then
    data = random_pairs()
    path = tmp_path / "old.pt"
    fit(small(seed=1), data, cfg(steps=3), checkpoint=path, progress=False)
    state = torch.load(path, weights_only=True)
    del state["batch_order"]
    torch.save(state, path)
    history = fit(small(seed=1), data, cfg(steps=6), checkpoint=path, resume=True, progress=False)
    assert history.step == [1, 2, 3, 4, 5, 6]
    assert "batch_order" in load_checkpoint(path)  # and the new file has it


def test_single_process_defaults(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.setenv("COLORLAB_DEVICE", "cpu")
    info = distributed.init_from_env()
    assert (info.rank, info.world_size, info.is_main, info.enabled, info.backend) == (0, 1, True, False, None)
    assert info.device == torch.device("cpu")
    assert not distributed.is_initialized() and distributed.is_main() and distributed.world_size() == 1
    x = torch.tensor([1.5, 2.0])
    assert torch.equal(distributed.all_reduce_mean(x), x) and torch.equal(distributed.all_reduce_sum(x), x)
    assert distributed.any_rank(True) and not distributed.any_rank(False)
    assert [t.tolist() for t in distributed.all_gather(x)] == [[1.5, 2.0]]
    distributed.barrier()
    distributed.cleanup()


# ------------------------------------------------- two processes, gloo


def _need_gloo():
    if not torch.distributed.is_available():
        pytest.skip("SKIPPED: this PyTorch build has no torch.distributed, so multi-process training cannot be tested")
    if not torch.distributed.is_gloo_available():
        pytest.skip("SKIPPED: this PyTorch build has no gloo backend, so CPU multi-process training cannot be tested")


def torchrun(args: list[str], cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    """``torchrun --standalone --nproc_per_node=2 ARGS`` on the CPUs; a hang is killed, not waited for."""
    env = dict(os.environ, OMP_NUM_THREADS="1", COLORLAB_DEVICE="cpu",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key, None)
    # --standalone: a rendezvous on a free local port, so parallel test runs never collide
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", *args]
    proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f"torchrun hung for {timeout} s:\n{out[-3000:]}")
    result = subprocess.CompletedProcess(command, proc.returncode, out, "")
    assert result.returncode == 0, f"torchrun failed ({result.returncode}):\n{out[-5000:]}"
    return result


def worker(out: Path) -> None:
    """One of the two processes: run by torchrun, never by pytest."""
    torch.set_num_threads(1)
    info = distributed.init_from_env()
    try:
        data = random_pairs()  # every process builds all 16 images; fit trains each on its shard
        seen: set[int] = set()

        def record(module, args):
            for image in args[0]:
                seen.update(int(i) for i in torch.nonzero((data.l == image).flatten(1).all(dim=1)).flatten())

        saves = []
        real_save = train.save_checkpoint
        train.save_checkpoint = lambda *a, **kw: saves.append(str(a[0])) or real_save(*a, **kw)

        # 4 steps straight, watching which images the model is given
        straight = small(seed=info.rank)  # different initial weights: DDP must make them rank 0's
        hook = straight.register_forward_pre_hook(record)
        h_straight = fit(straight, data, cfg(steps=4), checkpoint=out / "straight.pt")
        hook.remove()
        # the same start, 2 steps, then a resume to 4 in a model of other weights
        fit(small(seed=info.rank), data, cfg(steps=2), checkpoint=out / "resumed.pt")
        saved_at_2 = (out / "resumed.pt").is_file()  # fit returns only once process 0 has written it
        resumed = small(seed=20 + info.rank)
        h_resumed = fit(resumed, data, cfg(steps=4), checkpoint=out / "resumed.pt", resume=True)

        torch.save({"rank": info.rank, "world_size": info.world_size, "backend": info.backend,
                    "straight": weights(straight), "resumed": weights(resumed), "seen": sorted(seen),
                    "saves": saves, "saved_at_2": saved_at_2, "history_straight": dataclasses.asdict(h_straight),
                    "history_resumed": dataclasses.asdict(h_resumed)}, out / f"rank{info.rank}.pt")
    finally:
        distributed.cleanup()


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory):
    _need_gloo()
    out = tmp_path_factory.mktemp("ddp")
    start = time.perf_counter()
    result = torchrun([str(Path(__file__).resolve()), str(out)], cwd=out)
    ranks = [torch.load(out / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    return dict(out=out, ranks=ranks, log=result.stdout, seconds=time.perf_counter() - start)


def test_both_processes_joined_one_gloo_group(two_processes):
    r0, r1 = two_processes["ranks"]
    assert (r0["rank"], r1["rank"]) == (0, 1)
    assert r0["world_size"] == r1["world_size"] == 2
    assert r0["backend"] == r1["backend"] == "gloo"


def test_both_processes_end_with_identical_weights(two_processes):
    r0, r1 = two_processes["ranks"]
    assert same_weights(r0["straight"], r1["straight"])
    assert same_weights(r0["resumed"], r1["resumed"])
    # and they trained: not the initial weights of either process
    assert not same_weights(r0["straight"], weights(small(seed=0)))


def test_each_process_trains_on_its_own_shard(two_processes):
    r0, r1 = two_processes["ranks"]
    assert r0["seen"] == list(range(0, 16, 2))  # 4 steps of 4 = its 8 images twice
    assert r1["seen"] == list(range(1, 16, 2))
    # the history counts the images of all processes, and the logged loss is the same everywhere
    assert r0["history_straight"]["images_seen"] == 4 * 4 * 2
    assert r0["history_straight"]["loss"] == r1["history_straight"]["loss"]


def test_only_process_0_writes_the_checkpoint_and_it_loads(two_processes):
    r0, r1 = two_processes["ranks"]
    out = two_processes["out"]
    assert r0["saves"] == [str(out / "straight.pt"), str(out / "resumed.pt"), str(out / "resumed.pt")]
    assert r1["saves"] == []
    assert r0["saved_at_2"] and r1["saved_at_2"]
    state = load_checkpoint(out / "straight.pt")
    assert state["model_config"] == {"name": "regression", "width": 4}  # the plain model's, not DDP's
    assert same_weights(weights(state["model"]), r0["straight"])
    assert state["batch_order"]["world_size"] == 2 and state["batch_order"]["generator"].shape[0] == 2
    assert sorted(p.name for p in out.iterdir()) == ["rank0.pt", "rank1.pt", "resumed.pt", "straight.pt"]


def test_resume_under_two_processes_continues_exactly(two_processes):
    r0, _ = two_processes["ranks"]
    resumed = r0["history_resumed"]
    assert resumed["step"] == [1, 2, 3, 4]
    assert resumed["images_seen"] == 4 * 4 * 2
    # 2 steps, save, resume for 2 more == 4 steps straight, to the last bit
    assert same_weights(r0["resumed"], r0["straight"])
    assert resumed["loss"][2:] == r0["history_straight"]["loss"][2:]
    assert same_weights(weights(load_checkpoint(two_processes["out"] / "resumed.pt")["model"]), r0["straight"])


def test_colorlab_train_runs_unchanged_under_torchrun(tmp_path):
    _need_gloo()
    import numpy as np
    from PIL import Image

    photos = tmp_path / "photos"  # a folder of tiny photos loads faster than the embedded ones
    photos.mkdir()
    rng = np.random.default_rng(0)
    for i in range(24):  # about 1 in 5 falls in the test split; 16 of the rest train
        Image.fromarray(rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)).save(photos / f"{i:02d}.png")
    run = tmp_path / "run"
    run.mkdir()
    result = torchrun(["-m", "colorlab.cli", "train", "--model", "regression", "--width", "4", "--data", str(photos),
                       "--size", "16", "--count", "16", "--steps", "2", "--batch-size", "4",
                       "--out", str(run / "r.pt")], cwd=tmp_path)
    printed = result.stdout
    assert printed.count("training regression (width 4) on 16 images") == 1, printed  # only process 0 prints
    assert "2 processes (gloo)" in printed and "2 steps, 16 images" in printed, printed
    state = load_checkpoint(run / "r.pt")
    assert state["history"]["step"] == [2] and state["train_config"]["batch_size"] == 4
    assert os.listdir(run) == ["r.pt"]


if __name__ == "__main__":
    worker(Path(sys.argv[1]))
