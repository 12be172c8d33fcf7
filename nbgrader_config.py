"""nbgrader's configuration for this course: grade the notebooks of solutions/ as one assignment, "colorlab".

nbgrader reads this file from the folder it is run in, so run its commands from the course's root
(README, "Grading with nbgrader"; course_runs/test_nbgrader_round_trip.py runs them all). Its
folders live under grading/, which git ignores except for the source: grading/source/colorlab is a
link to ../../solutions, so the single source of the course is also nbgrader's source, with no copy
to keep up to date. solutions/ already holds what nbgrader needs: each exercise cell is a solution
cell (its answer between ``### BEGIN SOLUTION`` and ``### END SOLUTION``) and the check cell after
it a locked autograder test worth 1 point, which passes when the checker prints its ✓ line and
fails when it raises.
"""

import os

c = get_config()  # noqa: F821 -- nbgrader (traitlets) defines get_config when it reads this file

COURSE_ROOT = os.path.dirname(os.path.abspath(__file__))

# Where nbgrader's folders (source/, release/, submitted/, autograded/, feedback/) and its
# gradebook.db live; an absolute path, so that the commands work from any folder given this file.
c.CourseDirectory.root = os.path.join(COURSE_ROOT, "grading")
# The course's name in the exchange (nbgrader release_assignment / collect on a JupyterHub).
c.CourseDirectory.course_id = "colorlab"

# nbgrader stops a cell after 30 s by default. Grading runs every cell of a notebook, training
# included: a network trains in 25-40 s on 2 CPU cores at the quick size, and its time limit stops
# it at 60 s on a busy machine (120 s at the full size on a GPU). The longest cell is 07's first
# training cell, which trains all six networks of 03-06 that are not in the model cache: up to
# 6 x 60 = 360 s on a CPU, 720 s on a GPU, with an empty cache. 900 s covers both; a cell stopped
# earlier would score 0 for no fault of the student. A student's endless loop costs one cell 900 s.
c.Execute.timeout = 900
