"""Fixtures shared by the unit tests (tests/) and the course runs on CIFAR-10 (course_runs/)."""

import hashlib
import importlib.util
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
# Every developer machine and CI hold the course's real data set here, beside the checkout (see its README).
CIFAR10_JPEG_ARCHIVE = ROOT.parent / "shared" / "data" / "cifar10-jpeg.tar.gz"
# CI sets this: there a missing JPEG copy is a failure, not a skip.
REQUIRED_ENV_VAR = "COLORLAB_CIFAR10_REQUIRED"


# ------------------------------------------------------------------ CIFAR-10 from its JPEG copy


def load_data_script(name: str):
    """A script of data_scripts/ as a module (they are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(f"colorlab_data_script_{name}", ROOT / "data_scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def cifar10_jpeg_archive() -> Path:
    """``../shared/data/cifar10-jpeg.tar.gz``: all 60,000 CIFAR-10 images as JPEG in class folders."""
    if not CIFAR10_JPEG_ARCHIVE.is_file():
        if os.environ.get(REQUIRED_ENV_VAR):
            pytest.fail(f"the JPEG copy of CIFAR-10 is not at {CIFAR10_JPEG_ARCHIVE}, and {REQUIRED_ENV_VAR} is set")
        pytest.skip(f"the JPEG copy of CIFAR-10 is not at {CIFAR10_JPEG_ARCHIVE} (CI and the developer machines have "
                    f"it at ../shared/data/ beside the checkout)")
    return CIFAR10_JPEG_ARCHIVE


@pytest.fixture(scope="session")
def cifar10_cache(cifar10_jpeg_archive, tmp_path_factory) -> Path:
    """Where the decoded copies live: ``$COLORLAB_CACHE/data/cifar10-jpeg-<sha256 of the archive>`` (kept between
    sessions, so they are built once per archive), else a folder of this session's pytest tmp dir."""
    digest = hashlib.sha256(cifar10_jpeg_archive.read_bytes()).hexdigest()[:16]
    base = Path(os.environ["COLORLAB_CACHE"]).expanduser() / "data" if os.environ.get("COLORLAB_CACHE") \
        else tmp_path_factory.mktemp("colorlab-data")
    return base / f"cifar10-jpeg-{digest}"


@pytest.fixture(scope="session")
def cifar10_from_jpeg():
    """data_scripts/cifar10_from_jpeg.py as a module."""
    return load_data_script("cifar10_from_jpeg")


@pytest.fixture(scope="session")
def cifar10_binary_root(cifar10_jpeg_archive, cifar10_cache, cifar10_from_jpeg) -> Path:
    """A data root holding CIFAR-10 in the official binary layout (``<root>/cifar-10-batches-bin/*.bin``), decoded
    from the JPEG copy: what ``COLORLAB_DATA`` or ``load_cifar10`` is given. About 9 s to build; a no-op after."""
    dest = cifar10_cache / "binary"
    status = cifar10_from_jpeg.main(["--archive", str(cifar10_jpeg_archive), "--dest", str(dest), "--quiet"])
    assert status == 0, f"cifar10_from_jpeg.py --dest {dest} failed"
    return dest


@pytest.fixture(scope="session")
def cifar10_folder_root(cifar10_jpeg_archive, cifar10_cache, cifar10_from_jpeg) -> Path:
    """The JPEG copy extracted as a labelled folder (``<folder>/train/<class>/NNNN.jpg``, ``<folder>/test/...``);
    its parent is a data root where ``dataset="cifar10"`` finds it. About 10 s to build; a no-op after."""
    dest = cifar10_cache / "folder"
    status = cifar10_from_jpeg.main(["--archive", str(cifar10_jpeg_archive), "--dest", str(dest), "--layout",
                                     "folder", "--quiet"])
    assert status == 0, f"cifar10_from_jpeg.py --layout folder --dest {dest} failed"
    return dest / "cifar10"
