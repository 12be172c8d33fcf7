"""CIFAR-10 from its JPEG copy: data_scripts/cifar10_from_jpeg.py, and colorlab reading either layout.

The real-data tests use ``../shared/data/cifar10-jpeg.tar.gz`` through the session fixtures of conftest.py
(``cifar10_binary_root``, ``cifar10_folder_root``), built once per archive into ``$COLORLAB_CACHE/data``
(about 20 s the first time; skipped where the archive is absent). The script's safety and format are also
tested on tiny archives built in tmp_path.
"""

from __future__ import annotations

import hashlib
import io
import tarfile

import numpy as np
import pytest
import torch
from PIL import Image

from colorlab import data
from colorlab.course import setup


def _hashes(images, labels) -> list[tuple[str, int]]:
    return sorted((hashlib.sha1(image.numpy().tobytes()).hexdigest(), int(label))
                  for image, label in zip(images, labels))


def _sources(root) -> list[tuple[str, int, str]]:
    lines = (root / "cifar-10-batches-bin" / "sources.txt").read_text(encoding="utf-8").splitlines()
    return [(f, int(r), src) for f, r, src in (line.split() for line in lines if not line.startswith("#"))]


# ------------------------------------------------------------------ the real copy


def test_binary_layout_is_the_official_one(cifar10_binary_root):
    folder = cifar10_binary_root / "cifar-10-batches-bin"
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        assert (folder / name).stat().st_size == 30_730_000, name
    assert (folder / "batches.meta.txt").read_text().split() == list(data.CIFAR10_CLASSES)
    for split, n, per_class in (("train", 50_000, 5_000), ("test", 10_000, 1_000)):
        images, labels = data.load_cifar10(cifar10_binary_root, split)
        assert images.shape == (n, 3, 32, 32) and images.dtype == torch.uint8
        assert torch.bincount(labels, minlength=10).tolist() == [per_class] * 10
        # shuffled, as the official files are: a prefix holds every class, never one
        assert torch.bincount(labels[:200], minlength=10).min() >= 5


def test_binary_records_are_the_pixels_and_labels_of_the_jpegs(cifar10_binary_root, cifar10_folder_root):
    records = {}
    for split in ("train", "test"):
        images, labels = data.load_cifar10(cifar10_binary_root, split)
        files = ["test_batch.bin"] if split == "test" else [f"data_batch_{i}.bin" for i in range(1, 6)]
        records.update({(name, r): (images[k * 10_000 + r], labels[k * 10_000 + r])
                        for k, name in enumerate(files) for r in range(10_000)})
    sources = _sources(cifar10_binary_root)
    assert len(sources) == 60_000 and len({src for *_, src in sources}) == 60_000
    picked = np.random.default_rng(0).choice(len(sources), 200, replace=False)
    for i in picked:
        name, r, src = sources[i]
        image, label = records[(name, r)]
        jpeg = data.load_image(cifar10_folder_root / src)  # decoded by colorlab's loader, as a notebook does
        assert torch.equal(image, torch.from_numpy(jpeg.transpose(2, 0, 1).copy())), src
        assert data.CIFAR10_CLASSES[label] == src.split("/")[1], src


def test_folder_and_binary_hold_the_same_images(cifar10_binary_root, cifar10_folder_root):
    folder_images, folder_labels, classes = data.load_labelled_folder(cifar10_folder_root, "test")
    assert classes == data.CIFAR10_CLASSES
    binary_images, binary_labels = data.load_cifar10(cifar10_binary_root, "test")
    assert _hashes(folder_images, folder_labels) == _hashes(binary_images, binary_labels)
    assert folder_labels[:20].unique().numel() > 3  # mixed, not sorted by class


def test_load_images_cifar10_reads_either_layout(cifar10_binary_root, cifar10_folder_root, monkeypatch):
    monkeypatch.setenv("COLORLAB_DATA", str(cifar10_binary_root))
    assert data.find_cifar10() == ("binary", cifar10_binary_root / "cifar-10-batches-bin")
    binary, binary_labels = data.load_labelled_images("cifar10", "train", size=32)
    first, first_labels = data.load_labelled_images("cifar10", "train", size=32, count=100, seed=5)
    assert torch.equal(first, binary[:100]) and torch.equal(first_labels, binary_labels[:100])  # the first N

    monkeypatch.setenv("COLORLAB_DATA", str(cifar10_folder_root.parent))
    assert data.find_cifar10() == ("folder", cifar10_folder_root)
    images, labels = data.load_labelled_images("cifar10", "train", size=32, count=2000, seed=0)
    assert images.shape == (2000, 3, 32, 32) and images.dtype == torch.uint8 and labels.dtype == torch.int64
    assert torch.bincount(labels, minlength=10).tolist() == [200] * 10  # class-balanced
    assert labels[:20].unique().numel() > 3
    known = set(_hashes(binary, binary_labels))
    assert set(_hashes(images, labels)) <= known  # the same pixels and labels as the binary files
    few = data.load_images("cifar10", "train", size=32, count=30, seed=0)
    assert torch.equal(few, data.load_images("cifar10", "train", size=32, count=30, seed=0))
    assert not torch.equal(few, data.load_images("cifar10", "train", size=32, count=30, seed=1))
    test = data.load_images("cifar10", "test", size=32, count=50)
    assert test.shape == (50, 3, 32, 32)
    assert data.classes_of("cifar10") == data.CIFAR10_CLASSES and data.has_labels("cifar10")
    with pytest.raises(ValueError, match="32x32"):
        data.load_images("cifar10", "train", size=64)


def test_auto_picks_cifar10_when_it_is_there_and_says_so(cifar10_binary_root, cifar10_folder_root, tmp_path,
                                                        monkeypatch, capsys):
    for root in (cifar10_binary_root, cifar10_folder_root.parent):
        monkeypatch.setenv("COLORLAB_DATA", str(root))
        assert data.resolve_dataset("auto") == "cifar10"
        course = setup(device="cpu", size="full")
        assert course.dataset == "cifar10" and course.size.patch == 32
        out = capsys.readouterr().out
        assert "dataset 'auto': CIFAR-10 found in" in out and str(root) in out and "dataset='samples'" in out

    monkeypatch.setenv("COLORLAB_DATA", str(tmp_path / "empty"))
    assert data.resolve_dataset("auto") == "samples"
    course = setup(device="cpu")
    assert course.dataset == "samples"
    out = capsys.readouterr().out
    assert f"dataset 'auto': no CIFAR-10 in {tmp_path / 'empty'}, using the embedded photos" in out
    assert "python data_scripts/get_cifar10.py" in out
    assert setup(device="cpu", dataset="samples", verbose=False).dataset == "samples"  # only 'auto' is resolved


def test_second_run_does_nothing(cifar10_jpeg_archive, cifar10_binary_root, cifar10_folder_root, cifar10_from_jpeg,
                                 capsys):
    watched = [cifar10_binary_root / "cifar-10-batches-bin" / "data_batch_1.bin",
               cifar10_binary_root / cifar10_from_jpeg.STAMP,
               cifar10_folder_root / "train" / "cat" / "0000.jpg"]
    before = [p.stat().st_mtime_ns for p in watched]
    capsys.readouterr()
    for layout, dest in (("binary", cifar10_binary_root), ("folder", cifar10_folder_root.parent)):
        assert cifar10_from_jpeg.main(["--archive", str(cifar10_jpeg_archive), "--dest", str(dest), "--layout",
                                       layout, "--quiet"]) == 0
        assert "already there" in capsys.readouterr().out
    assert [p.stat().st_mtime_ns for p in watched] == before


# ------------------------------------------------------------------ the script on tiny archives


@pytest.fixture
def tiny(cifar10_from_jpeg, monkeypatch):
    """The script with CIFAR-10 shrunk to 5 training and 1 test image per class, 10 records a file."""
    monkeypatch.setattr(cifar10_from_jpeg, "PER_CLASS", {"train": 5, "test": 1})
    monkeypatch.setattr(cifar10_from_jpeg, "RECORDS_PER_FILE", 10)
    return cifar10_from_jpeg


def _png(rgb) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    return buf.getvalue()


def _tiny_archive(path, top="", extra=()):
    """PNG (lossless) images whose pixels encode split, class and index; returns {member name: (H,W,3) array}."""
    rng = np.random.default_rng(0)
    images = {}
    for split, n in (("train", 5), ("test", 1)):
        for cls in data.CIFAR10_CLASSES:
            for i in range(n):
                images[f"{top}{split}/{cls}/{i:04d}.png"] = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    with tarfile.open(path, "w:gz") as tar:
        for name, rgb in images.items():
            content = _png(rgb)
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
        for info, content in extra:
            tar.addfile(info, io.BytesIO(content) if content is not None else None)
    return images


def test_script_writes_records_channel_major_and_shuffled(tiny, tmp_path, capsys):
    images = _tiny_archive(tmp_path / "tiny.tar.gz", top="CIFAR-10-images/")
    assert tiny.main(["--archive", str(tmp_path / "tiny.tar.gz"), "--dest", str(tmp_path / "out"), "--quiet"]) == 0
    folder = tmp_path / "out" / "cifar-10-batches-bin"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin", "batches.meta.txt", "sources.txt"])
    train, train_labels = data.load_cifar10(tmp_path / "out", "train")
    assert train.shape == (50, 3, 32, 32) and torch.bincount(train_labels).tolist() == [5] * 10
    sources = [s for s in _sources(tmp_path / "out") if s[0] != "test_batch.bin"]
    for k, (_, _, src) in enumerate(sources):
        expected = images[f"CIFAR-10-images/{src[:-4]}.png"]
        assert torch.equal(train[k], torch.from_numpy(expected.transpose(2, 0, 1).copy())), src
        assert data.CIFAR10_CLASSES[train_labels[k]] == src.split("/")[1]
    assert train_labels.tolist() != sorted(train_labels.tolist())  # shuffled
    raw = (folder / "test_batch.bin").read_bytes()
    assert len(raw) == 10 * 3073
    first = images[f"CIFAR-10-images/test/{data.CIFAR10_CLASSES[raw[0]]}/0000.png"]
    assert raw[1:1 + 1024] == first[:, :, 0].tobytes() and raw[1 + 2048:3073] == first[:, :, 2].tobytes()

    # the same archive again: nothing; a changed archive: written again
    before = (folder / "data_batch_1.bin").stat().st_mtime_ns
    assert tiny.main(["--archive", str(tmp_path / "tiny.tar.gz"), "--dest", str(tmp_path / "out"), "--quiet"]) == 0
    assert "already there" in capsys.readouterr().out and (folder / "data_batch_1.bin").stat().st_mtime_ns == before
    _tiny_archive(tmp_path / "tiny.tar.gz", top="other/")
    assert tiny.main(["--archive", str(tmp_path / "tiny.tar.gz"), "--dest", str(tmp_path / "out"), "--quiet"]) == 0
    assert "wrote the binary layout" in capsys.readouterr().out


def test_script_folder_layout_and_folder_input(tiny, tmp_path, monkeypatch, capsys):
    _tiny_archive(tmp_path / "tiny.tar.gz")
    assert tiny.main(["--archive", str(tmp_path / "tiny.tar.gz"), "--dest", str(tmp_path / "out"), "--layout",
                      "folder", "--quiet"]) == 0
    labelled = tmp_path / "out" / "cifar10"
    assert data.is_labelled_folder(labelled) and data.classes_of(labelled) == data.CIFAR10_CLASSES
    monkeypatch.setenv("COLORLAB_DATA", str(tmp_path / "out"))
    images, labels = data.load_labelled_images("cifar10", "train", size=32)
    assert images.shape == (50, 3, 32, 32) and torch.bincount(labels).tolist() == [5] * 10
    # the extracted folder decodes to the same records as the archive
    assert tiny.main(["--folder", str(labelled), "--dest", str(tmp_path / "from_folder"), "--quiet"]) == 0
    assert tiny.main(["--archive", str(tmp_path / "tiny.tar.gz"), "--dest", str(tmp_path / "from_archive"),
                      "--quiet"]) == 0
    for name in ("data_batch_1.bin", "test_batch.bin"):
        assert ((tmp_path / "from_folder" / "cifar-10-batches-bin" / name).read_bytes()
                == (tmp_path / "from_archive" / "cifar-10-batches-bin" / name).read_bytes())
    capsys.readouterr()
    assert tiny.main(["--folder", str(labelled), "--dest", str(tmp_path / "x"), "--layout", "folder"]) == 1
    assert "already the folder layout" in capsys.readouterr().err


def _member(name, kind=tarfile.REGTYPE, linkname=""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, linkname
    content = b"" if kind == tarfile.REGTYPE else None
    return info, content


@pytest.mark.parametrize("layout", ["binary", "folder"])
@pytest.mark.parametrize("member, message", [
    (_member("../escape.jpg"), "contains '..'"),
    (_member("/etc/evil.jpg"), "absolute path"),
    (_member("train/cat/link.jpg", tarfile.SYMTYPE, "/etc/passwd"), "symbolic link"),
    (_member("train/cat/hard.jpg", tarfile.LNKTYPE, "train/cat/0000.png"), "hard link"),
    (_member("train/cat/dev.jpg", tarfile.CHRTYPE), "device file"),
])
def test_script_refuses_unsafe_archives(tiny, tmp_path, capsys, layout, member, message):
    _tiny_archive(tmp_path / "evil.tar.gz", extra=[member])
    dest = tmp_path / "dest" / "inner"
    assert tiny.main(["--archive", str(tmp_path / "evil.tar.gz"), "--dest", str(dest), "--layout", layout,
                      "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "refusing" in err and message in err and "Nothing was" in err
    assert not (tmp_path / "dest" / "escape.jpg").exists() and not (dest / "escape.jpg").exists()
    assert not (dest / "cifar-10-batches-bin").exists() and not (dest / "cifar10" / "train").exists()


def test_script_refuses_what_is_not_cifar10(tiny, tmp_path, capsys):
    path = tmp_path / "short.tar.gz"
    _tiny_archive(path)
    with tarfile.open(path) as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar.getmembers() if "train/cat/0003" not in m.name]
    with tarfile.open(path, "w:gz") as tar:
        for m, content in members:
            tar.addfile(m, io.BytesIO(content))
    assert tiny.main(["--archive", str(path), "--dest", str(tmp_path / "out"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "should hold 5 images per class" in err and "cat 4" in err
    (tmp_path / "noise.tar.gz").write_bytes(b"not an archive")
    assert tiny.main(["--archive", str(tmp_path / "noise.tar.gz"), "--dest", str(tmp_path / "out"), "--quiet"]) == 1
    assert "not a tar archive" in capsys.readouterr().err
    assert tiny.main(["--archive", str(tmp_path / "missing.tar.gz"), "--dest", str(tmp_path / "out")]) == 1
    assert "no such file" in capsys.readouterr().err
    assert not (tmp_path / "out" / "cifar-10-batches-bin").exists()


def test_cifar10_missing_everywhere_names_the_download_command(tmp_path, monkeypatch):
    monkeypatch.setenv("COLORLAB_DATA", str(tmp_path))
    assert data.find_cifar10() is None
    with pytest.raises(FileNotFoundError, match=rf"python data_scripts/get_cifar10.py --dest {tmp_path}") as err:
        data.load_images("cifar10", "train", size=32)
    assert "cifar10/train/<class>" in str(err.value) and "COLORLAB_DATA" in str(err.value)
    # a labelled folder whose classes are not CIFAR-10's is not read as CIFAR-10
    for split in ("train", "test"):
        (tmp_path / "cifar10" / split / "cats").mkdir(parents=True)
        Image.new("RGB", (32, 32)).save(tmp_path / "cifar10" / split / "cats" / "a.png")
    assert data.find_cifar10() == ("folder", tmp_path / "cifar10")
    with pytest.raises(ValueError, match="not CIFAR-10's"):
        data.load_images("cifar10", "train", size=32)
