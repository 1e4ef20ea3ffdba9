"""The action's outputs, step summary and reports say what the process really did (issue 10,
holes 9 and 10).

- ``failed-checks`` names every check without a verdict, ERROR as well as FAIL: an all-ERROR
  run must not publish an empty list; ``result`` and the summary's heading follow the real
  exit code, and both stay within what action.yml documents.
- A GITHUB_STEP_SUMMARY or GITHUB_OUTPUT that cannot be written is a warning, never a
  traceback: the exit code stays the verdict's.
- A run as root says so, loudly, as its last stderr line (CodeBuild ignores the image's
  ENTRYPOINT, which would otherwise have dropped root), and keeps its exit code.
- On a self-hosted GitHub runner that runs as root, docker/entrypoint.py still runs the gate
  as uid 1000, and the outputs, the summary and the reports still land where the runner
  expects them, owned by the runner user (root); nothing outside the workspace is written.

Every run is the installed CLI (through the real entrypoint for the root-runner cases)
against a moto server on loopback, or with no credentials at all (every check ERROR, no
request sent). The root-only cases skip when the tests do not run as root.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from faults.harness import ROOT, SOC2GATE, base_env, parse_github_output, validate_junit
from junitparser import JUnitXml

from soc2gate.demo.scenarios import SCENARIOS
from soc2gate.demo.world import MotoWorld
from soc2gate.exitcodes import ExitCode
from soc2gate.report import github

ENTRYPOINT = ROOT / "docker" / "entrypoint.py"
ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
ROOT_WARNING = "soc2gate: warning: this run was as root (uid 0)"
IS_ROOT = os.geteuid() == 0
#: Every check the default configuration runs when repository, tag and endpoint are set.
DEFAULT_CHECKS = {
    "ecr-repository-config",
    "ecr-image-tags",
    "ecr-scan-findings",
    "sagemaker-model-env",
    "sagemaker-endpoint-config",
    "sagemaker-endpoint-status",
    "deployed-image-scanned",
}
#: Enough configuration to run every default check; with no credentials each is an ERROR.
ALL_ERROR_ARGS = [
    "run",
    "--repository", "soc2-repository",
    "--require-tag", "soc2-latest",
    "--endpoint", "soc2-endpoint",
    "--timeout", "20s",
]  # fmt: skip


def no_credentials_env(tmp_path: Path, **github: str) -> dict[str, str]:
    env = base_env(None)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        env.pop(name, None)
    env.update({"GITHUB_ACTIONS": "true", **github})
    return env


def run(
    argv: list[str], env: dict[str, str], cwd: Path, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=60, **kwargs
    )


# ---- hole 9: the outputs agree with action.yml and with the exit code -----------------------


def test_the_outputs_are_exactly_action_yml_s_and_result_uses_only_its_words() -> None:
    """Each word `result` can take is one action.yml's description lists, for every code."""
    described = ACTION["outputs"]["result"]["description"]
    words = {github.result_for(int(code)) for code in ExitCode}
    assert words == {"pass", "fail", "error", "interrupted"}
    for word in words:
        assert word in described, (word, described)
    assert github.result_for(ExitCode.TERMINATED) == github.result_for(143) == "interrupted"
    failed = ACTION["outputs"]["failed-checks"]["description"]
    assert "errored" in failed, "action.yml must say that errored checks are listed"


def test_an_all_error_run_lists_every_errored_check_in_failed_checks(tmp_path: Path) -> None:
    outputs, summary = tmp_path / "output.txt", tmp_path / "summary.md"
    env = no_credentials_env(tmp_path, GITHUB_OUTPUT=str(outputs), GITHUB_STEP_SUMMARY=str(summary))
    proc = run([SOC2GATE, *ALL_ERROR_ARGS, "--junit", "junit.xml"], env, tmp_path)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    values = parse_github_output(outputs.read_text(encoding="utf-8"))
    assert set(values) == set(ACTION["outputs"])
    assert values["result"] == "error" and values["exit-code"] == "3"
    listed = values["failed-checks"].split(",")
    # deployed-image-scanned is not evaluated (the scan it depends on errored): listed once,
    # under ecr-scan-findings (issue 11); model-env and endpoint-config are not evaluated once
    # sagemaker-endpoint-status could not verify the endpoint (issue 19, item 12). Every check
    # that errored on its own is listed.
    not_evaluated = {"deployed-image-scanned", "sagemaker-model-env", "sagemaker-endpoint-config"}
    assert set(listed) == DEFAULT_CHECKS - not_evaluated, listed
    assert len(listed) == len(set(listed))
    # The list is the JUnit file's errors, no more and no fewer.
    suite = next(iter(JUnitXml.fromfile(str(tmp_path / "junit.xml"))))
    errored = {case.name for case in suite if case.result and case.result[0]._tag == "error"}
    assert errored == set(listed)
    assert summary.read_text(encoding="utf-8").startswith("## soc2gate could not verify (exit 3)\n")


# ---- hole 10 (b): unwritable step files ------------------------------------------------------


@pytest.mark.parametrize("unwritable", ["GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT"])
@pytest.mark.parametrize("kind", ["a directory", "under a regular file"])
def test_an_unwritable_step_file_is_a_warning_and_the_exit_code_stays(
    unwritable: str, kind: str, tmp_path: Path
) -> None:
    # Both kinds are unwritable even for root (permission bits would not stop it).
    regular = tmp_path / "regular-file"
    regular.write_text("x\n", encoding="utf-8")
    bad = str(tmp_path) if kind == "a directory" else str(regular / "step-file")
    good = tmp_path / "the-other-one.txt"
    other = "GITHUB_OUTPUT" if unwritable == "GITHUB_STEP_SUMMARY" else "GITHUB_STEP_SUMMARY"
    env = no_credentials_env(tmp_path, **{unwritable: bad, other: str(good)})
    proc = run([SOC2GATE, *ALL_ERROR_ARGS, "--junit", "junit.xml"], env, tmp_path)
    assert proc.returncode == 3, proc.stdout + proc.stderr  # the verdict's, not 1
    assert "Traceback" not in proc.stderr, proc.stderr
    assert f"soc2gate: warning: cannot write {unwritable} {bad}" in proc.stderr, proc.stderr
    assert "exit code 3 unchanged" in proc.stderr
    written = good.read_text(encoding="utf-8")  # the other file is still written
    if other == "GITHUB_OUTPUT":
        assert parse_github_output(written)["exit-code"] == "3"
    else:
        assert "(exit 3)" in written
    assert "soc2gate ERROR (exit 3)" in proc.stdout
    validate_junit(tmp_path / "junit.xml")


# ---- hole 10 (a): a run as root says so ------------------------------------------------------


@pytest.mark.skipif(not IS_ROOT, reason="needs root to run the gate as uid 0")
def test_a_run_as_root_ends_with_a_loud_warning_and_keeps_its_exit_code(tmp_path: Path) -> None:
    """What CodeBuild does with the default image: the command without the ENTRYPOINT, as root."""
    env = no_credentials_env(tmp_path, CODEBUILD_BUILD_ID="soc2gate-gate:0000")
    env.pop("GITHUB_ACTIONS")
    proc = run([SOC2GATE, *ALL_ERROR_ARGS, "--junit", "junit.xml"], env, tmp_path)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(ROOT_WARNING), proc.stderr
    assert "run-as: soc2gate" in last and "examples/codebuild/buildspec.yml" in last
    # A configuration error stays the one line on stderr: no warning before anything ran.
    proc = run([SOC2GATE, "run", "--timeout", "soon"], env, tmp_path)
    assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1, proc.stderr


def test_a_run_as_a_non_root_user_does_not_warn(tmp_path: Path) -> None:
    extra: dict[str, Any] = {}
    if IS_ROOT:
        if not _runs_as(1000):
            pytest.skip("uid 1000 cannot run the installed soc2gate here")
        # pytest's tmp_path is under a 0700 directory of root's: use one uid 1000 can reach.
        tmp_path = Path(tempfile.mkdtemp(prefix="soc2gate-non-root-"))
        tmp_path.chmod(0o755)
        os.chown(tmp_path, 1000, 1000)
        extra = {"user": 1000, "group": 1000, "extra_groups": []}
    try:
        env = no_credentials_env(tmp_path, HOME=str(tmp_path))
        env.pop("GITHUB_ACTIONS")
        proc = run([SOC2GATE, *ALL_ERROR_ARGS, "--junit", "junit.xml"], env, tmp_path, **extra)
    finally:
        if IS_ROOT:
            shutil.rmtree(tmp_path, ignore_errors=True)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "as root" not in proc.stderr, proc.stderr


def _gate_runs_as_non_root(spec: dict[str, Any]) -> list[str]:
    """The buildspec commands that start the gate, each with why it is not root (or "ROOT")."""
    found = []
    for name, phase in spec["phases"].items():
        user = phase.get("run-as") or spec.get("run-as") or ""
        for command in phase.get("commands", []):
            if "soc2gate run" not in command:
                continue
            setpriv = re.search(r"setpriv\s+--reuid=(\d+)", command)
            if user and user not in ("root", "0"):
                found.append(f"{name}: run-as {user}")
            elif setpriv and setpriv[1] != "0":
                found.append(f"{name}: setpriv uid {setpriv[1]}")
            else:
                found.append(f"{name}: ROOT")
    return found


def test_the_codebuild_buildspec_and_its_image_variant_never_run_the_gate_as_root() -> None:
    """CodeBuild ignores the image's ENTRYPOINT: the buildspec itself must drop root, with
    setpriv on a managed image or `run-as` with the soc2gate image's own user."""
    text = (ROOT / "examples" / "codebuild" / "buildspec.yml").read_text(encoding="utf-8")
    assert _gate_runs_as_non_root(yaml.safe_load(text)) == ["build: setpriv uid 1000"]
    # The variant for the soc2gate image, in the header's comment.
    header = text.split("\n#   phases:\n", 1)[1].split("\n#\n", 1)[0]
    commented = ["phases:", *(line[4:] for line in header.splitlines())]
    variant = yaml.safe_load("\n".join(commented))
    assert _gate_runs_as_non_root(variant) == ["build: run-as soc2gate"]
    # ... and that user is the image's: soc2gate, uid 1000.
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    assert re.search(r"useradd --uid 1000 --gid 1000 [^&\n]*--shell \S+ soc2gate\b", dockerfile)
    assert "install -d -o soc2gate -g soc2gate" in "\n".join(commented)


def _runs_as(uid: int) -> bool:
    try:
        proc = subprocess.run(
            [SOC2GATE, "--version"],
            user=uid,
            group=uid,
            extra_groups=[],
            capture_output=True,
            timeout=30,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/"},
        )
    except OSError:
        return False
    return proc.returncode == 0


# ---- hole 10 (c): a GitHub runner that runs as root ------------------------------------------

needs_root_and_uid_1000 = pytest.mark.skipif(
    not IS_ROOT or not _runs_as(1000),
    reason="needs root, and a uid 1000 that can run the installed soc2gate",
)


class RootRunner:
    """Directories as a self-hosted runner running as root lays them out: all owned by root,
    0755 / 0644, and reachable by uid 1000 (pytest's own tmp_path is 0700)."""

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="soc2gate-root-runner-"))
        self.base.chmod(0o755)
        self.workspace = self.base / "workspace"
        self.file_commands = self.base / "file_commands"
        for directory in (self.workspace, self.file_commands):
            directory.mkdir(mode=0o755)
        self.output = self.file_commands / "set_output_1"
        self.summary = self.file_commands / "step_summary_1"
        for path in (self.output, self.summary):
            path.write_text("", encoding="utf-8")
            path.chmod(0o644)

    def env(self, endpoint_url: str | None) -> dict[str, str]:
        env = base_env(endpoint_url)
        env.update(
            {
                "GITHUB_ACTIONS": "true",
                "GITHUB_WORKSPACE": str(self.workspace),
                "GITHUB_OUTPUT": str(self.output),
                "GITHUB_STEP_SUMMARY": str(self.summary),
                # Writable by uid 1000 (the entrypoint would make a temporary one otherwise).
                "HOME": tempfile.gettempdir(),
            }
        )
        return env

    def everything_owned_by_root(self) -> list[str]:
        return [str(p) for p in [self.base, *self.base.rglob("*")] if p.lstat().st_uid != 0]


@pytest.fixture
def runner() -> Iterator[RootRunner]:
    layout = RootRunner()
    try:
        yield layout
    finally:
        shutil.rmtree(layout.base, ignore_errors=True)


def action_inputs(args: list[str]) -> dict[str, str]:
    """``--flag value`` pairs as the INPUT_* variables GitHub sets (repeats one per line)."""
    values: dict[str, list[str]] = {}
    flags = iter(args)
    for flag in flags:
        assert flag.startswith("--"), flag
        values.setdefault(flag[2:], []).append(next(flags))
    return {f"INPUT_{name.upper()}": "\n".join(v) for name, v in values.items()}


def staging_dirs() -> set[str]:
    return {p for p in os.listdir(tempfile.gettempdir()) if p.startswith("soc2gate-staging-")}


@needs_root_and_uid_1000
def test_on_a_root_runner_outputs_and_reports_are_written_and_the_gate_is_not_root(
    runner: RootRunner,
) -> None:
    scenario = SCENARIOS["critical-finding"]
    before = staging_dirs()
    with MotoWorld() as world:
        scenario.prepare(world)
        env = runner.env(world.endpoint_url)
        env.update(action_inputs([*scenario.gate_args(world), "--only", "ecr-scan-findings"]))
        env.update(
            {
                "INPUT_JUNIT": "soc2gate-junit.xml",
                "INPUT_EVIDENCE": "reports/evidence.json",  # a directory that does not exist
                "INPUT_SUMMARY": "reports/summary.md",
            }
        )
        proc = run(
            [sys.executable, "-I", str(ENTRYPOINT), SOC2GATE, "action"], env, runner.workspace
        )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output
    assert "running the gate as 1000:1000" in proc.stderr, proc.stderr
    assert ROOT_WARNING not in proc.stderr, "the gate itself ran as root"
    values = parse_github_output(runner.output.read_text(encoding="utf-8"))
    assert values == {
        "result": "fail",
        "exit-code": "1",
        "failed-checks": "ecr-scan-findings",
        "junit-path": "soc2gate-junit.xml",
    }
    step_summary = runner.summary.read_text(encoding="utf-8")
    assert step_summary.startswith("## soc2gate FAILED (exit 1)\n"), step_summary[:200]
    junit = runner.workspace / "soc2gate-junit.xml"
    validate_junit(junit)
    assert (runner.workspace / "reports" / "summary.md").read_text(encoding="utf-8") == (
        step_summary
    )
    evidence = json.loads((runner.workspace / "reports" / "evidence.json").read_text())
    assert evidence["run"]["exit_code"] == 1 and evidence["run"]["result"] == "fail"
    # The runner user (root) owns everything, as it would had it written the files itself.
    assert runner.everything_owned_by_root() == []
    assert sorted(p.name for p in runner.workspace.iterdir()) == ["reports", "soc2gate-junit.xml"]
    assert staging_dirs() == before, "the staging directory was left behind"
    verify = run([SOC2GATE, "verify-evidence", "reports/evidence.json"], env, runner.workspace)
    assert verify.returncode == 0, verify.stdout + verify.stderr


@needs_root_and_uid_1000
def test_on_a_root_runner_the_program_runs_as_1000_without_groups(runner: RootRunner) -> None:
    probe = 'echo "$(id -u):$(id -g):$(id -G)" > "$GITHUB_OUTPUT"'
    proc = run(
        [sys.executable, "-I", str(ENTRYPOINT), shutil.which("sh") or "/bin/sh", "-c", probe],
        runner.env(None),
        runner.workspace,
    )
    assert proc.returncode == 0, proc.stderr
    assert runner.output.read_text(encoding="utf-8") == "1000:1000:1000\n"


@needs_root_and_uid_1000
def test_on_a_root_runner_nothing_is_written_outside_the_workspace(runner: RootRunner) -> None:
    """The root parent copies only regular files of the gate's user, only into the workspace,
    and a report it refuses makes a passing run exit 3."""
    outside = runner.base / "outside.txt"
    escape = runner.workspace / "escape"
    escape.symlink_to(runner.base)  # a symlinked directory in the checkout
    program = f"""
import json, os
staging = os.environ["SOC2GATE_STAGING_DIR"]
with open(os.path.join(staging, "report"), "w") as f:
    f.write("staged")
os.symlink("/etc/hostname", os.path.join(staging, "link"))
entries = [
    {{"path": {str(outside)!r}, "staged": "report"}},
    {{"path": {str(runner.workspace / "../outside.txt")!r}, "staged": "report"}},
    {{"path": {str(escape / "outside.txt")!r}, "staged": "report"}},
    {{"path": {str(runner.workspace / "via-link.txt")!r}, "staged": "link"}},
    {{"path": {str(runner.workspace / "dotdot.txt")!r}, "staged": "../report"}},
    {{"path": {str(runner.workspace / "ok.txt")!r}, "staged": "report"}},
]
with open(os.path.join(staging, "manifest.jsonl"), "w") as f:
    f.write("".join(json.dumps(e) + "\\n" for e in entries) + "not json\\n")
"""
    proc = run(
        [sys.executable, "-I", str(ENTRYPOINT), sys.executable, "-I", "-c", program],
        runner.env(None),
        runner.workspace,
    )
    assert proc.returncode == 3, proc.stderr
    assert not outside.exists()
    assert sorted(p.name for p in runner.workspace.iterdir()) == ["escape", "ok.txt"]
    assert (runner.workspace / "ok.txt").read_text() == "staged"
    assert proc.stderr.count("cannot write the report") == 6, proc.stderr
