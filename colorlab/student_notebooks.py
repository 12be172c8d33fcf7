"""The student notebooks, made from the solution notebooks: one source for both.

``build_notebooks`` makes ``notebooks/`` from ``solutions/``, the single source:
each ``### BEGIN SOLUTION`` .. ``### END SOLUTION`` block (nbgrader's markers, so
an instructor can also import the course into nbgrader) becomes
``# YOUR CODE HERE`` and ``raise NotImplementedError``; the exercise cell and
the check cell after it get the ``raises-exception`` tag, which lets "Run All"
in JupyterLab, nbclient and nbval go on past them; outputs are cleared.
Both the solutions and the student copies open with the Colab and Kaggle badges
and the install cell of :mod:`colorlab.colab`, written here from the repository
and version in ``pyproject.toml`` beside ``solutions/``, so that all notebooks
carry the same cell. ``colorlab notebooks`` runs it.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path

from .colab import Repository, add_opening_cells, course_repository
from .files import write_text

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
CODE_STUB = ("# YOUR CODE HERE", "raise NotImplementedError")
MARKDOWN_STUB = ("YOUR ANSWER HERE",)
RAISES = "raises-exception"
_CHECK_CALL = re.compile(r"\bcheck_\w+\s*\(")


class NotebookSourceError(ValueError):
    """A solution notebook whose solution markers do not pair up."""


def strip_solutions(source: str, cell_type: str = "code", where: str = "cell") -> tuple[str, int]:
    """Replace each ``### BEGIN SOLUTION`` .. ``### END SOLUTION`` block of ``source`` by the stub.

    The stub takes the indentation of the BEGIN line, so a block inside a function
    body stays inside it. Returns the new source and the number of blocks replaced.
    """
    stub = CODE_STUB if cell_type == "code" else MARKDOWN_STUB
    out: list[str] = []
    inside_from = None
    blocks = 0
    for number, line in enumerate(source.split("\n"), start=1):
        marker = line.strip()
        if marker == BEGIN_SOLUTION:
            if inside_from is not None:
                raise NotebookSourceError(f"{where}, line {number}: {BEGIN_SOLUTION} inside the block opened on "
                                          f"line {inside_from}; close it with {END_SOLUTION} first.")
            inside_from = number
            indent = line[: len(line) - len(line.lstrip())]
            out.extend(indent + s for s in stub)
        elif marker == END_SOLUTION:
            if inside_from is None:
                raise NotebookSourceError(f"{where}, line {number}: {END_SOLUTION} without a {BEGIN_SOLUTION}.")
            inside_from = None
            blocks += 1
        elif inside_from is None:
            out.append(line)
    if inside_from is not None:
        raise NotebookSourceError(f"{where}: the {BEGIN_SOLUTION} on line {inside_from} is never closed "
                                  f"with {END_SOLUTION}.")
    return "\n".join(out), blocks


def _add_tag(cell, tag: str) -> None:
    tags = list(cell.metadata.get("tags", []))
    if tag not in tags:
        cell.metadata["tags"] = tags + [tag]


def clear_outputs(nb):
    """Remove outputs, execution counts and run-time metadata, in place; returns ``nb``."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        for key in ("execution", "collapsed", "scrolled", "papermill"):
            cell.metadata.pop(key, None)
    nb.metadata.pop("papermill", None)
    return nb


def student_notebook(solution, where: str = "notebook"):
    """The student version of a solution notebook (an ``nbformat`` node; the input is not changed).

    Returns ``(student_nb, exercises)``. A solution notebook without any
    solution block is copied with its outputs cleared.
    """
    nb = clear_outputs(copy.deepcopy(solution))
    exercises = 0
    after_exercise = False
    for index, cell in enumerate(nb.cells):
        blocks = 0
        if BEGIN_SOLUTION in cell.source or END_SOLUTION in cell.source:
            cell.source, blocks = strip_solutions(cell.source, cell.cell_type, f"{where}, cell {index}")
        if blocks and cell.cell_type == "code":
            _add_tag(cell, RAISES)  # a stub at the top level raises; one in a function body is harmless
            exercises += blocks
            after_exercise = True
        elif blocks:
            exercises += blocks
        elif cell.cell_type == "code" and after_exercise:
            # The check cell calls the student's function, which raises until it is written.
            if _CHECK_CALL.search(cell.source):
                _add_tag(cell, RAISES)
            after_exercise = False
    return nb, exercises


def _read(path: Path):
    import nbformat

    try:
        return nbformat.read(path, as_version=4)
    except Exception as err:  # nbformat raises several kinds for broken JSON or schema
        raise NotebookSourceError(f"{path} is not a readable notebook: {type(err).__name__}: {err}") from err


def _text(nb) -> str:
    import nbformat

    return nbformat.writes(nb) + "\n"


def _write_if_changed(path: Path, text: str) -> bool:
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    write_text(path, text)
    return True


@dataclass
class BuildReport:
    """What :func:`build_notebooks` did, or (with ``check``) would do."""

    written: list[Path]  # student notebooks (re)written, or stale
    stripped: list[Path]  # solution notebooks whose outputs were cleared or opening cells rewritten, or are due
    removed: list[Path]  # student notebooks without a solution, removed or to remove
    exercises: dict[str, int]  # exercises per notebook

    @property
    def up_to_date(self) -> bool:
        return not (self.written or self.stripped or self.removed)


def _path_in(root: Path, path: Path) -> str:
    """``path`` relative to the repository's root, with forward slashes, as GitHub addresses it."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:  # a folder outside the checkout: address it by its own name
        return f"{path.parent.name}/{path.name}"


def build_notebooks(solutions="solutions", notebooks="notebooks", check: bool = False,
                    repository: Repository | None = None) -> BuildReport:
    """Regenerate ``notebooks/`` from ``solutions/``; with ``check``, change nothing and report what differs.

    Also clears outputs left in the solution notebooks (they are committed
    without outputs), removes a student notebook whose solution is gone, and
    writes the Colab badges and install cell into both (:mod:`colorlab.colab`)
    for ``repository``; by default the one ``pyproject.toml`` beside
    ``solutions/`` names, and none where there is no ``pyproject.toml`` there
    (a folder of notebooks outside the course).
    """
    solutions, notebooks = Path(solutions), Path(notebooks)
    if not solutions.is_dir():
        raise FileNotFoundError(f"no solutions folder at {solutions.resolve()}; run this from the course's root "
                                f"folder or pass --solutions.")
    root = solutions.resolve().parent
    if repository is None and (root / "pyproject.toml").is_file():
        repository = course_repository(root / "pyproject.toml")
    report = BuildReport([], [], [], {})
    sources = sorted(solutions.glob("*.ipynb"))
    for source in sources:
        solution = _read(source)
        if repository is not None:
            add_opening_cells(solution, repository, _path_in(root, source))
        clean_text = _text(clear_outputs(copy.deepcopy(solution)))
        if source.read_text(encoding="utf-8") != clean_text:
            report.stripped.append(source)
            if not check:
                _write_if_changed(source, clean_text)
        student, exercises = student_notebook(solution, where=str(source))
        report.exercises[source.name] = exercises
        target = notebooks / source.name
        if repository is not None:  # the student's badges open the student's notebook
            add_opening_cells(student, repository, _path_in(root, target))
        text = _text(student)
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            report.written.append(target)
            if not check:
                _write_if_changed(target, text)
    wanted = {s.name for s in sources}
    for orphan in sorted(notebooks.glob("*.ipynb")) if notebooks.is_dir() else []:
        if orphan.name not in wanted:
            report.removed.append(orphan)
            if not check:
                orphan.unlink()
    return report

