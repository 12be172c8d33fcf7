"""Tests of colorlab.data: embedded photos, patches, CIFAR-10 binary files, folders, LabPairs.

Everything is built in tmp_path or read from files inside installed packages; nothing downloads.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from colorlab import color, data, quantize
from colorlab.data import folders

# ------------------------------------------------------------ embedded photos


@pytest.fixture(scope="module")
def all_photos():
    return data.embedded_photos("all")


def test_splits_are_disjoint_and_complete():
    assert set(data.TRAIN_PHOTOS).isdisjoint(data.TEST_PHOTOS)
    assert set(data.TRAIN_PHOTOS) | set(data.TEST_PHOTOS) == set(data.EMBEDDED_PHOTOS)
    assert data.TEST_PHOTOS == ("chelsea", "coffee", "flower")
    assert data.TRAIN_PHOTOS == ("astronaut", "rocket", "motorcycle", "china", "grace_hopper")
    assert not {"cat", "colorwheel", "logo"} & set(data.EMBEDDED_PHOTOS)


def test_scientific_images_are_curiosities_in_no_split():
    assert set(data.CURIOSITIES) == {"retina", "hubble_deep_field", "immunohistochemistry"}
    assert set(data.CURIOSITIES).isdisjoint(data.EMBEDDED_PHOTOS)
    assert set(data.CURIOSITIES).isdisjoint(data.TRAIN_PHOTOS + data.TEST_PHOTOS)
    curiosities = data.embedded_photos("curiosities")
    assert list(curiosities) == list(data.CURIOSITIES)
    for name, image in curiosities.items():
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3, name
        np.testing.assert_array_equal(data.load_photo(name), image)


def test_every_embedded_photo_loads_as_uint8_rgb(all_photos):
    assert list(all_photos) == list(data.EMBEDDED_PHOTOS) and len(all_photos) == 8
    for name, photo in all_photos.items():
        assert isinstance(photo, np.ndarray), name
        assert photo.dtype == np.uint8, name
        assert photo.ndim == 3 and photo.shape[2] == 3, (name, photo.shape)
        assert min(photo.shape[:2]) >= 256, (name, photo.shape)
        assert photo.std() > 10, name  # a real photo, not a blank


def test_embedded_split_dicts():
    assert tuple(data.embedded_photos("test")) == data.TEST_PHOTOS
    assert tuple(data.embedded_photos()) == data.TRAIN_PHOTOS
    with pytest.raises(ValueError, match="'train', 'test', 'all' or 'curiosities'"):
        data.embedded_photos("validation")


def test_motorcycle_is_the_left_view_only():
    import skimage.data

    left, right, _ = skimage.data.stereo_motorcycle()
    photo = data.load_photo("motorcycle")
    np.testing.assert_array_equal(photo, left)
    assert not np.array_equal(photo, right)


def test_unknown_photo_lists_the_valid_names():
    with pytest.raises(ValueError, match="unknown embedded photo 'cat'.*astronaut.*grace_hopper.*retina"):
        data.load_photo("cat")


# ------------------------------------------------------------------ patches


def _noise_photo(h, w, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_patches_shape_dtype_and_determinism(all_photos):
    photos = {name: all_photos[name] for name in data.TRAIN_PHOTOS}
    a = data.random_patches(photos, 32, 20, seed=1)
    assert a.shape == (20, 3, 32, 32) and a.dtype == torch.uint8
    np.random.seed(123)  # the global state must not matter
    b = data.random_patches(photos, 32, 20, seed=1)
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    c = data.random_patches(photos, 32, 20, seed=2)
    assert not torch.equal(a, c)


def test_patches_are_crops_of_the_photos():
    photo = _noise_photo(20, 30)
    patches = data.random_patches([photo], 8, 10, seed=0, flip=False)
    for patch in patches.numpy().transpose(0, 2, 3, 1):
        found = any(
            np.array_equal(photo[y:y + 8, x:x + 8], patch) for y in range(13) for x in range(23)
        )
        assert found


def test_patches_flip_some_and_only_flip():
    photos = [_noise_photo(40, 50, 0), _noise_photo(30, 60, 1)]
    plain = data.random_patches(photos, 16, 60, seed=3, flip=False)
    flipped = data.random_patches(photos, 16, 60, seed=3, flip=True)
    same = [torch.equal(p, f) for p, f in zip(plain, flipped)]
    mirrored = [torch.equal(p.flip(-1), f) for p, f in zip(plain, flipped)]
    assert all(s or m for s, m in zip(same, mirrored))
    assert 10 < sum(mirrored) < 50  # about half


def test_patches_pick_photos_uniformly_not_by_area():
    big = np.zeros((200, 200, 3), np.uint8)
    small = np.full((20, 20, 3), 255, np.uint8)
    patches = data.random_patches({"big": big, "small": small}, 10, 400, seed=0)
    from_small = int((patches[:, 0, 0, 0] == 255).sum())
    assert 150 < from_small < 250


def test_patches_scale_resizes_the_shorter_side():
    photo = np.zeros((200, 400, 3), np.uint8)
    photo[:100, :, 0] = 255  # top half red
    photo[100:, :, 2] = 255  # bottom half blue
    # Without scale, a 20 px patch sees one colour; with scale=20 it spans the whole height.
    patches = data.random_patches([photo], 20, 10, seed=0, scale=20)
    assert (patches[:, 0, 0, :] > 200).all() and (patches[:, 2, 0, :] < 50).all()
    assert (patches[:, 2, -1, :] > 200).all() and (patches[:, 0, -1, :] < 50).all()
    # Scaling can also shrink a photo below the patch size: refused up front.
    with pytest.raises(ValueError, match="scale"):
        data.random_patches([photo], 20, 1, seed=0, scale=10)


def test_patches_reject_bad_input():
    with pytest.raises(ValueError, match=r"10x12 pixels.*16x16 patch"):
        data.random_patches({"tiny": _noise_photo(10, 12)}, 16, 1, seed=0)
    with pytest.raises(ValueError, match="count must be a whole number"):
        data.random_patches([_noise_photo(20, 20)], 16, 0, seed=0)
    with pytest.raises(ValueError, match=r"uint8 NumPy array of shape \(H,W,3\)"):
        data.random_patches([_noise_photo(20, 20).astype(np.float32)], 16, 1, seed=0)
    with pytest.raises(ValueError, match=r"uint8 NumPy array of shape \(H,W,3\)"):
        data.random_patches([_noise_photo(20, 20).transpose(2, 0, 1)], 16, 1, seed=0)
    with pytest.raises(ValueError, match="empty"):
        data.random_patches([], 16, 1, seed=0)
    with pytest.raises(ValueError, match="seed must be a whole number"):
        data.random_patches([_noise_photo(20, 20)], 16, 1, seed=None)


def test_to_float_image():
    x = torch.tensor([[[0, 51, 255]]], dtype=torch.uint8)
    y = data.to_float_image(x)
    assert y.dtype == torch.float32 and y.device == x.device
    torch.testing.assert_close(y, torch.tensor([[[0.0, 0.2, 1.0]]]))
    a = data.to_float_image(x.numpy())
    assert isinstance(a, np.ndarray) and a.dtype == np.float32
    np.testing.assert_allclose(a, [[[0.0, 0.2, 1.0]]], rtol=1e-6)
    assert torch.equal(data.to_float_image(y), y)  # idempotent
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        data.to_float_image(torch.tensor([0.0, 2.0]))
    with pytest.raises(ValueError, match="uint8"):
        data.to_float_image(torch.tensor([1, 2]))
    with pytest.raises(ValueError, match="uint8"):
        data.to_float_image([0, 255])


# ------------------------------------------------------------------ CIFAR-10


def _write_cifar_file(path, labels, first_value):
    """Records whose R, G, B planes are first_value + i, + 10, + 20 (i = record index)."""
    records = np.zeros((len(labels), 3073), np.uint8)
    records[:, 0] = labels
    for i in range(len(labels)):
        for c in range(3):
            records[i, 1 + 1024 * c: 1 + 1024 * (c + 1)] = first_value + i + 10 * c
    records.tofile(path)
    return records


@pytest.fixture
def cifar_root(tmp_path):
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    records = _write_cifar_file(folder / "test_batch.bin", [3, 9, 0], first_value=10)
    # record 1, R plane: mark row 0, column 1 to check the row-major order
    records[1, 1 + 1] = 200
    records.tofile(folder / "test_batch.bin")
    for k in range(1, 6):
        _write_cifar_file(folder / f"data_batch_{k}.bin", [k] * 2, first_value=40 * k)
    return tmp_path


def test_cifar_decodes_channel_major_records(cifar_root):
    images, labels = data.load_cifar10(cifar_root, "test")
    assert images.shape == (3, 3, 32, 32) and images.dtype == torch.uint8
    assert labels.dtype == torch.int64 and labels.tolist() == [3, 9, 0]
    assert (images[0, 0] == 10).all() and (images[0, 1] == 20).all() and (images[0, 2] == 30).all()
    assert images[1, 0, 0, 1] == 200 and images[1, 0, 1, 0] == 11 and images[1, 1, 0, 1] == 21


def test_cifar_train_is_the_five_batches_in_order(cifar_root):
    images, labels = data.load_cifar10(cifar_root)
    assert images.shape == (10, 3, 32, 32)
    assert labels.tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert images[:, 0, 0, 0].tolist() == [40, 41, 80, 81, 120, 121, 160, 161, 200, 201]


def test_cifar_root_may_be_the_batches_folder(cifar_root):
    a, _ = data.load_cifar10(cifar_root / "cifar-10-batches-bin", "test")
    b, _ = data.load_cifar10(str(cifar_root), "test")
    assert torch.equal(a, b)


def test_cifar_missing_files_name_the_download_command(tmp_path):
    with pytest.raises(FileNotFoundError, match="data_scripts/get_cifar10.py --dest") as err:
        data.load_cifar10(tmp_path / "nowhere", "train")
    assert str(tmp_path / "nowhere") in str(err.value)
    (tmp_path / "cifar-10-batches-py").mkdir()
    with pytest.raises(FileNotFoundError, match="pickle version"):
        data.load_cifar10(tmp_path, "test")


def test_cifar_truncated_or_corrupt_file_is_refused(cifar_root):
    path = cifar_root / "cifar-10-batches-bin" / "data_batch_3.bin"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ValueError, match="truncated or corrupt.*get_cifar10.py"):
        data.load_cifar10(cifar_root, "train")
    _write_cifar_file(path, [10, 1], first_value=0)
    with pytest.raises(ValueError, match="label 10"):
        data.load_cifar10(cifar_root, "train")


def test_cifar_bad_split_and_classes(cifar_root):
    with pytest.raises(ValueError, match="'train' or 'test'"):
        data.load_cifar10(cifar_root, "val")
    assert len(data.CIFAR10_CLASSES) == 10
    assert data.CIFAR10_CLASSES[0] == "airplane" and data.CIFAR10_CLASSES[-1] == "truck"


def test_load_images_cifar(cifar_root, monkeypatch):
    monkeypatch.setenv("COLORLAB_DATA", str(cifar_root))
    images = data.load_images("cifar10", "train", size=32, count=3)
    assert images.shape == (3, 3, 32, 32) and images.dtype == torch.uint8
    with pytest.raises(ValueError, match="32x32"):
        data.load_images("cifar10", "train", size=64)


# ---------------------------------------------------------- images and folders


def _jpeg_bytes(rgb):
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=95)
    return buf.getvalue()


@pytest.fixture
def photo_folder(tmp_path):
    """One file per PIL mode the loader must handle, plus three unreadable files."""
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    Image.new("L", (40, 30), 100).save(folder / "gray.png")

    rgba = np.zeros((30, 40, 4), np.uint8)
    rgba[:, :20] = (255, 0, 0, 255)  # left half opaque red, right half fully transparent
    Image.fromarray(rgba).save(folder / "rgba.png")

    Image.new("RGB", (40, 30), (0, 0, 255)).convert("P", palette=Image.Palette.ADAPTIVE).save(folder / "palette.gif")
    transparent = Image.new("P", (40, 30), 1)
    transparent.putpalette([0, 255, 0, 9, 9, 9] + [0] * 762)
    transparent.save(folder / "palette_transparent.png", transparency=1)

    Image.new("CMYK", (40, 30), (0, 255, 255, 0)).save(folder / "cmyk.JPG")

    deep = np.zeros((30, 40), np.uint16)
    deep[:, :20], deep[:, 20:] = 65535, 32768
    Image.fromarray(deep).save(folder / "deep16.png")

    # 40 wide, 20 high, red top-left corner; EXIF orientation 6 = turn 90 degrees clockwise to view.
    landscape = np.full((20, 40, 3), 255, np.uint8)
    landscape[:6, :6] = (255, 0, 0)
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(landscape).save(folder / "sub" / "rotated.jpg", exif=exif, quality=95)

    Image.new("RGB", (30, 30), (9, 99, 199)).save(folder / "sub" / "plain.bmp")

    (folder / "corrupt.jpg").write_bytes(_jpeg_bytes(_noise_photo(64, 64))[:1500])
    (folder / "notes.jpg").write_text("not a photo at all\n")
    (folder / "empty.png").write_bytes(b"")
    (folder / "readme.txt").write_text("ignored: not an image extension")
    (folder / ".hidden.jpg").write_text("ignored: hidden")
    return folder


READABLE = ["cmyk.JPG", "deep16.png", "gray.png", "palette.gif", "palette_transparent.png", "rgba.png",
            "sub/plain.bmp", "sub/rotated.jpg"]


def test_load_folder_reads_every_mode_and_reports_unreadable_files(photo_folder):
    with pytest.warns(UserWarning, match="skipped 3 unreadable"):
        result = data.load_folder(photo_folder, 16)
    assert [p.relative_to(photo_folder).as_posix() for p in result.paths] == READABLE
    assert len(result) == len(READABLE)
    assert result.images.shape == (len(READABLE), 3, 16, 16) and result.images.dtype == torch.uint8
    reasons = {p.name: reason for p, reason in result.skipped}
    assert set(reasons) == {"corrupt.jpg", "notes.jpg", "empty.png"}
    assert "truncated" in reasons["corrupt.jpg"]
    assert "not an image" in reasons["notes.jpg"]
    assert "0 bytes" in reasons["empty.png"]

    by_name = dict(zip([p.name for p in result.paths], result.images))
    assert (by_name["gray.png"] == 100).all()
    assert (by_name["deep16.png"][:, :, 0] == 255).all() and (by_name["deep16.png"][:, :, -1] == 128).all()
    assert torch.equal(by_name["cmyk.JPG"][:, 8, 8], torch.tensor([255, 0, 0], dtype=torch.uint8))
    assert torch.equal(by_name["palette.gif"][:, 8, 8], torch.tensor([0, 0, 255], dtype=torch.uint8))
    assert (by_name["palette_transparent.png"] == 255).all()  # transparent -> white


def test_load_folder_options(photo_folder):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        flat = data.load_folder(photo_folder, 8, recursive=False)
        limited = data.load_folder(photo_folder, 8, limit=2)
    assert [p.name for p in flat.paths] == READABLE[:6]
    assert [p.name for p in limited.paths] == ["cmyk.JPG", "deep16.png"]
    assert limited.images.shape == (2, 3, 8, 8)


def test_load_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such folder"):
        data.load_folder(tmp_path / "missing", 16)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="no image files"):
        data.load_folder(empty, 16)
    (empty / "bad.png").write_bytes(b"\x89PNG garbage")
    with pytest.raises(ValueError, match="none of the 1 image files.*bad.png"):
        data.load_folder(empty, 16)
    with pytest.raises(ValueError, match="size must be a whole number"):
        data.load_folder(empty, 0)


def test_exif_orientation_is_applied(photo_folder):
    rotated = data.load_image(photo_folder / "sub" / "rotated.jpg")
    assert rotated.shape == (40, 20, 3)  # portrait now
    # Turned clockwise, the top-left corner is now top-right.
    assert tuple(rotated[1, -2]) > (200, 0, 0) and rotated[1, -2, 1] < 60
    assert rotated[1, 1, 1] > 200 and rotated[-2, -2, 1] > 200


def test_load_image_modes(photo_folder):
    rgba = data.load_image(photo_folder / "rgba.png")
    assert tuple(rgba[0, 0]) == (255, 0, 0) and tuple(rgba[0, -1]) == (255, 255, 255)
    deep = data.load_image(str(photo_folder / "deep16.png"))
    assert deep.dtype == np.uint8 and tuple(deep[0, 0]) == (255,) * 3 and tuple(deep[0, -1]) == (128,) * 3
    with pytest.raises(FileNotFoundError):
        data.load_image(photo_folder / "missing.png")
    with pytest.raises(ValueError, match="could not read .*corrupt.jpg"):
        data.load_image(photo_folder / "corrupt.jpg")


def test_load_image_from_pil_and_arrays():
    rgb = _noise_photo(5, 7)
    np.testing.assert_array_equal(data.load_image(Image.fromarray(rgb)), rgb)
    np.testing.assert_array_equal(data.load_image(rgb), rgb)
    gray = data.load_image(np.full((5, 7), 9, np.uint8))
    assert gray.shape == (5, 7, 3) and (gray == 9).all()
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[0, 0] = (10, 20, 30, 255)
    out = data.load_image(rgba)
    assert tuple(out[0, 0]) == (10, 20, 30) and tuple(out[1, 1]) == (255, 255, 255)
    assert (data.load_image(np.ones((3, 3))) == 255).all()
    assert (data.load_image(np.full((3, 3), 32768, np.uint16)) == 128).all()
    assert (data.load_image(Image.new("I;16", (4, 4), 65535)) == 255).all()
    assert (data.load_image(Image.new("F", (4, 4), 0.5)) == 128).all()
    with pytest.raises(ValueError, match=r"\(H,W\), \(H,W,3\) or \(H,W,4\)"):
        data.load_image(rgb.transpose(2, 0, 1))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        data.load_image(np.full((3, 3), 2.0))
    with pytest.raises(ValueError, match="dtype uint8"):
        data.load_image(np.zeros((3, 3), np.int32))
    with pytest.raises(ValueError, match="path, a PIL image or a NumPy array"):
        data.load_image(torch.zeros(3, 4, 4, dtype=torch.uint8))


def test_load_folder_resizes_shorter_side_then_centre_crops(tmp_path):
    photo = np.zeros((20, 60, 3), np.uint8)
    photo[:, 20:40] = 255  # only the centre third is white
    Image.fromarray(photo).save(tmp_path / "wide.png")
    image = data.load_folder(tmp_path, 10).images[0]
    assert image.shape == (3, 10, 10)
    assert (image[:, :, 1:-1] >= 250).all()  # Lanczos rings by a level or two near the edges


# ------------------------------------------------------------------ LabPairs


def _id_pairs(n, width=4):
    """Pairs whose L is the image id plus a column ramp, and ab a copy of it, to trace indexing and flips."""
    ramp = torch.arange(width, dtype=torch.float32) / 100
    l = torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1) + ramp.view(1, 1, 1, width)
    l = l.expand(n, 1, 3, width).contiguous()
    return data.LabPairs(l, torch.cat([l, -l], dim=1))


def test_lab_pairs_from_rgb_matches_color():
    images = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (7, 3, 6, 5), dtype=np.uint8))
    pairs = data.LabPairs.from_rgb(images, device="cpu", chunk=3)
    assert len(pairs) == 7 and pairs.device == torch.device("cpu")
    assert pairs.l.shape == (7, 1, 6, 5) and pairs.ab.shape == (7, 2, 6, 5)
    assert pairs.l.dtype == pairs.ab.dtype == torch.float32
    assert pairs.l.min() >= -1 and pairs.l.max() <= 1 and pairs.ab.abs().max() <= 1.2
    l, ab = color.rgb_to_l_ab(images.float() / 255)
    torch.testing.assert_close(pairs.l, color.normalize_l(l))
    torch.testing.assert_close(pairs.ab, color.normalize_ab(ab))
    # float input in [0, 1] is accepted and gives the same pairs; so does a NumPy array
    from_float = data.LabPairs.from_rgb(images.float() / 255, device="cpu")
    torch.testing.assert_close(from_float.l, pairs.l)
    torch.testing.assert_close(data.LabPairs.from_rgb(images.numpy(), device="cpu").ab, pairs.ab)
    l0, ab0 = pairs[0]
    assert l0.shape == (1, 6, 5) and ab0.shape == (2, 6, 5)
    assert pairs.to("cpu") is pairs


def test_lab_pairs_default_device_is_colorlab_default(monkeypatch):
    monkeypatch.setenv("COLORLAB_DEVICE", "cpu")
    pairs = data.LabPairs.from_rgb(torch.zeros(2, 3, 4, 4, dtype=torch.uint8))
    assert pairs.device == torch.device("cpu")
    assert torch.allclose(pairs.l, torch.tensor(-1.0))


def test_lab_pairs_reject_bad_input():
    with pytest.raises(ValueError, match=r"\(N,3,H,W\)"):
        data.LabPairs.from_rgb(torch.zeros(2, 4, 4, 3, dtype=torch.uint8))
    with pytest.raises(ValueError, match="unsqueeze"):
        data.LabPairs.from_rgb(torch.zeros(3, 4, 4, dtype=torch.uint8))
    with pytest.raises(ValueError, match="uint8"):
        data.LabPairs.from_rgb(torch.zeros(2, 3, 4, 4, dtype=torch.int64))
    with pytest.raises(ValueError, match="divide by 255"):
        data.LabPairs.from_rgb(torch.full((2, 3, 4, 4), 200.0), device="cpu")
    with pytest.raises(ValueError, match=r"\(N,2,H,W\)"):
        data.LabPairs(torch.zeros(2, 1, 4, 4), torch.zeros(2, 3, 4, 4))
    with pytest.raises(ValueError, match="same N, H, W"):
        data.LabPairs(torch.zeros(2, 1, 4, 4), torch.zeros(3, 2, 4, 4))
    with pytest.raises(ValueError, match="batch_size"):
        _id_pairs(3).batches(0)


def test_lab_pairs_class_prior_is_the_prior_of_all_the_ab_at_once():
    images = torch.from_numpy(np.random.default_rng(1).integers(0, 256, (9, 3, 5, 4), dtype=np.uint8))
    pairs = data.LabPairs.from_rgb(images, device="cpu")
    whole = quantize.class_prior(color.denormalize_ab(pairs.ab))
    for chunk in (1, 4, 256):  # chunks that divide the 9 images, that do not, and one larger than all
        prior = pairs.class_prior(chunk=chunk)
        assert prior.shape == (313,) and prior.dtype == torch.float64 and prior.device == pairs.device
        torch.testing.assert_close(prior, whole)
    assert abs(float(prior.sum()) - 1) < 1e-9
    with pytest.raises(ValueError, match="chunk"):
        pairs.class_prior(chunk=0)


def _ids(batch_l):
    return batch_l[:, 0, 0, 0].floor().long().tolist()


def test_batches_cover_every_index_once_per_epoch():
    pairs = _id_pairs(10)
    batches = list(pairs.batches(3, generator=torch.Generator().manual_seed(0)))
    assert [len(l) for l, _ in batches] == [3, 3, 3, 1]
    ids = [i for l, _ in batches for i in _ids(l)]
    assert sorted(ids) == list(range(10)) and ids != list(range(10))
    for l, ab in batches:
        assert l.shape[1:] == (1, 3, 4) and ab.shape[1:] == (2, 3, 4)
        torch.testing.assert_close(ab[:, :1], l)  # pairs stay together
    dropped = [i for l, _ in pairs.batches(3, drop_last=True) for i in _ids(l)]
    assert len(dropped) == 9 and len(set(dropped)) == 9
    in_order = [i for l, _ in pairs.batches(4, shuffle=False) for i in _ids(l)]
    assert in_order == list(range(10))


def test_batches_flip_l_and_ab_together():
    pairs = _id_pairs(40)
    flips = 0
    for l, ab in pairs.batches(8, shuffle=False, flip=True, generator=torch.Generator().manual_seed(1)):
        for i, image in zip(_ids(l), l):
            original = pairs.l[i]
            assert torch.equal(image, original) or torch.equal(image, original.flip(-1))
            flips += torch.equal(image, original.flip(-1))
        torch.testing.assert_close(ab[:, :1], l)
    assert 8 < flips < 32


def test_batches_carry_more_per_image_tensors_and_mirror_them_too():
    pairs = _id_pairs(12)
    ids = torch.arange(12.0).view(12, 1, 1, 1).expand(12, 3, 2, 4).contiguous()
    ramp = torch.arange(4.0).view(1, 1, 1, 4)
    extra = ids + ramp / 10  # image i's extra holds i, and a left-to-right ramp that shows a mirror
    labels = torch.arange(12).view(12, 1)  # a 2-d tensor: "mirrored" along its only non-batch axis
    seen, flips = [], 0
    for l, ab, batch_extra, batch_labels in pairs.batches(5, flip=True, also=(extra, labels),
                                                         generator=torch.Generator().manual_seed(2)):
        assert batch_extra.shape[1:] == (3, 2, 4) and batch_labels.shape[1:] == (1,)
        for image, values, label in zip(l, batch_extra, batch_labels):
            i = int(image[0, 0].max().floor())
            assert int(label) == i and torch.equal(values.floor(), torch.full_like(values, float(i)))
            mirrored = not torch.equal(image, pairs.l[i])
            assert torch.equal(values, extra[i].flip(-1) if mirrored else extra[i])
            flips += mirrored
            seen.append(i)
    assert sorted(seen) == list(range(12)) and 0 < flips < 12
    with pytest.raises(ValueError, match=r"also\[0\] must be a tensor of shape \(12, \.\.\., W\)"):
        next(pairs.batches(5, also=(torch.zeros(11, 2, 2),)))


def test_batches_are_reproducible_with_a_generator():
    pairs = _id_pairs(20)

    def epoch(seed):
        generator = torch.Generator().manual_seed(seed)
        return [(l.clone(), ab.clone()) for l, ab in pairs.batches(6, flip=True, generator=generator)]

    a, b, c = epoch(5), epoch(5), epoch(6)
    assert all(torch.equal(x[0], y[0]) and torch.equal(x[1], y[1]) for x, y in zip(a, b))
    assert not all(torch.equal(x[0], y[0]) for x, y in zip(a, c))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_lab_pairs_on_gpu():
    images = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (9, 3, 8, 8), dtype=np.uint8))
    pairs = data.LabPairs.from_rgb(images, device="cuda", chunk=4)
    cpu = data.LabPairs.from_rgb(images, device="cpu")
    assert pairs.l.is_cuda and pairs.ab.is_cuda
    torch.testing.assert_close(pairs.l.cpu(), cpu.l, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(pairs.to("cpu").ab, cpu.ab, atol=1e-4, rtol=1e-4)
    for generator in (None, torch.Generator().manual_seed(0), torch.Generator(device="cuda").manual_seed(0)):
        seen = []
        for l, ab in pairs.batches(4, flip=True, generator=generator):
            assert l.is_cuda and ab.is_cuda
            seen.append(len(l))
        assert sum(seen) == 9


# ---------------------------------------------------------- load_images


def test_load_images_samples():
    train = data.load_images("samples", "train", size=32, count=12, seed=0)
    assert train.shape == (12, 3, 32, 32) and train.dtype == torch.uint8
    assert torch.equal(train, data.load_images("samples", "train", size=32, count=12, seed=0))
    test = data.load_images("samples", "test", size=32, count=12, seed=0)
    assert not torch.equal(train, test)


def test_load_images_folder_split_is_disjoint_and_complete(tmp_path):
    for i in range(30):
        Image.new("RGB", (12, 10), (i, 2 * i, 3 * i)).save(tmp_path / f"img_{i:02d}.png")
    train = data.load_images(tmp_path, "train", size=8)
    test = data.load_images(str(tmp_path), "test", size=8)
    assert train.shape[1:] == test.shape[1:] == (3, 8, 8)
    assert len(train) + len(test) == 30 and 0 < len(test) < 15
    ids = set(train[:, 0, 0, 0].tolist()) | set(test[:, 0, 0, 0].tolist())
    assert ids == set(range(30))
    assert torch.equal(test, data.load_images(tmp_path, "test", size=8))
    assert len(data.load_images(tmp_path, "train", size=8, count=3)) == 3


def test_load_images_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="'train' or 'test'"):
        data.load_images("samples", "all")
    with pytest.raises(FileNotFoundError, match="'samples', 'cifar10' or an existing folder"):
        data.load_images("sampels", "train")
    with pytest.raises(ValueError, match="folder path"):
        data.load_images(42, "train")


def test_data_root_finds_the_courses_data_folder_from_a_notebook_folder(tmp_path, monkeypatch):
    from colorlab.data import data_root

    (tmp_path / "data").mkdir()
    (tmp_path / "solutions").mkdir()
    monkeypatch.delenv("COLORLAB_DATA", raising=False)
    monkeypatch.chdir(tmp_path / "solutions")
    assert data_root() == tmp_path / "data"
    monkeypatch.setenv("COLORLAB_DATA", str(tmp_path / "elsewhere"))
    assert data_root() == tmp_path / "elsewhere"


# ---------------------------------------------------------- labelled folders


def _labelled(root, counts, size=(12, 10)):
    """root/<split>/<class>/NN.png, each photo a flat colour (class index * 40, split, image index), so a loaded
    image tells where it came from. ``counts``: {split: {class: number of photos}}."""
    for split, classes in counts.items():
        (root / split).mkdir(parents=True, exist_ok=True)
        for k, (name, n) in enumerate(sorted(classes.items())):
            (root / split / name).mkdir(parents=True, exist_ok=True)
            for i in range(n):
                Image.new("RGB", size, (40 * k, split == "test", i)).save(root / split / name / f"{i:02d}.png")
    return root


def test_labelled_folder_is_recognised_by_its_train_classes(tmp_path):
    root = _labelled(tmp_path / "set", {"train": {"cat": 1}, "test": {"cat": 1}})
    assert data.is_labelled_folder(root) and data.is_labelled_folder(str(root))
    assert data.has_labels(root) and data.classes_of(root) == ("cat",)
    plain = tmp_path / "plain"
    plain.mkdir()
    Image.new("RGB", (8, 8)).save(plain / "a.png")
    (plain / "train").mkdir()  # a train/ without class folders is not enough
    Image.new("RGB", (8, 8)).save(plain / "train" / "b.png")
    assert not data.is_labelled_folder(plain) and not data.has_labels(plain)
    for not_a_folder in ("samples", tmp_path / "missing", 42, None):
        assert not data.is_labelled_folder(not_a_folder)
    with pytest.raises(ValueError, match="not a labelled folder.*no classes"):
        data.classes_of(plain)


def test_labelled_folder_reads_every_image_with_its_class_in_a_mixed_order(tmp_path):
    root = _labelled(tmp_path, {"train": {"dog": 4, "cat": 4, "bird": 4}, "test": {"dog": 2, "cat": 1}})
    images, labels, classes = data.load_labelled_folder(root, "train", size=8)
    assert classes == ("bird", "cat", "dog")  # sorted, whatever the order of creation
    assert images.shape == (12, 3, 8, 8) and images.dtype == torch.uint8 and labels.dtype == torch.int64
    assert torch.equal(images[:, 0, 0, 0], (labels * 40).to(torch.uint8))  # each image carries its class
    assert sorted(zip(labels.tolist(), images[:, 2, 0, 0].tolist())) == [(k, i) for k in range(3) for i in range(4)]
    assert labels.tolist() != sorted(labels.tolist())  # never sorted by class
    again, again_labels, _ = data.load_labelled_folder(root, "train", size=8)
    assert torch.equal(again, images) and torch.equal(again_labels, labels)
    _, other_labels, _ = data.load_labelled_folder(root, "train", size=8, seed=1)
    assert other_labels.tolist() != labels.tolist()
    # test/ may lack a class (bird); its labels still index train's classes
    test, test_labels, test_classes = data.load_labelled_folder(root, "test", size=8)
    assert test_classes == classes and sorted(test_labels.tolist()) == [1, 2, 2] and (test[:, 1] == 1).all()


def test_labelled_folder_count_is_class_balanced_and_decodes_only_those(tmp_path, monkeypatch):
    root = _labelled(tmp_path, {"train": {"a": 6, "b": 6, "c": 6, "d": 2}, "test": {"a": 1}})
    opened = []
    real_open = folders.read_image_file
    monkeypatch.setattr(folders, "read_image_file", lambda path, **kw: opened.append(path) or real_open(path, **kw))
    _, labels, _ = data.load_labelled_folder(root, "train", size=8, count=8)
    assert torch.bincount(labels, minlength=4).tolist() == [2, 2, 2, 2] and len(opened) == 8
    _, labels, _ = data.load_labelled_folder(root, "train", size=8, count=14)
    assert sorted(torch.bincount(labels, minlength=4).tolist()) == [2, 4, 4, 4]  # d ran out after 2
    _, labels, _ = data.load_labelled_folder(root, "train", size=8, count=9)
    assert sorted(torch.bincount(labels, minlength=4).tolist()) == [2, 2, 2, 3]  # at most one apart
    assert len(data.load_labelled_folder(root, "train", size=8, count=100)[1]) == 20  # all there is
    # deterministic for a seed
    first, _, _ = data.load_labelled_folder(root, "train", size=8, count=4, seed=3)
    assert torch.equal(first, data.load_labelled_folder(root, "train", size=8, count=4, seed=3)[0])


def test_labelled_folder_resizes_like_load_folder(tmp_path):
    root = _labelled(tmp_path, {"train": {"x": 1}, "test": {"x": 1}})
    photo = np.zeros((20, 60, 3), np.uint8)
    photo[:, 20:40] = 255
    Image.fromarray(photo).save(root / "train" / "x" / "00.png")
    images, _, _ = data.load_labelled_folder(root, "train", size=10)
    assert torch.equal(images[0], data.load_folder(root / "train" / "x", 10).images[0])


def test_labelled_folder_errors_say_what_to_fix(tmp_path):
    only_train = _labelled(tmp_path / "only_train", {"train": {"cat": 2}})
    assert data.is_labelled_folder(only_train)
    with pytest.raises(FileNotFoundError, match=r"has train/ but no test/ folder.*test/<class>/"):
        data.load_labelled_folder(only_train, "test")
    with pytest.raises(FileNotFoundError, match="no test/ folder"):
        data.load_images(only_train, "test", size=8)  # a labelled folder is never split by hash instead

    empty_class = _labelled(tmp_path / "empty_class", {"train": {"cat": 2, "dog": 0}, "test": {"cat": 1}})
    (empty_class / "train" / "dog" / "notes.txt").write_text("not an image")
    with pytest.raises(ValueError, match=r"class folder .*dog holds no image files.*Add images of class 'dog'"):
        data.load_labelled_folder(empty_class, "train")

    mismatch = _labelled(tmp_path / "mismatch", {"train": {"cat": 1}, "test": {"cat": 1, "dgo": 1}})
    with pytest.raises(ValueError, match=r"test has class folder\(s\) that .*train lacks: dgo \(train has cat\)"):
        data.load_labelled_folder(mismatch, "train")
    with pytest.raises(ValueError, match="lacks: dgo"):
        data.classes_of(mismatch)

    loose = _labelled(tmp_path / "loose", {"train": {"cat": 1}, "test": {"cat": 1}})
    Image.new("RGB", (8, 8)).save(loose / "test" / "stray.jpg")
    with pytest.raises(ValueError, match="1 image file.*outside any class folder.*stray.jpg"):
        data.load_labelled_folder(loose, "test")

    no_classes_in_test = _labelled(tmp_path / "no_test_classes", {"train": {"cat": 1}, "test": {}})
    with pytest.raises(ValueError, match="none of the class folders of train/"):
        data.load_labelled_folder(no_classes_in_test, "test")

    with pytest.raises(FileNotFoundError, match="no such folder"):
        data.load_labelled_folder(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="no train/ sub-folder"):
        data.load_labelled_folder(tmp_path)
    with pytest.raises(ValueError, match="'train' or 'test'"):
        data.load_labelled_folder(loose, "val")
    with pytest.raises(ValueError, match="count must be a whole number"):
        data.load_labelled_folder(loose, count=0)
    with pytest.raises(ValueError, match="seed must be a whole number"):
        data.load_labelled_folder(loose, seed=1.5)


def test_load_images_uses_the_classes_of_a_labelled_folder(tmp_path):
    root = _labelled(tmp_path / "set", {"train": {"cat": 3, "dog": 3}, "test": {"cat": 2, "dog": 2}})
    images, labels = data.load_labelled_images(root, "test", size=8)
    assert images.shape == (4, 3, 8, 8) and sorted(labels.tolist()) == [0, 0, 1, 1]
    assert (images[:, 1] == 1).all()  # test photos only: no hash split across train and test
    assert torch.equal(images, data.load_images(str(root), "test", size=8))
    _, labels = data.load_labelled_images(root, "train", size=8, count=4)
    assert sorted(labels.tolist()) == [0, 0, 1, 1]
    plain = _labelled(tmp_path / "plain", {"x": {"a": 1}})  # no train/: a folder of photos, without labels
    assert not data.has_labels(plain)
    with pytest.raises(ValueError, match="no labels"):
        data.load_labelled_images(plain, "train", size=8)
    assert data.classes_of(root, "train") == data.classes_of(root) == ("cat", "dog")


def test_classes_and_labels_of_the_other_sources(tmp_path):
    assert data.classes_of("cifar10") == data.CIFAR10_CLASSES
    assert data.classes_of("samples") == data.TEST_PHOTOS and data.classes_of("samples", "train") == data.TRAIN_PHOTOS
    assert data.has_labels("samples") and data.has_labels("cifar10") and not data.has_labels(tmp_path)
    with pytest.raises(ValueError, match="'train' or 'test'"):
        data.classes_of("samples", "all")
    with pytest.raises(ValueError, match="folder path"):
        data.classes_of(3)


def test_auto_without_cifar10_is_the_samples(tmp_path, monkeypatch):
    monkeypatch.setenv("COLORLAB_DATA", str(tmp_path))
    assert data.find_cifar10() is None and data.resolve_dataset("auto") == "samples"
    assert data.resolve_dataset("cifar10") == "cifar10" and data.resolve_dataset(tmp_path) == tmp_path
    assert torch.equal(data.load_images("auto", "test", size=16, count=5), data.load_images("samples", "test", size=16,
                                                                                             count=5))
    assert data.classes_of("auto") == data.TEST_PHOTOS


def test_setup_takes_a_labelled_folder_at_the_sizes_patch(tmp_path, capsys):
    from colorlab.course import setup

    root = _labelled(tmp_path / "set", {"train": {"cat": 1}, "test": {"cat": 1}})
    course = setup(device="cpu", dataset=root, size="full")
    assert course.dataset == root and course.size.patch == 64
    assert "dataset 'auto'" not in capsys.readouterr().out
