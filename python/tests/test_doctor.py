"""``python -m snakebridge.doctor`` reports the interpreter as one clean JSON object, never importing optional packages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from snakebridge import __version__
from snakebridge.doctor import installed_snakebridge, main, report
from snakebridge.serializers import REGISTRY

PYTHON_ROOT = Path(__file__).resolve().parents[1]
OPTIONAL = ("msgpack", "pyarrow", "numpy", "google.protobuf", "grpc", "typeshed_client")


def run_doctor(*args: str, env: dict[str, str] | None = None, **options) -> subprocess.CompletedProcess[str]:
    """The doctor in a fresh interpreter, with the runtime on PYTHONPATH as the host runs it."""
    environment = {**os.environ, "PYTHONPATH": str(PYTHON_ROOT), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "snakebridge.doctor", *args],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
        **options,
    )


def test_it_prints_one_json_object_describing_the_interpreter_and_runtime():
    result = run_doctor("--json")
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    document = json.loads(lines[0])
    assert document["format"] == 1
    assert document["executable"] == sys.executable
    assert document["version_info"] == list(sys.version_info[:3])
    assert document["prefix"] == sys.prefix
    assert document["runtime"]["version"] == __version__
    assert Path(document["runtime"]["path"]).resolve() == PYTHON_ROOT


def test_it_reports_the_packages_of_each_serializer_from_the_registry():
    document = report([])
    assert document["serializers"] == {name: list(entry[2]) for name, entry in REGISTRY.items()}
    assert document["serializers"]["json"] == []


def test_it_reports_installed_versions_and_none_for_missing_distributions():
    distributions = report(["pytest", "no-such-distribution-xyz"])["distributions"]
    assert distributions["pytest"] == metadata.version("pytest")
    assert distributions["no-such-distribution-xyz"] is None


def test_it_reports_the_versions_of_every_serializer_package_unasked():
    distributions = report([])["distributions"]
    for _module, _cls, packages in REGISTRY.values():
        for package in packages:
            assert package in distributions


def test_it_never_imports_optional_packages():
    code = (
        "import sys, io, contextlib\n"
        "from snakebridge.doctor import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['--json', 'msgpack', 'pyarrow', 'numpy', 'protobuf', 'grpcio'])\n"
        f"print(sorted(name for name in {OPTIONAL!r} if name in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(PYTHON_ROOT)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "[]"


def test_output_printed_while_gathering_goes_to_stderr(monkeypatch, capsys):
    import snakebridge.doctor as doctor

    def noisy(name: str) -> None:
        print(f"noise while looking up {name}")

    monkeypatch.setattr(doctor, "installed_version", noisy)
    assert main(["--json", "pytest"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["distributions"]["pytest"] is None
    assert "noise while looking up pytest" in captured.err


def test_a_sitecustomize_that_prints_leaves_the_report_whole_on_the_last_line(tmp_path):
    (tmp_path / "sitecustomize.py").write_text("print('noise from sitecustomize')\n")
    result = run_doctor("--json", env={"PYTHONPATH": os.pathsep.join((str(PYTHON_ROOT), str(tmp_path)))})
    assert result.stdout.splitlines()[0] == "noise from sitecustomize"
    assert json.loads(result.stdout.splitlines()[-1])["format"] == 1


def test_a_pipe_at_the_checked_fd_is_reported_as_arrived():
    read_end, write_end = os.pipe()
    try:
        result = run_doctor("--json", "--check-fd", str(write_end), pass_fds=(write_end,))
    finally:
        os.close(read_end)
        os.close(write_end)
    assert json.loads(result.stdout)["features"]["extra_fds"]["ok"] is True


def test_a_missing_fd_is_reported_as_not_arrived():
    result = run_doctor("--json", "--check-fd", "57")
    features = json.loads(result.stdout)["features"]
    assert features["extra_fds"]["ok"] is False
    assert "fd 57" in features["extra_fds"]["detail"]


def test_platform_features_match_what_this_platform_offers():
    features = report([])["features"]
    assert features["parent_death_signal"]["ok"] is sys.platform.startswith("linux")
    assert features["rlimits"]["ok"] is (os.name == "posix")
    assert features["extra_fds"]["ok"] is None


def test_the_environment_is_reported_as_a_venv_when_prefix_differs(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "prefix", str(tmp_path))
    monkeypatch.setattr(sys, "base_prefix", "/usr")
    monkeypatch.setenv("VIRTUAL_ENV", str(tmp_path))
    assert report([])["venv"] == {"kind": "venv", "path": str(tmp_path), "activated": True}


def test_a_conda_prefix_is_reported_as_conda(monkeypatch, tmp_path):
    (tmp_path / "conda-meta").mkdir()
    monkeypatch.setattr(sys, "prefix", str(tmp_path))
    monkeypatch.setattr(sys, "base_prefix", str(tmp_path))
    monkeypatch.delenv("CONDA_PREFIX", raising=False)
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    assert report([])["venv"] == {"kind": "conda", "path": str(tmp_path), "activated": False}


def test_without_json_the_report_is_indented_for_people(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("{\n")
    assert json.loads(out)["format"] == 1


def fake_distribution(directory: Path, version: str) -> None:
    info = directory / f"snakebridge-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: snakebridge\nVersion: {version}\n")


def test_a_pip_installed_snakebridge_is_reported_with_its_version_and_location(monkeypatch, tmp_path):
    fake_distribution(tmp_path / "site-packages", "9.9.9")
    monkeypatch.syspath_prepend(str(tmp_path / "site-packages"))
    found = installed_snakebridge(str(PYTHON_ROOT))
    assert found == {"version": "9.9.9", "location": str(tmp_path / "site-packages")}


def test_the_runtime_the_host_put_on_the_path_does_not_count_as_pip_installed(monkeypatch, tmp_path):
    fake_distribution(tmp_path / "runtime", "9.9.9")
    monkeypatch.syspath_prepend(str(tmp_path / "runtime"))
    found = installed_snakebridge(str(tmp_path / "runtime"))
    assert found is None or found["version"] != "9.9.9"
