"""The data directory and the files flowruns keeps in it (keys, the SQLite database): private to
the server's user whatever the umask, and each key written whole or not at all.

Several processes may initialise one new data directory at once (``serve --workers``, two
containers on one volume). A key is therefore written to a temporary file beside it, flushed to
disk, and hard-linked to its name, which fails if another process got there first; then that
process's key is read instead. No reader ever sees an empty or half-written key, and an existing
key is never replaced.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

DIRECTORY_MODE = 0o700
FILE_MODE = 0o600


def make_private_directory(path: Path) -> None:
    """Create ``path`` (and missing parents) with mode 0700 if it does not exist yet."""
    try:
        path.mkdir(mode=DIRECTORY_MODE, parents=True)
    except FileExistsError:
        return
    os.chmod(path, DIRECTORY_MODE)  # mkdir's mode is masked by the umask


def exposure_warning(path: Path) -> str | None:
    """What to tell the operator when an existing data directory is open to other users."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return None
    if not mode & 0o077:
        return None
    return (
        f"the data directory {path.resolve()} is open to other users (mode {mode:04o}) and holds "
        f"the database and keys; make it private: chmod 700 {path.resolve()}"
    )


def create_private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists (or its directory does not)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except (FileExistsError, FileNotFoundError):
        return
    try:
        os.fchmod(fd, FILE_MODE)  # the umask may have taken bits from the mode os.open asked for
    finally:
        os.close(fd)


def read_or_create(path: Path, make: Callable[[], bytes]) -> bytes:
    """The content of the key file ``path``; if there is none, ``make()``'s, written to ``path``
    (mode 0600) unless another process creates it first, whose content is returned then."""
    with contextlib.suppress(FileNotFoundError):
        return path.read_bytes()
    make_private_directory(path.parent)
    content = make()
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), FILE_MODE)
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)  # unlike a rename, never replaces an existing key
        except FileExistsError:
            return path.read_bytes()
    finally:
        os.unlink(temporary)
    _sync_directory(path.parent)  # the new name survives a crash too
    return content


def _sync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
