"""CIFAR-10: its official binary files read record by record (no pickle is ever read), its class names,
and finding it under :func:`~colorlab.data.data_root` in either layout (the binary files, or a copy in
class folders read as a labelled folder)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .splits import check_split
from .labelled import is_labelled_folder, load_labelled_folder
from .root import DATA_ENV_VAR, data_root

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
# The official binary layout, as cifar-10-binary.tar.gz holds it (data_scripts/get_cifar10.py checks the same names).
BATCHES_FOLDER = "cifar-10-batches-bin"
BATCH_FILES = {"train": tuple(f"data_batch_{i}.bin" for i in range(1, 6)), "test": ("test_batch.bin",)}
RECORD_BYTES = 1 + 3 * 32 * 32  # one label byte, then the R, G and B planes, each 32x32 row-major
# A copy in class folders, under data_root(), as data_scripts/cifar10_from_jpeg.py --layout folder writes it.
CLASS_FOLDER_NAMES = ("cifar10", "cifar10-jpeg")


def _cifar_folder(root: Path) -> tuple[Path, Path]:
    """(folder holding the .bin files, folder to pass to the download script as --dest)."""
    if (root / BATCHES_FOLDER).is_dir():
        return root / BATCHES_FOLDER, root
    all_files = BATCH_FILES["train"] + BATCH_FILES["test"]
    if root.name == BATCHES_FOLDER or any((root / f).is_file() for f in all_files):
        return root, root.parent
    return root / BATCHES_FOLDER, root


def load_cifar10(root, split: str = "train") -> tuple[torch.Tensor, torch.Tensor]:
    """CIFAR-10 from the official binary files (no pickle is ever read).

    Parameters
    ----------
    root : str or Path
        The folder that contains ``cifar-10-batches-bin``, or that folder itself.
    split : ``"train"`` (data_batch_1..5.bin, 50000 images, in file order) or ``"test"`` (test_batch.bin, 10000).

    Returns
    -------
    images : torch.uint8 tensor (N,3,32,32), RGB 0-255
    labels : torch.int64 tensor (N,), indices into :data:`CIFAR10_CLASSES`

    Raises FileNotFoundError naming the download command when files are missing, and ValueError
    when a file is truncated or corrupt (its size is not a whole number of 3073-byte records).
    """
    check_split(split)
    folder, dest = _cifar_folder(Path(root).expanduser())
    download = f"python data_scripts/get_cifar10.py --dest {dest}"
    missing = [name for name in BATCH_FILES[split] if not (folder / name).is_file()]
    if missing:
        hint = ""
        if (dest / "cifar-10-batches-py").is_dir():
            hint = " (Found cifar-10-batches-py: that is the pickle version; colorlab reads only the binary one.)"
        raise FileNotFoundError(f"CIFAR-10 {split} split not found: {', '.join(missing)} missing in {folder}. "
                                f"Download the binary version with: {download}{hint}")

    images, labels = [], []
    for name in BATCH_FILES[split]:
        path = folder / name
        n_bytes = path.stat().st_size
        if n_bytes == 0 or n_bytes % RECORD_BYTES:
            raise ValueError(f"{path} has {n_bytes} bytes, not a whole number of {RECORD_BYTES}-byte CIFAR-10 "
                             f"records: the file is truncated or corrupt. Re-run the download: {download}")
        records = np.fromfile(path, dtype=np.uint8).reshape(-1, RECORD_BYTES)
        if records[:, 0].max() >= len(CIFAR10_CLASSES):
            raise ValueError(f"{path} holds label {records[:, 0].max()}, but CIFAR-10 labels are 0-9: the file is "
                             f"corrupt or not CIFAR-10. Re-run the download: {download}")
        labels.append(records[:, 0].astype(np.int64))
        images.append(records[:, 1:].reshape(-1, 3, 32, 32))
    return torch.from_numpy(np.concatenate(images)), torch.from_numpy(np.concatenate(labels))

def find_cifar10(root=None) -> tuple[str, Path] | None:
    """Where CIFAR-10 is on disk: ``("binary", folder of the .bin files)``, ``("folder", labelled folder)`` or None.

    ``root`` (str or Path; None means :func:`data_root`) is searched for, in this order:

    1. the official binary version, ``root/cifar-10-batches-bin/`` with all six files
       ``data_batch_1.bin`` .. ``data_batch_5.bin`` and ``test_batch.bin`` (or ``root`` itself holding them),
       as ``python data_scripts/get_cifar10.py`` or ``data_scripts/cifar10_from_jpeg.py`` write it;
    2. a copy in class folders, ``root/cifar10/`` or ``root/cifar10-jpeg/`` holding ``train/<class>/``
       (see :func:`is_labelled_folder`), as ``cifar10_from_jpeg.py --layout folder`` writes it.

    Only names are checked, no file is read: a damaged file is reported when it is loaded.
    """
    root = data_root() if root is None else Path(root).expanduser()
    folder, _ = _cifar_folder(root)
    if all((folder / name).is_file() for name in BATCH_FILES["train"] + BATCH_FILES["test"]):
        return "binary", folder
    for name in CLASS_FOLDER_NAMES:
        if is_labelled_folder(root / name):
            return "folder", root / name
    return None


def _cifar10_not_found(root: Path, split: str) -> FileNotFoundError:
    folder, dest = _cifar_folder(root)
    missing = [name for name in BATCH_FILES[split] if not (folder / name).is_file()]
    partly = f" ({', '.join(missing)} missing there)" if len(missing) < len(BATCH_FILES[split]) else ""
    return FileNotFoundError(
        f"CIFAR-10 not found in {root} (data_root(): ${DATA_ENV_VAR}, else the nearest data/ folder): neither the "
        f"official binary files in {folder}{partly} nor a labelled folder "
        f"{root / CLASS_FOLDER_NAMES[0]}/train/<class>/. "
        f"Download the binary version with: python data_scripts/get_cifar10.py --dest {dest}  (170 MB), or set "
        f"{DATA_ENV_VAR} to the folder that holds it.")


def load_cifar10_from_data_root(split: str, count: int | None = None,
                                seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """CIFAR-10's ``split`` wherever :func:`find_cifar10` finds it under :func:`~colorlab.data.data_root`.

    Returns uint8 (N,3,32,32) images, 0-255, and int64 (N,) labels into :data:`CIFAR10_CLASSES`:
    from the binary files the first ``count`` in file order (the official files are shuffled), from
    class folders a class-balanced, seeded selection (:func:`~colorlab.data.load_labelled_folder`).
    Not found is a FileNotFoundError that names the download command; class folders that are not
    CIFAR-10's ten, or images that are not 32x32, a ValueError.
    """
    check_split(split)
    root = data_root()
    found = find_cifar10(root)
    if found is None:
        folder, _ = _cifar_folder(root)
        if all((folder / name).is_file() for name in BATCH_FILES[split]):
            found = ("binary", folder)  # this split is complete although the other is not
        else:
            raise _cifar10_not_found(root, split)
    layout, where = found
    if layout == "binary":
        images, labels = load_cifar10(where, split)
        if count is not None:
            # The official files are in a random order, so the first `count` images are a fair sample.
            images, labels = images[:count].clone(), labels[:count].clone()
        return images, labels
    images, labels, classes = load_labelled_folder(where, split, size=32, count=count, seed=seed)
    if classes != CIFAR10_CLASSES:
        raise ValueError(f"{where} is read as CIFAR-10, but its class folders are {', '.join(classes)}, not CIFAR-10's "
                         f"{', '.join(CIFAR10_CLASSES)}, so its labels would mean other classes. Rename the folder "
                         f"and pass it as a dataset of its own, or get CIFAR-10 with "
                         f"python data_scripts/get_cifar10.py.")
    if images.shape[2:] != (32, 32):
        raise ValueError(f"{where}: CIFAR-10 images are 32x32, got {tuple(images.shape[2:])}.")
    return images, labels
