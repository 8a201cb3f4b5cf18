"""Exceptions raised by mllmrec.

Every error a user can cause (bad input files, bad configuration, an unreachable server)
derives from :class:`MllmrecError`, so the CLI can print it as one clear line instead of a
traceback.
"""
from __future__ import annotations

from pathlib import Path


class MllmrecError(Exception):
    """Base class of all errors the CLI reports to the user without a traceback."""


class ConfigError(MllmrecError):
    """The configuration (file, environment or flags) is invalid."""


class InputDataError(MllmrecError):
    """A source file is malformed. Names the file, the line (1-based) and the field."""

    def __init__(
        self,
        path: str | Path,
        message: str,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.path = str(path)
        self.line = line
        self.field = field
        self.reason = message
        where = self.path
        if line is not None:
            where += f", line {line}"
        if field is not None:
            where += f", field '{field}'"
        super().__init__(f"{where}: {message}")


class UnknownFormatError(MllmrecError):
    """The requested source format has no loader."""


class DatabaseError(MllmrecError):
    """Neo4j is unreachable or refused an operation."""


class ServerError(MllmrecError):
    """The local Neo4j server could not be installed, started or stopped."""


class StageError(MllmrecError):
    """A pipeline stage cannot run (missing inputs, a lock held by another run, ...)."""
