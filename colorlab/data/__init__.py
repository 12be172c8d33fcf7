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

:func:`load_images` is the single entry point the notebooks use, and :func:`load_labelled_images`
the same images with their class labels (for the semantic test); :func:`resolve_dataset` turns
``"auto"`` into ``"cifar10"`` where CIFAR-10 is on disk, else ``"samples"``, and :func:`classes_of`
names the classes a source's labels index.

The embedded photos are split into train and test as whole photos, never as
patches of one photo on both sides, so a test score measures colouring a scene
the model has not seen. Three more embedded images (:data:`CURIOSITIES`: a retina, the
Hubble deep field, a stained tissue section) are scientific images, not photos of the
world; they are in neither split, but :func:`load_photo` reads them too.

One module per idea, each importing only from those above it in this table:

============  =================================================================================
module        what it holds
============  =================================================================================
splits        the two splits, ``"train"`` and ``"test"``, and the check of a ``split``
images        one image file, PIL image or array as uint8 RGB; uint8 -> float32 in [0, 1]
photos        the embedded photos, their split and the curiosities
patches       random square patches of photos
folders       every photo of a folder, as squares
labelled      ``train/<class>/`` and ``test/<class>/`` folders, with their labels
root          :func:`data_root`: where downloaded data sets live
cifar10       CIFAR-10's binary files, its classes, finding it under :func:`data_root`
sources       :func:`load_images` and :func:`load_labelled_images` of any source
pairs         :class:`LabPairs`: the (L, ab) tensors the models train on, their bin counts and class prior
red_or_green  the averaging problem's images: real textures' L, painted one red or one green
============  =================================================================================
"""

from __future__ import annotations

from .cifar10 import CIFAR10_CLASSES, find_cifar10, load_cifar10
from .folders import IMAGE_EXTENSIONS, FolderPhotos, load_folder
from .images import load_image, to_float_image
from .labelled import is_labelled_folder, load_labelled_folder
from .pairs import LabPairs
from .patches import random_patches
from .photos import CURIOSITIES, EMBEDDED_PHOTOS, TEST_PHOTOS, TRAIN_PHOTOS, embedded_photos, load_photo
from .red_or_green import GREEN_AB, RED_AB, paint_red_or_green
from .root import DATA_ENV_VAR, data_root
from .sources import classes_of, has_labels, load_images, load_labelled_images, resolve_dataset

__all__ = [
    "EMBEDDED_PHOTOS",
    "CURIOSITIES",
    "TRAIN_PHOTOS",
    "TEST_PHOTOS",
    "CIFAR10_CLASSES",
    "IMAGE_EXTENSIONS",
    "DATA_ENV_VAR",
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
    "load_labelled_images",
    "resolve_dataset",
    "has_labels",
    "classes_of",
    "data_root",
    "RED_AB",
    "GREEN_AB",
    "paint_red_or_green",
]
