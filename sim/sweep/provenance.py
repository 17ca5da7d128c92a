"""What made a sweep's rows: the model version that keys every run, and the environment around it.

The model version is the package version plus a digest of the source files a run's rows depend
on (the model, the runner, the scenario contract and the overrides). Editing any of them changes
every run key, so a resumed or extended sweep can never mix rows of two different models.
"""

from __future__ import annotations

import hashlib
import platform
import re
import sys
from functools import cache
from pathlib import Path
from typing import Any

SIM = Path(__file__).resolve().parents[1]
MODEL_SOURCES = ("model/**/*.py", "runner.py", "results.py", "scenario/schema.py", "scenario/reference.py",
                 "scenario/overrides.py")  # fmt: skip


@cache
def model_version() -> str:
    """``<package version>+<12 hex digits of the model's sources>``."""
    from sim.runner import package_version

    h = hashlib.sha256()
    files = sorted({p for pattern in MODEL_SOURCES for p in SIM.glob(pattern) if p.is_file()})
    for path in files:
        h.update(path.relative_to(SIM).as_posix().encode())
        h.update(b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return f"{package_version()}+{h.hexdigest()[:12]}"


def environment() -> dict[str, Any]:
    """Versions that could change results or their reading, for the manifest."""
    from importlib.metadata import PackageNotFoundError, version

    from sim.runner import git_commit, package_version

    libs: dict[str, str | None] = {}
    for lib in ("mesa", "numpy", "scipy", "pandas", "pyarrow", "pydantic", "SALib", "distributed"):
        try:
            libs[lib] = version(lib)
        except PackageNotFoundError:
            libs[lib] = None
    commit = git_commit()
    return {
        "package_version": package_version(),
        "model_version": model_version(),
        "git_commit": commit if commit and re.fullmatch(r"[0-9a-f]{40}", commit) else None,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "libraries": libs,
    }
