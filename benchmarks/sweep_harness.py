"""Shared by the sweep benchmarks: run a command and watch its whole process tree.

Peak memory is the largest sum of resident set sizes over the tree (the command, its fork server
and its workers) seen at any 20 ms sample, and separately the command's own peak (where a batch
runner that keeps results in memory grows). CPU time is the user + system seconds of every process
of the tree, as last sampled: rusage of children would miss workers whose parent (a fork server)
is never waited for.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
BASELINE = REPO / "scenarios" / "baseline_2023.yaml"
PY = sys.executable


@dataclass
class Measured:
    wall_s: float
    cpu_s: float
    peak_tree_mb: float
    peak_root_mb: float
    stdout: str
    returncode: int


def measure(cmd: list[str], cwd: Path = REPO) -> Measured:
    """Run ``cmd`` to the end; its wall time, the CPU time of its tree, and its peak memory."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, text=True)
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
                total = 0
                for p in procs:
                    try:
                        rss = p.memory_info().rss
                        t = p.cpu_times()
                        cpu[p.pid] = t.user + t.system
                    except (psutil.NoSuchProcess, psutil.AccessDenied):
                        continue
                    total += rss
                    if p.pid == proc.pid:
                        peak["root"] = max(peak["root"], rss)
                peak["tree"] = max(peak["tree"], total)
            except psutil.NoSuchProcess:
                pass
            stop.wait(0.02)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    out, _ = proc.communicate()
    wall = time.perf_counter() - t0
    stop.set()
    watcher.join()
    if proc.returncode != 0:
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{out}")
    return Measured(wall, sum(cpu.values()), peak["tree"] / 2**20, peak["root"] / 2**20, out, proc.returncode)


def write_sweep(folder: Path, name: str, body: str, scale: float) -> Path:
    """A sweep file over the 2023 baseline at the given resident scale."""
    path = folder / f"{name}.yaml"
    path.write_text(
        f"name: {name}\nbase: {BASELINE}\nfixed:\n  calendar.resident_scale: {scale}\n{body}",
        encoding="utf-8",
    )
    return path


def levels(n: int) -> list[float]:
    """n evenly spaced values on [0, 1], rounded so both runners see the same floats."""
    return [round(i / (n - 1), 6) for i in range(n)] if n > 1 else [0.0]


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"
