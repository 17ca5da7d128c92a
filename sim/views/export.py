"""Static PNG and SVG copies of the report's figures, for papers and slides.

All figures go through one kaleido call, so one headless Chromium renders them all (starting a
browser costs seconds). plotly.js comes from the plotly package and MathJax is switched off, so the
export needs no network. Interactive parts (sliders, menus, animation frames) are dropped: an image
shows the state the figure opens in.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from sim.errors import UserError
from sim.views.data import load_result
from sim.views.report import Figure, report_sections

FORMATS = ("png", "svg")
WIDTH = 1200  # CSS pixels: the width of the report's figures on a laptop
SCALE = 2  # PNG pixels per CSS pixel: sharp in print


def static_figure(fig: go.Figure) -> dict[str, Any]:
    """The figure as a dict without the parts an image cannot use."""
    d = fig.to_dict()
    d.pop("frames", None)
    layout = d.setdefault("layout", {})
    layout.pop("sliders", None)
    layout.pop("updatemenus", None)
    if "annotations" in layout:
        layout["annotations"] = [a for a in layout["annotations"] if a.get("name") != "menu-label"]
    return d


def export_figures(
    figures: Sequence[Figure], out_dir: str | Path, formats: Sequence[str] = FORMATS, width: int = WIDTH
) -> list[Path]:
    """Write each figure as ``<name>.<format>`` into out_dir; returns the files written.

    Files are rendered into a hidden folder beside their final place and moved in one by one, so a
    failed export leaves no half-written image under a final name.
    """
    import kaleido
    from kaleido.errors import ChromeNotFoundError

    out = Path(out_dir)
    skip = {f.name for f in figures if f.figure.frames}  # animated figures have a static twin
    chosen = [f for f in figures if f.name not in skip]
    try:
        out.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".export.", dir=out))
    except OSError as err:
        raise UserError(f"{out}: cannot write images here ({err.strerror or err})") from None
    specs: list[dict[str, Any]] = []
    for f in chosen:
        height = int(f.figure.layout.height or 450)
        d = static_figure(f.figure)
        for fmt in formats:
            specs.append(
                {"fig": d, "path": tmp / f"{f.name}.{fmt}",
                 "opts": {"format": fmt, "width": width, "height": height, "scale": SCALE if fmt == "png" else 1}}
            )  # fmt: skip
    try:
        kaleido.write_fig_from_object_sync(specs, kopts={"mathjax": False, "n": min(2, os.cpu_count() or 1)})
        written = []
        for spec in specs:
            rendered = Path(spec["path"])
            final = out / rendered.name
            os.replace(rendered, final)
            written.append(final)
        return written
    except ChromeNotFoundError:
        raise UserError("--png: no Chromium found for static export (apt-get install chromium)") from None
    except OSError as err:
        raise UserError(f"{out}: cannot write images ({err.strerror or err})") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def export_result(result_dir: str | Path, out_dir: str | Path) -> list[Path]:
    """PNG and SVG of every figure of a result folder's report."""
    data = load_result(result_dir)
    figures = [b for s in report_sections(data) for b in s.blocks if isinstance(b, Figure)]
    return export_figures(figures, out_dir)
