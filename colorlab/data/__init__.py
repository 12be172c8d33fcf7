"""Photos in, uint8 tensors out: the data every colorlab notebook starts from.

Three sources, one format. Every loader returns ``torch.uint8`` images of shape
(N,3,H,W) with values 0-255; :func:`to_float_image` turns them into float32 in
[0, 1], the input of :mod:`colorlab.color`, and :class:`LabPairs` turns them
into the normalised (L, ab) pairs the models train on.

================  ================================================  ===============================
source            what                                              functions
================  ================================================  ===============================
samples           8 colour photos of the world shipped inside       :func:`embedded_photos`,
                  scikit-image, scikit-learn and matplotlib;        :func:`random_patches`
                  no download ever
cifar10           CIFAR-10: the official binary version from        :func:`load_cifar10`,
                  data_scripts, or a copy in class folders          :func:`find_cifar10`
labelled folder   ``train/<class>/`` and ``test/<class>/`` folders  :func:`load_labelled_folder`
                  of photos: Places365, your own classes, the
                  JPEG copy of CIFAR-10
any folder        your own photos, COCO, ... (no labels)            :func:`load_folder`
================  ================================================  ===============================

:func:`load_images` is the single entry point the notebooks use; :func:`resolve_dataset`
turns ``"auto"`` into ``"cifar10"`` where CIFAR-10 is on disk, else ``"samples"``, and
:func:`classes_of` names the classes a source's labels index.

The embedded photos are split into train and test as whole photos, never as
patches of one photo on both sides, so a test score measures colouring a scene
the model has not seen. Three more embedded images (:data:`CURIOSITIES`: a retina, the
Hubble deep field, a stained tissue section) are scientific images, not photos of the
world; they are in neither split, but :func:`load_photo` reads them too.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

from .._validate import check_channels, check_range, describe
from ..color import normalize_ab, normalize_l, rgb_to_l_ab

__all__ = [
    "EMBEDDED_PHOTOS",
    "CURIOSITIES",
    "TRAIN_PHOTOS",
    "TEST_PHOTOS",
    "CIFAR10_CLASSES",
    "IMAGE_EXTENSIONS",
    "FolderPhotos",
    "LabPairs",
    "load_photo",
    "embedded_photos",
    "random_patches",
    "to_float_image",
    "load_cifar10",
    "find_cifar10",
    "load_image",
    "load_folder",
    "is_labelled_folder",
    "load_labelled_folder",
    "load_images",
    "resolve_dataset",
    "has_labels",
    "classes_of",
    "data_root",
]

# ------------------------------------------------------------ embedded photos


def _skimage(name: str):
    def load():
        import skimage.data

        return getattr(skimage.data, name)()

    return load


def _stereo_motorcycle_left():
    import skimage.data

    # (left, right, disparity): the right view is the same scene, so only one view may be used at all.
    return skimage.data.stereo_motorcycle()[0]


def _sklearn(filename: str):
    def load():
        from sklearn.datasets import load_sample_image

        return load_sample_image(filename)

    return load


def _grace_hopper():
    from matplotlib import cbook

    with cbook.get_sample_data("grace_hopper.jpg") as f:
        return np.asarray(Image.open(f).convert("RGB"))


# Name -> loader returning the photo as uint8 (H,W,3). The loaders read files that ship with
# the installed packages, so they work offline. skimage.data.cat is left out (it is chelsea again),
# as are colorwheel and logo (graphics, not photos).
EMBEDDED_PHOTOS = {
    "astronaut": _skimage("astronaut"),
    "chelsea": _skimage("chelsea"),
    "coffee": _skimage("coffee"),
    "rocket": _skimage("rocket"),
    "motorcycle": _stereo_motorcycle_left,
    "china": _sklearn("china.jpg"),
    "flower": _sklearn("flower.jpg"),
    "grace_hopper": _grace_hopper,
}

# Scientific images that also ship with scikit-image: a fundus photograph, a telescope's deep field and a
# stained tissue section. Their colours are a camera's or a stain's, not the world's, so a colorizer
# trained or tested on them learns about neither; notebook 00 shows them as a curiosity.
CURIOSITIES = {
    "retina": _skimage("retina"),
    "hubble_deep_field": _skimage("hubble_deep_field"),
    "immunohistochemistry": _skimage("immunohistochemistry"),
}

# Whole photos, fixed once: a cat, a cup and a flower are kinds of scene the training photos do not show.
TEST_PHOTOS = ("chelsea", "coffee", "flower")
TRAIN_PHOTOS = tuple(name for name in EMBEDDED_PHOTOS if name not in TEST_PHOTOS)


def load_photo(name: str) -> np.ndarray:
    """One embedded photo or curiosity by name, as a uint8 array of shape (H,W,3), values 0-255.

    ``name`` is a key of :data:`EMBEDDED_PHOTOS` or :data:`CURIOSITIES`; an unknown name is a
    ValueError listing the valid ones.
    """
    loader = EMBEDDED_PHOTOS.get(name) or CURIOSITIES.get(name)
    if loader is None:
        raise ValueError(f"unknown embedded photo {name!r}; expected one of "
                         f"{', '.join([*EMBEDDED_PHOTOS, *CURIOSITIES])}.")
    return load_image(loader())


def embedded_photos(split: str = "train") -> dict[str, np.ndarray]:
    """The embedded photos of one split: ``"train"`` (5 photos), ``"test"`` (3), ``"all"`` (those 8),
    or ``"curiosities"`` (the 3 scientific images of :data:`CURIOSITIES`, in no split).

    Returns a dict name -> uint8 (H,W,3) array, values 0-255, in the order of :data:`TRAIN_PHOTOS`,
    :data:`TEST_PHOTOS`, :data:`EMBEDDED_PHOTOS` or :data:`CURIOSITIES`.
    """
    names = {"train": TRAIN_PHOTOS, "test": TEST_PHOTOS, "all": tuple(EMBEDDED_PHOTOS),
             "curiosities": tuple(CURIOSITIES)}
    if split not in names:
        raise ValueError(f"split must be 'train', 'test', 'all' or 'curiosities', got {split!r}.")
    return {name: load_photo(name) for name in names[split]}


# ------------------------------------------------------------------- patches


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def _resize_shorter_side(photo: np.ndarray, shorter: int) -> np.ndarray:
    h, w = photo.shape[:2]
    factor = shorter / min(h, w)
    new_size = (max(shorter, round(w * factor)), max(shorter, round(h * factor)))
    # Lanczos in PIL widens its kernel when shrinking, so downscaling is anti-aliased.
    return np.asarray(Image.fromarray(photo).resize(new_size, Image.Resampling.LANCZOS))


def random_patches(photos, size: int, count: int, seed: int, flip: bool = True,
                   scale: int | None = None, return_sources: bool = False):
    """Cut ``count`` random square patches out of photos.

    Parameters
    ----------
    photos : dict name -> array, or list of arrays
        uint8 photos of shape (H,W,3), values 0-255 (as :func:`embedded_photos` returns).
    size : int
        Side of a patch in pixels. Every photo (after ``scale``) must be at least this large.
    count : int
        Number of patches, >= 1.
    seed : int
        Seed of a private ``numpy.random.default_rng``; the global random state is neither used nor changed.
    flip : bool
        Mirror each patch left-right with probability 1/2.
    scale : int or None
        If given, each photo is first resized (once, Lanczos, anti-aliased) so that its shorter side
        is ``scale`` pixels, so that a small patch holds a whole object rather than a close-up texture.
        Must be >= ``size``.

    return_sources : bool
        Also return which photo each patch was cut from.

    Returns
    -------
    torch.uint8 tensor of shape (count, 3, size, size); with ``return_sources``, also a
    torch.int64 tensor (count,) of indices into ``photos`` (in the dict's order).

    Notes
    -----
    Each patch picks a photo uniformly at random, whatever its size (so a large photo such as the motorcycle
    does not dominate), then a top-left corner uniformly among all positions where the patch fits.
    The random draws do not depend on ``flip``: the same seed gives the same crops with ``flip``
    on or off, only mirrored.
    """
    size = _positive_int(size, "size")
    count = _positive_int(count, "count")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an integer, got {seed!r}.")
    if scale is not None and _positive_int(scale, "scale") < size:
        raise ValueError(f"scale (the shorter side after resizing) must be >= the patch size {size}, got {scale}.")
    if isinstance(photos, dict):
        named = list(photos.items())
    elif isinstance(photos, (list, tuple)):
        named = [(f"photo {i}", p) for i, p in enumerate(photos)]
    else:
        raise ValueError(f"photos must be a dict or a list of uint8 (H,W,3) arrays, got {describe(photos)}.")
    if not named:
        raise ValueError("photos is empty; pass at least one uint8 (H,W,3) photo.")

    channel_first = []
    for name, photo in named:
        if not (isinstance(photo, np.ndarray) and photo.dtype == np.uint8 and photo.ndim == 3 and photo.shape[2] == 3):
            raise ValueError(f"{name}: expected a uint8 NumPy array of shape (H,W,3), got {describe(photo)}.")
        if scale is not None:
            photo = _resize_shorter_side(photo, scale)
        h, w = photo.shape[:2]
        if h < size or w < size:
            raise ValueError(f"{name} is {h}x{w} pixels (HxW), smaller than the {size}x{size} patch; "
                             f"use a smaller size or a larger scale.")
        channel_first.append(photo.transpose(2, 0, 1))

    rng = np.random.default_rng(int(seed))
    which = rng.integers(0, len(channel_first), count)
    heights = np.array([p.shape[1] for p in channel_first])
    widths = np.array([p.shape[2] for p in channel_first])
    tops = rng.integers(0, heights[which] - size + 1)
    lefts = rng.integers(0, widths[which] - size + 1)
    mirrored = rng.random(count) < 0.5

    patches = np.empty((count, 3, size, size), dtype=np.uint8)
    for i, (k, top, left) in enumerate(zip(which, tops, lefts)):
        patch = channel_first[k][:, top:top + size, left:left + size]
        patches[i] = patch[:, :, ::-1] if flip and mirrored[i] else patch
    if return_sources:
        return torch.from_numpy(patches), torch.from_numpy(which.astype(np.int64))
    return torch.from_numpy(patches)


def to_float_image(x):
    """uint8 image (0-255) -> float32 in [0, 1], the input of :mod:`colorlab.color`.

    Takes a torch tensor or a NumPy array of any shape and returns the same kind, same shape;
    a tensor stays on its device. Floating input already in [0, 1] is returned as float32
    (so calling it twice is harmless); any other dtype or range is a ValueError.
    """
    if isinstance(x, torch.Tensor):
        if x.dtype == torch.uint8:
            return x.to(torch.float32) / 255
        if torch.is_floating_point(x):
            if x.numel():
                check_range(x, 0.0, 1.0, "to_float_image: a float image")
            return x.to(torch.float32)
    elif isinstance(x, np.ndarray):
        if x.dtype == np.uint8:
            return x.astype(np.float32) / np.float32(255)
        if np.issubdtype(x.dtype, np.floating):
            if x.size:
                check_range(torch.from_numpy(np.ascontiguousarray(x)), 0.0, 1.0, "to_float_image: a float image")
            return x.astype(np.float32)
    raise ValueError(f"to_float_image: expected a uint8 (0-255) tensor or array, got {describe(x)}.")


# ------------------------------------------------------------------ CIFAR-10

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
_CIFAR_DIR = "cifar-10-batches-bin"
_CIFAR_FILES = {"train": tuple(f"data_batch_{i}.bin" for i in range(1, 6)), "test": ("test_batch.bin",)}
_CIFAR_RECORD = 1 + 3 * 32 * 32  # one label byte, then the R, G and B planes, each 32x32 row-major


def _cifar_folder(root: Path) -> tuple[Path, Path]:
    """(folder holding the .bin files, folder to pass to the download script as --dest)."""
    if (root / _CIFAR_DIR).is_dir():
        return root / _CIFAR_DIR, root
    all_files = _CIFAR_FILES["train"] + _CIFAR_FILES["test"]
    if root.name == _CIFAR_DIR or any((root / f).is_file() for f in all_files):
        return root, root.parent
    return root / _CIFAR_DIR, root


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
    if split not in _CIFAR_FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}.")
    folder, dest = _cifar_folder(Path(root).expanduser())
    download = f"python data_scripts/get_cifar10.py --dest {dest}"
    missing = [name for name in _CIFAR_FILES[split] if not (folder / name).is_file()]
    if missing:
        hint = ""
        if (dest / "cifar-10-batches-py").is_dir():
            hint = " (Found cifar-10-batches-py: that is the pickle version; colorlab reads only the binary one.)"
        raise FileNotFoundError(f"CIFAR-10 {split} split not found: {', '.join(missing)} missing in {folder}. "
                                f"Download the binary version with: {download}{hint}")

    images, labels = [], []
    for name in _CIFAR_FILES[split]:
        path = folder / name
        n_bytes = path.stat().st_size
        if n_bytes == 0 or n_bytes % _CIFAR_RECORD:
            raise ValueError(f"{path} has {n_bytes} bytes, not a whole number of {_CIFAR_RECORD}-byte CIFAR-10 "
                             f"records: the file is truncated or corrupt. Re-run the download: {download}")
        records = np.fromfile(path, dtype=np.uint8).reshape(-1, _CIFAR_RECORD)
        if records[:, 0].max() >= len(CIFAR10_CLASSES):
            raise ValueError(f"{path} holds label {records[:, 0].max()}, but CIFAR-10 labels are 0-9: the file is "
                             f"corrupt or not CIFAR-10. Re-run the download: {download}")
        labels.append(records[:, 0].astype(np.int64))
        images.append(records[:, 1:].reshape(-1, 3, 32, 32))
    return torch.from_numpy(np.concatenate(images)), torch.from_numpy(np.concatenate(labels))


# ---------------------------------------------------------- any image / folder

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp")


class _UnreadableImage(ValueError):
    def __init__(self, path, reason: str):
        super().__init__(f"could not read {path} as an image: {reason}")
        self.reason = reason


def _composite_on_white(rgba: np.ndarray) -> np.ndarray:
    # A transparent pixel has no colour to learn; white is what a viewer shows behind it.
    alpha = rgba[..., 3:].astype(np.float32) / 255
    rgb = rgba[..., :3].astype(np.float32) * alpha + 255 * (1 - alpha)
    return np.round(rgb).astype(np.uint8)


def _deep_to_uint8(values: np.ndarray, full_scale: float) -> np.ndarray:
    """Gray values of more than 8 bits -> uint8, by the value range ``[0, full_scale]``.

    Values outside that range (a 32-bit or float file with its own convention) are stretched from
    their min to their max instead.
    """
    values = np.nan_to_num(values.astype(np.float64))
    lo, hi = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    if lo >= 0 and hi <= full_scale:
        scaled = values * (255 / full_scale)
    elif hi > lo:
        scaled = (values - lo) * (255 / (hi - lo))
    else:
        scaled = np.zeros_like(values)
    return np.round(scaled).astype(np.uint8)


def _gray_to_rgb(gray: np.ndarray) -> np.ndarray:
    return np.repeat(gray[..., None], 3, axis=2)


def _pil_to_rgb(img: Image.Image) -> np.ndarray:
    """A PIL image of any mode -> uint8 (H,W,3). EXIF orientation must already be applied."""
    mode = img.mode
    if mode.startswith("I;16"):
        # PIL's convert('RGB') clips 16-bit values at 255, which turns most of a photo white.
        return _gray_to_rgb(_deep_to_uint8(np.asarray(img), 65535))
    if mode == "I":  # 32-bit: how PIL opens some 16-bit PNG and TIFF files
        return _gray_to_rgb(_deep_to_uint8(np.asarray(img), 65535))
    if mode == "F":
        values = np.asarray(img)
        return _gray_to_rgb(_deep_to_uint8(values, 1.0 if values.size and np.nanmax(values) <= 1 else 255.0))
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode == "P" and "transparency" in img.info):
        return _composite_on_white(np.asarray(img.convert("RGBA")))
    return np.asarray(img.convert("RGB"))


def _array_to_rgb(a: np.ndarray) -> np.ndarray:
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (3, 4))) or 0 in a.shape:
        raise ValueError(f"load_image: expected an image array of shape (H,W), (H,W,3) or (H,W,4), got {describe(a)}. "
                         f"A (3,H,W) tensor-style array needs `a.transpose(1, 2, 0)`.")
    if a.dtype == np.uint16:
        a = _deep_to_uint8(a, 65535)
    elif np.issubdtype(a.dtype, np.floating):
        if not ((a >= 0) & (a <= 1)).all():
            raise ValueError(f"load_image: a float image must lie in [0, 1], got {describe(a)} with values from "
                             f"{np.nanmin(a):.4g} to {np.nanmax(a):.4g}.")
        a = np.round(a * 255).astype(np.uint8)
    elif a.dtype != np.uint8:
        raise ValueError(f"load_image: expected dtype uint8, uint16 or float in [0, 1], got {describe(a)}.")
    if a.ndim == 2:
        return _gray_to_rgb(a)
    if a.shape[2] == 4:
        return _composite_on_white(a)
    return np.ascontiguousarray(a)


def _open_rgb(path: Path, draft_side: int | None = None) -> np.ndarray:
    """Read a file as uint8 (H,W,3), raising _UnreadableImage with a short reason."""
    if not path.exists():
        raise FileNotFoundError(f"no such image file: {path}")
    if not path.is_file():
        raise ValueError(f"expected an image file, got a folder or special file: {path}")
    if path.stat().st_size == 0:
        raise _UnreadableImage(path, "empty file (0 bytes)")
    try:
        with Image.open(path) as img:
            if draft_side:
                # JPEG can decode at 1/2, 1/4 or 1/8 scale, far faster for big photos;
                # PIL keeps both sides >= draft_side, so the final Lanczos still has detail to work with.
                img.draft(None, (draft_side, draft_side))
            img.load()
            return _pil_to_rgb(ImageOps.exif_transpose(img))
    except Image.DecompressionBombError as err:
        raise _UnreadableImage(path, f"too large to decode safely ({err})") from None
    except Image.UnidentifiedImageError:
        raise _UnreadableImage(path, "not an image (PIL cannot identify the file format)") from None
    except Exception as err:  # PIL plugins raise OSError, SyntaxError, struct.error, ... on malformed files
        raise _UnreadableImage(path, f"corrupt or truncated ({type(err).__name__}: {err})") from None


def load_image(source) -> np.ndarray:
    """Any image as uint8 RGB of shape (H,W,3), values 0-255.

    Parameters
    ----------
    source : path (str or Path), PIL image, or NumPy array
        Arrays may be (H,W) gray, (H,W,3) RGB or (H,W,4) RGBA, of dtype uint8, uint16 (scaled by
        1/257) or float in [0, 1].

    Notes
    -----
    Files and PIL images have their EXIF orientation applied, so portrait phone photos stand upright.
    Every PIL mode is converted to RGB:

    - gray (1, L, I;16, I;16B, I, F) is repeated on three channels; 16-bit and 32-bit 'I' values are
      scaled by their value range (0-65535 -> 0-255, where PIL's own convert would clip at 255),
      'F' values in [0, 1] or [0, 255] likewise, and other ranges stretched from min to max;
    - transparent images (RGBA, LA, PA, palette with transparency) are composited onto white;
    - palette, CMYK and YCbCr images are converted by PIL.

    A missing file is a FileNotFoundError; an unreadable one (corrupt, truncated, not an image,
    empty) a ValueError that says why.
    """
    if isinstance(source, (str, os.PathLike)):
        return _open_rgb(Path(source).expanduser())
    if isinstance(source, Image.Image):
        return _pil_to_rgb(ImageOps.exif_transpose(source))
    if isinstance(source, np.ndarray):
        return _array_to_rgb(source)
    raise ValueError(f"load_image: expected a file path, a PIL image or a NumPy array, got {describe(source)}.")


@dataclass
class FolderPhotos:
    """What :func:`load_folder` read.

    images : torch.uint8 (N,3,size,size); paths : the N files, in the order of ``images``;
    skipped : (path, reason) for each file that could not be read.
    """

    images: torch.Tensor
    paths: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.paths)


def _image_files(folder, recursive: bool) -> tuple[Path, list[Path]]:
    folder = Path(folder).expanduser()
    if not folder.exists():
        raise FileNotFoundError(f"no such folder: {folder}")
    if not folder.is_dir():
        raise ValueError(f"expected a folder of photos, got a file: {folder}")
    # os.scandir, not Path.rglob: listing CIFAR-10's 50,000 files takes 0.1 s instead of 1 s of pathlib overhead.
    found, pending = [], [("", str(folder))]
    while pending:
        prefix, where = pending.pop()
        with os.scandir(where) as entries:
            for entry in entries:
                if entry.name.startswith("."):  # hidden files (macOS '._x.jpg' forks, checkpoints) are never photos
                    continue
                if recursive and entry.is_dir(follow_symlinks=False):
                    pending.append((f"{prefix}{entry.name}/", entry.path))
                elif os.path.splitext(entry.name)[1].lower() in IMAGE_EXTENSIONS and entry.is_file():
                    found.append((f"{prefix}{entry.name}", entry.path))
    # Sorting by the relative POSIX path gives the same order on every system.
    found.sort()
    return folder, [Path(path) for _, path in found]


def _square(photo_rgb: np.ndarray, size: int) -> np.ndarray:
    """Resize so the shorter side is ``size`` and cut the centre square, in one Lanczos resampling."""
    h, w = photo_rgb.shape[:2]
    side = min(h, w)
    box = ((w - side) / 2, (h - side) / 2, (w + side) / 2, (h + side) / 2)
    return np.asarray(Image.fromarray(photo_rgb).resize((size, size), Image.Resampling.LANCZOS, box=box))


def _load_files(folder: Path, files: list[Path], size: int, limit: int | None, what: str) -> FolderPhotos:
    if not files:
        raise ValueError(f"{what}: no image files ({', '.join(IMAGE_EXTENSIONS)}) found in {folder}.")
    images, paths, skipped = [], [], []
    for path in files:
        if limit is not None and len(paths) >= limit:
            break
        try:
            photo = _open_rgb(path, draft_side=2 * size)
        except _UnreadableImage as err:
            skipped.append((path, err.reason))
            continue
        images.append(_square(photo, size).transpose(2, 0, 1))
        paths.append(path)
    if not images:
        reasons = "; ".join(f"{p.name}: {r}" for p, r in skipped[:3])
        raise ValueError(f"{what}: none of the {len(skipped)} image files in {folder} could be read ({reasons}).")
    if skipped:
        first = skipped[0]
        warnings.warn(f"{what}: skipped {len(skipped)} unreadable file(s) of {len(skipped) + len(paths)} in {folder}, "
                      f"e.g. {first[0].name}: {first[1]}. The list is in the result's .skipped.", stacklevel=3)
    return FolderPhotos(torch.from_numpy(np.stack(images)), paths, skipped)


def load_folder(folder, size: int, recursive: bool = True, limit: int | None = None) -> FolderPhotos:
    """All photos of a folder as square uint8 images.

    Parameters
    ----------
    folder : str or Path
    size : int
        Each photo is resized (Lanczos) so its shorter side is ``size`` pixels, then centre-cropped to
        ``size`` x ``size``. Photos smaller than that are enlarged.
    recursive : bool
        Also read sub-folders.
    limit : int or None
        Stop after this many photos were read (skipped files do not count).

    Returns
    -------
    :class:`FolderPhotos` with ``images`` torch.uint8 (N,3,size,size), ``paths`` and ``skipped``.

    Notes
    -----
    Files ending in .jpg, .jpeg, .png, .bmp, .gif, .tif, .tiff or .webp (any case) are read, in the
    order of their sorted relative paths; hidden files and folders (name starting with '.') are ignored.
    Each is converted to RGB as :func:`load_image` does (EXIF orientation applied, transparency
    composited onto white, 16-bit scaled to 8). A file that cannot be read (corrupt, truncated, not
    an image, empty) is skipped, listed in ``skipped`` with the reason, and counted in one warning.
    A missing folder is a FileNotFoundError; a folder with no readable photo a ValueError.
    """
    size = _positive_int(size, "size")
    if limit is not None:
        limit = _positive_int(limit, "limit")
    folder, files = _image_files(folder, recursive)
    return _load_files(folder, files, size, limit, "load_folder")


# ---------------------------------------------------------- labelled folders

SPLITS = ("train", "test")


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


_LAYOUT = "train/<class>/ and test/<class>/ folders of images (one folder per class, the same classes in both)"


def _labelled_classes(root: Path) -> tuple[str, ...]:
    """The class names of a labelled folder: the sub-folders of train/, checked against those of test/."""
    if not root.exists():
        raise FileNotFoundError(f"no such folder: {root}")
    if not root.is_dir():
        raise ValueError(f"expected a labelled folder ({_LAYOUT}), got a file: {root}")
    train = root / "train"
    if not train.is_dir():
        raise FileNotFoundError(f"{root} is not a labelled folder: it has no train/ sub-folder. Expected {_LAYOUT}. "
                                f"A folder of photos without classes works too, as load_images(folder) (no labels).")
    classes = tuple(p.name for p in _subfolders(train))
    if not classes:
        raise ValueError(f"{train} has no class sub-folders. Expected {_LAYOUT}; put each class's images in "
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
    classes = _labelled_classes(root)
    folder = root / split
    if not folder.is_dir():
        raise FileNotFoundError(f"{root} has train/ but no {split}/ folder. Expected {_LAYOUT}: move some images of "
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
        _, files = _image_files(folder / name, recursive=True)
        if not files:
            raise ValueError(f"class folder {folder / name} holds no image files ({', '.join(IMAGE_EXTENSIONS)}). "
                             f"Add images of class {name!r}, or remove the folder (in train/, that removes the class).")
        per_class.append(files)
    if not any(per_class):
        raise ValueError(f"{folder} has none of the class folders of train/ ({', '.join(classes)}). "
                         f"Expected {_LAYOUT}.")
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
    if split not in SPLITS:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}.")
    size = _positive_int(size, "size")
    if count is not None:
        count = _positive_int(count, "count")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an integer, got {seed!r}.")
    if not isinstance(root, (str, os.PathLike)):
        raise ValueError(f"root must be a folder path, got {describe(root)}.")
    folder, classes, per_class = _labelled_files(Path(root).expanduser(), split)

    rng = np.random.default_rng(int(seed))
    shuffled = [[files[i] for i in rng.permutation(len(files))] for files in per_class]
    turns = rng.permutation(len(classes))
    # Listing every path in turn order is cheap; decoding them is not, so _load_files stops at `count`.
    ordered = [(shuffled[k][rank], k) for rank in range(max(map(len, shuffled))) for k in turns
               if rank < len(shuffled[k])]
    label_of = dict(ordered)
    photos = _load_files(folder, [path for path, _ in ordered], size, count,
                         f"load_labelled_folder({str(root)!r}, split={split!r})")
    labels = torch.tensor([label_of[path] for path in photos.paths], dtype=torch.int64)
    mixed = torch.from_numpy(rng.permutation(len(labels)))
    return photos.images[mixed].contiguous(), labels[mixed], classes


# ------------------------------------------------------------- (L, ab) pairs


class LabPairs(torch.utils.data.Dataset):
    """Images as normalised (L, ab) pairs, held as two tensors on one device.

    ``l`` is (N,1,H,W) = :func:`~colorlab.color.normalize_l` of Lab's L, in [-1, 1];
    ``ab`` is (N,2,H,W) = :func:`~colorlab.color.normalize_ab` of a and b, about [-1, 1]; both float32.

    The whole data set lives on one device (the GPU, typically: CIFAR-10's 50000 images take 600 MB),
    and :meth:`batches` builds each batch by indexing there, so a GPU training loop does no host work
    and no host-to-device copy per batch. It is also a ``torch.utils.data.Dataset`` (item i is
    ``(l[i], ab[i])``) for code that wants a DataLoader, though that gives up the speed.
    """

    def __init__(self, l: torch.Tensor, ab: torch.Tensor):
        for name, x, channels in (("l", l, 1), ("ab", ab, 2)):
            if not (isinstance(x, torch.Tensor) and torch.is_floating_point(x) and x.ndim == 4
                    and x.shape[1] == channels):
                raise ValueError(f"LabPairs: {name} must be a float tensor of shape (N,{channels},H,W), "
                                 f"got {describe(x)}.")
        if l.shape[0] != ab.shape[0] or l.shape[2:] != ab.shape[2:] or l.device != ab.device:
            raise ValueError(f"LabPairs: l and ab must have the same N, H, W and device, got {tuple(l.shape)} on "
                             f"{l.device} and {tuple(ab.shape)} on {ab.device}.")
        self.l = l.to(torch.float32)
        self.ab = ab.to(torch.float32)

    @classmethod
    def from_rgb(cls, images, device=None, chunk: int = 1024) -> "LabPairs":
        """Convert RGB images to (L, ab) pairs on ``device``.

        Parameters
        ----------
        images : torch tensor or NumPy array, (N,3,H,W)
            uint8 0-255 (what every loader of this module returns), or float in [0, 1].
        device : torch device or None
            Where the pairs live and where the conversion runs; None means
            :func:`colorlab.default_device` (the GPU when there is one).
        chunk : int
            Images converted at a time, so the float copies never need memory for the whole set.
        """
        from ..device import default_device

        if isinstance(images, np.ndarray):
            images = torch.from_numpy(np.ascontiguousarray(images))
        if not isinstance(images, torch.Tensor) or not (images.dtype == torch.uint8 or torch.is_floating_point(images)):
            raise ValueError(f"LabPairs.from_rgb: expected uint8 (0-255) or float ([0, 1]) images of shape (N,3,H,W), "
                             f"got {describe(images)}.")
        if images.ndim != 4:
            raise ValueError(f"LabPairs.from_rgb: expected a batch of shape (N,3,H,W), got {describe(images)}; "
                             f"a single (3,H,W) image needs `image.unsqueeze(0)`.")
        check_channels(images, 3, "LabPairs.from_rgb images", "RGB")
        chunk = _positive_int(chunk, "chunk")
        device = default_device() if device is None else torch.device(device)

        n, _, h, w = images.shape
        l = torch.empty((n, 1, h, w), dtype=torch.float32, device=device)
        ab = torch.empty((n, 2, h, w), dtype=torch.float32, device=device)
        for start in range(0, n, chunk):
            rgb = to_float_image(images[start:start + chunk].to(device))
            l_part, ab_part = rgb_to_l_ab(rgb)
            l[start:start + chunk] = normalize_l(l_part)
            ab[start:start + chunk] = normalize_ab(ab_part)
        return cls(l, ab)

    def __len__(self) -> int:
        return self.l.shape[0]

    def __getitem__(self, index):
        return self.l[index], self.ab[index]

    @property
    def device(self) -> torch.device:
        return self.l.device

    def to(self, device) -> "LabPairs":
        """The same pairs on another device (a new LabPairs; ``self`` is returned when already there)."""
        device = torch.device(device)
        if device == self.device:
            return self
        return LabPairs(self.l.to(device), self.ab.to(device))

    def batches(self, batch_size: int, shuffle: bool = True, flip: bool = False,
                generator: torch.Generator | None = None, drop_last: bool = False, also: tuple = ()):
        """One epoch of ``(l, ab)`` batches, shapes (B,1,H,W) and (B,2,H,W), on the data's device.

        Parameters
        ----------
        batch_size : int
        shuffle : bool
            Visit the images in a random order (``torch.randperm`` on the data's device); otherwise in order.
            Either way each image appears exactly once per epoch (or not at all, in a dropped last batch).
        flip : bool
            Mirror each image left-right with probability 1/2; L and ab of an image are flipped together.
        generator : torch.Generator or None
            Source of randomness, for a reproducible epoch; None uses torch's global generator.
            A generator on another device than the data (a CPU one for GPU data) also works: the
            permutation and flips are drawn there once per epoch and copied over.
        drop_last : bool
            Leave out the last batch when it is smaller than ``batch_size``.
        also : tuple of tensors
            More per-image tensors, shape (N, ..., W') on the data's device (a training loop's
            precomputed targets, say), batched with the same images and mirrored along their last
            dimension with them; each batch is then ``(l, ab, *also)``.

        The permutation and flips are drawn once at the start of the epoch, on the device; each batch is
        then an index_select and a ``torch.where``, with no host work and no synchronisation.
        """
        batch_size = _positive_int(batch_size, "batch_size")
        if generator is not None and not isinstance(generator, torch.Generator):
            raise ValueError(f"generator must be a torch.Generator or None, got {describe(generator)}.")
        n, device = len(self), self.device
        also = tuple(also)
        for i, extra in enumerate(also):
            if not (isinstance(extra, torch.Tensor) and extra.ndim >= 2 and extra.shape[0] == n
                    and extra.device == device):
                raise ValueError(f"LabPairs.batches: also[{i}] must be a tensor of shape ({n}, ..., W) on {device}, "
                                 f"got {describe(extra)}.")
        draw_on = generator.device if generator is not None else device
        order = (torch.randperm(n, generator=generator, device=draw_on).to(device) if shuffle
                 else torch.arange(n, device=device))
        mirrored = (torch.rand(n, generator=generator, device=draw_on).to(device) < 0.5) if flip else None
        end = n - n % batch_size if drop_last else n
        return self._epoch(order, mirrored, batch_size, end, also)

    def _epoch(self, order, mirrored, batch_size, end, also=()):
        for start in range(0, end, batch_size):
            index = order[start:start + batch_size]
            tensors = [self.l[index], self.ab[index], *(extra[index] for extra in also)]
            if mirrored is not None:
                mask = mirrored[start:start + batch_size]
                tensors = [torch.where(mask.view(-1, *(1,) * (x.ndim - 1)), x.flip(-1), x) for x in tensors]
            yield tuple(tensors)


# ------------------------------------------------------------ one entry point

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


_CIFAR_FOLDER_NAMES = ("cifar10", "cifar10-jpeg")  # a copy in class folders, under data_root()


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
    if all((folder / name).is_file() for name in _CIFAR_FILES["train"] + _CIFAR_FILES["test"]):
        return "binary", folder
    for name in _CIFAR_FOLDER_NAMES:
        if is_labelled_folder(root / name):
            return "folder", root / name
    return None


def _cifar10_not_found(root: Path, split: str) -> FileNotFoundError:
    folder, dest = _cifar_folder(root)
    missing = [name for name in _CIFAR_FILES[split] if not (folder / name).is_file()]
    partly = f" ({', '.join(missing)} missing there)" if len(missing) < len(_CIFAR_FILES[split]) else ""
    return FileNotFoundError(
        f"CIFAR-10 not found in {root} (data_root(): ${DATA_ENV_VAR}, else the nearest data/ folder): neither the "
        f"official binary files in {folder}{partly} nor a labelled folder "
        f"{root / _CIFAR_FOLDER_NAMES[0]}/train/<class>/. "
        f"Download the binary version with: python data_scripts/get_cifar10.py --dest {dest}  (170 MB), or set "
        f"{DATA_ENV_VAR} to the folder that holds it.")


def _load_cifar10_anywhere(split: str, count: int | None, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    root = data_root()
    found = find_cifar10(root)
    if found is None:
        folder, _ = _cifar_folder(root)
        if all((folder / name).is_file() for name in _CIFAR_FILES[split]):
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


def resolve_dataset(dataset):
    """``"auto"`` -> ``"cifar10"`` when :func:`find_cifar10` finds it under :func:`data_root`, else ``"samples"``.

    Any other value (``"samples"``, ``"cifar10"``, a folder path) is returned as it is, unchecked.
    """
    if isinstance(dataset, str) and dataset == "auto":
        return "cifar10" if find_cifar10() is not None else "samples"
    return dataset


def has_labels(source) -> bool:
    """Whether :func:`load_images` can return labels for ``source``: True for ``"samples"``, ``"cifar10"``,
    ``"auto"`` and a labelled folder (:func:`is_labelled_folder`), False for a plain folder of photos."""
    if isinstance(source, str) and source in ("samples", "cifar10", "auto"):
        return True
    return is_labelled_folder(source)


def classes_of(source, split: str = "test") -> tuple[str, ...]:
    """The names that the labels of ``load_images(source, split, labels=True)`` index, as a tuple of str.

    - ``"cifar10"``: :data:`CIFAR10_CLASSES` (either layout);
    - ``"samples"``: the photos a patch is cut from, :data:`TEST_PHOTOS` for ``split="test"`` (the
      default, as the semantic test labels the held-out images), :data:`TRAIN_PHOTOS` for ``"train"``;
    - a labelled folder: its class folders (the sorted sub-folders of ``train/``, the same for both splits);
    - ``"auto"``: as the source :func:`resolve_dataset` picks.

    A plain folder of photos has no classes (ValueError), and neither has anything else.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}.")
    source = resolve_dataset(source)
    if isinstance(source, str) and source == "cifar10":
        return CIFAR10_CLASSES
    if isinstance(source, str) and source == "samples":
        return TEST_PHOTOS if split == "test" else TRAIN_PHOTOS
    if not isinstance(source, (str, os.PathLike)):
        raise ValueError(f"source must be 'samples', 'cifar10', 'auto' or a folder path, got {describe(source)}.")
    if not is_labelled_folder(source):
        raise ValueError(f"{str(source)!r} is not a labelled folder ({_LAYOUT}), so its photos have no classes.")
    return _labelled_classes(Path(source).expanduser())


def _in_test_split(path: Path, folder: Path) -> bool:
    # A hash of the relative path, not Python's salted hash(): the same file lands in the same split on
    # every run and machine, and adding photos to the folder never moves the old ones across the split.
    digest = hashlib.md5(path.relative_to(folder).as_posix().encode("utf-8")).digest()
    return digest[0] % 5 == 0


def load_images(source, split: str = "train", size: int = 64, count: int | None = None,
                seed: int = 0, labels: bool = False):
    """Images for a notebook, as torch.uint8 (N,3,size,size), values 0-255.

    With ``labels``, returns ``(images, labels)``: torch.int64 (N,) class labels for the semantic
    test of 003, indices into :func:`classes_of` ``(source, split)``. For ``"samples"`` the label is
    the photo a patch comes from (an index into :data:`TRAIN_PHOTOS` or :data:`TEST_PHOTOS`), for
    ``"cifar10"`` the CIFAR-10 class, for a labelled folder its class folder; a plain folder has no
    labels (ValueError).

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
    if split not in SPLITS:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}.")
    size = _positive_int(size, "size")
    if count is not None:
        count = _positive_int(count, "count")
    source = resolve_dataset(source)

    if isinstance(source, str) and source == "samples":
        scale = max(size, min(4 * size, 256))
        images, sources = random_patches(embedded_photos(split), size, 1000 if count is None else count, seed,
                                         flip=(split == "train"), scale=scale, return_sources=True)
        return (images, sources) if labels else images
    if isinstance(source, str) and source == "cifar10":
        if size != 32:
            raise ValueError(f"CIFAR-10 images are 32x32, got size={size}. Use size=32, or the 'samples' or a "
                             f"folder of photos for larger images.")
        images, classes = _load_cifar10_anywhere(split, count, seed)
        return (images, classes) if labels else images
    if not isinstance(source, (str, os.PathLike)):
        raise ValueError(f"source must be 'samples', 'cifar10', 'auto' or a folder path, got {describe(source)}.")
    if is_labelled_folder(source):
        images, classes, _ = load_labelled_folder(source, split, size=size, count=count, seed=seed)
        return (images, classes) if labels else images
    if not Path(source).expanduser().exists():
        raise FileNotFoundError(f"source must be 'samples', 'cifar10' or an existing folder (or 'auto'); no such "
                                f"folder: {source}")
    if labels:
        raise ValueError(f"a folder of photos without class folders has no labels; the semantic test needs "
                         f"source='samples', 'cifar10' or a labelled folder ({_LAYOUT}), got {str(source)!r}.")
    folder, files = _image_files(source, recursive=True)
    wanted = [p for p in files if _in_test_split(p, folder) == (split == "test")]
    if files and not wanted:
        raise ValueError(f"{folder} has {len(files)} image files but none falls in the {split} split "
                         f"(about 1 in 5 is test, chosen by a hash of the file name); add more photos.")
    return _load_files(folder, wanted, size, count, f"load_images({str(source)!r}, split={split!r})").images
