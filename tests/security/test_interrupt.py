"""SIGINT / SIGTERM while the gate waits: JUnit still written (valid, unfinished checks as
<error>), exit 130 / 143, and the GitHub outputs, the step summary and the evidence record
state that exit code and the ``interrupted`` result (never 130 for a SIGTERM).

The endpoint stays Creating and the scan IN_PROGRESS (the healthy scenario without its
call-count triggers), so the gate is waiting when the signal arrives: the test sends it as soon
as stderr shows the "Creating" progress line. The last case does the same through
docker/entrypoint.py on a GitHub runner that runs as root, where the entrypoint stays the
gate's parent and must forward the signal and pass the exit code on.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from faults.harness import FAST, ROOT, SOC2GATE, base_env, parse_github_output, validate_junit
from junitparser import JUnitXml

from soc2gate.demo.scenarios import SCENARIOS
from soc2gate.demo.world import MotoWorld

WAITING_LINE = "sagemaker-endpoint-status: Creating"
SCHEMA = ROOT / "soc2gate" / "schemas" / "evidence.schema.json"
ENTRYPOINT = ROOT / "docker" / "entrypoint.py"
#: ecr-image-tags reads the tags after the scan is judged (issue 19, item 1): it waits too.
UNFINISHED = ("sagemaker-endpoint-status", "ecr-scan-findings", "ecr-image-tags")


@pytest.fixture
def world() -> Iterator[MotoWorld]:
    with MotoWorld() as w:
        SCENARIOS["healthy"].setup(w)  # no triggers: nothing ever settles
        yield w


def signal_while_waiting(
    argv: list[str], env: dict[str, str], cwd: Path, signum: signal.Signals
) -> tuple[int, str, str]:
    """Start ``argv``, send ``signum`` once it waits on the endpoint; (exit code, out, err)."""
    proc = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd
    )
    lines: queue.Queue[str] = queue.Queue()
    stderr: list[str] = []

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            stderr.append(line)
            lines.put(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        while True:
            line = lines.get(timeout=30)  # the only wait: for the subprocess's progress line
            if WAITING_LINE in line:
                break
        assert proc.poll() is None, "the gate finished before it could be interrupted"
        proc.send_signal(signum)
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(10)
    assert proc.stdout is not None
    return code, proc.stdout.read(), "".join(stderr)


def assert_interrupted_outputs(outputs: Path, summary: Path, expected: int) -> None:
    values = parse_github_output(outputs.read_text(encoding="utf-8"))
    assert values["exit-code"] == str(expected), values
    assert values["result"] == "interrupted", values
    # The checks the signal left unfinished are errors, and listed as such.
    assert set(UNFINISHED) <= set(values["failed-checks"].split(",")), values
    name = {130: "SIGINT", 143: "SIGTERM"}[expected]
    first = summary.read_text(encoding="utf-8").split("\n", 1)[0]
    assert first == f"## soc2gate INTERRUPTED by {name} (exit {expected})", first


def assert_junit_has_unfinished_errors(junit: Path) -> None:
    validate_junit(junit)
    suite = next(iter(JUnitXml.fromfile(str(junit))))
    results = {case.name.split(" ")[0]: case.result for case in suite}
    for check in UNFINISHED:
        assert results[check] and results[check][0]._tag == "error", (check, results[check])
        assert "interrupted" in (results[check][0].message or ""), results[check][0].message
    # Checks that finished before the signal keep their verdict.
    assert results["ecr-repository-config"] == [], results["ecr-repository-config"]
    assert suite.errors >= 3 and suite.failures == 0


@pytest.mark.parametrize(("signum", "expected"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_during_wait_writes_junit_and_exits(
    signum: signal.Signals, expected: int, world: MotoWorld, tmp_path: Path
) -> None:
    import jsonschema

    junit = tmp_path / "junit.xml"
    outputs = tmp_path / "github-output.txt"
    summary = tmp_path / "summary.md"
    evidence = tmp_path / "evidence.json"
    env = base_env(world.endpoint_url)
    env.update(
        {
            "GITHUB_ACTIONS": "true",
            "GITHUB_OUTPUT": str(outputs),
            "GITHUB_STEP_SUMMARY": str(summary),
        }
    )
    args = [*SCENARIOS["healthy"].gate_args(world), *FAST, "--timeout", "60s"]
    argv = [SOC2GATE, "run", *args, "--junit", str(junit), "--evidence", str(evidence)]
    code, stdout, stderr = signal_while_waiting(argv, env, tmp_path, signum)
    output = stdout + stderr

    assert code == expected, output
    assert "Traceback" not in stderr, output
    assert f"soc2gate INTERRUPTED (exit {expected})" in stdout, stdout
    assert_junit_has_unfinished_errors(junit)
    assert_interrupted_outputs(outputs, summary, expected)
    record = json.loads(evidence.read_text(encoding="utf-8"))
    jsonschema.validate(record, json.loads(SCHEMA.read_text(encoding="utf-8")))
    assert record["run"]["exit_code"] == expected and record["run"]["result"] == "interrupted"


def _uid_1000_runs_soc2gate() -> bool:
    try:
        proc = subprocess.run(
            [SOC2GATE, "--version"],
            user=1000,
            group=1000,
            extra_groups=[],
            capture_output=True,
            timeout=30,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/"},
        )
    except OSError:
        return False
    return proc.returncode == 0


@pytest.mark.skipif(
    os.geteuid() != 0 or not _uid_1000_runs_soc2gate(),
    reason="needs root, and a uid 1000 that can run the installed soc2gate",
)
def test_sigterm_through_the_entrypoint_on_a_root_runner(world: MotoWorld) -> None:
    """The entrypoint is the gate's parent here: SIGTERM to it must reach the gate, whose
    143 (and its reports) must come out the other side."""
    base = Path(tempfile.mkdtemp(prefix="soc2gate-root-runner-"))  # reachable by uid 1000
    try:
        base.chmod(0o755)
        workspace, files = base / "workspace", base / "file_commands"
        workspace.mkdir(mode=0o755)
        files.mkdir(mode=0o755)
        outputs, summary = files / "set_output", files / "step_summary"
        outputs.touch(mode=0o644)
        summary.touch(mode=0o644)
        env = base_env(world.endpoint_url)
        env.update(
            {
                "GITHUB_ACTIONS": "true",
                "GITHUB_WORKSPACE": str(workspace),
                "GITHUB_OUTPUT": str(outputs),
                "GITHUB_STEP_SUMMARY": str(summary),
                "HOME": tempfile.gettempdir(),  # writable by uid 1000
            }
        )
        args = [*SCENARIOS["healthy"].gate_args(world), *FAST, "--timeout", "60s"]
        argv = [sys.executable, "-I", str(ENTRYPOINT), SOC2GATE, "run", *args]
        argv += ["--junit", "junit.xml"]
        code, stdout, stderr = signal_while_waiting(argv, env, workspace, signal.SIGTERM)
        assert code == 143, stdout + stderr
        assert "running the gate as 1000:1000" in stderr, stderr
        assert_junit_has_unfinished_errors(workspace / "junit.xml")
        assert (workspace / "junit.xml").stat().st_uid == 0  # the runner user's
        assert_interrupted_outputs(outputs, summary, 143)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_a_signal_once_the_verdict_is_known_leaves_every_report_agreeing(
    world: MotoWorld, tmp_path: Path
) -> None:
    """SIGTERM while the evidence record is being signed (the checks have finished): before,
    the process exited 143 and wrote no JUnit, summary or evidence at all. Now the reports are
    written with the verdict, and the process exits with it too (review finding F6)."""
    scenario = SCENARIOS["healthy"]
    scenario.install_triggers(world)  # the fixture set the deployment up: let it settle
    key = world.client("kms", counted=False).create_key(
        KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY"
    )["KeyMetadata"]["Arn"]
    running: dict[str, subprocess.Popen[str]] = {}

    def signal_then_answer(n: int) -> None:
        running["gate"].send_signal(signal.SIGTERM)
        return None  # moto signs as usual

    world.inject("Sign", signal_then_answer)
    junit, summary, record = tmp_path / "j.xml", tmp_path / "s.md", tmp_path / "e.json"
    argv = [
        SOC2GATE, "run", *scenario.gate_args(world), "--only", "ecr-scan-findings",
        "--junit", str(junit), "--summary", str(summary), "--evidence", str(record),
        "--sign-kms-key", key,
    ]  # fmt: skip
    env = {**base_env(tmp_path), **world.env()}
    gate = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    running["gate"] = gate
    out, err = gate.communicate(timeout=60)
    assert gate.returncode == 0, out + err
    assert "SIGTERM arrived after the verdict" in err
    assert '<property name="soc2gate.exit_code" value="0" />' in junit.read_text()
    assert summary.read_text().startswith("## soc2gate passed")
    document = json.loads(record.read_text())
    assert document["run"]["exit_code"] == 0, document["run"]
