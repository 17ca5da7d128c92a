"""Atomic writes: every file appears whole under its final name, or not at all.

A file is written under a hidden temporary name in the same folder, flushed to disk, then
renamed into place with os.replace, which is atomic on POSIX. Readers scanning a folder while
it is written (DuckDB globs, the dashboard) therefore never see half a file.

A result folder is written into a hidden staging folder ``.<name>.<host>-<pid>.<random>.partial``
beside it and renamed into place when complete. A process killed while writing leaves its staging
folder behind; the next :func:`staging_dir` in the same folder deletes those whose process, on
this machine, is gone (docs/RELIABILITY.md).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from sim.errors import UserError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _atomic(path: Path, write: Callable[[Path], object]) -> Path:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        raise UserError(f"{path.parent}: cannot write results here ({err.strerror or err})") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; results are meant to be shared
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise UserError(f"{path}: cannot write ({err.strerror or err})") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_parquet(table: pa.Table, path: str | Path) -> Path:
    """Write a table as zstd-compressed Parquet, atomically."""
    return _atomic(Path(path), lambda tmp: pq.write_table(table, tmp, compression="zstd"))


def write_text(text: str, path: str | Path) -> Path:
    return _atomic(Path(path), lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json(obj: Any, path: str | Path) -> Path:
    return write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n", path)


def publish_dir(staging: Path, final: Path) -> Path:
    """Move a fully written staging folder to its final name in one rename.

    The staging folder must sit beside the final one (same file system). An existing final
    folder is an error rather than something to merge into: results are never overwritten.
    """
    staging, final = Path(staging), Path(final)
    if final.exists():
        shutil.rmtree(staging, ignore_errors=True)
        raise UserError(f"{final}: already exists; choose another --out")
    try:
        os.replace(staging, final)
    except OSError as err:
        shutil.rmtree(staging, ignore_errors=True)
        raise UserError(f"{final}: cannot publish results ({err.strerror or err})") from None
    return final


STAGING = re.compile(r"^\.(?P<name>.+)\.(?P<host>[A-Za-z0-9_-]+)-(?P<pid>\d+)\.[A-Za-z0-9_]+\.partial$")
"""A staging folder's name: the final name, the writer's host and pid, mkdtemp's random part."""


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", socket.gethostname())[:64] or "host"


def _alive(pid: int) -> bool:
    """Whether a process with this pid exists here (a pid we may not signal exists too)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def remove_stale_staging(folder: str | Path) -> list[Path]:
    """Delete staging folders in ``folder`` whose writer, a process on this machine, has died.

    Such a folder can never be published: only its writer would rename it. Folders of live
    processes, of other machines (a shared file system) and of unknown form are left alone.
    """
    removed: list[Path] = []
    host = _host()
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    for entry in entries:
        m = STAGING.match(entry.name)
        if not m or m["host"] != host or int(m["pid"]) == os.getpid() or _alive(int(m["pid"])):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def staging_dir(final: Path) -> Path:
    """A hidden, empty folder beside ``final`` to write into before :func:`publish_dir`.

    Its name carries this machine and process, so a later writer can tell it is stale; stale
    ones of dead processes are removed here first.
    """
    final = Path(final)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_staging(final.parent)
        prefix = f".{final.name}.{_host()}-{os.getpid()}."
        stage = Path(tempfile.mkdtemp(prefix=prefix, suffix=".partial", dir=final.parent))
        os.chmod(stage, 0o777 & ~_umask())
        return stage
    except OSError as err:
        raise UserError(f"{final.parent}: cannot write results here ({err.strerror or err})") from None
