"""`make … PYTHON=…` is honoured or refused, never silently ignored once .venv exists."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"

pytestmark = pytest.mark.skipif(
    shutil.which("make") is None or not VENV_PYTHON.exists(), reason="needs make and the project's .venv"
)


def _check(python: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "-s", "python-matches-venv", f"PYTHON={python}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_interpreter_the_venv_was_made_with_is_accepted() -> None:
    assert _check(str(VENV_PYTHON)).returncode == 0


def test_another_interpreter_is_refused_with_what_to_do(tmp_path: Path) -> None:
    other = tmp_path / "python"
    other.write_text("#!/bin/sh\necho /opt/other-python 3.99.0\n")
    other.chmod(0o755)
    result = _check(str(other))
    assert result.returncode != 0
    assert f"PYTHON={other} is /opt/other-python 3.99.0" in result.stdout
    assert "make clean" in result.stdout


def test_a_broken_interpreter_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "python"
    broken.write_text("#!/bin/sh\nexit 3\n")
    broken.chmod(0o755)
    assert _check(str(broken)).returncode != 0
