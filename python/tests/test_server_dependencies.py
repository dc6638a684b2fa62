"""A missing gRPC package stops ``python -m snakebridge.server`` with a message naming it and
the command that installs it into this interpreter, not with a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PYTHON_DIR = str(Path(__file__).resolve().parents[1])


@pytest.mark.parametrize(
    ("module", "package"), [("grpc_tools", "grpcio-tools"), ("grpc_health", "grpcio-health-checking")]
)
def test_a_missing_package_is_named_with_its_install_command(tmp_path: Path, module: str, package: str) -> None:
    # A module of that name that cannot be imported, ahead of the real one on the path.
    hidden = tmp_path / module
    hidden.mkdir()
    (hidden / "__init__.py").write_text(
        f"raise ModuleNotFoundError({f'No module named {module!r}'!r}, name={module!r})\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), PYTHON_DIR])}
    result = subprocess.run(
        [sys.executable, "-m", "snakebridge.server", "--help"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 3
    assert f"needs {package}" in result.stderr
    assert f"{sys.executable} -m pip install" in result.stderr
    assert "Traceback" not in result.stderr
