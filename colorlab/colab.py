"""Open a notebook in Colab or Kaggle: its badges, and the first code cell, which installs the course there.

Most students have no GPU of their own; Colab and Kaggle lend one, and open a notebook straight from
GitHub. Two things make that work, both written into every notebook by ``colorlab notebooks`` (the
builder, :mod:`colorlab.student_notebooks`), so that they are the same in all of them:

- **the badges**, one line under the title in the first markdown cell, each a link that opens *this*
  notebook, at its path in the repository, in Colab or in Kaggle;
- **the install cell**, the first code cell. Where colorlab is importable (``bash run.sh``, your own
  JupyterLab) it does nothing. Where it is not (a fresh Colab or Kaggle session) it clones the course's
  pinned release (the tag ``v<version>``; torch, numpy and the rest that the host already has are kept),
  installs it, points ``COLORLAB_DATA`` at the clone's ``data/`` and fetches CIFAR-10 there with
  ``data_scripts/get_cifar10.py`` (170 MB, checked by MD5; offline, the notebooks fall back on the
  embedded photos and say so). The device is picked by ``setup`` a few cells later: CUDA when the host
  lends a GPU.

The cell is plain Python with the standard library only, since it runs before colorlab exists. Three
environment variables change what it does, for testing it and for a mirror:
``COLORLAB_INSTALL_SOURCE`` (what to clone: a git URL or a local repository; default: the course's
repository), ``COLORLAB_COURSE_DIR`` (where to clone it; default: the clone the notebook sits in, if it
sits in one, else ``colorlab-course/`` in the working folder) and ``COLORLAB_FETCH_CIFAR10=0`` (skip the
download).

Where the repository lives is one setting, ``Repository`` under ``[project.urls]`` in
``pyproject.toml``, read by :func:`course_repository`; the version is ``[project] version``. Changing
either and running ``colorlab notebooks`` rewrites every badge and install cell.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

# The first line of the install cell: how the builder recognises the cell it wrote.
INSTALL_CELL_MARK = "# Colab / Kaggle: install the course when colorlab is missing"
BADGE_MARK = "[![Open In Colab]"

_INSTALL_CELL = '''{mark} (nothing happens where it is installed).
# On Colab pick a GPU first (Runtime > Change runtime type); on Kaggle turn Internet on in the settings.
import importlib, importlib.util, os, subprocess, sys
from pathlib import Path

if importlib.util.find_spec("colorlab") is None:
    checkout = Path.cwd().parent  # a notebook of a clone runs in its notebooks/ or solutions/ folder
    here = checkout if (checkout / "colorlab" / "__init__.py").is_file() else Path("colorlab-course")
    COURSE = Path(os.environ.get("COLORLAB_COURSE_DIR", here)).resolve()
    if not (COURSE / "pyproject.toml").is_file():
        source = os.environ.get("COLORLAB_INSTALL_SOURCE", "{clone_url}")
        print(f"installing colorlab {version} from {{source}} into {{COURSE}}")
        subprocess.run(["git", "clone", "--quiet", "--depth", "1", "--branch", "v{version}", source, str(COURSE)],
                       check=True)
    # torch, numpy and the rest that the host already has are kept; only what is missing is installed
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", str(COURSE)], check=True)
    importlib.invalidate_caches()
    os.environ.setdefault("COLORLAB_DATA", str(COURSE / "data"))
    if os.environ.get("COLORLAB_FETCH_CIFAR10", "1") != "0":
        fetch = [sys.executable, str(COURSE / "data_scripts" / "get_cifar10.py"), "--dest", os.environ["COLORLAB_DATA"]]
        if subprocess.run(fetch).returncode != 0:
            print("CIFAR-10 could not be fetched (offline?): the notebooks use the embedded photos instead.")
import colorlab

print(f"colorlab {{colorlab.__version__}} from {{Path(colorlab.__file__).parent}}")'''


@dataclass(frozen=True)
class Repository:
    """Where the course's notebooks are published: a GitHub repository, its branch and the release's version."""

    owner: str
    name: str
    version: str
    branch: str = "main"

    @property
    def clone_url(self) -> str:
        return f"https://github.com/{self.owner}/{self.name}.git"

    def blob_url(self, path: str) -> str:
        """The GitHub page of ``path`` (relative to the repository's root, with forward slashes)."""
        return f"https://github.com/{self.owner}/{self.name}/blob/{self.branch}/{path}"


def course_repository(pyproject: str | Path) -> Repository:
    """The course's repository and version, from ``pyproject.toml``.

    ``Repository`` under ``[project.urls]`` must be a GitHub address, ``https://github.com/OWNER/NAME``;
    a ValueError says what was found instead and where to set it.
    """
    text = Path(pyproject).read_text(encoding="utf-8")
    try:
        import tomllib

        project = tomllib.loads(text).get("project", {})
        url, version = project.get("urls", {}).get("Repository"), project.get("version")
    except ModuleNotFoundError:  # Python 3.10: the two lines this needs, without a TOML library
        found_url = re.search(r'^Repository\s*=\s*"([^"]*)"', text, re.M)
        found_version = re.search(r'^version\s*=\s*"([^"]*)"', text, re.M)
        url, version = (found_url and found_url[1]), (found_version and found_version[1])
    match = re.fullmatch(r"https://github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?/?", url or "")
    if not match or not version:
        raise ValueError(f"{pyproject}: the notebooks' Colab and Kaggle badges need the course's GitHub address as "
                         f"Repository = \"https://github.com/OWNER/NAME\" under [project.urls] and a [project] "
                         f"version; found Repository = {url!r}, version = {version!r}.")
    return Repository(match[1], match[2], version)


def badges(repository: Repository, path: str) -> str:
    """The markdown line of badges that open the notebook at ``path`` (e.g. ``notebooks/01_color_spaces.ipynb``)
    in Colab and in Kaggle."""
    colab = f"https://colab.research.google.com/github/{repository.owner}/{repository.name}/blob/{repository.branch}/{path}"
    kaggle = f"https://kaggle.com/kernels/welcome?src={repository.blob_url(path)}"
    return (f"{BADGE_MARK}(https://colab.research.google.com/assets/colab-badge.svg)]({colab}) "
            f"[![Open In Kaggle](https://kaggle.com/static/images/open-in-kaggle.svg)]({kaggle})")


def install_cell_source(repository: Repository) -> str:
    """The first code cell of every notebook: installs the course's release where colorlab is missing."""
    return _INSTALL_CELL.format(mark=INSTALL_CELL_MARK, clone_url=repository.clone_url, version=repository.version)


def add_opening_cells(nb, repository: Repository, path: str):
    """Put the badges and the install cell into ``nb`` (an nbformat v4 notebook), in place; returns ``nb``.

    The badges go under the title of the first markdown cell (first, if it has no ``# `` title) and the
    install cell becomes the first code cell;
    ones written before (recognised by their first line) are replaced, so running it again changes
    nothing. ``path`` is the notebook's path in the repository.
    """
    import nbformat

    markdown = next((cell for cell in nb.cells if cell.cell_type == "markdown"), None)
    if markdown is None:
        raise ValueError(f"{path}: a notebook needs a markdown cell (its title) for the Colab and Kaggle badges.")
    lines = [line for line in markdown.source.split("\n") if not line.startswith(BADGE_MARK)]
    while lines and not lines[0].strip():
        lines.pop(0)
    title = lines.pop(0) if lines and lines[0].startswith("# ") else None
    while lines and not lines[0].strip():
        lines.pop(0)
    # under the title, so that the notebook still opens with its title
    markdown.source = "\n".join([*([title, ""] if title else []), badges(repository, path), "", *lines])

    source = install_cell_source(repository)
    nb.cells = [cell for cell in nb.cells
                if not (cell.cell_type == "code" and cell.source.startswith(INSTALL_CELL_MARK))]
    first_code = next((i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"), len(nb.cells))
    # A fixed id: the cell is the same in every run of the builder, so the notebook's text is too.
    nb.cells.insert(first_code, nbformat.v4.new_code_cell(source, id="colab-install"))
    return nb
