"""CART scenario discovery: a shallow classification tree for "peak level >= k", read as rules.

A tree complements PRIM: it partitions the whole space instead of finding one box, so it also
shows the calm regions. Categorical factors are one-hot encoded; a split on ``factor=level``
reads back as ``factor == level`` or ``factor != level``, and the splits along one path are
merged per factor into one range, so each leaf becomes a single readable rule. The tree is kept
shallow (depth 3 by default) because a deep tree fits replication noise. Its balanced accuracy
under stratified 5-fold cross-validation says how far the rules can be trusted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.tree import DecisionTreeClassifier

from sim.errors import UserError

SEP = "="


@dataclass
class CartResult:
    rules: pd.DataFrame
    tree: DecisionTreeClassifier
    features: list[str]
    cv_balanced_accuracy: float

    def text(self) -> str:
        lines = []
        for r in self.rules.sort_values("density", ascending=False).itertuples():
            lines.append(
                f"IF {r.rule} THEN P = {r.density:.2f} (n = {r.n}, covers {r.coverage:.0%} of cases)"
            )
        return "\n".join(lines)


def encode(x: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """Numeric factors as they are, others one-hot as ``factor=level``; returns the column origins."""
    cols, origin = {}, {}
    for name in x.columns:
        col = x[name]
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            cols[name] = col.astype("float64").to_numpy()
            origin[name] = name
        else:
            text = col.astype(str)
            for level in sorted(text.unique()):
                key = f"{name}{SEP}{level}"
                cols[key] = (text == level).astype("float64").to_numpy()
                origin[key] = name
    return pd.DataFrame(cols, index=x.index), origin


def _fmt(v: float) -> str:
    return f"{v:.4g}"


def _path_rule(conds: list[tuple[str, str, float]], origin: dict[str, str]) -> str:
    """Merge a leaf's split conditions into one clause per factor, in the order first split.

    Excluded levels are named by what remains when that is shorter: with two levels,
    ``policy != a`` reads ``policy == b``.
    """
    levels_of: dict[str, list[str]] = {}
    for feature, factor in origin.items():
        if feature != factor:
            levels_of.setdefault(factor, []).append(feature[len(factor) + len(SEP) :])
    order: list[str] = []
    ranges: dict[str, list[float]] = {}
    equals: dict[str, str] = {}
    excludes: dict[str, list[str]] = {}
    for feature, op, thr in conds:
        factor = origin[feature]
        if factor not in order:
            order.append(factor)
        if feature != factor:  # one-hot column
            level = feature[len(factor) + len(SEP) :]
            if op == ">":
                equals[factor] = level
            else:
                excludes.setdefault(factor, []).append(level)
            continue
        lo, hi = ranges.setdefault(factor, [-np.inf, np.inf])
        if op == "<=":
            ranges[factor][1] = min(hi, thr)
        else:
            ranges[factor][0] = max(lo, thr)
    parts = []
    for factor in order:
        if factor in equals:
            parts.append(f"{factor} == {equals[factor]}")
        elif factor in excludes:
            left = [lvl for lvl in levels_of[factor] if lvl not in excludes[factor]]
            if len(left) == 1:
                parts.append(f"{factor} == {left[0]}")
            elif len(left) < len(excludes[factor]):
                parts.append(f"{factor} in {{{', '.join(left)}}}")
            else:
                gone = sorted(excludes[factor])
                parts.append(
                    f"{factor} != {gone[0]}" if len(gone) == 1 else f"{factor} not in {{{', '.join(gone)}}}"
                )
        else:
            lo, hi = ranges[factor]
            if np.isfinite(lo) and np.isfinite(hi):
                parts.append(f"{_fmt(lo)} < {factor} <= {_fmt(hi)}")
            elif np.isfinite(hi):
                parts.append(f"{factor} <= {_fmt(hi)}")
            else:
                parts.append(f"{factor} > {_fmt(lo)}")
    return " and ".join(parts) or "(all)"


def cart(
    x: pd.DataFrame,
    y,
    max_depth: int = 3,
    min_leaf: float = 0.02,
    seed: int = 0,
) -> CartResult:
    """Fit the tree and return one rule per leaf with its size, density and coverage.

    ``min_leaf`` is the smallest leaf as a share of the rows (at least 5 rows), which keeps leaves
    from isolating single noisy runs.
    """
    y = np.asarray(y).astype(int)
    if len(x) != len(y):
        raise UserError(f"CART: {len(x)} factor rows but {len(y)} outcome values")
    if len(np.unique(y)) < 2:
        raise UserError("CART: the outcome takes a single value, there is nothing to separate")
    if x.isna().any().any():
        raise UserError("CART: a factor has missing values")
    enc, origin = encode(x)
    leaf = max(5, int(np.ceil(min_leaf * len(y))))
    tree = DecisionTreeClassifier(max_depth=max_depth, min_samples_leaf=leaf, random_state=seed)
    tree.fit(enc.to_numpy(), y)

    counts = np.bincount(y, minlength=2)
    folds = min(5, int(counts.min()))
    cv = float("nan")
    if folds >= 2:
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        model = DecisionTreeClassifier(max_depth=max_depth, min_samples_leaf=leaf, random_state=seed)
        cv = float(cross_val_score(model, enc.to_numpy(), y, cv=splitter, scoring="balanced_accuracy").mean())

    t = tree.tree_
    features = list(enc.columns)
    leaves = tree.apply(enc.to_numpy())
    total = int(y.sum())
    rows = []

    def walk(node: int, conds: list[tuple[str, str, float]]) -> None:
        if t.children_left[node] == -1:
            inside = leaves == node
            n = int(inside.sum())
            pos = int(y[inside].sum())
            rows.append(
                {
                    "leaf": node,
                    "rule": _path_rule(conds, origin),
                    "n": n,
                    "cases": pos,
                    "density": pos / n if n else float("nan"),
                    "coverage": pos / total if total else float("nan"),
                    "mass": n / len(y),
                    "predicted": bool(pos / n >= 0.5) if n else False,
                    "depth": len(conds),
                    "cv_balanced_accuracy": cv,
                }
            )
            return
        f, thr = features[t.feature[node]], float(t.threshold[node])
        walk(t.children_left[node], [*conds, (f, "<=", thr)])
        walk(t.children_right[node], [*conds, (f, ">", thr)])

    walk(0, [])
    return CartResult(pd.DataFrame(rows), tree, features, cv)
