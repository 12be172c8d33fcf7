"""data_scripts/get_cifar10.py and get_photos.py against a real HTTP server on 127.0.0.1.

The server (http.server in a thread) answers Range requests and can drop a connection halfway. It serves
tiny archives in the real formats: a fake ``cifar-10-binary.tar.gz`` with the real member names and two
records per batch (the scripts' expected size, MD5 and batch size are patched to match), and small .zip and
.tar archives of photos. No test reaches the internet: every connection or name lookup for a host other
than 127.0.0.1 fails (and is recorded), and proxy variables are removed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import http.server
import importlib.util
import io
import os
import re
import socket
import stat
import subprocess
import sys
import tarfile
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "data_scripts"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"colorlab_data_script_{name}", SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


get_cifar10 = _load("get_cifar10")
get_photos = _load("get_photos")
# The shared modules, as both scripts imported them from data_scripts/ (which they put on sys.path).
common, download, extract = (sys.modules[name] for name in ("_common", "_download", "_extract"))
assert get_photos.ensure is get_cifar10.ensure

RECORD = 1 + 3 * 32 * 32
RECORDS_PER_BATCH = 2


# --------------------------------------------------------------- no internet


@pytest.fixture(autouse=True)
def no_internet(monkeypatch):
    """Fail (and record) any name lookup or connection that is not to 127.0.0.1; no proxies."""
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "no_proxy",
                "NO_PROXY"):
        monkeypatch.delenv(var, raising=False)
    blocked = []
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect
    local = ("127.0.0.1", "localhost")

    def getaddrinfo(host, *args, **kwargs):
        if host not in local:
            blocked.append(host)
            raise socket.gaierror(socket.EAI_NONAME, f"tests: no network (lookup of {host} blocked)")
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(self, address):
        if isinstance(address, tuple) and address[0] not in local:
            blocked.append(address[0])
            raise ConnectionRefusedError(f"tests: no network (connection to {address} blocked)")
        return real_connect(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(download, "RETRY_WAIT_S", 0.0)
    return blocked


# -------------------------------------------------------------------- server


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        server = self.server
        server.requests.append({"path": self.path, "range": self.headers.get("Range")})
        body = server.files.get(self.path)
        if body is None:
            self.send_error(404, "Not Found")
            return
        start = 0
        asked = self.headers.get("Range")
        if asked and not server.ignore_range:
            start = int(re.fullmatch(r"bytes=(\d+)-", asked).group(1))
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        payload = body[start:]
        cut = server.drop.pop(self.path, None)
        if cut is not None:  # send part of the body, then drop the connection
            self.wfile.write(payload[:cut])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(payload)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.files: dict[str, bytes] = {}
        self.requests: list[dict] = []
        self.drop: dict[str, int] = {}   # path -> bytes sent before the connection drops (once)
        self.ignore_range = False

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


@pytest.fixture
def server():
    srv = Server()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(5)


def _closed_port_url(path: str) -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"


# ------------------------------------------------------------------ archives


def _add(tar: tarfile.TarFile, name: str, data: bytes = b"", **attrs) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 1_600_000_000
    for key, value in attrs.items():
        setattr(info, key, value)
    tar.addfile(info, io.BytesIO(data) if data else None)


def _batch(index: int) -> bytes:
    """Records of a label, a known first pixel, and noise (so the archive does not compress to nothing)."""
    noise = np.random.default_rng(index).integers(0, 256, (RECORDS_PER_BATCH, RECORD - 2), dtype=np.uint8)
    return b"".join(bytes([(index + r) % 10, (40 * index + r) % 256]) + noise[r].tobytes()
                    for r in range(RECORDS_PER_BATCH))


def fake_cifar(extra=None, mode: str = "w:gz") -> bytes:
    """A cifar-10-binary.tar.gz with the real member names and 2 records per batch; ``extra(tar)`` adds more."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tar:
        _add(tar, "cifar-10-batches-bin", type=tarfile.DIRTYPE, mode=0o755)
        _add(tar, "cifar-10-batches-bin/batches.meta.txt", b"airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\n"
                                                            b"horse\nship\ntruck\n\n")
        for i, name in enumerate(get_cifar10.BATCH_FILES):
            _add(tar, f"cifar-10-batches-bin/{name}", _batch(i))
        _add(tar, "cifar-10-batches-bin/readme.html", b"<html>CIFAR-10</html>\n")
        if extra is not None:
            extra(tar)
    return buf.getvalue()


FAKE_CIFAR = fake_cifar()
assert len(FAKE_CIFAR) > 30_000
CIFAR_PATH = "/~kriz/cifar-10-binary.tar.gz"


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def cifar(server, monkeypatch):
    """The server holds the fake CIFAR archive; get_cifar10 expects its size and MD5 and 2-record batches."""
    server.files[CIFAR_PATH] = FAKE_CIFAR
    monkeypatch.setattr(get_cifar10, "ARCHIVE", dataclasses.replace(
        get_cifar10.ARCHIVE, url=server.url(CIFAR_PATH), size=len(FAKE_CIFAR), md5=_md5(FAKE_CIFAR)))
    monkeypatch.setattr(get_cifar10, "BATCH_BYTES", RECORDS_PER_BATCH * RECORD)
    return server


def _photo(i: int, fmt: str = "JPEG") -> bytes:
    rgb = np.zeros((12, 16, 3), np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 20 * i, 255 - 20 * i, 128
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, fmt)
    return buf.getvalue()


PHOTO_NAMES = [f"val2017/{i:012d}.jpg" for i in (139, 285, 632, 724, 776)]


def photo_zip(extra: list[tuple[zipfile.ZipInfo | str, bytes]] = ()) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("val2017/", b"")
        for i, name in enumerate(PHOTO_NAMES):
            zf.writestr(name, _photo(i))
        for info, data in extra:
            zf.writestr(info, data)
    return buf.getvalue()


def photo_tar(mode: str = "w", extra=None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tar:
        _add(tar, "val_256", type=tarfile.DIRTYPE, mode=0o755)
        for i in range(1, 4):
            _add(tar, f"val_256/Places365_val_{i:08d}.jpg", _photo(i))
        if extra is not None:
            extra(tar)
    return buf.getvalue()


def _tree(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")) if folder.exists() else []


def _run(script, argv, capsys):
    code = script.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------- CIFAR-10


@pytest.mark.parametrize("data_filter", [True, False], ids=["tarfile-data-filter", "own-extraction"])
def test_cifar_download_extracts_the_layout_load_cifar10_reads(cifar, tmp_path, capsys, monkeypatch, data_filter):
    monkeypatch.setattr(extract, "HAS_DATA_FILTER", data_filter and extract.HAS_DATA_FILTER)
    dest = tmp_path / "data"
    code, out, err = _run(get_cifar10, ["--dest", str(dest)], capsys)  # with progress bars (on stderr)
    assert code == 0, err
    folder = dest / "cifar-10-batches-bin"
    for name in get_cifar10.BATCH_FILES:
        assert (folder / name).stat().st_size == RECORDS_PER_BATCH * RECORD
    assert (folder / "batches.meta.txt").is_file() and (folder / "readme.html").is_file()
    # Only the data and the stamp are left: no .part, no archive, no temporary folder.
    assert sorted(p.name for p in dest.iterdir()) == [".cifar-10-binary.tar.gz.verified.json", "cifar-10-batches-bin"]
    assert str(folder) in out and f"COLORLAB_DATA={dest}" in out and 'dataset = "cifar10"' in out
    assert [r["range"] for r in cifar.requests] == [None]

    from colorlab import data
    images, labels = data.load_cifar10(dest, "train")
    assert images.shape == (5 * RECORDS_PER_BATCH, 3, 32, 32)
    assert labels.tolist() == [0, 1, 1, 2, 2, 3, 3, 4, 4, 5]
    assert images[:, 0, 0, 0].tolist() == [0, 1, 40, 41, 80, 81, 120, 121, 160, 161]
    test_images, _ = data.load_cifar10(dest, "test")
    assert test_images.shape == (RECORDS_PER_BATCH, 3, 32, 32)


def test_cifar_layout_and_default_dest_match_colorlab_data(cifar, tmp_path, capsys, monkeypatch):
    from colorlab import data
    from colorlab.data import cifar10

    # The names and sizes the script checks are the ones load_cifar10 reads.
    assert get_cifar10.FOLDER == cifar10.BATCHES_FOLDER
    assert get_cifar10.BATCH_FILES == cifar10.BATCH_FILES["train"] + cifar10.BATCH_FILES["test"]
    # The default --dest is where a notebook looks when COLORLAB_DATA is not set.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(data.DATA_ENV_VAR, raising=False)
    code, out, err = _run(get_cifar10, ["--quiet"], capsys)
    assert code == 0, err
    assert (tmp_path / "data" / "cifar-10-batches-bin" / "test_batch.bin").is_file()
    images = data.load_images("cifar10", "test", size=32)
    assert images.shape == (RECORDS_PER_BATCH, 3, 32, 32)


def test_cifar_real_batch_size_is_what_load_cifar10_expects():
    from colorlab.data import cifar10

    assert 30_730_000 == 10_000 * cifar10.RECORD_BYTES
    unpatched = get_cifar10.archive()
    assert unpatched.size == 170_052_171 and unpatched.md5 == "c32a1d4ab5d03f1284b67883e8d87530"
    assert unpatched.url == "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
    assert dict(unpatched.required) == {**{f"cifar-10-batches-bin/{n}": 30_730_000 for n in get_cifar10.BATCH_FILES},
                                          "cifar-10-batches-bin/batches.meta.txt": None}


def test_second_run_downloads_nothing(cifar, tmp_path, capsys):
    dest = tmp_path / "data"
    assert _run(get_cifar10, ["--dest", str(dest), "--quiet"], capsys)[0] == 0
    assert len(cifar.requests) == 1
    started = time.perf_counter()
    code, out, _ = _run(get_cifar10, ["--dest", str(dest), "--quiet"], capsys)
    assert code == 0 and time.perf_counter() - started < 1.0
    assert len(cifar.requests) == 1  # the server saw no request
    assert "already there" in out and str(dest / "cifar-10-batches-bin") in out
    # A missing or damaged file is noticed (by its size): the next run fetches the archive again.
    (dest / "cifar-10-batches-bin" / "data_batch_3.bin").write_bytes(b"truncated")
    code, out, _ = _run(get_cifar10, ["--dest", str(dest), "--quiet"], capsys)
    assert code == 0 and "data_batch_3.bin has 9 bytes" in out and len(cifar.requests) == 2
    assert (dest / "cifar-10-batches-bin" / "data_batch_3.bin").stat().st_size == RECORDS_PER_BATCH * RECORD


def test_corrupt_download_is_removed_and_nothing_is_extracted(cifar, tmp_path, capsys):
    bad = bytearray(FAKE_CIFAR)
    bad[len(bad) // 2] ^= 0xFF
    cifar.files[CIFAR_PATH] = bytes(bad)
    dest = tmp_path / "data"
    code, out, err = _run(get_cifar10, ["--dest", str(dest), "--quiet"], capsys)
    assert code == 1
    assert f"md5: expected {_md5(FAKE_CIFAR)}, got {_md5(bytes(bad))}" in err
    assert "removed" in err and "Run the same command again" in err and "--archive" in err
    assert _tree(dest) == []  # no .part, no archive, no extracted file, no stamp


def test_wrong_size_at_the_url_is_refused_before_downloading(cifar, tmp_path, capsys):
    cifar.files[CIFAR_PATH] = FAKE_CIFAR + b"more"
    code, _, err = _run(get_cifar10, ["--dest", str(tmp_path), "--quiet"], capsys)
    assert code == 1 and f"serves {len(FAKE_CIFAR) + 4:,} bytes" in err and "--url" in err
    assert _tree(tmp_path) == []


def test_interrupted_download_resumes_with_a_range_request(cifar, tmp_path, capsys):
    dest = tmp_path / "data"
    cut = len(FAKE_CIFAR) // 2
    cifar.drop[CIFAR_PATH] = cut
    code, _, err = _run(get_cifar10, ["--dest", str(dest), "--quiet", "--retries", "0"], capsys)
    assert code == 1
    assert "broke off" in err and "run the same command again to resume" in err
    part = dest / ".cifar-10-binary.tar.gz.part"
    assert part.stat().st_size == cut and _tree(dest) == [part.name]  # kept, and nothing extracted

    code, out, err = _run(get_cifar10, ["--dest", str(dest), "--quiet"], capsys)
    assert code == 0, err
    assert cifar.requests[-1]["range"] == f"bytes={cut}-"
    assert (dest / "cifar-10-batches-bin" / "test_batch.bin").is_file() and not part.exists()


def test_broken_connection_is_resumed_within_the_run(cifar, tmp_path, capsys):
    cifar.drop[CIFAR_PATH] = 1000
    code, out, err = _run(get_cifar10, ["--dest", str(tmp_path), "--quiet"], capsys)
    assert code == 0, err
    assert "resuming" in out
    assert [r["range"] for r in cifar.requests] == [None, "bytes=1000-"]


def test_server_that_ignores_range_gets_a_fresh_download(cifar, tmp_path, capsys):
    (tmp_path / ".cifar-10-binary.tar.gz.part").write_bytes(FAKE_CIFAR[:777])
    cifar.ignore_range = True
    code, out, err = _run(get_cifar10, ["--dest", str(tmp_path), "--quiet"], capsys)
    assert code == 0, err
    assert cifar.requests[0]["range"] == "bytes=777-" and "does not resume" in out


def test_complete_part_from_a_crashed_run_is_not_downloaded_again(cifar, tmp_path, capsys):
    (tmp_path / ".cifar-10-binary.tar.gz.part").write_bytes(FAKE_CIFAR)
    code, _, err = _run(get_cifar10, ["--dest", str(tmp_path), "--quiet"], capsys)
    assert code == 0, err
    assert cifar.requests == []


def test_part_longer_than_the_archive_is_discarded(cifar, tmp_path, capsys):
    (tmp_path / ".cifar-10-binary.tar.gz.part").write_bytes(FAKE_CIFAR + b"junk")
    code, out, err = _run(get_cifar10, ["--dest", str(tmp_path), "--quiet"], capsys)
    assert code == 0, err
    assert [r["range"] for r in cifar.requests] == [None] and "longer than" in out


def test_disk_full_while_extracting_keeps_the_verified_archive(cifar, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(common, "free_bytes", lambda path: 10**12 if path == tmp_path else 100)
    code, _, err = _run(get_cifar10, ["--dest", str(tmp_path), "--quiet"], capsys)
    assert code == 1 and "not enough free disk space" in err and "extracting" in err
    assert _tree(tmp_path) == ["cifar-10-binary.tar.gz"]  # verified, renamed from .part, kept for the next run
    monkeypatch.setattr(common, "free_bytes", lambda path: 10**12)  # space freed
    code, _, err = _run(get_cifar10, ["--dest", str(tmp_path), "--quiet"], capsys)
    assert code == 0, err
    assert len(cifar.requests) == 1 and not (tmp_path / "cifar-10-binary.tar.gz").exists()


def test_kept_archive_is_reused_without_a_download(cifar, tmp_path, capsys):
    assert _run(get_cifar10, ["--dest", str(tmp_path), "--quiet", "--keep-archive"], capsys)[0] == 0
    assert (tmp_path / "cifar-10-binary.tar.gz").read_bytes() == FAKE_CIFAR
    code, out, err = _run(get_cifar10, ["--dest", str(tmp_path), "--quiet", "--force"], capsys)
    assert code == 0, err
    assert len(cifar.requests) == 1 and "already there" not in out


def test_local_archive_needs_no_network(cifar, tmp_path, capsys, no_internet):
    local = tmp_path / "downloads" / "cifar-10-binary.tar.gz"
    local.parent.mkdir()
    local.write_bytes(FAKE_CIFAR)
    dest = tmp_path / "data"
    code, out, err = _run(get_cifar10, ["--dest", str(dest), "--archive", str(local), "--quiet"], capsys)
    assert code == 0, err
    assert cifar.requests == [] and no_internet == []
    assert local.read_bytes() == FAKE_CIFAR  # never moved or deleted
    assert (dest / "cifar-10-batches-bin" / "data_batch_5.bin").is_file()


def test_wrong_local_archive_is_refused_and_left_alone(cifar, tmp_path, capsys):
    local = tmp_path / "cifar-10-binary.tar.gz"
    local.write_bytes(FAKE_CIFAR[:-10])
    dest = tmp_path / "data"
    code, _, err = _run(get_cifar10, ["--dest", str(dest), "--archive", str(local), "--quiet"], capsys)
    assert code == 1
    assert f"size: expected {len(FAKE_CIFAR):,} bytes, got {len(FAKE_CIFAR) - 10:,}" in err
    assert "left where it is" in err
    assert local.exists() and _tree(dest) == []
    code, _, err = _run(get_cifar10, ["--dest", str(dest), "--archive", str(tmp_path / "nope.tar.gz")], capsys)
    assert code == 1 and "no such file" in err


def test_mirror_url(cifar, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(get_cifar10, "ARCHIVE", dataclasses.replace(get_cifar10.ARCHIVE,
                                                                    url=_closed_port_url(CIFAR_PATH)))
    cifar.files["/mirror/cifar-10-binary.tar.gz"] = FAKE_CIFAR
    code, _, err = _run(get_cifar10, ["--dest", str(tmp_path), "--quiet",
                                      "--url", cifar.url("/mirror/cifar-10-binary.tar.gz")], capsys)
    assert code == 0, err
    assert [r["path"] for r in cifar.requests] == ["/mirror/cifar-10-binary.tar.gz"]


def test_no_network_names_the_url_and_the_way_out(tmp_path, capsys, no_internet):
    # The real default URL: the guard makes the lookup fail, as on a machine with no network.
    code, _, err = _run(get_cifar10, ["--dest", str(tmp_path), "--quiet"], capsys)
    assert code == 1
    assert "could not reach https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz" in err
    assert "--url" in err and "--archive" in err
    assert no_internet == ["www.cs.toronto.edu"]
    assert _tree(tmp_path) == []


def test_http_error_is_explained(cifar, tmp_path, capsys):
    code, _, err = _run(get_cifar10, ["--dest", str(tmp_path), "--url", cifar.url("/missing.tar.gz")], capsys)
    assert code == 1 and "HTTP 404" in err and "--archive" in err


def test_not_enough_disk_space(cifar, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(common, "free_bytes", lambda path: len(FAKE_CIFAR) - 1)
    code, _, err = _run(get_cifar10, ["--dest", str(tmp_path), "--quiet"], capsys)
    assert code == 1 and "not enough free disk space" in err and "--dest" in err
    assert _tree(tmp_path) == []


# ----------------------------------------------------------- unsafe archives


def _outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir(exist_ok=True)
    return folder


UNSAFE_TAR = {
    "dotdot": (lambda tmp: lambda tar: _add(tar, "cifar-10-batches-bin/../../outside/evil.txt", b"evil"),
               "contains '..'"),
    "absolute": (lambda tmp: lambda tar: _add(tar, str(tmp / "outside" / "abs.txt"), b"evil"), "absolute path"),
    "symlink": (lambda tmp: lambda tar: (
        _add(tar, "cifar-10-batches-bin/link", type=tarfile.SYMTYPE, linkname=str(tmp / "outside")),
        _add(tar, "cifar-10-batches-bin/link/evil.txt", b"evil")), "symbolic link"),
    "relative-symlink": (lambda tmp: lambda tar: _add(tar, "cifar-10-batches-bin/link", type=tarfile.SYMTYPE,
                                                      linkname="../../outside"), "points outside"),
    "hardlink": (lambda tmp: lambda tar: _add(tar, "cifar-10-batches-bin/hard", type=tarfile.LNKTYPE,
                                              linkname="/etc/passwd"), "hard link"),
    "device": (lambda tmp: lambda tar: _add(tar, "cifar-10-batches-bin/dev", type=tarfile.CHRTYPE,
                                            devmajor=1, devminor=3), "device"),
}


@pytest.mark.parametrize("kind", list(UNSAFE_TAR))
def test_unsafe_tar_members_are_refused(cifar, tmp_path, capsys, monkeypatch, kind):
    make, message = UNSAFE_TAR[kind]
    outside = _outside(tmp_path)
    evil = fake_cifar(extra=make(tmp_path))  # the bad member comes after the good ones
    cifar.files[CIFAR_PATH] = evil
    monkeypatch.setattr(get_cifar10, "ARCHIVE",
                        dataclasses.replace(get_cifar10.ARCHIVE, size=len(evil), md5=_md5(evil)))
    dest = tmp_path / "a" / "data"
    code, _, err = _run(get_cifar10, ["--dest", str(dest), "--quiet"], capsys)
    assert code == 1
    assert "refusing to extract" in err and message in err and "Nothing was extracted" in err
    assert "downloaded archive was removed" in err
    assert _tree(outside) == [] and _tree(dest) == []


def test_unsafe_members_are_refused_without_the_data_filter(cifar, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(extract, "HAS_DATA_FILTER", False)
    test_unsafe_tar_members_are_refused(cifar, tmp_path, capsys, monkeypatch, "symlink")


def _zip_info(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = mode << 16
    return info


@pytest.mark.parametrize("kind,member,message", [
    ("dotdot", ("../outside/evil.jpg", b"evil"), "contains '..'"),
    ("backslash-dotdot", ("val2017\\..\\..\\outside\\evil.jpg", b"evil"), "contains '..'"),
    ("absolute", (None, b"evil"), "absolute path"),
    ("symlink", (_zip_info("val2017/link", stat.S_IFLNK | 0o777), b"../../outside"), "symbolic link"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_unsafe_zip_members_are_refused(tmp_path, capsys, kind, member, message):
    outside = _outside(tmp_path)
    name, data = member
    if name is None:
        name = str(outside / "abs.jpg")
    archive = tmp_path / "photos.zip"
    archive.write_bytes(photo_zip(extra=[(name, data)]))
    dest = tmp_path / "a" / "data"
    code, _, err = _run(get_photos, ["--archive", str(archive), "--dest", str(dest), "--quiet"], capsys)
    assert code == 1
    assert "refusing to extract" in err and message in err and "Nothing was extracted" in err
    assert archive.exists()  # the user's own file is never deleted
    assert _tree(outside) == [] and _tree(dest) == []


# ------------------------------------------------------------------- photos


@pytest.fixture
def coco(server, monkeypatch):
    data = photo_zip()
    server.files["/zips/val2017.zip"] = data
    monkeypatch.setitem(get_photos.KNOWN, "coco-val2017", dataclasses.replace(
        get_photos.KNOWN["coco-val2017"], url=server.url("/zips/val2017.zip"), size=len(data),
        photos=len(PHOTO_NAMES)))
    return server


def test_photos_zip_download_and_second_run(coco, tmp_path, capsys):
    dest = tmp_path / "data"
    code, out, err = _run(get_photos, ["coco-val2017", "--dest", str(dest), "--quiet"], capsys)
    assert code == 0, err
    assert _tree(dest / "val2017") == sorted(Path(n).name for n in PHOTO_NAMES)
    assert f"5 photos in {dest / 'val2017'}" in out and f'dataset = "{dest / "val2017"}"' in out
    assert "note:" not in out
    code, out, _ = _run(get_photos, ["coco-val2017", "--dest", str(dest), "--quiet"], capsys)
    assert code == 0 and "already extracted" in out and len(coco.requests) == 1

    from colorlab import data
    assert len(data.load_folder(dest / "val2017", size=8)) == len(PHOTO_NAMES)


def test_photos_interrupted_zip_download_resumes(coco, tmp_path, capsys):
    cut = len(coco.files["/zips/val2017.zip"]) // 3
    coco.drop["/zips/val2017.zip"] = cut
    assert _run(get_photos, ["coco-val2017", "--dest", str(tmp_path), "--retries", "0", "--quiet"], capsys)[0] == 1
    code, _, err = _run(get_photos, ["coco-val2017", "--dest", str(tmp_path), "--quiet"], capsys)
    assert code == 0, err
    assert coco.requests[-1]["range"] == f"bytes={cut}-"


def test_photos_mirror_and_local_archive(coco, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(get_photos.KNOWN, "coco-val2017", dataclasses.replace(
        get_photos.KNOWN["coco-val2017"], url=_closed_port_url("/zips/val2017.zip")))
    coco.files["/mirror/val2017.zip"] = coco.files["/zips/val2017.zip"]
    code, _, err = _run(get_photos, ["coco-val2017", "--dest", str(tmp_path / "a"), "--quiet",
                                     "--url", coco.url("/mirror/val2017.zip")], capsys)
    assert code == 0, err
    local = tmp_path / "val2017.zip"
    local.write_bytes(coco.files["/zips/val2017.zip"])
    code, _, err = _run(get_photos, ["coco-val2017", "--dest", str(tmp_path / "b"), "--archive", str(local),
                                     "--quiet"], capsys)
    assert code == 0, err
    assert [r["path"] for r in coco.requests] == ["/mirror/val2017.zip"]
    assert _tree(tmp_path / "b" / "val2017") == _tree(tmp_path / "a" / "val2017")


@pytest.mark.parametrize("mode", ["w", "w:gz"])
def test_photos_tar_with_pinned_md5(server, tmp_path, capsys, monkeypatch, mode):
    data = photo_tar(mode)
    server.files["/places/val_256.tar"] = data
    monkeypatch.setitem(get_photos.KNOWN, "places365-val256", dataclasses.replace(
        get_photos.KNOWN["places365-val256"], url=server.url("/places/val_256.tar"), md5=_md5(data)))
    code, out, err = _run(get_photos, ["places365-val256", "--dest", str(tmp_path), "--quiet"], capsys)
    assert code == 0, err
    assert f"3 photos in {tmp_path / 'val_256'}" in out
    assert "should hold 36,500 photos, found 3" in out  # a count that differs is reported, not fatal


def test_complete_part_of_unknown_size_is_checked_not_downloaded_again(server, tmp_path, capsys, monkeypatch):
    data = photo_tar()
    server.files["/places/val_256.tar"] = data
    monkeypatch.setitem(get_photos.KNOWN, "places365-val256", dataclasses.replace(
        get_photos.KNOWN["places365-val256"], url=server.url("/places/val_256.tar"), md5=_md5(data)))
    assert get_photos.KNOWN["places365-val256"].size is None
    (tmp_path / ".val_256.tar.part").write_bytes(data)
    code, _, err = _run(get_photos, ["places365-val256", "--dest", str(tmp_path), "--quiet"], capsys)
    assert code == 0, err
    assert server.requests == [{"path": "/places/val_256.tar", "range": f"bytes={len(data)}-"}]  # answered 416


def test_photos_checksum_mismatch(server, tmp_path, capsys, monkeypatch):
    data = photo_tar()
    server.files["/places/val_256.tar"] = data
    monkeypatch.setitem(get_photos.KNOWN, "places365-val256", dataclasses.replace(
        get_photos.KNOWN["places365-val256"], url=server.url("/places/val_256.tar")))
    code, _, err = _run(get_photos, ["places365-val256", "--dest", str(tmp_path), "--quiet"], capsys)
    assert code == 1
    assert f"md5: expected e27b17d8d44f4af9a78502beb927f808, got {_md5(data)}" in err and "removed" in err
    assert _tree(tmp_path) == []


def test_any_archive_by_url_pinned_with_sha256(server, tmp_path, capsys):
    data = photo_tar("w:gz")
    server.files["/files/my%20photos.tar.gz"] = data
    url = server.url("/files/my%20photos.tar.gz")
    code, out, err = _run(get_photos, ["--url", url, "--sha256", "0" * 64, "--dest", str(tmp_path), "--quiet"], capsys)
    assert code == 1 and f"sha256: expected {'0' * 64}, got {_sha256(data)}" in err
    code, out, err = _run(get_photos, ["--url", url, "--sha256", _sha256(data).upper(), "--dest", str(tmp_path),
                                       "--quiet"], capsys)
    assert code == 0, err
    assert (tmp_path / "val_256" / "Places365_val_00000003.jpg").is_file()
    assert (tmp_path / ".my photos.tar.gz.verified.json").is_file()


def test_unpinned_archive_prints_its_sha256(server, tmp_path, capsys):
    data = photo_zip()
    server.files["/x/photos.zip"] = data
    code, out, err = _run(get_photos, ["--url", server.url("/x/photos.zip"), "--dest", str(tmp_path), "--quiet"],
                          capsys)
    assert code == 0, err
    assert f"--sha256 {_sha256(data)}" in out


def test_photos_list_and_usage_errors(capsys):
    code, out, _ = _run(get_photos, ["--list"], capsys)
    assert code == 0
    assert "http://images.cocodataset.org/zips/val2017.zip" in out and "815,585,330 bytes" in out
    assert "COCO publishes no checksum" in out
    assert "http://data.csail.mit.edu/places/places365/val_256.tar" in out
    assert "md5 e27b17d8d44f4af9a78502beb927f808" in out
    code, _, err = _run(get_photos, [], capsys)
    assert code == 1 and "--list" in err
    code, _, err = _run(get_photos, ["--url", "file:///tmp/x.zip"], capsys)
    assert code == 1 and "use --archive" in err
    code, _, err = _run(get_photos, ["imagenet"], capsys)
    assert code == 1 and "unknown archive 'imagenet'" in err
    with pytest.raises(SystemExit):
        get_photos.main(["--md5", "xyz"])
    assert "32 hexadecimal digits" in capsys.readouterr().err


def test_scripts_run_from_the_repository_root(tmp_path):
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    for script, expected in (("get_cifar10.py", "--dest DIR"), ("get_photos.py", "--sha256 HEX")):
        done = subprocess.run([sys.executable, f"data_scripts/{script}", "--help"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and expected in done.stdout and "--archive PATH" in done.stdout
    done = subprocess.run([sys.executable, "data_scripts/get_photos.py", "coco-val2017", "--archive", "no/such.zip",
                           "--dest", str(tmp_path / "data")], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1 and "get_photos.py: error: --archive no/such.zip: no such file" in done.stderr
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("path", ["/%2Ftmp%2Fv%2Fvictim.tar.gz", "/x/..%2F..%2Fvictim.tar.gz", "/x/%5C..%5Cvictim.tar.gz",
                                  "/x/sub%2Fvictim.tar.gz"])
def test_an_encoded_path_in_the_url_cannot_steer_the_file_outside_dest(server, tmp_path, capsys, path):
    """The local name is the URL's last segment after decoding, never a path: it lands in --dest or nowhere."""
    data = photo_tar("w:gz")
    server.files[path] = data
    outside = tmp_path / "outside"
    (outside / "tmp" / "v").mkdir(parents=True)
    victim = outside / "victim.tar.gz"
    victim.write_bytes(b"keep me")
    dest = tmp_path / "dest"
    dest.mkdir()
    code, out, err = _run(get_photos, ["--url", server.url(path), "--dest", str(dest), "--quiet"], capsys)
    assert code == 0, err
    assert victim.read_bytes() == b"keep me" and sorted(p.name for p in outside.rglob("*")) == ["tmp", "v",
                                                                                              "victim.tar.gz"]
    assert (dest / ".victim.tar.gz.verified.json").is_file()  # named after the last segment, inside dest
    assert all(dest in p.parents for p in dest.rglob("*"))


@pytest.mark.parametrize("name", ["../x.tar", "/abs/x.tar", "a/x.tar", "a\\x.tar", ".hidden.tar", "", ".."])
def test_an_archive_name_is_a_plain_file_name(name):
    with pytest.raises(common.DownloadError, match="is not a plain file name"):
        common.Archive(filename=name, url=None)
