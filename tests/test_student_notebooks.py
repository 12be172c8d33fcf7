"""The student notebooks, made from the solutions (colorlab.student_notebooks, the `colorlab notebooks` command)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from colorlab.cli import main
from colorlab.student_notebooks import RAISES, NotebookSourceError, build_notebooks, strip_solutions, student_notebook

ROOT = Path(__file__).resolve().parents[1]

SOLVED = '''def f(x):
    """Twice x."""
    ### BEGIN SOLUTION
    y = 2 * x
    return y
    ### END SOLUTION
'''


# ------------------------------------------------------------------ stripping solutions

def test_strip_solutions_keeps_the_indentation_of_the_block():
    text, blocks = strip_solutions(SOLVED)
    assert blocks == 1
    assert text == 'def f(x):\n    """Twice x."""\n    # YOUR CODE HERE\n    raise NotImplementedError\n'
    namespace = {}
    exec(text, namespace)  # the stub still defines the function ...
    with pytest.raises(NotImplementedError):  # ... which raises until written
        namespace["f"](1)


def test_strip_solutions_handles_several_blocks_and_top_level_code():
    source = "a = 1\n### BEGIN SOLUTION\nb = 2\n### END SOLUTION\nc = 3\n### BEGIN SOLUTION\nd = 4\n### END SOLUTION"
    text, blocks = strip_solutions(source)
    assert blocks == 2
    assert text.split("\n") == ["a = 1", "# YOUR CODE HERE", "raise NotImplementedError", "c = 3",
                                "# YOUR CODE HERE", "raise NotImplementedError"]


def test_strip_solutions_in_markdown_leaves_an_answer_placeholder():
    text, blocks = strip_solutions("Why?\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION", "markdown")
    assert (text, blocks) == ("Why?\nYOUR ANSWER HERE", 1)


@pytest.mark.parametrize("source, message", [
    ("### BEGIN SOLUTION\nx = 1", "never closed"),
    ("x = 1\n### END SOLUTION", "without a ### BEGIN SOLUTION"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "inside the block opened on line 1"),
])
def test_unpaired_markers_are_an_error_naming_the_line(source, message):
    with pytest.raises(NotebookSourceError, match=re.escape(message)):
        strip_solutions(source, where="nb.ipynb, cell 3")


def _solution_notebook():
    nb = new_notebook(cells=[
        new_markdown_cell("# Title"),
        new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
        new_code_cell(SOLVED),
        new_code_cell("from colorlab.checks import check_f\n\ncheck_f(f)"),
        new_code_cell("print(f(2))"),
        new_code_cell("### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION"),
        new_code_cell("print('no check here')"),
    ])
    nb.cells[4].outputs = [nbformat.v4.new_output("stream", text="4\n")]
    nb.cells[4].execution_count = 7
    return nb


def test_student_notebook_tags_the_exercise_and_its_check_and_clears_outputs():
    solution = _solution_notebook()
    before = nbformat.writes(solution)
    student, exercises = student_notebook(solution)
    assert nbformat.writes(solution) == before  # the solution is untouched
    assert exercises == 2
    tags = [c.metadata.get("tags", []) for c in student.cells]
    assert tags[1] == ["parameters"]
    assert RAISES in tags[2] and RAISES in tags[3]  # the exercise and its check
    assert RAISES not in tags[4]  # the cells after go on with colorlab's reference
    assert RAISES in tags[5]  # a top-level stub raises
    assert RAISES not in tags[6]  # a cell after an exercise that checks nothing
    assert "raise NotImplementedError" in student.cells[2].source and "2 * x" not in student.cells[2].source
    assert all(c.outputs == [] and c.execution_count is None for c in student.cells if c.cell_type == "code")
    nbformat.validate(student)


def test_build_notebooks_writes_checks_strips_and_removes(tmp_path, capsys):
    solutions, notebooks = tmp_path / "solutions", tmp_path / "notebooks"
    solutions.mkdir()
    nbformat.write(_solution_notebook(), solutions / "01_x.ipynb")
    notebooks.mkdir()
    (notebooks / "99_orphan.ipynb").write_text(nbformat.writes(new_notebook()))

    report = build_notebooks(solutions, notebooks, check=True)
    assert not report.up_to_date
    assert report.written == [notebooks / "01_x.ipynb"]
    assert report.stripped == [solutions / "01_x.ipynb"]  # it holds an output
    assert report.removed == [notebooks / "99_orphan.ipynb"]
    assert not (notebooks / "01_x.ipynb").exists()  # check changes nothing

    report = build_notebooks(solutions, notebooks)
    assert report.exercises == {"01_x.ipynb": 2}
    assert (notebooks / "01_x.ipynb").exists() and not (notebooks / "99_orphan.ipynb").exists()
    assert all(c.get("outputs", []) == [] for c in nbformat.read(solutions / "01_x.ipynb", 4).cells)
    assert build_notebooks(solutions, notebooks, check=True).up_to_date

    # An edited solution makes the student notebook stale, and the command says so.
    nb = nbformat.read(solutions / "01_x.ipynb", 4)
    nb.cells[0].source = "# A new title"
    nbformat.write(nb, solutions / "01_x.ipynb")
    assert main(["notebooks", "--solutions", str(solutions), "--notebooks", str(notebooks), "--check"]) == 1
    assert "out of date" in capsys.readouterr().out
    assert main(["notebooks", "--solutions", str(solutions), "--notebooks", str(notebooks)]) == 0
    assert main(["notebooks", "--solutions", str(solutions), "--notebooks", str(notebooks), "--check"]) == 0


def test_build_notebooks_without_a_solutions_folder_says_where_it_looked(tmp_path, capsys):
    assert main(["notebooks", "--solutions", str(tmp_path / "nope"), "--notebooks", str(tmp_path / "nb")]) == 2
    assert "no solutions folder" in capsys.readouterr().err


def test_the_student_notebooks_are_up_to_date_with_the_solutions():
    report = build_notebooks(ROOT / "solutions", ROOT / "notebooks", check=True)
    stale = [str(p.relative_to(ROOT)) for p in report.written + report.stripped + report.removed]
    assert not stale, f"run `colorlab notebooks` and commit: {stale}"
