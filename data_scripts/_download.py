"""Downloading one archive over HTTP(S), resumably.

The download goes to ``<dest>/.<name>.part``. A broken connection is retried (``retries`` times,
resuming with an HTTP ``Range`` request); if it still fails the partial file is kept and the next run
resumes it. A server that ignores ``Range`` gets a fresh download; a partial file longer than the
archive is discarded. Whether the bytes are the right ones is :mod:`_verify`'s job.
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from _common import CHUNK, DownloadError, describe_exc, hint, need_space, os_error, progress_bar

USER_AGENT = "colorlab-data-scripts/1.0 (python urllib)"
TIMEOUT_S = 60           # socket timeout: a stalled connection counts as broken after this long
RETRY_WAIT_S = 2.0       # first wait before resuming a broken download; doubles each time


class _Broken(Exception):
    """A transient failure of one download attempt (connection lost, timeout, 5xx): worth resuming."""


def _content_range(value: str | None) -> tuple[int | None, int | None]:
    """'bytes 100-199/200' -> (100, 200); 'bytes */200' -> (None, 200)."""
    match = re.fullmatch(r"\s*bytes\s+(?:(\d+)-\d+|\*)/(\d+|\*)\s*", value or "")
    if not match:
        return None, None
    start, total = match.groups()
    return (int(start) if start else None), (int(total) if total != "*" else None)



def _shown(part: Path) -> str:
    """'.x.tar.gz.part' -> 'x.tar.gz'."""
    return part.name[1:-len(".part")] if part.name.startswith(".") and part.name.endswith(".part") else part.name


def _download_once(url: str, part: Path, expected: int | None, progress: bool, log, _restarted: bool = False):
    have = part.stat().st_size if part.exists() else 0
    if expected is not None and have > expected:
        log(f"{part.name} is longer than the expected {expected:,} bytes: starting the download again.")
        part.unlink()
        have = 0
    if expected is not None and have == expected:
        return  # complete: the checksum decides
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as err:
        err.close()
        if err.code == 416 and have:
            _, total = _content_range(err.headers.get("Content-Range"))
            if total == have:
                return  # the partial file is already the whole file: the checksum decides
            if _restarted:
                raise DownloadError(f"{url} refused the download (HTTP 416). {hint()}") from None
            log(f"{url} cannot continue {part.name} (HTTP 416): starting the download again.")
            part.unlink()
            return _download_once(url, part, expected, progress, log, _restarted=True)
        if err.code >= 500:
            raise _Broken(f"the server answered HTTP {err.code} {err.reason}") from None
        raise DownloadError(f"{url} answered HTTP {err.code} {err.reason}. Check the URL. {hint()}") from None
    except urllib.error.URLError as err:
        raise DownloadError(f"could not reach {url} ({err.reason}). Is this machine online? Behind a proxy, set "
                            f"the https_proxy / http_proxy environment variables. {hint()}") from None
    except (TimeoutError, socket.timeout, ConnectionError, http.client.HTTPException) as err:
        raise _Broken(describe_exc(err)) from None

    with response:
        if response.status == 206:
            start, total = _content_range(response.headers.get("Content-Range"))
            if start != have:
                if _restarted:
                    raise DownloadError(f"{url} answers range requests wrongly (asked from byte {have:,}, got "
                                        f"{start}). {hint()}")
                log(f"{url} resumed at the wrong place: starting the download again.")
                part.unlink()
                return _download_once(url, part, expected, progress, log, _restarted=True)
            mode = "ab"
        elif response.status == 200:
            if have:
                log(f"{urllib.parse.urlsplit(url).netloc} does not resume downloads: starting again from the "
                    f"beginning.")
            have, mode = 0, "wb"
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
        else:
            raise DownloadError(f"{url} answered HTTP {response.status} {response.reason}, expected 200. {hint()}")
        if expected is not None and total is not None and total != expected:
            raise DownloadError(f"{url} serves {total:,} bytes, but {_shown(part)} is {expected:,} bytes: that URL "
                                f"serves some other file. Check the URL. {hint()}")
        if total is not None:
            need_space(total - have, part.parent, f"the download of {_shown(part)}")

        bar = progress_bar(total, f"download {_shown(part)}", progress, initial=have)
        try:
            with open(part, mode) as out:
                while True:
                    try:
                        chunk = response.read(CHUNK)
                    except (TimeoutError, socket.timeout, ConnectionError, http.client.HTTPException) as err:
                        raise _Broken(describe_exc(err)) from None
                    if not chunk:
                        break
                    out.write(chunk)
                    have += len(chunk)
                    bar.update(len(chunk))
                out.flush()
                os.fsync(out.fileno())
        except OSError as err:
            raise os_error(err, "writing the download", part) from None
        finally:
            bar.close()
        if total is not None and have < total:
            raise _Broken(f"the connection closed after {have:,} of {total:,} bytes")


def download(url: str, part: Path, expected: int | None, *, retries: int = 3, progress: bool = True, log=print):
    """Download ``url`` into ``part``, resuming what is already there; retry a broken connection ``retries`` times.

    Raises :class:`DownloadError`; after a broken connection the partial file is kept for the next run.
    """
    attempt = 0
    while True:
        try:
            _download_once(url, part, expected, progress, log)
            return
        except _Broken as err:
            have = part.stat().st_size if part.exists() else 0
            if attempt >= retries:
                of = f" of {expected:,}" if expected is not None else ""
                raise DownloadError(
                    f"the download of {url} broke off ({err}) after {have:,}{of} bytes, {attempt + 1} "
                    f"attempt(s). The partial file is kept as {part}: run the same command again to resume "
                    f"where it stopped. {hint()}") from None
            wait = RETRY_WAIT_S * 2 ** attempt
            attempt += 1
            log(f"download broke off ({err}) at {have:,} bytes; resuming in {wait:.0f} s "
                f"(attempt {attempt + 1} of {retries + 1}).")
            time.sleep(wait)
