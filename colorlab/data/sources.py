"""One entry point for every source: ``load_images`` (images) and ``load_labelled_images`` (images and
class labels) of ``"samples"``, ``"cifar10"``, ``"auto"``, a labelled folder or any folder of photos."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import torch

from .._validate import describe, whole_number
from .splits import check_split
from .cifar10 import CIFAR10_CLASSES, find_cifar10, load_cifar10_from_data_root
from .folders import image_files, load_files
from .labelled import LAYOUT, is_labelled_folder, labelled_classes, load_labelled_folder
from .patches import random_patches
from .photos import TEST_PHOTOS, TRAIN_PHOTOS, embedded_photos


def resolve_dataset(dataset):
    """``"auto"`` -> ``"cifar10"`` when :func:`find_cifar10` finds it under :func:`data_root`, else ``"samples"``.

    Any other value (``"samples"``, ``"cifar10"``, a folder path) is returned as it is, unchecked.
    """
    if isinstance(dataset, str) and dataset == "auto":
        return "cifar10" if find_cifar10() is not None else "samples"
    return dataset


def has_labels(source) -> bool:
    """Whether :func:`load_labelled_images` can read ``source``: True for ``"samples"``, ``"cifar10"``,
    ``"auto"`` and a labelled folder (:func:`is_labelled_folder`), False for a plain folder of photos."""
    if isinstance(source, str) and source in ("samples", "cifar10", "auto"):
        return True
    return is_labelled_folder(source)


def classes_of(source, split: str = "test") -> tuple[str, ...]:
    """The names that the labels of ``load_labelled_images(source, split)`` index, as a tuple of str.

    - ``"cifar10"``: :data:`CIFAR10_CLASSES` (either layout);
    - ``"samples"``: the photos a patch is cut from, :data:`TEST_PHOTOS` for ``split="test"`` (the
      default, as the semantic test labels the held-out images), :data:`TRAIN_PHOTOS` for ``"train"``;
    - a labelled folder: its class folders (the sorted sub-folders of ``train/``, the same for both splits);
    - ``"auto"``: as the source :func:`resolve_dataset` picks.

    A plain folder of photos has no classes (ValueError), and neither has anything else.
    """
    check_split(split)
    source = resolve_dataset(source)
    if isinstance(source, str) and source == "cifar10":
        return CIFAR10_CLASSES
    if isinstance(source, str) and source == "samples":
        return TEST_PHOTOS if split == "test" else TRAIN_PHOTOS
    if not isinstance(source, (str, os.PathLike)):
        raise ValueError(f"source must be 'samples', 'cifar10', 'auto' or a folder path, got {describe(source)}.")
    if not is_labelled_folder(source):
        raise ValueError(f"{str(source)!r} is not a labelled folder ({LAYOUT}), so its photos have no classes.")
    return labelled_classes(Path(source).expanduser())


def _in_test_split(path: Path, folder: Path) -> bool:
    # A hash of the relative path, not Python's salted hash(): the same file lands in the same split on
    # every run and machine, and adding photos to the folder never moves the old ones across the split.
    digest = hashlib.md5(path.relative_to(folder).as_posix().encode("utf-8")).digest()
    return digest[0] % 5 == 0


def _checked(source, split, size, count):
    """The arguments both loaders share, checked: (the resolved source, size, count)."""
    check_split(split)
    size = whole_number(size, "size")
    if count is not None:
        count = whole_number(count, "count")
    return resolve_dataset(source), size, count


def _labelled(source, split: str, size: int, count: int | None, seed: int):
    """(images, labels) of ``"samples"``, ``"cifar10"`` or a labelled folder; None for a plain folder."""
    if isinstance(source, str) and source == "samples":
        scale = max(size, min(4 * size, 256))
        return random_patches(embedded_photos(split), size, 1000 if count is None else count, seed,
                              flip=(split == "train"), scale=scale, return_sources=True)
    if isinstance(source, str) and source == "cifar10":
        if size != 32:
            raise ValueError(f"CIFAR-10 images are 32x32, got size={size}. Use size=32, or the 'samples' or a "
                             f"folder of photos for larger images.")
        return load_cifar10_from_data_root(split, count, seed)
    if not isinstance(source, (str, os.PathLike)):
        raise ValueError(f"source must be 'samples', 'cifar10', 'auto' or a folder path, got {describe(source)}.")
    if is_labelled_folder(source):
        images, labels, _ = load_labelled_folder(source, split, size=size, count=count, seed=seed)
        return images, labels
    if not Path(source).expanduser().exists():
        raise FileNotFoundError(f"source must be 'samples', 'cifar10' or an existing folder (or 'auto'); no such "
                                f"folder: {source}")
    return None


def load_images(source, split: str = "train", size: int = 64, count: int | None = None,
                seed: int = 0) -> torch.Tensor:
    """Images for a notebook, as torch.uint8 (N,3,size,size), values 0-255.

    Parameters
    ----------
    source : ``"samples"``, ``"cifar10"``, ``"auto"``, or a folder path
        - ``"samples"``: ``count`` random patches (default 1000) of the embedded train or test photos
          (:data:`TRAIN_PHOTOS`, :data:`TEST_PHOTOS`). Each photo is first resized so its shorter
          side is ``4 * size`` pixels, but kept between ``size`` and 256 (256 shrinks every photo, and
          a 32 px patch then shows a recognisable part of the scene). Train patches are randomly
          mirrored, test patches are not. Deterministic for a ``seed``.
        - ``"cifar10"``: CIFAR-10 under :func:`data_root` (``$COLORLAB_DATA``, else the nearest ``data/``
          folder), wherever :func:`find_cifar10` finds it. The official binary files are read by
          :func:`load_cifar10`, in file order: the first ``count`` images if ``count`` is given (the
          official files are shuffled, so that is a fair sample). A copy in class folders
          (``data_root()/cifar10/train/<class>/``) is read by :func:`load_labelled_folder`: a
          class-balanced, seeded selection of ``count`` images, in a seeded order. CIFAR-10 is 32x32
          only: any other ``size`` is a ValueError (enlarged CIFAR images hold no more detail; use the
          samples or a folder for larger images).
        - ``"auto"``: ``"cifar10"`` where :func:`find_cifar10` finds it, else ``"samples"``
          (:func:`resolve_dataset`).
        - a labelled folder (``train/<class>/`` and ``test/<class>/``, :func:`is_labelled_folder`):
          :func:`load_labelled_folder`, class-balanced when ``count`` is given, in a seeded order.
        - any other folder: :func:`load_folder`, split by file: a photo is in the test split when the first
          byte of the MD5 of its relative path is divisible by 5 (about 20 % of the photos), else in
          train; the first ``count`` readable photos of the split if ``count`` is given.
    split : ``"train"`` or ``"test"``
    size : int
        Side of the square images.
    count : int or None
    seed : int
        Used by ``"samples"`` and labelled folders (CIFAR-10 in class folders included); the binary
        CIFAR-10 files and plain folders are read in a fixed order.
    """
    source, size, count = _checked(source, split, size, count)
    labelled = _labelled(source, split, size, count, seed)
    if labelled is not None:
        return labelled[0]
    folder, files = image_files(source, recursive=True)
    wanted = [p for p in files if _in_test_split(p, folder) == (split == "test")]
    if files and not wanted:
        raise ValueError(f"{folder} has {len(files)} image files but none falls in the {split} split "
                         f"(about 1 in 5 is test, chosen by a hash of the file name); add more photos.")
    return load_files(folder, wanted, size, count, f"load_images({str(source)!r}, split={split!r})").images


def load_labelled_images(source, split: str = "train", size: int = 64, count: int | None = None,
                         seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The images of :func:`load_images` (the same arguments, the same images) with their class labels.

    Returns ``(images, labels)``: torch.uint8 (N,3,size,size), values 0-255, and torch.int64 (N,)
    labels for the semantic test of 003, indices into :func:`classes_of` ``(source, split)``. For
    ``"samples"`` the label is the photo a patch comes from (an index into :data:`TRAIN_PHOTOS` or
    :data:`TEST_PHOTOS`), for ``"cifar10"`` the CIFAR-10 class, for a labelled folder its class
    folder. A plain folder of photos has no labels (ValueError; :func:`has_labels` tells beforehand).
    """
    source, size, count = _checked(source, split, size, count)
    labelled = _labelled(source, split, size, count, seed)
    if labelled is None:
        raise ValueError(f"a folder of photos without class folders has no labels; the semantic test needs "
                         f"source='samples', 'cifar10' or a labelled folder ({LAYOUT}), got {str(source)!r}.")
    return labelled
