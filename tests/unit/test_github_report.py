"""GitHub outputs and step summary: the words and numbers action.yml documents, from the
process's real exit code (issue 10, hole 9). The end-to-end versions are in
tests/security/test_action_outputs.py and tests/security/test_interrupt.py."""

from __future__ import annotations

import pytest

from soc2gate.exitcodes import ExitCode
from soc2gate.models import CheckResult, GateReport, Status
from soc2gate.report import console, github

P, F, E, S, W = Status.PASS, Status.FAIL, Status.ERROR, Status.SKIPPED, Status.PENDING
IDS = (
    "ecr-image-tags",
    "ecr-scan-findings",
    "sagemaker-endpoint-status",
    "sagemaker-model-env",
    "ecr-repository-config",
)


def report(*statuses: Status, interrupted: bool = False, target: str = "") -> GateReport:
    return GateReport(
        tuple(
            CheckResult(check_id, status, f"{status.value} reason", target=target)
            for check_id, status in zip(IDS[: len(statuses)], statuses, strict=True)
        ),
        interrupted=interrupted,
    )


# (case, report, the process's exit code, result, failed-checks)
CASES = [
    ("pass", report(P, P, S), 0, "pass", ""),
    ("fail", report(P, F), 1, "fail", "ecr-scan-findings"),
    ("all-error", report(E, E, E), 3, "error", "ecr-scan-findings,sagemaker-endpoint-status,ecr-image-tags"),
    ("fail-and-error", report(E, F, P), 1, "fail", "ecr-scan-findings,ecr-image-tags"),
    ("pending-left-over", report(P, W), 3, "error", "ecr-scan-findings"),
    ("all-skipped", report(S, S), 3, "error", ""),
    ("sigint", report(P, E, E, interrupted=True), 130, "interrupted", "ecr-scan-findings,sagemaker-endpoint-status"),
    ("sigterm", report(P, E, E, interrupted=True), 143, "interrupted", "ecr-scan-findings,sagemaker-endpoint-status"),
    # A passing run whose JUnit file could not be written exits 3: the outputs say so.
    ("pass-but-report-unwritable", report(P, P), 3, "error", ""),
]  # fmt: skip


@pytest.mark.parametrize(
    ("gate", "code", "result", "failed"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_outputs_follow_the_exit_code_and_list_errored_checks(
    gate: GateReport, code: int, result: str, failed: str
) -> None:
    values = github.outputs(gate, "junit.xml", code)
    assert values == {
        "result": result,
        "exit-code": str(code),
        "failed-checks": failed,
        "junit-path": "junit.xml",
    }
    first = github.summary(gate, "junit.xml", exit_code=code).split("\n", 1)[0]
    assert first.endswith(f"(exit {code})"), first
    assert f"(exit {code})" in console.render(gate, exit_code=code)


def test_the_report_alone_gives_the_same_words_for_the_codes_it_implies() -> None:
    for _case, gate, code, result, _failed in CASES:
        if int(gate.exit_code) == code:
            assert gate.result == result
            assert github.outputs(gate, "j.xml") == github.outputs(gate, "j.xml", code)


@pytest.mark.parametrize(
    ("code", "heading"),
    [
        (0, "## soc2gate passed (exit 0)"),
        (1, "## soc2gate FAILED (exit 1)"),
        (3, "## soc2gate could not verify (exit 3)"),
        (130, "## soc2gate INTERRUPTED by SIGINT (exit 130)"),
        (143, "## soc2gate INTERRUPTED by SIGTERM (exit 143)"),
    ],
)
def test_summary_heading_states_the_process_exit_code(code: int, heading: str) -> None:
    gate = report(P, E, interrupted=code in (130, 143))
    assert github.summary(gate, exit_code=code).split("\n", 1)[0] == heading


def test_every_exit_code_has_a_documented_result_word() -> None:
    for code in ExitCode:
        assert github.result_for(code) in ("pass", "fail", "error", "interrupted")
    assert github.result_for(ExitCode.USAGE) == "error"


def test_failed_checks_name_the_target_in_a_fleet() -> None:
    gate = report(P, F, E, target="prod-eu")
    assert github.outputs(gate, "")["failed-checks"] == (
        "ecr-scan-findings [prod-eu],sagemaker-endpoint-status [prod-eu]"
    )
