"""What every command shares: the two consoles, the ledger from the environment, files in and out."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from ledger.documents.jsonsafe import loads
from ledger.errors import InvalidRequestError, SijillError
from ledger.settings import Settings
from ledger.usecases.context import Ledger

out = Console()
"""Results: what a script reads from stdout."""
err = Console(stderr=True)
"""Errors, progress and notes for the person at the terminal."""


def failed(error: SijillError) -> typer.Exit:
    """Print `error` and return the exit (code 2) to raise: every Sijill error ends a command so."""
    err.print(f"[red]error:[/red] {error.message}")
    return typer.Exit(2)


@contextmanager
def open_ledger() -> Iterator[Ledger]:
    """A `Ledger` from the environment; Sijill errors become a message and exit code 2."""
    try:
        ledger = Ledger(Settings())
    except SijillError as error:
        raise failed(error) from error
    try:
        yield ledger
    except SijillError as error:
        raise failed(error) from error
    finally:
        ledger.close()


def log_to_stderr() -> None:
    """Log INFO and above to stderr, for the commands that run until stopped."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")


def read_file(path: Path) -> bytes:
    """The bytes of `path`. Raises `InvalidRequestError` if there is no such file."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InvalidRequestError(f"no file {path}") from None


def read_json(path: Path) -> Any:
    """A JSON file, read with the same nesting guard as every JSON the service accepts."""
    return loads(read_file(path), what=str(path))


def write_file(path: Path, content: bytes) -> None:
    """`content` to `path`, noted on stderr."""
    path.write_bytes(content)
    err.print(f"wrote {path}")


def write_json(data: Any, path: Path | None) -> None:
    """`data` as indented JSON to `path`, or to stdout without one."""
    text = json.dumps(data, ensure_ascii=False, indent=2)
    if path is None:
        sys.stdout.write(text + "\n")
    else:
        path.write_text(text + "\n", encoding="utf-8")
        err.print(f"wrote {path}")
