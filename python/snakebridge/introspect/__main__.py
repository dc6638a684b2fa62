"""``python -m snakebridge.introspect [--budget-ms N] [--out FILE] [--progress] MODULE...``: writes the document."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from typing import Any, TextIO

from . import introspect_modules
from .budget import DEFAULT_BUDGET_MS


def main(argv: list[str] | None = None) -> int:
    """Runs the CLI; 0 once the document is written, 2 (from argparse) for bad arguments."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        out = open(args.out, "w", encoding="utf-8") if args.out else None  # noqa: SIM115 - closed below
    except OSError as error:
        parser.error(f"cannot write {args.out}: {error.strerror}")
    with _stdout_to_stderr() as stdout:
        document = introspect_modules(
            args.modules, budget_ms=args.budget_ms, progress=_report if args.progress else None
        )
        target = out or stdout
        json.dump(document, target, ensure_ascii=False, allow_nan=False)
        target.write("\n")
        target.flush()
    if out is not None:
        out.close()
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m snakebridge.introspect",
        description="Describe Python modules for snakebridge types (vectors/introspect/README.md).",
    )
    parser.add_argument(
        "--budget-ms",
        type=_positive_int,
        default=DEFAULT_BUDGET_MS,
        help=f"time per module, import included, before the rest is left untyped (default {DEFAULT_BUDGET_MS})",
    )
    parser.add_argument("--out", metavar="FILE", help="write the document here instead of stdout")
    parser.add_argument("--progress", action="store_true", help="report progress on stderr as JSON lines")
    parser.add_argument("modules", nargs="+", metavar="MODULE", help="dotted module names")
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of milliseconds: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {value}")
    return value


@contextlib.contextmanager
def _stdout_to_stderr() -> Any:
    """Points file descriptor 1 (and ``sys.stdout``) at stderr; yields a stream to the real stdout.

    C extensions and child processes write to the descriptor, not to ``sys.stdout``: both must move.
    """
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    stdout: TextIO = os.fdopen(saved, "w", encoding="utf-8")
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield stdout
    finally:
        stdout.close()


def _report(event: dict[str, Any]) -> None:
    sys.stderr.write(json.dumps(event) + "\n")
    sys.stderr.flush()


if __name__ == "__main__":
    sys.exit(main())
