"""The Colab and Kaggle badges and the install cell (colorlab/colab.py).

That the install cell installs the course in a fresh environment is tested end to end in
course_runs/test_colab_install_cell.py; these tests cover the rest: where the address comes from,
what the badges link to, that the builder's rewrite is idempotent, and that the cell does nothing
where colorlab is installed.
"""

from __future__ import annotations

import io
import re
import subprocess
from contextlib import redirect_stdout
from pathlib import Path

import nbformat
import pytest

import colorlab
from colorlab.colab import (BADGE_MARK, INSTALL_CELL_MARK, Repository, add_opening_cells, badges, course_repository,
                            install_cell_source)

ROOT = Path(__file__).resolve().parents[1]
REPO = Repository("someone", "colorlab", "1.2.3")


def pyproject(tmp_path, urls: str, version: str = "1.2.3") -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text(f'[project]\nname = "colorlab"\nversion = "{version}"\n\n[project.urls]\n{urls}\n')
    return path


def test_the_course_repository_is_read_from_pyproject(tmp_path):
    assert course_repository(pyproject(tmp_path, 'Repository = "https://github.com/someone/colorlab"')) == REPO
    assert course_repository(pyproject(tmp_path, 'Repository = "https://github.com/someone/colorlab.git"')) == REPO
    # the checkout's own pyproject names a GitHub repository and the package's version
    assert course_repository(ROOT / "pyproject.toml").version == colorlab.__version__


@pytest.mark.parametrize("urls, found", [
    ('Homepage = "https://example.org"', "Repository = None"),
    ('Repository = "https://gitlab.com/someone/colorlab"', "gitlab.com"),
    ('Repository = "https://github.com/someone"', "github.com/someone'"),
])
def test_a_missing_or_foreign_repository_says_what_to_set(tmp_path, urls, found):
    with pytest.raises(ValueError, match=r"\[project.urls\]") as err:
        course_repository(pyproject(tmp_path, urls))
    assert found in str(err.value) and 'Repository = "https://github.com/OWNER/NAME"' in str(err.value)


def test_the_badges_open_this_notebook_in_colab_and_kaggle():
    line = badges(REPO, "notebooks/05_classification.ipynb")
    assert line.startswith(BADGE_MARK)
    assert ("(https://colab.research.google.com/github/someone/colorlab/blob/main/notebooks/05_classification.ipynb)"
            in line)
    assert ("(https://kaggle.com/kernels/welcome?src=https://github.com/someone/colorlab/blob/main/notebooks/"
            "05_classification.ipynb)" in line)


def test_the_install_cell_clones_the_pinned_release():
    source = install_cell_source(REPO)
    compile(source, "install cell", "exec")
    assert source.startswith(INSTALL_CELL_MARK)
    assert '"--branch", "v1.2.3"' in source and "https://github.com/someone/colorlab.git" in source
    assert "import torch" not in source  # the host's torch (Colab's CUDA build) is kept


def a_notebook():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# 05 · A title\n\nThe story."),
                nbformat.v4.new_code_cell("device = None", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("print(1)")]
    return nb


def test_the_opening_cells_go_first_and_a_second_run_changes_nothing():
    nb = add_opening_cells(a_notebook(), REPO, "notebooks/05_x.ipynb")
    title, install, parameters = nb.cells[:3]
    assert title.source.split("\n")[:4] == ["# 05 · A title", "", badges(REPO, "notebooks/05_x.ipynb"), ""]
    assert title.source.endswith("The story.")
    assert install.source == install_cell_source(REPO)
    assert parameters.metadata["tags"] == ["parameters"]  # papermill's parameters still come before any work
    once = nbformat.writes(nb)
    assert nbformat.writes(add_opening_cells(nb, REPO, "notebooks/05_x.ipynb")) == once
    # a new address or version replaces the old cells instead of adding more
    moved = add_opening_cells(nb, Repository("elsewhere", "course", "2.0.0"), "notebooks/05_x.ipynb")
    assert sum(cell.source.startswith(INSTALL_CELL_MARK) for cell in moved.cells) == 1
    assert sum(BADGE_MARK in cell.source for cell in moved.cells) == 1
    assert moved.cells[0].source.startswith("# 05 · A title\n\n[![Open In Colab]")
    assert "elsewhere/course" in moved.cells[0].source and '"v2.0.0"' in moved.cells[1].source
    nbformat.validate(moved)


def test_a_notebook_without_markdown_has_no_place_for_badges():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("print(1)")]
    with pytest.raises(ValueError, match="markdown cell"):
        add_opening_cells(nb, REPO, "notebooks/x.ipynb")


def test_the_install_cell_does_nothing_where_colorlab_is_installed(monkeypatch):
    def no_subprocess(*args, **kwargs):
        raise AssertionError(f"the install cell ran {args} although colorlab is installed")

    monkeypatch.setattr(subprocess, "run", no_subprocess)
    out = io.StringIO()
    with redirect_stdout(out):
        exec(install_cell_source(REPO), {})
    assert out.getvalue() == f"colorlab {colorlab.__version__} from {Path(colorlab.__file__).parent}\n"


def test_every_notebook_opens_with_its_badges_and_the_install_cell():
    repository = course_repository(ROOT / "pyproject.toml")
    for folder in ("solutions", "notebooks"):
        for path in sorted((ROOT / folder).glob("*.ipynb")):
            nb = nbformat.read(path, as_version=4)
            markdown = next(cell for cell in nb.cells if cell.cell_type == "markdown")
            code = next(cell for cell in nb.cells if cell.cell_type == "code")
            assert markdown.source.split("\n")[2] == badges(repository, f"{folder}/{path.name}"), path
            assert code.source == install_cell_source(repository), f"{path}: run `colorlab notebooks`"


def test_the_readme_links_every_student_notebook_where_its_badges_do():
    repository = course_repository(ROOT / "pyproject.toml")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        _, colab, _, kaggle = re.findall(r"\]\((https://[^)]+)\)", badges(repository, f"notebooks/{path.name}"))
        assert f"[Colab]({colab})" in readme and f"[Kaggle]({kaggle})" in readme, f"README: no badges for {path.name}"


def test_the_builder_writes_each_notebook_its_own_badges(tmp_path):
    from colorlab.student_notebooks import build_notebooks

    pyproject(tmp_path, 'Repository = "https://github.com/someone/colorlab"')
    (tmp_path / "solutions").mkdir()
    nbformat.write(a_notebook(), tmp_path / "solutions" / "05_x.ipynb")
    report = build_notebooks(tmp_path / "solutions", tmp_path / "notebooks")
    assert report.stripped == [tmp_path / "solutions" / "05_x.ipynb"]  # the solution gained its opening cells
    for folder in ("solutions", "notebooks"):
        nb = nbformat.read(tmp_path / folder / "05_x.ipynb", as_version=4)
        assert nb.cells[0].source.split("\n")[2] == badges(REPO, f"{folder}/05_x.ipynb")
        assert nb.cells[1].source == install_cell_source(REPO)
    assert build_notebooks(tmp_path / "solutions", tmp_path / "notebooks", check=True).up_to_date


def test_notebooks_outside_a_course_get_no_opening_cells(tmp_path):
    from colorlab.student_notebooks import build_notebooks

    (tmp_path / "solutions").mkdir()
    nbformat.write(a_notebook(), tmp_path / "solutions" / "05_x.ipynb")
    build_notebooks(tmp_path / "solutions", tmp_path / "notebooks")
    nb = nbformat.read(tmp_path / "notebooks" / "05_x.ipynb", as_version=4)
    assert not any(INSTALL_CELL_MARK in cell.source or BADGE_MARK in cell.source for cell in nb.cells)


def test_badges_written_above_the_title_move_under_it():
    nb = a_notebook()
    nb.cells[0].source = badges(REPO, "notebooks/05_x.ipynb") + "\n\n# 05 · A title\n\nThe story."
    title = add_opening_cells(nb, REPO, "notebooks/05_x.ipynb").cells[0].source
    assert title == f"# 05 · A title\n\n{badges(REPO, 'notebooks/05_x.ipynb')}\n\nThe story."
