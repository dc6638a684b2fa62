"""The runtime guard of typed bindings compares the lockfile with installed packages."""

import json
from importlib import metadata
from pathlib import Path

import pytest

from snakebridge.version_guard import VersionDrift, drift, enforce, locked_versions

PYTEST_VERSION = metadata.version("pytest")


def write_lockfile(path: Path, distributions: dict[str, str], fmt: int = 1) -> str:
    modules = {
        f"mod{i}": {"distribution": {"name": name, "version": version}, "signatures": "sha256:0", "file": "x.d.ts"}
        for i, (name, version) in enumerate(distributions.items())
    }
    modules["math"] = {"distribution": None, "signatures": "sha256:1", "file": "math.d.ts"}
    path.write_text(json.dumps({"format": fmt, "modules": modules}), encoding="utf-8")
    return str(path)


def test_a_lockfile_gives_the_locked_version_of_each_distribution(tmp_path):
    lockfile = write_lockfile(tmp_path / "lock.json", {"pytest": "8.0.0"})
    assert locked_versions(lockfile) == {"pytest": "8.0.0"}


def test_matching_versions_are_no_drift():
    assert drift({"pytest": PYTEST_VERSION}) == []


def test_a_different_or_missing_distribution_is_drift():
    lines = drift({"pytest": "0.0.1", "no-such-distribution-xyz": "1.0"})
    assert lines == [
        "no-such-distribution-xyz 1.0 is locked but not installed",
        f"pytest is {PYTEST_VERSION}, the declarations were generated from 0.0.1",
    ]


def test_error_mode_refuses_to_start_on_drift(tmp_path):
    lockfile = write_lockfile(tmp_path / "lock.json", {"pytest": "0.0.1"})
    with pytest.raises(VersionDrift, match=r"pytest is .* generated from 0\.0\.1") as caught:
        enforce(lockfile, "error")
    assert caught.value.code == "WORKER_START_FAILED"


def test_warn_mode_says_what_drifted_on_stderr_and_goes_on(tmp_path, capsys):
    lockfile = write_lockfile(tmp_path / "lock.json", {"pytest": "0.0.1"})
    enforce(lockfile, "warn")
    assert "pytest is" in capsys.readouterr().err


def test_off_mode_reads_nothing(tmp_path):
    enforce(str(tmp_path / "missing.json"), "off")


def test_a_missing_lockfile_fails_in_error_mode_and_warns_in_warn_mode(tmp_path, capsys):
    missing = str(tmp_path / "missing.json")
    with pytest.raises(VersionDrift, match="no lockfile"):
        enforce(missing, "error")
    enforce(missing, "warn")
    assert "no lockfile" in capsys.readouterr().err


def test_a_file_of_another_format_is_refused(tmp_path):
    lockfile = write_lockfile(tmp_path / "lock.json", {}, fmt=99)
    with pytest.raises(VersionDrift, match="not a snakebridge lockfile"):
        locked_versions(lockfile)
