"""Every solution notebook, run top to bottom on CIFAR-10, the course's real data set.

nbval runs the notebooks on their default data (the embedded photos here, where no CIFAR-10 is
downloaded); this runs each solution notebook again with ``dataset = "cifar10"``, read through
the official binary reader from the binary files decoded out of the JPEG copy in ``../shared``
(the ``cifar10_binary_root`` fixture). A notebook passes when every cell runs: its own asserts
check its results, and they must hold on both data sets. The trained networks are cached by
configuration, so notebook 07 reuses what 03-06 trained, as it does for a student.
Set ``COLORLAB_COURSE_RUNS_OUT=DIR`` to keep the executed notebooks, outputs and all, in DIR.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))


@pytest.mark.slow
@pytest.mark.parametrize("notebook", SOLUTIONS, ids=[p.stem for p in SOLUTIONS])
def test_the_solution_runs_on_cifar10(notebook, cifar10_binary_root, tmp_path, monkeypatch):
    import papermill

    monkeypatch.setenv("COLORLAB_DATA", str(cifar10_binary_root))  # the kernel inherits it
    keep = os.environ.get("COLORLAB_COURSE_RUNS_OUT")
    out = (Path(keep) if keep else tmp_path) / f"{notebook.stem}.cifar10.ipynb"
    out.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    papermill.execute_notebook(str(notebook), str(out), parameters={"dataset": "cifar10"}, cwd=str(notebook.parent),
                               kernel_name="python3", progress_bar=False, log_output=False)
    print(f"{notebook.name} on CIFAR-10: {time.perf_counter() - start:.0f} s")
