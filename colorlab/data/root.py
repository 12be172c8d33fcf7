"""Where downloaded data sets live on disk: ``$COLORLAB_DATA``, else the nearest ``data/`` folder."""

from __future__ import annotations

import os
from pathlib import Path

DATA_ENV_VAR = "COLORLAB_DATA"


def data_root() -> Path:
    """Where downloaded data sets live: ``$COLORLAB_DATA``, else the first ``data/`` folder found
    in the working directory or one of its parents (a notebook runs in ``solutions/`` or
    ``notebooks/``, and ``python data_scripts/get_cifar10.py`` writes to ``data/`` at the top of
    the course), else ``data/`` in the working directory."""
    if os.environ.get(DATA_ENV_VAR):
        return Path(os.environ[DATA_ENV_VAR]).expanduser()
    here = Path.cwd()
    for folder in (here, *here.parents):
        if (folder / "data").is_dir():
            return folder / "data"
    return here / "data"