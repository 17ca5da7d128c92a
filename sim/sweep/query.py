"""SQL over a sweep store: DuckDB views named runs, timeseries, events and design.

The views list the store's finished part files when they are made, so they work while the sweep
is still running (every part appears whole, by atomic rename) and see a consistent snapshot.
Each run appears once: rows are taken from the first runs part that holds their run_key, and
time-series and event rows only from the task that wrote that runs part.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from sim.errors import UserError
from sim.sweep.store import PART_SCHEMAS, SweepStore


def _files_sql(paths: list[Path]) -> str:
    return "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths) + "]"


def connect(root: str | Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the store's views."""
    store = SweepStore.open(root)
    con = duckdb.connect(":memory:")
    con.execute("SET threads TO 2")
    design = store.root / "design.parquet"
    con.execute(f"CREATE VIEW design AS SELECT * FROM read_parquet({_files_sql([design])})")
    for name in ("runs", "timeseries", "events"):
        parts = store.parts(name)
        if parts:
            src = (
                f"SELECT * EXCLUDE (filename), parse_filename(filename) AS _part "
                f"FROM read_parquet({_files_sql(parts)}, filename = true)"
            )
        else:
            empty = PART_SCHEMAS[name].empty_table()
            con.register(f"_empty_{name}", empty)
            src = f"SELECT *, ''::VARCHAR AS _part FROM _empty_{name}"
        con.execute(f"CREATE VIEW _{name}_all AS {src}")
    con.execute("CREATE VIEW _owner AS SELECT run_key, min(_part) AS _part FROM _runs_all GROUP BY run_key")
    con.execute(
        """
        CREATE VIEW runs AS
        SELECT r.run_key, r.point_id, d.* EXCLUDE (point_id), r.* EXCLUDE (run_key, point_id, _part)
        FROM _runs_all r
        JOIN _owner o ON r.run_key = o.run_key AND r._part = o._part
        LEFT JOIN design d ON d.point_id = r.point_id
        ORDER BY r.point_id, r.replication
        """
    )
    for name in ("timeseries", "events"):  # unordered: these can be large; ORDER BY in the query
        con.execute(
            f"""
            CREATE VIEW {name} AS
            SELECT t.* EXCLUDE (_part)
            FROM _{name}_all t
            JOIN _owner o ON t.run_key = o.run_key AND t._part = o._part
            """
        )
    return con


def query(root: str | Path, sql: str) -> tuple[list[str], list[tuple]]:
    """Column names and rows of a query over the store; SQL mistakes are one-line user errors."""
    con = connect(root)
    try:
        cur = con.execute(sql)
        if cur.description is None:
            return [], []
        cols = [d[0] for d in cur.description]
        return cols, cur.fetchall()
    except duckdb.Error as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UserError(f"query: {first}") from None
    finally:
        con.close()
