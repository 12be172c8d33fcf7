"""The photos shipped inside scikit-image, scikit-learn and matplotlib (no download ever), their fixed
train/test split of whole photos, and the three scientific images kept out of both (:data:`CURIOSITIES`).

The split is by whole photo, never by patches of one photo on both sides, so a test score measures
colouring a scene the model has not seen.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from .images import load_image


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
