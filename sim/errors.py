"""Errors a user can fix. The CLI prints them as one line and exits with status 2."""

from __future__ import annotations

from pathlib import Path


class UserError(Exception):
    """Bad input or environment: shown as one line, no traceback."""


class ScenarioError(UserError):
    """A scenario or sweep file is wrong at a known place: ``file:line: field: message``."""

    def __init__(
        self, message: str, file: str | Path | None = None, line: int | None = None, field: str = ""
    ):
        self.file = str(file) if file is not None else None
        self.line = line
        self.field = field
        self.message = " ".join(str(message).split())  # one line, always
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = self.file or "<scenario>"
        if self.line is not None:
            where += f":{self.line}"
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.message}"
