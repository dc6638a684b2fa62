"""``python -m snakebridge.introspect``: one JSON document on stdout (whatever the modules print), errors per
module, exit status 2 for bad arguments, progress on stderr; and the budget, on a fake clock."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from introspect_helpers import Sources, named

from snakebridge.introspect import introspect_module, introspect_modules

FIVE_FUNCTIONS = "\n".join(f"def f{i}(x: int) -> int:\n    return x\n" for i in range(5))


def _run(*args: str, cwd: Path | None = None, path: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if path is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(path), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "snakebridge.introspect", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def test_a_module_that_prints_on_import_leaves_stdout_a_clean_document(sources: Sources) -> None:
    sources.write(
        {
            "noisy.py": """
                import os, sys
                print("hello from noisy")
                sys.stdout.write("more noise\\n")
                os.write(1, b"raw noise on descriptor 1\\n")

                def quiet(x: int) -> int:
                    print("called")
                    return x
            """
        }
    )
    result = _run("noisy", path=sources.root)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["format"] == 1
    assert document["python"]["implementation"] == sys.implementation.name
    assert [function["name"] for function in document["modules"][0]["functions"]] == ["quiet"]
    assert "hello from noisy" in result.stderr and "raw noise on descriptor 1" in result.stderr


def test_a_module_that_fails_to_import_is_a_module_error_in_its_place(sources: Sources) -> None:
    sources.write({"broken_on_import.py": "raise ValueError('not today')\n", "fine_mod.py": "X = 1\n"})
    result = _run("nosuchmod_for_introspection", "broken_on_import", "fine_mod", path=sources.root)
    assert result.returncode == 0, result.stderr
    modules = json.loads(result.stdout)["modules"]
    assert modules[0] == {
        "module": "nosuchmod_for_introspection",
        "error": {"type": "ModuleNotFoundError", "message": "No module named 'nosuchmod_for_introspection'"},
    }
    assert modules[1] == {"module": "broken_on_import", "error": {"type": "ValueError", "message": "not today"}}
    assert modules[2]["module"] == "fine_mod" and "error" not in modules[2]


def test_a_module_that_exits_on_import_is_a_module_error_too(sources: Sources) -> None:
    sources.write({"exits.py": "raise SystemExit(3)\n"})
    assert introspect_module("exits") == {"module": "exits", "error": {"type": "SystemExit", "message": "3"}}


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--budget-ms", "soon", "json"],
        ["--budget-ms", "0", "json"],
        ["--no-such-option", "json"],
        ["--out", "/nonexistent-dir/out.json", "json"],
    ],
)
def test_bad_arguments_exit_with_status_2(args: list[str]) -> None:
    result = _run(*args)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""


def test_out_writes_the_document_to_a_file_and_progress_goes_to_stderr(tmp_path: Path) -> None:
    out = tmp_path / "doc.json"
    result = _run("--out", str(out), "--progress", "--budget-ms", "60000", "json", "math")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    document = json.loads(out.read_text(encoding="utf-8"))
    assert [module["module"] for module in document["modules"]] == ["json", "math"]
    assert document["modules"][0]["budget"]["limit_ms"] == 60000
    events = []
    for line in result.stderr.splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            continue
    modules = [event for event in events if event.get("event") == "module"]
    assert [(event["module"], event["total"] > 0) for event in modules] == [("json", True), ("math", True)]


class FakeClock:
    """Seconds that pass only when a test says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_when_the_budget_passes_the_remaining_members_are_untyped_and_listed_as_skipped(sources: Sources) -> None:
    clock = FakeClock()
    sources.write({"five.py": FIVE_FUNCTIONS})

    def one_second_per_member(event: dict) -> None:
        if event["event"] == "member":
            clock.now += 1.0

    module = introspect_module("five", budget_ms=2500, progress=one_second_per_member, clock=clock)
    assert module["budget"] == {"limit_ms": 2500, "elapsed_ms": 5000, "exceeded": True, "skipped": ["f3", "f4"]}
    assert [f["source"] for f in module["functions"]] == ["annotations", "annotations", "annotations", "none", "none"]
    assert named(module["functions"], "f4") == {
        "name": "f4",
        "kind": "function",
        "doc": None,
        "source": "none",
        "overloads": [],
    }


def test_the_import_counts_against_the_budget(sources: Sources) -> None:
    sources.write({"five_again.py": FIVE_FUNCTIONS})
    readings: Iterator[float] = iter([0.0] + [30.0] * 1000)  # the import alone took 30 seconds
    module = introspect_module("five_again", budget_ms=15000, clock=lambda: next(readings))
    assert module["budget"]["exceeded"] is True
    assert module["budget"]["skipped"] == ["f0", "f1", "f2", "f3", "f4"]


def test_within_the_budget_nothing_is_skipped(sources: Sources) -> None:
    sources.write({"five_quick.py": FIVE_FUNCTIONS})
    module = introspect_module("five_quick", clock=FakeClock())
    assert module["budget"] == {"limit_ms": 15000, "elapsed_ms": 0, "exceeded": False, "skipped": []}


def test_the_document_lists_modules_in_the_order_asked_for() -> None:
    document = introspect_modules(["math", "json"])
    assert [module["module"] for module in document["modules"]] == ["math", "json"]
    assert document["python"]["executable"] == sys.executable


def test_importing_snakebridge_does_not_import_the_introspector() -> None:
    code = "import snakebridge, sys; print('snakebridge.introspect' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.strip() == "False"
