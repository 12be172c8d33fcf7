"""colorlab: tested building blocks for a course on automatic image colorization.

Data flows one way. The modules stand in layers; each imports only from its own layer and the
layers above it, never from a layer below (``tests/test_layout.py`` reads this list and checks every
import against it, and that no two modules import each other):

1. ``_validate``, ``device``, ``files``, ``distributed``: input checks, the device (GPU first), files
   written atomically, ``torchrun``
2. ``color``, ``quantize``: RGB, Lab, YUV and HSV; the 313 ab bins of Zhang et al.
3. ``data``: the photos, CIFAR-10 and folders as uint8 images, and ``LabPairs`` (L, ab) for training
4. ``losses``, ``metrics``, ``palette``: what training minimises, what evaluation measures, palettes
5. ``objectives``, ``models``: each network and what it is trained to minimise
6. ``checkpoints``, ``train``: one training loop for every network, and its files
7. ``colorize``, ``results``, ``semantic``, ``evaluate``, ``viz``, ``explorers``, ``turing_test``,
   ``checks``: using trained networks: colorizing photos, the results table, the semantic judge,
   figures, the notebooks' widgets and exercise checkers
8. ``course``, ``colab``, ``student_notebooks``, ``demo``, ``cli``: the notebooks' set-up, their Colab
   and Kaggle badges and install cell, the student notebooks, the demo and the ``colorlab`` command
"""

__version__ = "0.1.0"

from .device import default_device, seed_everything  # noqa: E402,F401
