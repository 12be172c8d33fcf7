"""A notebook runs from its first cell in a fresh environment without colorlab, as on Colab or Kaggle.

The path a student on Colab takes, tried here without the internet: a new virtual environment with
what Colab and Kaggle already have (torch, ipykernel, nbclient) and no colorlab; the student notebook
00 copied to a folder outside any checkout; its first code cell (colorlab/colab.py's install cell)
clones the course's release and installs it. The release is a clone of this checkout's HEAD,
tagged ``v<version>`` as the install cell wants (``COLORLAB_INSTALL_SOURCE`` points at it, as it
would at GitHub); CIFAR-10 is not fetched (``COLORLAB_FETCH_CIFAR10=0``: tests never download),
so the notebook runs on the embedded photos. The exercise cells raise, as they do for a student
who has written nothing (they are tagged ``raises-exception``); every other cell must run, with
the colorlab the first cell installed.

pip installs the course's requirements from the package registry, as ``.ci/run`` does; it takes
a few minutes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import venv
from pathlib import Path

import pytest

from colorlab.colab import INSTALL_CELL_MARK, course_repository

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "00_setup_and_tour.ipynb"
TORCH = os.environ.get("COLORLAB_TORCH_VERSION", "2.13.0")  # as run.sh installs it: pinned, before anything else

RUN_NOTEBOOK = """
import sys, nbformat
from nbclient import NotebookClient
notebook, out = sys.argv[1], sys.argv[2]
nb = nbformat.read(notebook, as_version=4)
try:
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": sys.argv[3]}}).execute()
finally:
    nbformat.write(nb, out)
"""


def run(*args, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(args, capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, f"{' '.join(map(str, args))} failed:\n{(done.stdout + done.stderr)[-5000:]}"
    return done


def text_of(cell) -> str:
    return "".join("".join(out.get("text", "")) for out in cell.get("outputs", []))


@pytest.mark.slow
def test_a_fresh_environment_runs_a_notebook_from_its_first_cell(tmp_path):
    version = course_repository(ROOT / "pyproject.toml").version
    release = tmp_path / "release"  # stands in for github.com/<owner>/<name> at the tag v<version>
    run("git", "clone", "--quiet", str(ROOT), str(release))
    run("git", "-C", str(release), "tag", "--force", f"v{version}")

    env_dir = tmp_path / "fresh"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    run(python, "-m", "pip", "install", "--quiet", f"torch=={TORCH}")
    run(python, "-m", "pip", "install", "--quiet", "ipykernel", "nbclient", "nbformat")
    probe = subprocess.run([python, "-c", "import colorlab"], capture_output=True, text=True, cwd=tmp_path)
    assert probe.returncode != 0, "the fresh environment must not have colorlab before the notebook installs it"

    work = tmp_path / "work"  # a folder outside any checkout, as /content is on Colab
    work.mkdir()
    shutil.copy2(ROOT / "notebooks" / NOTEBOOK, work / NOTEBOOK)
    # Only the fresh environment: nothing of this checkout or of the test's own environment leaks in.
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "VIRTUAL_ENV", "COLORLAB_DATA", "PYTHONHOME")}
    env.update(PATH=f"{env_dir / 'bin'}{os.pathsep}{env['PATH']}", VIRTUAL_ENV=str(env_dir),
               JUPYTER_PATH=str(tmp_path / "jupyter"), JUPYTER_DATA_DIR=str(tmp_path / "jupyter"),
               COLORLAB_INSTALL_SOURCE=str(release), COLORLAB_COURSE_DIR=str(tmp_path / "course"),
               COLORLAB_FETCH_CIFAR10="0", COLORLAB_CACHE=str(tmp_path / "cache"), MPLBACKEND="Agg")
    done = subprocess.run([python, "-c", RUN_NOTEBOOK, str(work / NOTEBOOK), str(work / "out.ipynb"), str(work)],
                          cwd=work, env=env, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, f"the notebook did not run in the fresh environment:\n{done.stderr[-5000:]}"

    cells = json.loads((work / "out.ipynb").read_text(encoding="utf-8"))["cells"]
    code = [cell for cell in cells if cell["cell_type"] == "code"]
    first = code[0]
    assert "".join(first["source"]).startswith(INSTALL_CELL_MARK)
    said = text_of(first)
    assert f"installing colorlab {version} from {release}" in said, said
    site = Path(said.rsplit(" from ", 1)[1].strip())
    assert site.is_relative_to(env_dir), f"colorlab was imported from {site}, not from the fresh environment"
    for cell in code:
        failed = [out for out in cell.get("outputs", []) if out["output_type"] == "error"]
        if failed and "raises-exception" not in cell["metadata"].get("tags", []):
            pytest.fail(f"a cell failed: {failed[0]['ename']}: {failed[0]['evalue']}\n{''.join(cell['source'])[:300]}")
    # setup() said which data and device it chose: the embedded photos, since CIFAR-10 was not fetched
    assert any("colorlab device:" in text_of(cell) for cell in code)
