"""Strings from AWS are untrusted: they must not break the JUnit file, run a GitHub workflow
command, or break the step summary's table.

Hostile text goes where AWS puts text: FailureReason (1 MB), finding names, descriptions,
package names and versions, endpoint log lines (seeded in moto), and, through the fault proxy
rewriting responses as a compromised or buggy service would, model names, environment values,
instance types, EndpointStatus, the scan status, image tags and an AccessDenied message. ECR tag
names are restricted by AWS to [A-Za-z0-9._-], so the required tag uses markdown metacharacters
from that set.

The CLI runs as in GitHub Actions (GITHUB_ACTIONS=true, a step summary and an output file).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from faults.harness import FAST, CliRun, parse_github_output, run_cli, validate_junit
from faults.proxy import FaultProxy, access_denied

from soc2gate.demo.scenarios import (
    BASIC_FINDINGS,
    ENDPOINT,
    REPOSITORY,
    SCENARIOS,
    TAG_DEV_SHA,
)
from soc2gate.demo.world import MotoWorld, finding

#: Lines GitHub's runner would execute: it splits on "\n" and trims leading whitespace.
WORKFLOW_COMMANDS = (
    "\n::error::x"
    "\n::add-mask::x"
    "\n::stop-commands::tok"
    "\n::set-output name=x::y"
    "\n##[error]x"
    "\n  ::warning::indented"
    "\r\n::notice::crlf"
    "\u2028::error::u2028"
    "\x85::error::nel"
    "\n\u00a0::error::nbsp"
)
HOSTILE = (
    "start\x00\x01\x07\x08\x0b\x0c\x1b[31mred\x1b[0m\x1b]0;title\x07\x7f\x9b "
    "]]> <![CDATA[x]]> <script>alert(1)</script> &amp; "
    "| a | b | `code` **bold** _em_ [link](javascript:alert(1)) ~~s~~ %0A %25 \\| "
    "\ufffe\ud800" + WORKFLOW_COMMANDS + "\nend"
)
#: Over a megabyte, hostile at both ends.
HOSTILE_LONG = HOSTILE + "A" * 1_000_000 + HOSTILE
#: A required tag ECR would accept, full of markdown emphasis.
MARKDOWN_TAG = "soc2__bold__-_em_-.x"
GATED_CVE = "CVE-2099-0001"

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_ANNOTATION = re.compile(r"^::error title=(?P<title>[^:\r\n]*)::(?P<data>.*)$")
_ESCAPE = re.compile(r"%(?!25|0D|0A)")


def hostile_world(world: MotoWorld) -> None:
    SCENARIOS["healthy"].setup(world)
    digest = world.resolve_digest(REPOSITORY, TAG_DEV_SHA)
    bad = finding(
        GATED_CVE + HOSTILE,
        "CRITICAL",
        package="openssl" + HOSTILE,
        version="3.0.2" + HOSTILE,
        description=HOSTILE_LONG,
    )
    world.set_scan(REPOSITORY, digest, "COMPLETE", findings=(*BASIC_FINDINGS, bad))
    world.set_endpoint(
        ENDPOINT,
        status="Failed",
        failure_reason=HOSTILE_LONG,
        deployed_images=[world.deployed_image(REPOSITORY, TAG_DEV_SHA)],
    )
    world.put_endpoint_logs(
        ENDPOINT, [HOSTILE, "::error::from-the-logs", "##[error]from-the-logs", HOSTILE[:200]]
    )


def rewrite_names(proxy: FaultProxy) -> None:
    def model(data: dict[str, Any]) -> None:
        data["ModelName"] = "model" + HOSTILE
        data["PrimaryContainer"]["Environment"]["SOC2_COMPLIANT"] = HOSTILE

    def config(data: dict[str, Any]) -> None:
        data["ProductionVariants"][0]["InstanceType"] = "ml.x" + HOSTILE

    def images(data: dict[str, Any]) -> None:
        for detail in data.get("imageDetails", []):
            detail["imageTags"] = [*detail.get("imageTags", []), "tag" + HOSTILE]

    proxy.rewrite("DescribeModel", model)
    proxy.rewrite("DescribeEndpointConfig", config)
    proxy.rewrite("DescribeImages", images)


def rewrite_states(proxy: FaultProxy) -> None:
    def endpoint(data: dict[str, Any]) -> None:
        data["EndpointStatus"] = "Bogus" + HOSTILE

    def scan(data: dict[str, Any]) -> None:
        data["imageScanStatus"] = {"status": "WEIRD" + HOSTILE, "description": HOSTILE_LONG}

    proxy.rewrite("DescribeEndpoint", endpoint)
    proxy.rewrite("DescribeImageScanFindings", scan)
    proxy.always("DescribeRepositories", access_denied(HOSTILE_LONG))


@pytest.fixture(scope="module")
def world() -> Iterator[MotoWorld]:
    with MotoWorld() as w:
        hostile_world(w)
        yield w


def _github_run(
    world: MotoWorld, tmp: Path, arrange: Any, extra: tuple[str, ...] = ()
) -> tuple[CliRun, Path, Path, Path]:
    summary, outputs, summary_file = tmp / "step-summary.md", tmp / "output.txt", tmp / "s.md"
    args = [
        "run",
        *SCENARIOS["healthy"].gate_args(world),
        *FAST,
        "--timeout",
        "30s",
        "--summary",
        str(summary_file),
        *extra,
    ]
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_OUTPUT": str(outputs),
    }
    with FaultProxy(world.endpoint_url) as proxy:
        arrange(proxy)
        run = run_cli(args, tmp, endpoint_url=proxy.url, extra_env=env)
        assert not proxy.errors, proxy.errors
    return run, summary, outputs, summary_file


@pytest.fixture(scope="module")
def failing(world: MotoWorld, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Every check FAILs on hostile text (exit 1)."""
    tmp = tmp_path_factory.mktemp("hostile-fail")
    return _github_run(world, tmp, rewrite_names, ("--require-tag", MARKDOWN_TAG))


@pytest.fixture(scope="module")
def erroring(world: MotoWorld, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Unknown hostile states and a hostile AccessDenied message: ERRORs (exit 3)."""
    tmp = tmp_path_factory.mktemp("hostile-error")
    return _github_run(world, tmp, rewrite_states, ("--skip", "ecr-image-tags"))


@pytest.fixture(params=["failing", "erroring"])
def outcome(request: pytest.FixtureRequest) -> Any:
    return request.getfixturevalue(request.param)


def test_runs_end_with_the_verdict_the_hostile_data_deserves(failing: Any, erroring: Any) -> None:
    run = failing[0]
    assert run.code == 1, run.output
    for check in (
        "ecr-image-tags",
        "ecr-scan-findings",
        "sagemaker-model-env",
        "sagemaker-endpoint-config",
        "sagemaker-endpoint-status",
    ):
        assert re.search(rf"^FAIL\s+{check}\s", run.stdout, re.M), f"{check}:\n{run.stdout}"
    assert GATED_CVE in run.stdout
    run = erroring[0]
    assert run.code == 3, run.output
    for check in ("ecr-repository-config", "ecr-scan-findings", "sagemaker-endpoint-status"):
        assert re.search(rf"^ERROR\s+{check}\s", run.stdout, re.M), f"{check}:\n{run.stdout}"


def test_junit_validates_and_keeps_the_text_readable(outcome: Any) -> None:
    run = outcome[0]
    validate_junit(run.junit)
    text = run.junit.read_text(encoding="utf-8")
    assert "<script>" not in text
    assert not _CONTROL.search(text.replace("\t", "")), "control character in the JUnit file"
    assert "\ud800" not in text and "\ufffe" not in text


def test_no_line_github_would_run_as_a_workflow_command(outcome: Any) -> None:
    run = outcome[0]
    ours = 0
    for stream, text in (("stdout", run.stdout), ("stderr", run.stderr)):
        # The runner splits a step's output on "\n" only, and trims leading whitespace
        # (.NET TrimStart: any Unicode white space) before looking for "::".
        for line in text.split("\n"):
            line = line.rstrip("\r")
            trimmed = line.lstrip()
            match = _ANNOTATION.match(line)
            if match and stream == "stdout":
                ours += 1
                # Our own annotation: escaped per the workflow-command rules.
                assert "\r" not in line
                assert not _ESCAPE.search(match["data"]), f"raw % in annotation: {line[:300]!r}"
                assert not _ESCAPE.search(match["title"]) and "," not in match["title"]
                continue
            assert not trimmed.startswith("::"), f"{stream} would run: {line[:300]!r}"
            assert "##[" not in line, f"{stream} would run a legacy command: {line[:300]!r}"
    assert ours >= 3, "expected one ::error annotation per failing check"


def test_outputs_hold_no_escape_or_control_characters(outcome: Any) -> None:
    run = outcome[0]
    for text in (run.stdout, run.stderr):
        assert "\x1b" not in text, "ANSI escape reached the terminal"
        assert not _CONTROL.search(text.replace("\t", "")), "control character in the output"


def _cells(row: str) -> int:
    """Unescaped pipes in a markdown table row (a pipe after an odd run of backslashes is text)."""
    count, backslashes = 0, 0
    for char in row:
        if char == "\\":
            backslashes += 1
            continue
        if char == "|" and backslashes % 2 == 0:
            count += 1
        backslashes = 0
    return count


def _tables(markdown: str) -> list[list[str]]:
    tables: list[list[str]] = []
    current: list[str] = []
    for line in markdown.split("\n"):
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    if current:
        tables.append(current)
    return tables


def test_step_summary_table_is_intact(outcome: Any) -> None:
    run, summary, _outputs, summary_file = outcome
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("## soc2gate")
    assert summary_file.read_text(encoding="utf-8") == text, "--summary differs from the step's"
    assert "<script" not in text.lower()
    assert not _CONTROL.search(text), "control character in the step summary"
    tables = _tables(text)
    assert tables, text[:2000]
    for table in tables:
        header = _cells(table[0])
        assert re.fullmatch(r"\|( --- \|)+", table[1]), table[1]
        for row in table[1:]:
            assert _cells(row) == header, f"row breaks the table: {row[:400]!r}"
    rows = len(tables[0]) - 2
    assert rows == len(re.findall(r"^(PASS|FAIL|ERROR|SKIP|N/EVAL) {2,}", run.stdout, re.M))
    # The only HTML is soc2gate's own collapsible details block around escaped text.
    own_html = re.compile(r"<details><summary>[^<>]*</summary>|</details>|<pre>[^<>]*(</pre>)?")
    for line in text.split("\n"):
        if own_html.fullmatch(line):
            continue
        assert not line.lstrip().startswith(("::", "<")), f"summary line: {line[:300]!r}"


def test_github_output_is_exactly_the_four_outputs(outcome: Any) -> None:
    run, _summary, outputs, _ = outcome
    values = parse_github_output(outputs.read_text(encoding="utf-8"))
    assert set(values) == {"result", "exit-code", "failed-checks", "junit-path"}
    assert values["exit-code"] == str(run.code)
    assert values["result"] == {1: "fail", 3: "error"}[run.code]
    assert values["junit-path"] == str(run.junit)
    assert "\n" not in values["failed-checks"]


def test_hostile_strings_are_cut_not_echoed_in_full(outcome: Any) -> None:
    run, summary, _outputs, _ = outcome
    # 1 MB in, bounded out: a hostile service cannot flood the log or the step summary.
    assert len(run.stdout) < 200_000
    assert len(run.stderr) < 200_000
    assert summary.stat().st_size < 600 * 1024
    assert run.junit.stat().st_size < 2_000_000


def test_seeded_json_really_carried_the_hostile_text(world: MotoWorld) -> None:
    """Guard against a vacuous test: moto hands the hostile strings back unchanged."""
    response = world.sagemaker.describe_endpoint(EndpointName=ENDPOINT)
    assert response["FailureReason"] == HOSTILE_LONG
    assert json.loads(json.dumps(HOSTILE)) == HOSTILE


def test_the_hostile_text_really_reached_every_report(failing: Any) -> None:
    """Not vacuous: the hostile strings are there, made harmless, in each output."""
    run, summary, _outputs, _ = failing
    junit = run.junit.read_text(encoding="utf-8")
    for needle in (GATED_CVE, "::stop-commands::tok", "from-the-logs", "&lt;script&gt;"):
        assert needle in junit, needle
    annotations = [line for line in run.stdout.split("\n") if line.startswith("::error title=")]
    assert any("%0A::error::x" in line for line in annotations), annotations
    assert any("%25" in line for line in annotations)
    text = summary.read_text(encoding="utf-8")
    assert GATED_CVE in text and "&lt;script&gt;" in text and "\\|" in text
