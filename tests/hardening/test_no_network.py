"""Nothing leaves the machine: ``run`` (with its report) and a Dask sweep open no socket to another host.

Each command runs in a fresh interpreter whose ``sitecustomize`` wraps ``socket.connect``,
``connect_ex`` and ``getaddrinfo``: an address or a name lookup that is not loopback is written to
a log and refused. Every process the command starts (the fork server, pool workers, Dask's
scheduler and workers) is either a new interpreter, which loads the same guard, or a fork, which
inherits it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import BASELINE, REPO, small_scenario_file

GUARD = """
import os, socket

_LOG = os.environ["KOSOVO_NETLOG"]
_LOCAL = {"127.0.0.1", "::1", "localhost", "0.0.0.0", "", None}


def _note(what):
    with open(_LOG, "a", encoding="utf-8") as fh:
        fh.write(f"{os.getpid()} {what}\\n")


def _check(sock, address):
    if sock.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in _LOCAL:
        _note(f"connect {address!r}")
        raise OSError(101, "network is unreachable (kosovo-sim test guard)")


_connect, _connect_ex, _getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo


def connect(self, address):
    _check(self, address)
    return _connect(self, address)


def connect_ex(self, address):
    _check(self, address)
    return _connect_ex(self, address)


def getaddrinfo(host, *args, **kwargs):
    h = host.decode() if isinstance(host, bytes) else host
    if h not in _LOCAL and not str(h).startswith("127."):
        _note(f"lookup {h!r}")
        raise socket.gaierror(socket.EAI_NONAME, "name lookups are refused (kosovo-sim test guard)")
    return _getaddrinfo(host, *args, **kwargs)


socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = connect, connect_ex, getaddrinfo
_note("guard loaded")
"""


def guarded(args: list[str], tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    guard = tmp_path / "guard"
    guard.mkdir(exist_ok=True)
    (guard / "sitecustomize.py").write_text(GUARD, encoding="utf-8")
    log = tmp_path / "net.log"
    log.touch()
    paths = [str(guard), str(REPO), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths), "KOSOVO_NETLOG": str(log)}
    done = subprocess.run(
        [sys.executable, "-m", "sim", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return done, log.read_text(encoding="utf-8").splitlines()


@pytest.mark.slow
def test_a_run_with_its_report_opens_no_outside_connection(tmp_path: Path) -> None:
    scenario = small_scenario_file(tmp_path, "net", replications=2)
    done, log = guarded(["run", str(scenario), "--out", str(tmp_path / "out"), "--workers", "2"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert [line for line in log if line.endswith("guard loaded")], (
        "the guard ran (forked workers inherit it)"
    )
    assert [line for line in log if not line.endswith("guard loaded")] == []
    assert (tmp_path / "out" / "report.html").exists()


@pytest.mark.slow
def test_a_dask_sweep_opens_no_outside_connection(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(
        f"base: {BASELINE}\nfixed:\n  calendar.resident_scale: 0.02\n"
        "factors:\n  posture.kfor.roe: {levels: [0.0, 1.0]}\ndesign: {type: full_factorial}\nreplications: 1\n",
        encoding="utf-8",
    )
    args = [
        "sweep",
        str(sweep),
        "--out",
        str(tmp_path / "store"),
        "--executor",
        "dask",
        "--workers",
        "2",
        "--quiet",
    ]
    done, log = guarded(args, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "2/2 runs stored" in done.stdout
    assert len([line for line in log if line.endswith("guard loaded")]) >= 3
    assert [line for line in log if not line.endswith("guard loaded")] == []
