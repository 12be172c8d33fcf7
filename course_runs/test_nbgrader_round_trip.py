"""nbgrader's round trip on a copy of the course: the release scores 0, the solutions full marks.

The commands of the README's "Grading with nbgrader", run with the course's nbgrader_config.py on
a copy of the course in a temporary folder: ``nbgrader generate_assignment colorlab`` makes the
release from solutions/ (through grading/source/colorlab, a link to it); two submissions are laid
where ``nbgrader collect`` lays them (grading/submitted/<student>/colorlab/, with the
timestamp.txt it writes): the release as it was handed out, as from a student who wrote nothing,
and the solutions; then ``nbgrader autograde colorlab`` and ``nbgrader generate_feedback
colorlab``. The unchanged release must score 0 on every graded cell and the solutions full marks
on every one, with no cell timeout and no warning from nbgrader in its log (a checker that
returned True made nbgrader warn that the cell's output "cannot be converted" to a score). The
graded cells are read from solutions/, so an exercise added there is graded here too.

Grading runs every notebook top to bottom, training included, for each submission. This file
runs after solutions/ (pytest's testpaths), whose run has put every network in the model cache
(``$COLORLAB_CACHE``, which the kernels inherit; ``COLORLAB_DATA`` is set to the data root that
run found, so that ``dataset="auto"`` picks the same images here), so each notebook loads its
networks instead of training them. All eight notebooks are graded, twice: 07 is the notebook whose
training cell nbgrader's 30 s default cut, so grading a subset would miss the point. With the cache
full that is an estimated 5 minutes on 2 CPU cores (the notebooks' run times less their training);
on a shared machine so busy that every network was cut short and trained on, it took 47 minutes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "colorlab"
STUDENTS = {"as-released": "the release, unchanged", "solved": "the solutions"}
SUBMITTED_AT = "2026-01-15 12:00:00.000000 UTC"  # nbgrader collect's format; no due date is set, so never late

# Lines in nbgrader's log that are not about grading: the kernel's notice that it talks over local TCP
# (as under nbval and papermill); SQLAlchemy 2's notices about how nbgrader 0.9 adds a submission to its
# gradebook (the scores are stored all the same; the tests below read them back); and nbconvert's note,
# as it writes the feedback pages, that the figures (matplotlib's PNGs) have no alternative text.
NOT_ABOUT_GRADING = re.compile(r"\[IPKernelApp\] WARNING \| Kernel is running over TCP without encryption"
                               r"|SAWarning: Object of type <\w+> not in session"
                               r"|\[GenerateFeedbackApp \| WARNING\] Alternative text is missing on \d+ image")


def graded_cells() -> dict[tuple[str, str], float]:
    """{(notebook, grade_id): points} of every autograded cell in solutions/."""
    cells = {}
    for path in sorted((ROOT / "solutions").glob("*.ipynb")):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("grade"):
                cells[(path.stem, meta["grade_id"])] = float(meta["points"])
    return cells


def solutions_data_root() -> str:
    """The data root that the notebooks find when they run in solutions/ (``$COLORLAB_DATA``, else the
    nearest data/ above them): the copy of the course, elsewhere, must read the same data set as that run
    did, so that ``dataset="auto"`` picks the same images and the networks that run cached are found."""
    from colorlab.data import data_root

    here = os.getcwd()
    os.chdir(ROOT / "solutions")
    try:
        return str(data_root())
    finally:
        os.chdir(here)


def nbgrader(course: Path, *args: str) -> str:
    """Run ``nbgrader ARGS`` in the copy of the course, as an instructor would; return its log."""
    env = {**os.environ, "COLORLAB_DATA": solutions_data_root()}  # the kernels inherit it
    # sys.executable: the kernels it starts run in this same environment (jupyter_client's rule for "python3").
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env, capture_output=True,
                          text=True)
    log = done.stdout + done.stderr
    assert done.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{log[-5000:]}"
    return log


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The copy of the course after the round trip, and the logs of nbgrader's commands."""
    course = tmp_path_factory.mktemp("course")
    shutil.copytree(ROOT / "solutions", course / "solutions")
    shutil.copy2(ROOT / "nbgrader_config.py", course)
    # Only the source: the copy must start with no gradebook and no earlier release or grades.
    shutil.copytree(ROOT / "grading" / "source", course / "grading" / "source", symlinks=True)
    logs = {}
    start = time.perf_counter()
    logs["generate_assignment"] = nbgrader(course, "generate_assignment", ASSIGNMENT)
    release = course / "grading" / "release" / ASSIGNMENT
    for student, handed_in in (("as-released", release), ("solved", course / "solutions")):
        submission = course / "grading" / "submitted" / student / ASSIGNMENT
        shutil.copytree(handed_in, submission)
        (submission / "timestamp.txt").write_text(SUBMITTED_AT)
    logs["autograde"] = nbgrader(course, "autograde", ASSIGNMENT)
    logs["generate_feedback"] = nbgrader(course, "generate_feedback", ASSIGNMENT)
    print(f"nbgrader round trip, {len(STUDENTS)} submissions: {time.perf_counter() - start:.0f} s")
    return course, logs


def scores(course: Path, student: str) -> dict[tuple[str, str], tuple[float, float]]:
    """{(notebook, grade_id): (score, max_score)} of one student's autograded submission, from the gradebook,
    after checking that its graded cells are those of solutions/ and worth as many points."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'grading' / 'gradebook.db'}", ASSIGNMENT) as gradebook:
        submission = gradebook.find_submission(ASSIGNMENT, student)
        got = {(notebook.name, grade.name): (grade.score, grade.max_score)
               for notebook in submission.notebooks for grade in notebook.grades}
    points = {cell: most for cell, (_, most) in got.items()}
    assert points == graded_cells(), f"{STUDENTS[student]}: the gradebook's graded cells are not those of solutions/"
    return got


def autograded_cells(course: Path, student: str):
    """(notebook, cell) for every cell of a student's autograded notebooks, outputs included."""
    for path in sorted((course / "grading" / "autograded" / student / ASSIGNMENT).glob("*.ipynb")):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            yield path.stem, cell


def errors(cell) -> list[str]:
    return [f"{out['ename']}: {out['evalue']}"[:200] for out in cell.get("outputs", []) if out["output_type"] == "error"]


@pytest.mark.slow
def test_the_release_scores_0_on_every_graded_cell(graded):
    course, _ = graded
    assert {cell: score for cell, (score, _) in scores(course, "as-released").items() if score != 0} == {}
    # Each cell that raises is an exercise or its check: every other cell runs, on colorlab's reference.
    for notebook, cell in autograded_cells(course, "as-released"):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if errors(cell) and not (meta.get("solution") or meta.get("grade")):
            pytest.fail(f"{notebook}: a cell that is neither an exercise nor a check failed in the release: "
                        f"{errors(cell)}\n{''.join(cell['source'])[:300]}")


@pytest.mark.slow
def test_the_solutions_score_full_marks(graded):
    course, _ = graded
    assert {cell: score for cell, (score, most) in scores(course, "solved").items() if score != most} == {}
    failed = {notebook: errors(cell) for notebook, cell in autograded_cells(course, "solved") if errors(cell)}
    assert failed == {}, "a cell of the solutions failed under nbgrader"


@pytest.mark.slow
def test_no_timeout_and_no_warning(graded):
    course, logs = graded
    for command, log in logs.items():
        assert "cannot be converted" not in log, f"nbgrader {command}: a check cell has an output it reads as a score"
        assert "Timeout waiting" not in log and "CellTimeoutError" not in log, f"nbgrader {command}: a cell timed out"
        warnings = [line for line in log.splitlines()
                    if ("WARNING" in line or "Warning:" in line) and not NOT_ABOUT_GRADING.search(line)]
        assert warnings == [], f"nbgrader {command} warned:\n" + "\n".join(warnings)
    for student in STUDENTS:
        timed_out = [notebook for notebook, cell in autograded_cells(course, student)
                     if any("CellTimeoutError" in e for e in errors(cell))]
        assert timed_out == [], f"{STUDENTS[student]}: a cell timed out in {timed_out}"


@pytest.mark.slow
def test_feedback_is_written_for_every_notebook(graded):
    course, _ = graded
    notebooks = sorted(p.stem for p in (ROOT / "solutions").glob("*.ipynb"))
    for student in STUDENTS:
        feedback = course / "grading" / "feedback" / student / ASSIGNMENT
        assert sorted(p.stem for p in feedback.glob("*.html")) == notebooks, f"feedback for {STUDENTS[student]}"
