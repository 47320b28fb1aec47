"""The download engine behind `hub.download_repo`: resumable transfers, integrity checks, progress.

Import the public names from `mistudio.lens.hub`. This module holds what the transfer itself needs (the
file record, the partial-file layout, verification, the progress meter) and imports nothing from hub.py at
run time, so the two never import each other in a circle.

Layout under dest: finished files at dest/<path>; bytes still arriving at dest/.partial/<sha>.part, named
by content hash so a partial from another revision of the same path is never continued into this one.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from huggingface_hub import constants, get_session, hf_raise_for_status

from mistudio.lens.errors import InvalidArgument, LensError
from mistudio.lens.units import human_bytes

if TYPE_CHECKING:
    from mistudio.lens.hub import _Hub

PARTIAL_DIR = ".partial"
_REPORTS_PER_SECOND = 10
_SPEED_WINDOW_SECONDS = 5.0


def _gb(n_bytes: float) -> str:
    """Bytes in GB, so the figures one message compares share a unit."""
    return human_bytes(n_bytes, "GB")


class CorruptedFile(LensError):
    """A file whose bytes do not match the Hub's hash; `.path` is its path in the repo."""

    code = "corrupted_file"

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"file '{path}' does not match the Hub ({reason}): download again; only the files that "
                         "fail this check are fetched anew", details={"path": path})
        self.path = path


class InsufficientDisk(InvalidArgument):
    code = "insufficient_disk"

    def __init__(self, needed_bytes: int, free_bytes: int, folder: Path) -> None:
        super().__init__(f"the download needs {_gb(needed_bytes)}, {_gb(free_bytes)} free at {folder}: free some "
                         "space or choose another data folder", details={"needed_bytes": needed_bytes,
                                                                         "free_bytes": free_bytes})
        self.needed_bytes, self.free_bytes = needed_bytes, free_bytes


class DownloadCancelled(Exception):
    """should_stop() turned true; the partial file of the transfer in flight was removed."""


@dataclass(frozen=True)
class RepoFile:
    path: str
    size: int
    sha256: str | None  # LFS files
    blob_id: str | None  # git blob sha1 (for LFS files, of the pointer)


@dataclass
class DownloadProgress:
    bytes_done: int
    bytes_total: int
    bytes_per_second: float
    eta_seconds: float | None
    current_file: str | None
    files_done: int
    files_total: int


def verify_file(path: Path, expected: RepoFile) -> None:
    """Raise CorruptedFile unless the file has the Hub's size and hash (LFS sha256, else git blob sha1).

    The file is left in place; the caller decides whether to delete it. With neither hash known, size alone counts.
    """
    size = path.stat().st_size
    if size != expected.size:
        raise CorruptedFile(expected.path, f"{size} bytes instead of {expected.size}")
    if expected.sha256:
        digest, want = hashlib.sha256(), expected.sha256
    elif expected.blob_id:
        digest, want = hashlib.sha1(b"blob %d\0" % size), expected.blob_id  # how git names a blob
    else:
        return
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    if digest.hexdigest() != want:
        raise CorruptedFile(expected.path, f"hash {digest.hexdigest()[:12]}… instead of {want[:12]}…")


class _Meter:
    """Cumulative bytes across files, a moving-average speed and ETA, reported ~10 times a second."""

    def __init__(self, files: list[RepoFile], on_progress: Callable[[DownloadProgress], None] | None) -> None:
        self.on_progress = on_progress
        self.bytes_total, self.files_total = sum(f.size for f in files), len(files)
        self.bytes_done = self.files_done = self.transferred = self.file_position = 0
        self.current_file: str | None = None
        self.samples: deque[tuple[float, int]] = deque()
        self.last_report = 0.0

    def skip(self, file: RepoFile) -> None:
        self.bytes_done += file.size
        self.files_done += 1

    def start(self, file: RepoFile) -> None:
        self.current_file, self.file_position = file.path, 0

    def advance(self, position: int, transferred: int = 0) -> None:
        # Count only bytes past the furthest point reached, so a server that ignores Range (and we rewrite the
        # file from zero) never makes bytes_done go backwards.
        if position > self.file_position:
            self.bytes_done += position - self.file_position
            self.file_position = position
        self.transferred += transferred
        self.report()

    def finish(self, file: RepoFile) -> None:
        self.advance(file.size)
        self.files_done += 1
        self.current_file = None
        self.report(force=True)

    def report(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.on_progress is None or (not force and now - self.last_report < 1 / _REPORTS_PER_SECOND):
            return
        self.last_report = now
        self.samples.append((now, self.transferred))
        while len(self.samples) > 2 and now - self.samples[0][0] > _SPEED_WINDOW_SECONDS:
            self.samples.popleft()
        span = now - self.samples[0][0]
        speed = (self.transferred - self.samples[0][1]) / span if span > 0 else 0.0
        left = self.bytes_total - self.bytes_done
        eta = 0.0 if left <= 0 else (left / speed if speed > 0 else None)
        self.on_progress(DownloadProgress(self.bytes_done, self.bytes_total, speed, eta, self.current_file,
                                          self.files_done, self.files_total))


def _target(dest: Path, path: str) -> Path:
    parts = PurePosixPath(path).parts
    if not parts or path.startswith("/") or any(p in ("", ".", "..") for p in parts) or parts[0] == PARTIAL_DIR:
        raise LensError(f"the Hub listed an unsafe file path {path!r}; nothing was written there: check the "
                            "endpoint (HF_ENDPOINT) points at a real Hub", code="unsafe_repo_path")
    return dest.joinpath(*parts)


def _partial_path(dest: Path, file: RepoFile) -> Path:
    # Named by content hash: a partial from another revision of the same path is never resumed into this one.
    name = file.sha256 or file.blob_id or hashlib.sha1(file.path.encode()).hexdigest()
    return dest / PARTIAL_DIR / f"{name}.part"


def _partial_size(dest: Path, file: RepoFile) -> int:
    partial = _partial_path(dest, file)
    return partial.stat().st_size if partial.is_file() else 0


def _is_complete(dest: Path, file: RepoFile) -> bool:
    target = _target(dest, file.path)
    if not target.is_file():
        return False
    try:
        verify_file(target, file)
    except CorruptedFile:
        target.unlink()  # a leftover that does not match is fetched again
        return False
    return True


def _transfer(hub: _Hub, file: RepoFile, partial: Path, meter: _Meter) -> None:
    """One GET of what is missing from `partial`, from where it ends (Range), appending chunks as they arrive."""
    offset = partial.stat().st_size if partial.exists() else 0
    if offset > file.size:
        partial.unlink()
        offset = 0
    meter.advance(offset)
    if offset == file.size:
        partial.touch()  # an empty file needs no request, but verification and the move need it on disk
        return
    # identity: Range offsets must be offsets into the file, not into a gzip stream.
    headers = {**hub.headers(), "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    with get_session().stream("GET", hub.url(file.path), headers=headers,
                              timeout=constants.HF_HUB_DOWNLOAD_TIMEOUT) as response:
        if response.status_code >= 400:
            response.read()  # the error classes read the Hub's message from the body
            if response.status_code == 416:
                partial.unlink(missing_ok=True)  # the Hub disagrees about the size: start over next time
        hf_raise_for_status(response)
        resumed = response.status_code == 206 and response.headers.get("Content-Range", "").startswith(
            f"bytes {offset}-")
        position = offset if resumed else 0  # otherwise the server sent the whole file again
        with partial.open("ab" if resumed else "wb") as out:
            for chunk in response.iter_bytes():
                if hub.stopped():
                    raise DownloadCancelled(f"download of '{hub.repo_id}' cancelled")
                out.write(chunk)
                position += len(chunk)
                hub.received += len(chunk)
                meter.advance(position, len(chunk))


def _fetch(hub: _Hub, dest: Path, file: RepoFile, meter: _Meter, bytes_left: int) -> None:
    """Download one file through its partial, verify it, move it into place."""
    partial = _partial_path(dest, file)
    partial.parent.mkdir(parents=True, exist_ok=True)
    meter.start(file)
    try:
        hub.call(lambda: _transfer(hub, file, partial, meter), f"downloading {file.path}")
        verify_file(partial, file)
    except (DownloadCancelled, CorruptedFile):
        partial.unlink(missing_ok=True)
        raise
    except OSError as error:
        if error.errno != errno.ENOSPC:
            raise
        partial.unlink(missing_ok=True)
        raise InsufficientDisk(bytes_left, shutil.disk_usage(dest).free, dest) from error
    target = _target(dest, file.path)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(partial, target)
    meter.finish(file)


def fetch_files(hub: _Hub, dest: Path, files: list[RepoFile],
                on_progress: Callable[[DownloadProgress], None] | None) -> None:
    """Bring every file to dest/<path>, verified: skip those already there, check the disk, fetch the rest."""
    dest.mkdir(parents=True, exist_ok=True)
    meter = _Meter(files, on_progress)
    pending = []
    for file in files:
        if _is_complete(dest, file):
            meter.skip(file)
        else:
            pending.append(file)
    on_disk = {file: _partial_size(dest, file) for file in pending}
    bytes_left = sum(max(file.size - on_disk[file], 0) for file in pending)
    free = shutil.disk_usage(dest).free
    if bytes_left > free:
        raise InsufficientDisk(bytes_left, free, dest)
    meter.report(force=True)
    # A corrupted file does not stop the others: they are fetched and kept, so a retry needs only that file.
    corrupted: CorruptedFile | None = None
    for file in pending:
        if hub.stopped(force=True):
            raise DownloadCancelled(f"download of '{hub.repo_id}' cancelled")
        try:
            _fetch(hub, dest, file, meter, bytes_left)
        except CorruptedFile as error:
            corrupted = corrupted or error
        bytes_left -= max(file.size - on_disk[file], 0)
    partial_dir = dest / PARTIAL_DIR
    if partial_dir.is_dir() and not any(partial_dir.iterdir()):
        partial_dir.rmdir()
    meter.report(force=True)
    if corrupted is not None:
        raise corrupted
