"""Shared by the sweep benchmarks: a frozen copy of the code, and a watch over a command's process tree.

- Snapshot: the package and the scenarios are copied to a temporary folder and every contender runs
  from that copy, so edits made to the tree during a long benchmark cannot make two contenders run
  two different models.
- Memory: every 50 ms the tree (the command, a fork server, the workers) is sampled. Its memory is
  the sum of proportional set sizes (PSS, from /proc/PID/smaps_rollup): pages shared by forked
  workers are counted once, not once per worker as a sum of RSS would. The command's own peak RSS
  is reported too: it is where a runner that keeps results in memory grows.
- CPU: user + system seconds of every process of the tree as last sampled (rusage of children
  would miss workers whose parent, a fork server, is never waited for).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable


@dataclass
class Measured:
    wall_s: float
    cpu_s: float
    peak_tree_mb: float  # PSS summed over the tree
    peak_root_mb: float  # RSS of the command itself
    stdout: str


def snapshot(folder: Path) -> Path:
    """A copy of ``sim/`` and ``scenarios/`` to run from; returns its root."""
    root = folder / "snapshot"
    if not root.exists():
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
        shutil.copytree(REPO / "sim", root / "sim", ignore=ignore)
        shutil.copytree(REPO / "scenarios", root / "scenarios", ignore=ignore)
    return root


def _pss_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def measure(cmd: list[str], code: Path) -> Measured:
    """Run ``cmd`` from the code snapshot ``code``: wall time, CPU of its tree, peak memory."""
    env = {**os.environ, "PYTHONPATH": str(code)}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=code, env=env, stdout=subprocess.PIPE, text=True)
    peak = {"tree": 0, "root": 0}
    cpu: dict[int, float] = {}
    stop = threading.Event()

    def watch() -> None:
        try:
            root = psutil.Process(proc.pid)
        except psutil.NoSuchProcess:
            return
        while not stop.is_set():
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                break
            total = 0
            for p in procs:
                try:
                    t = p.cpu_times()
                    cpu[p.pid] = t.user + t.system
                    if p.pid == proc.pid:
                        peak["root"] = max(peak["root"], p.memory_info().rss)
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
                total += (_pss_kb(p.pid) or 0) * 1024
            peak["tree"] = max(peak["tree"], total)
            stop.wait(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    out, _ = proc.communicate()
    wall = time.perf_counter() - t0
    stop.set()
    watcher.join()
    if proc.returncode != 0:
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{out}")
    return Measured(wall, sum(cpu.values()), peak["tree"] / 2**20, peak["root"] / 2**20, out)


def write_sweep(folder: Path, code: Path, name: str, body: str, scale: float) -> Path:
    """A sweep file over the snapshot's 2023 baseline at the given resident scale."""
    path = folder / f"{name}.yaml"
    base = code / "scenarios" / "baseline_2023.yaml"
    path.write_text(
        f"name: {name}\nbase: {base}\nfixed:\n  calendar.resident_scale: {scale}\n{body}", encoding="utf-8"
    )
    return path


def levels(n: int) -> list[float]:
    """n evenly spaced values on [0, 1], rounded so both runners see the same floats."""
    return [round(i / (n - 1), 6) for i in range(n)] if n > 1 else [0.0]


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"
