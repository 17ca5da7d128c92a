"""The ``report`` and ``dashboard`` commands: thin wrappers over sim.views."""

from __future__ import annotations

from pathlib import Path

import typer

from sim.errors import UserError


def register(app: typer.Typer) -> None:
    @app.command()
    def report(
        result_dir: Path = typer.Argument(
            ..., help="folder written by `kosovo-sim run` or `compare`, or a sweep"
        ),
        out: Path | None = typer.Option(None, "--out", help="HTML file to write (default: DIR/report.html)"),
        png: Path | None = typer.Option(
            None, "--png", help="also write every figure as PNG and SVG into this folder"
        ),
    ) -> None:
        """Write a self-contained offline HTML report of a result folder (and optionally PNG/SVG figures)."""
        from sim.views.export import export_result
        from sim.views.report import write_report

        if out is not None and out.is_dir():
            raise UserError(f"{out}: --out is a folder; give a file name such as {out / 'report.html'}")
        path = write_report(result_dir, out)
        typer.echo(f"report: {path}")
        if png is not None:
            files = export_result(result_dir, png)
            typer.echo(f"figures: {len(files)} files in {png}")

    @app.command()
    def dashboard(
        result_dirs: list[Path] = typer.Argument(..., help="one or more result folders"),
        port: int = typer.Option(8050, "--port", min=1, max=65535, help="TCP port"),
        host: str = typer.Option(
            "127.0.0.1", "--host", help="address to listen on; anything but 127.0.0.1 exposes the dashboard"
        ),
        refresh: float = typer.Option(
            5.0, "--refresh", min=0.5, help="seconds between checks for new results"
        ),
    ) -> None:
        """Serve an interactive dashboard over result folders (live: it re-reads them as they grow)."""
        from sim.views.dashboard import serve

        serve(list(result_dirs), port=port, host=host, refresh_ms=int(refresh * 1000))
