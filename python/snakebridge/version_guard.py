"""The runtime guard of typed bindings: at start, compare the lockfile's package versions with what is installed.

``snakebridge types`` records in its lockfile (``snakebridge.lock.json``) the
version of each distribution it generated TypeScript declarations from. A
worker or server started with ``bindings.guard`` set reads that file and
compares: with ``warn`` it says what drifted on stderr (which the host logs),
with ``error`` it refuses to start, so a deployment never runs Python whose
signatures the TypeScript was not checked against.
"""

from __future__ import annotations

import json
import sys
from importlib import metadata

from .errors import SnakeBridgeError
from .options import VersionGuardMode

#: The lockfile format this runtime reads (packages/cli/src/typegen/lockfile.ts).
LOCKFILE_FORMAT = 1


class VersionDrift(SnakeBridgeError):
    """Installed packages differ from the ones the TypeScript declarations were generated from."""

    code = "WORKER_START_FAILED"


def locked_versions(lockfile: str) -> dict[str, str]:
    """The distribution versions a lockfile records, by distribution name.

    Raises:
        VersionDrift: the lockfile is missing or is not one ``snakebridge types`` wrote.
    """
    try:
        with open(lockfile, encoding="utf-8") as file:
            document = json.load(file)
    except FileNotFoundError:
        raise VersionDrift(
            f"bindings.guard is on but there is no lockfile at {lockfile}: run snakebridge types"
        ) from None
    except (OSError, ValueError) as exc:
        raise VersionDrift(f"the lockfile {lockfile} cannot be read ({exc}): run snakebridge types again") from None
    if not isinstance(document, dict) or document.get("format") != LOCKFILE_FORMAT:
        raise VersionDrift(
            f"{lockfile} is not a snakebridge lockfile of format {LOCKFILE_FORMAT}: run snakebridge types"
        )
    versions: dict[str, str] = {}
    for module in (document.get("modules") or {}).values():
        distribution = module.get("distribution") if isinstance(module, dict) else None
        if isinstance(distribution, dict) and isinstance(distribution.get("name"), str):
            versions[distribution["name"]] = str(distribution.get("version"))
    return versions


def drift(locked: dict[str, str]) -> list[str]:
    """One line per locked distribution whose installed version differs (or that is missing)."""
    lines = []
    for name, version in sorted(locked.items()):
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            lines.append(f"{name} {version} is locked but not installed")
            continue
        if installed != version:
            lines.append(f"{name} is {installed}, the declarations were generated from {version}")
    return lines


def enforce(lockfile: str, mode: VersionGuardMode) -> None:
    """Applies the guard: nothing when off, a warning on stderr, or ``VersionDrift``.

    Raises:
        VersionDrift: in ``error`` mode, when the lockfile is unusable or a version differs.
    """
    if mode == "off":
        return
    try:
        lines = drift(locked_versions(lockfile))
    except VersionDrift as exc:
        if mode == "error":
            raise
        print(f"snakebridge: warning: {exc}", file=sys.stderr, flush=True)
        return
    if not lines:
        return
    message = (
        f"packages differ from {lockfile}: {'; '.join(lines)}. Run snakebridge types, or install the locked versions"
    )
    if mode == "error":
        raise VersionDrift(message)
    print(f"snakebridge: warning: {message}", file=sys.stderr, flush=True)
