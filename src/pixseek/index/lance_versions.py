"""Versioned LanceDB store folders behind one path, switched atomically (for `pixseek reindex`).

`<db>/lance` is where the store is opened. After a first re-index it is a relative symlink to a
version folder beside it, and a switch replaces that symlink with rename(2), atomic on POSIX:

    <db>/lance -> lance-v2      the pointer
    <db>/lance-v1/              the store it replaced, kept for a rollback until deleted
    <db>/lance-v2/

Before the first re-index `<db>/lance` is a plain folder: version 1. Rename cannot replace a
non-empty folder, so that first switch exchanges the folder and the new symlink in one
renameat2(RENAME_EXCHANGE) call (Linux), then renames the old folder to `lance-v1`. A crash
between the two leaves the pointer right and the old folder at `.lance-switch`, which the next
switch renames. Without renameat2 (macOS) the first switch takes two renames, and a crash in
the microseconds between them leaves no `<db>/lance` (the data is safe in `lance-v1`).

A process that has the store open reads through `<db>/lance` and follows the switch on its next
table refresh; in between (up to its read-consistency interval) a read may fail on files of the
old folder. Such a process holds the old pack anyway: restart it with the new one.
"""

from __future__ import annotations

import ctypes
import errno
import os
from pathlib import Path

from pixseek.index.lance_meta import META_FILE

POINTER = "lance"  # the store folder (or symlink to the live version) under the db folder
SWITCH = ".lance-switch"  # the new symlink, made beside the pointer and renamed over it
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def version_path(db: Path, version: int) -> Path:
    return db / f"{POINTER}-v{version}"


def current_version(db: Path) -> int:
    """The version `<db>/lance` serves: N for a symlink to `lance-vN`, 1 for a plain folder."""
    pointer = db / POINTER
    if not pointer.is_symlink():
        return 1
    target = os.readlink(pointer)
    suffix = target.removeprefix(f"{POINTER}-v")
    if target == suffix or not suffix.isdigit():
        raise ValueError(f"{pointer} points at {target!r}, not at a {POINTER}-vN folder beside it")
    return int(suffix)


def switch_to(db: Path, version: int) -> Path | None:
    """Point `<db>/lance` at `lance-v<version>` atomically; returns the folder it served before."""
    target = version_path(db, version)
    if not (target / META_FILE).exists():
        raise FileNotFoundError(f"{target} is not a pixseek store")
    _finish_interrupted_switch(db)
    pointer, switch = db / POINTER, db / SWITCH
    old = version_path(db, current_version(db)) if pointer.exists() or pointer.is_symlink() else None
    switch.unlink(missing_ok=True)
    os.symlink(target.name, switch)
    if pointer.is_symlink() or not pointer.exists():
        os.replace(switch, pointer)
    else:
        _exchange(switch, pointer)  # now the pointer is the symlink, SWITCH the old folder
        _finish_interrupted_switch(db)
    _sync_folder(db)
    return old


def _finish_interrupted_switch(db: Path) -> None:
    """Give the plain folder that a first switch moved aside its version name."""
    moved = db / SWITCH
    if moved.is_dir() and not moved.is_symlink():
        os.rename(moved, version_path(db, 1))


def _exchange(first: Path, second: Path) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is not None:
        flags = _RENAME_EXCHANGE
        if renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), flags) == 0:
            return
        code = ctypes.get_errno()
        if code not in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
            raise OSError(code, os.strerror(code), str(second))
    # No atomic exchange here: move the folder to version 1, then the symlink into its place.
    os.rename(second, version_path(second.parent, 1))
    os.replace(first, second)


def _sync_folder(folder: Path) -> None:
    """Make the renames durable: they live in the folder's own entries."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
