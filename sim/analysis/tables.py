"""Column types of the analysis tables in ``SWEEP/analysis/``: the contract the views read.

Each table is cast to its schema before it is written, so an empty table (a method that did not
fit the sweep) has the same columns as a full one and a reader never guesses. The frontier's
leading columns are the sweep's posture factors, which differ per sweep; only its tail is fixed.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

F, INT, S, B = pa.float64(), pa.int64(), pa.string(), pa.bool_()


def _schema(*fields: tuple[str, pa.DataType]) -> pa.Schema:
    return pa.schema([pa.field(n, t) for n, t in fields])


SCHEMAS: dict[str, pa.Schema] = {
    "sensitivity": _schema(
        ("method", S), ("outcome", S), ("factor", S), ("factor_b", S), ("index", S),
        ("value", F), ("conf", F), ("lo", F), ("hi", F), ("n", INT),
    ),
    "prim_trajectory": _schema(
        ("step", INT), ("phase", S), ("coverage", F), ("density", F), ("mass", F), ("n", INT),
        ("n_restricted", INT), ("restricted", S), ("box", S), ("chosen", B), ("level", INT),
    ),
    "prim_box": _schema(
        ("factor", S), ("kind", S), ("lo", F), ("hi", F), ("levels", pa.list_(S)), ("full_lo", F),
        ("full_hi", F), ("full_levels", pa.list_(S)), ("restricted", B), ("qp_value", F), ("rule", S),
        ("coverage", F), ("density", F), ("mass", F), ("n", INT), ("step", INT), ("level", INT),
    ),
    "cart_rules": _schema(
        ("leaf", INT), ("rule", S), ("n", INT), ("cases", INT), ("density", F), ("coverage", F), ("mass", F),
        ("predicted", B), ("depth", INT), ("cv_balanced_accuracy", F), ("level", INT),
    ),
    "nonmonotonic": _schema(
        ("kind", S), ("factor", S), ("outcome", S), ("outcome_b", S), ("shape", S), ("flagged", B),
        ("p_value", F), ("p_adjusted", F), ("extreme_at", F), ("rho", F), ("rho_lo", F), ("rho_hi", F),
        ("rho_b", F), ("rho_b_lo", F), ("rho_b_hi", F), ("bin_x", pa.list_(F)), ("bin_n", pa.list_(INT)),
        ("bin_mean", pa.list_(F)), ("bin_lo", pa.list_(F)), ("bin_hi", pa.list_(F)), ("coding", S),
    ),
}  # fmt: skip

FRONTIER_TAIL = _schema(
    ("cost", F), ("successes", INT), ("trials", INT), ("points", INT), ("outcome", S), ("p", F), ("lo", F),
    ("hi", F), ("threshold", F), ("below", B), ("above", B), ("straddles", B), ("on_frontier", B),
    ("cheapest_below", B), ("cheapest_estimate", B), ("interval", S),
)  # fmt: skip

COMPARISON = _schema(
    ("outcome", S), ("label", S), ("n_pairs", INT), ("base", F), ("variant", F), ("difference", F),
    ("lo", F), ("hi", F), ("excludes_zero", B), ("method", S), ("both", INT), ("base_only", INT),
    ("variant_only", INT), ("neither", INT), ("common_seeds", B), ("dropped", INT),
)  # fmt: skip
"""The table of :func:`sim.analysis.comparison.paired_differences`, for ``comparison.parquet``."""


def empty(name: str) -> pd.DataFrame:
    """A zero-row frame with the table's columns."""
    return SCHEMAS[name].empty_table().to_pandas()


def frontier_schema(df: pd.DataFrame) -> pa.Schema:
    """Posture columns typed from the data, then the fixed tail."""
    tail = set(FRONTIER_TAIL.names)
    lead = [c for c in df.columns if c not in tail]
    inferred = pa.Schema.from_pandas(df[lead], preserve_index=False) if lead else pa.schema([])
    return pa.schema([*(inferred.field(c) for c in lead), *FRONTIER_TAIL])


def to_arrow(name: str, df: pd.DataFrame) -> pa.Table:
    """The table cast to its schema; every column of the schema must be in ``df``."""
    if name == "frontier":
        schema = frontier_schema(df)
    elif name == "comparison":
        schema = COMPARISON
    else:
        schema = SCHEMAS[name]
    if len(df) == 0:
        return schema.empty_table()
    return pa.Table.from_pandas(df[schema.names], schema=schema, preserve_index=False)
