"""Labelled folders: ``train/<class>/`` and ``test/<class>/`` folders of photos (Places365, your own
classes, the JPEG copy of CIFAR-10), read as images with their class labels, class-balanced and seeded."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from .._validate import describe, whole_number
from .splits import check_split
from .folders import IMAGE_EXTENSIONS, image_files, load_files


def _subfolders(folder: Path) -> list[Path]:
    """The visible sub-folders of ``folder``, sorted by name (code point order, the same on every system)."""
    return sorted((p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")), key=lambda p: p.name)


def is_labelled_folder(path) -> bool:
    """Whether ``path`` is a labelled folder: a folder whose ``train/`` holds one sub-folder per class.

    That is how Places365, a folder of your own classes and the JPEG copy of CIFAR-10 are laid out::

        path/train/<class>/*.jpg    path/test/<class>/*.jpg

    Only ``train/`` and its sub-folders are looked at (no file is listed), so this is cheap; a
    missing ``test/`` or an empty class is reported by :func:`load_labelled_folder`, not here.
    Anything that is not an existing folder (a string such as ``"samples"`` that names none, a
    number) gives False, never an error.
    """
    if not isinstance(path, (str, os.PathLike)):
        return False
    train = Path(path).expanduser() / "train"
    try:
        return train.is_dir() and bool(_subfolders(train))
    except OSError:  # unreadable: not something we can load either
        return False


# A labelled folder in words, for the messages that say what to fix.
LAYOUT = "train/<class>/ and test/<class>/ folders of images (one folder per class, the same classes in both)"


def labelled_classes(root: Path) -> tuple[str, ...]:
    """The class names of the labelled folder ``root``: the sorted sub-folders of train/, checked
    against those of test/ (which may lack a class but not add one). A missing folder is a
    FileNotFoundError; a malformed one a ValueError that says what to fix."""
    if not root.exists():
        raise FileNotFoundError(f"no such folder: {root}")
    if not root.is_dir():
        raise ValueError(f"expected a labelled folder ({LAYOUT}), got a file: {root}")
    train = root / "train"
    if not train.is_dir():
        raise FileNotFoundError(f"{root} is not a labelled folder: it has no train/ sub-folder. Expected {LAYOUT}. "
                                f"A folder of photos without classes works too, as load_images(folder) (no labels).")
    classes = tuple(p.name for p in _subfolders(train))
    if not classes:
        raise ValueError(f"{train} has no class sub-folders. Expected {LAYOUT}; put each class's images in "
                         f"train/<class>/.")
    test = root / "test"
    if test.is_dir():
        extra = [p.name for p in _subfolders(test) if p.name not in classes]
        if extra:
            raise ValueError(f"{test} has class folder(s) that {train} lacks: {', '.join(extra)} (train has "
                             f"{', '.join(classes)}). A label must mean the same class in both splits: rename the "
                             f"folder, or add train/{extra[0]}/ with training images of that class.")
    return classes


def _labelled_files(root: Path, split: str) -> tuple[Path, tuple[str, ...], list[list[Path]]]:
    """(root/split, the classes, each class's image files in sorted order; [] for a class test/ lacks)."""
    classes = labelled_classes(root)
    folder = root / split
    if not folder.is_dir():
        raise FileNotFoundError(f"{root} has train/ but no {split}/ folder. Expected {LAYOUT}: move some images of "
                                f"each class into {split}/<class>/, or use a folder without a train/ sub-folder, "
                                f"which load_images splits by a hash of the file names (without labels).")
    loose = [p.name for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
             and not p.name.startswith(".")]
    if loose:
        raise ValueError(f"{folder} holds {len(loose)} image file(s) outside any class folder "
                         f"(e.g. {sorted(loose)[0]}); "
                         f"their class is unknown. Move each into {split}/<class>/.")
    per_class = []
    for name in classes:
        if not (folder / name).is_dir():
            per_class.append([])  # a test split may lack a class; its label still means the same
            continue
        _, files = image_files(folder / name, recursive=True)
        if not files:
            raise ValueError(f"class folder {folder / name} holds no image files ({', '.join(IMAGE_EXTENSIONS)}). "
                             f"Add images of class {name!r}, or remove the folder (in train/, that removes the class).")
        per_class.append(files)
    if not any(per_class):
        raise ValueError(f"{folder} has none of the class folders of train/ ({', '.join(classes)}). "
                         f"Expected {LAYOUT}.")
    return folder, classes, per_class


def load_labelled_folder(root, split: str = "train", size: int = 32, count: int | None = None,
                         seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, tuple[str, ...]]:
    """The images of one split of a labelled folder, with their class labels.

    Parameters
    ----------
    root : str or Path
        A folder holding ``train/<class>/`` and ``test/<class>/`` (see :func:`is_labelled_folder`).
        The classes are the sorted names of the sub-folders of ``train/``; ``test/`` may lack a class
        but may not add one (ValueError). Image files may sit in sub-folders of a class folder.
    split : ``"train"`` or ``"test"``
    size : int
        Side of the square images: each photo is resized (Lanczos) so its shorter side is ``size``
        and centre-cropped, as :func:`load_folder` does. A photo already ``size`` x ``size`` (CIFAR-10
        at 32) is kept pixel for pixel.
    count : int or None
        How many images. None: every image of the split. Otherwise a class-balanced selection, and
        only those files are decoded: each class's sorted file list is shuffled (seeded), the classes
        take turns in a seeded order, one image each per turn, until ``count`` images were read, so the
        class counts differ by at most one (a class that runs out drops out of the turns). A split
        with fewer images gives them all.
    seed : int
        Seed of a private ``numpy.random.default_rng`` for the selection and the order; the same seed
        gives the same images in the same order.

    Returns
    -------
    images : torch.uint8 (N,3,size,size), RGB 0-255
    labels : torch.int64 (N,), indices into ``classes``
    classes : tuple of str, the class names

    The images come in a seeded random order, never sorted by class, so that any slice or batch
    holds a mix of classes. Unreadable files are skipped with one warning (as in
    :func:`load_folder`); the next file of the turn order takes their place.
    A missing folder is a FileNotFoundError; a malformed one a ValueError that says what to fix.
    """
    check_split(split)
    size = whole_number(size, "size")
    if count is not None:
        count = whole_number(count, "count")
    seed = whole_number(seed, "seed", 0)
    if not isinstance(root, (str, os.PathLike)):
        raise ValueError(f"root must be a folder path, got {describe(root)}.")
    folder, classes, per_class = _labelled_files(Path(root).expanduser(), split)

    rng = np.random.default_rng(seed)
    shuffled = [[files[i] for i in rng.permutation(len(files))] for files in per_class]
    turns = rng.permutation(len(classes))
    # Listing every path in turn order is cheap; decoding them is not, so load_files stops at `count`.
    ordered = [(shuffled[k][rank], k) for rank in range(max(map(len, shuffled))) for k in turns
               if rank < len(shuffled[k])]
    label_of = dict(ordered)
    photos = load_files(folder, [path for path, _ in ordered], size, count,
                         f"load_labelled_folder({str(root)!r}, split={split!r})")
    labels = torch.tensor([label_of[path] for path in photos.paths], dtype=torch.int64)
    mixed = torch.from_numpy(rng.permutation(len(labels)))
    return photos.images[mixed].contiguous(), labels[mixed], classes
