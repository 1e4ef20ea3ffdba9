"""Console report: untrusted strings cannot forge CI log lines or colour the terminal."""

from __future__ import annotations

import pytest

from soc2gate.models import CheckResult, GateReport, Status
from soc2gate.report import console

# (case, hostile string)
HOSTILE_CASES = [
    ("workflow-command-after-newline", "ok\n::error::forged"),
    ("workflow-command-first", "::error file=x::forged"),
    ("crlf", "ok\r\n::add-mask::x"),
    ("unicode-line-separator", "ok\u2028::warning::x"),
    ("ansi", "\x1b[2J\x1b[31mred"),
]


@pytest.mark.parametrize(
    "hostile", [c[1] for c in HOSTILE_CASES], ids=[c[0] for c in HOSTILE_CASES]
)
def test_console_lines_cannot_be_forged(hostile: str) -> None:
    results = tuple(
        CheckResult(
            check_id=check_id,
            status=status,
            reason=hostile,
            details=(hostile, f"detail {hostile}"),
            remediation=hostile,
            target=hostile,
        )
        for check_id, status in (
            ("ecr-scan-findings", Status.FAIL),
            ("sagemaker-endpoint-status", Status.ERROR),
            ("ecr-image-tags", Status.SKIPPED),
        )
    )
    text = console.render(GateReport(results, duration=2.0))
    assert "\x1b" not in text
    for line in text.splitlines():
        # GitHub's runner trims leading whitespace before looking for "::command".
        assert not line.lstrip().startswith("::"), line
    assert "exit 1" in text


def test_all_skipped_says_nothing_was_verified() -> None:
    report = GateReport((CheckResult("ecr-image-tags", Status.SKIPPED, "not configured"),))
    text = console.render(report)
    assert "nothing was verified" in text
    assert f"exit {int(report.exit_code)}" in text
    assert report.exit_code != 0
