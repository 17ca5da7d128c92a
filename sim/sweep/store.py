"""The sweep store: one folder per sweep that grows a Parquet part per finished task.

Layout::

    DIR/manifest.json            provenance: inputs and their hashes, versions, seeds, sessions
    DIR/design.parquet           point_id and one column per factor
    DIR/design_unit.parquet      the unit-cube sample of a sampled design (for SALib's analysers)
    DIR/inputs/                  the sweep file and the resolved base scenario, as run
    DIR/runs/part-<task>.parquet one row per run, keyed by run_key
    DIR/timeseries/part-<task>.parquet, DIR/events/part-<task>.parquet  (when kept)
    DIR/timings.parquet          wall and CPU time per task (never in the result rows)

Each part is written atomically, and a task's runs part is written last: a runs part on disk
means the whole task is on disk. Resuming reads the run keys of the runs parts, deletes parts
of tasks that never got their runs part, and runs only the missing keys. Readers drop any
repeated run_key, so nothing is counted twice even if two parts ever overlapped.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sim.errors import UserError
from sim.results import EVENTS_SCHEMA, RUNS_SCHEMA, TIMESERIES_SCHEMA
from sim.store.atomic import publish_dir, staging_dir, write_json, write_parquet

TABLES = ("runs", "timeseries", "events")
KEY_FIELDS = [
    pa.field("run_key", pa.string(), nullable=False),
    pa.field("point_id", pa.int64(), nullable=False),
]
RUNS_PART_SCHEMA = pa.schema(
    [
        *KEY_FIELDS,
        pa.field("status", pa.string(), nullable=False),
        pa.field("error", pa.string()),
        *RUNS_SCHEMA,
    ]
)
"""A runs part: the run's key and point, ``status`` ("ok" or "error"), the error text, the outcomes."""
TIMESERIES_PART_SCHEMA = pa.schema([*KEY_FIELDS, *TIMESERIES_SCHEMA])
EVENTS_PART_SCHEMA = pa.schema([*KEY_FIELDS, *EVENTS_SCHEMA])
PART_SCHEMAS = {"runs": RUNS_PART_SCHEMA, "timeseries": TIMESERIES_PART_SCHEMA, "events": EVENTS_PART_SCHEMA}
SORT_KEYS = {
    "runs": [("point_id", "ascending"), ("replication", "ascending")],
    "timeseries": [("point_id", "ascending"), ("replication", "ascending"), ("step", "ascending")],
    "events": [("point_id", "ascending"), ("replication", "ascending"), ("step", "ascending")],
}


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no spaces: the same value always hashes the same."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def digest(*parts: Any, size: int = 32) -> str:
    return hashlib.sha256(canonical_json(parts).encode()).hexdigest()[:size]


def run_key(
    model_version: str, base_hash: str, overrides: dict[str, Any], replication: int, seed: int
) -> str:
    """The identity of one run: model version, the scenario it ran (base plus every override) and its seed.

    Two runs with the same key produce the same rows, so a store may skip a key it already holds.
    """
    return digest(model_version, base_hash, overrides, replication, seed)


def sort_table(table: pa.Table, name: str) -> pa.Table:
    """Rows in a fixed order (point, replication, step) so a store reads the same whatever ran it."""
    return table.sort_by(SORT_KEYS[name]) if table.num_rows else table


class SweepStore:
    """A sweep's folder on disk. Writes are atomic; one runner at a time holds its lock."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self._lock_fh: Any = None

    # ------------------------------------------------------------------ creation and opening
    @classmethod
    def create(cls, root: str | Path, files: dict[str, pa.Table | Any], texts: dict[str, str]) -> SweepStore:
        """Write the store's first files into a staging folder and publish it in one rename.

        ``files`` maps relative names to a table (Parquet) or a JSON-able object; ``texts`` to text.
        A crash while creating leaves no store behind, only a hidden staging folder.
        """
        root = Path(root)
        if root.exists():
            raise UserError(f"{root}: already exists; pass --resume to continue it or choose another --out")
        stage = staging_dir(root)
        try:
            for rel, obj in files.items():
                if isinstance(obj, pa.Table):
                    write_parquet(obj, stage / rel)
                else:
                    write_json(obj, stage / rel)
            for rel, text in texts.items():
                path = stage / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
            for name in TABLES:
                (stage / name).mkdir()
        except BaseException:
            import shutil

            shutil.rmtree(stage, ignore_errors=True)
            raise
        publish_dir(stage, root)
        return cls(root)

    @classmethod
    def open(cls, root: str | Path) -> SweepStore:
        root = Path(root)
        if not (root / "manifest.json").is_file():
            raise UserError(f"{root}: not a sweep store (no manifest.json)")
        return cls(root)

    def lock(self) -> None:
        """Take the store's writer lock; the OS drops it when the process dies, even by SIGKILL."""
        fh = open(self.root / ".lock", "a+")  # noqa: SIM115 - held for the runner's lifetime
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            raise UserError(f"{self.root}: another sweep is writing this store right now") from None
        self._lock_fh = fh

    def unlock(self) -> None:
        if self._lock_fh is not None:
            self._lock_fh.close()
            self._lock_fh = None

    # ------------------------------------------------------------------ manifest
    @property
    def manifest_path(self) -> Path:
        return self.root / "manifest.json"

    def manifest(self) -> dict[str, Any]:
        try:
            return json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise UserError(f"{self.manifest_path}: cannot read the manifest ({err})") from None

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        write_json(manifest, self.manifest_path)

    # ------------------------------------------------------------------ parts
    def parts(self, name: str) -> list[Path]:
        """Finished part files of one table, in name order (hidden temporaries excluded)."""
        folder = self.root / name
        if not folder.is_dir():
            return []
        return sorted(p for p in folder.glob("part-*.parquet") if not p.name.startswith("."))

    def part_path(self, name: str, task: str) -> Path:
        return self.root / name / f"part-{task}.parquet"

    def has_task(self, task: str) -> bool:
        return self.part_path("runs", task).exists()

    def write_task(self, task: str, tables: dict[str, pa.Table]) -> None:
        """Write one task's parts; the runs part goes last and marks the task as done."""
        for name in ("timeseries", "events", "runs"):
            if name in tables:
                table = sort_table(tables[name].cast(PART_SCHEMAS[name]), name)
                write_parquet(table, self.part_path(name, task))

    def done_keys(self) -> set[str]:
        """Run keys already stored (by runs parts, i.e. of finished tasks)."""
        keys: set[str] = set()
        for part in self.parts("runs"):
            keys.update(read_part(part, ["run_key"]).column("run_key").to_pylist())
        return keys

    def remove_orphans(self) -> list[Path]:
        """Delete time-series and event parts whose task never wrote its runs part, and stale temporaries.

        Such parts are what a kill between a task's first and last write leaves behind; the task
        runs again on resume (possibly grouped differently), so keeping them would double rows.
        """
        done = {p.name for p in self.parts("runs")}
        removed = []
        for name in TABLES:
            folder = self.root / name
            if not folder.is_dir():
                continue
            for path in folder.iterdir():
                stale_tmp = path.name.startswith(".") and path.name.endswith(".tmp")
                orphan = name != "runs" and path.name.startswith("part-") and path.name not in done
                if stale_tmp or orphan:
                    path.unlink(missing_ok=True)
                    removed.append(path)
        return removed

    # ------------------------------------------------------------------ reading
    def read_table(self, name: str, columns: Iterable[str] | None = None) -> pa.Table:
        """One result table of the store: every finished part, each run once, in a fixed order.

        Time-series and event rows are taken only from the part whose runs part first holds their
        run_key, which drops both orphans and repeats.
        """
        schema = PART_SCHEMAS[name]
        owned: dict[str, list[str]] = {}
        seen: set[str] = set()
        for part in self.parts("runs"):
            keys = read_part(part, ["run_key"]).column("run_key").to_pylist()
            owned[part.name] = [k for k in keys if k not in seen]
            seen.update(keys)
        tables = []
        for part in self.parts(name):
            mine = owned.get(part.name)
            if not mine:
                continue
            t = read_part(part).cast(schema)
            if len(mine) != len(set(t.column("run_key").to_pylist())):
                t = t.filter(pc.is_in(t.column("run_key"), value_set=pa.array(mine, pa.string())))
            tables.append(t)
        table = pa.concat_tables(tables) if tables else schema.empty_table()
        table = sort_table(table, name)
        if columns is not None:
            table = table.select(list(columns))
        return table

    def design(self) -> pa.Table:
        return pq.read_table(self.root / "design.parquet")

    def summary_counts(self) -> dict[str, int]:
        """Runs stored (each key once), and how many of them failed; reads two columns a part."""
        seen: set[str] = set()
        errors = 0
        for part in self.parts("runs"):
            t = read_part(part, ["run_key", "status"])
            for key, status in zip(
                t.column("run_key").to_pylist(), t.column("status").to_pylist(), strict=True
            ):
                if key not in seen:
                    seen.add(key)
                    errors += status == "error"
        return {"runs": len(seen), "errors": errors}


def read_part(path: Path, columns: list[str] | None = None) -> pa.Table:
    """One part file, single-threaded: ``pq.read_table`` keeps far more memory per file read (about
    40 KB each), which over thousands of parts would make the runner's memory grow with the sweep."""
    return pq.ParquetFile(path).read(columns=columns, use_threads=False)
