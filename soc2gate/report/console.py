"""The result table printed to stdout at the end of a run."""

from __future__ import annotations

from typing import TextIO

from soc2gate.durations import format_duration
from soc2gate.models import CheckResult, GateReport, Status
from soc2gate.report.causes import blocked_text
from soc2gate.report.text import one_line

#: The mark of a check that could not be judged because a check it depends on failed.
NOT_EVALUATED = "N/EVAL"

_MARK = {
    Status.PASS: "PASS",
    Status.FAIL: "FAIL",
    Status.ERROR: "ERROR",
    Status.SKIPPED: "SKIP",
    Status.PENDING: "ERROR",
}


def _shown(details: tuple[str, ...], head: int = 10, tail: int = 50) -> list[str]:
    """All details when short; else the first and the last ones (log tails hold the error)."""
    if len(details) <= head + tail:
        return list(details)
    skipped = len(details) - head - tail
    return [*details[:head], f"... {skipped} more lines in the JUnit report ...", *details[-tail:]]


def render(report: GateReport, width: int = 120, exit_code: int | None = None) -> str:
    """The table and the verdict line; ``exit_code`` is the process's (default: the report's),
    e.g. 143 for SIGTERM where the report alone implies 130."""
    code = int(report.exit_code if exit_code is None else exit_code)
    by_key = {(r.target, r.check_id): r for r in report.results}

    def mark(r: CheckResult) -> str:
        return NOT_EVALUATED if r.not_evaluated else _MARK[r.status]

    def reason(r: CheckResult) -> str:
        if r.not_evaluated:
            return f"{blocked_text(r, by_key.get((r.target, r.blocked_by)))}: {r.reason}"
        return r.reason

    # One row per case, as every report counts them (a check over {model}: one per model).
    rows = [(mark(r), r.name, format_duration(r.duration), reason(r)) for r in report.cases]
    name_w = max([len(one_line(r[1], 60)) for r in rows] + [5])
    lines = [f"{'RESULT':<6}  {'CHECK':<{name_w}}  {'TIME':>6}  REASON"]
    for marked, name, took, why in rows:
        room = max(30, width - name_w - 18)
        lines.append(
            f"{marked:<6}  {one_line(name, 60):<{name_w}}  {took:>6}  {one_line(why, room)}"
        )
    for r in report.cases:
        if r.status in (Status.FAIL, Status.ERROR):
            lines.append("")
            lines.append(f"{mark(r)} {one_line(r.name, 80)}: {one_line(reason(r), 2000)}")
            lines += [f"    - {one_line(d, 300)}" for d in _shown(r.details)]
            if r.remediation:
                lines.append(f"    How to fix: {one_line(r.remediation, 600)}")
    lines += accepted_lines(report)
    # A check not evaluated because another failed is counted once, under its own word.
    counts = {
        s: len(report.counted(s)) for s in (Status.PASS, Status.FAIL, Status.ERROR, Status.SKIPPED)
    }
    counts[Status.SKIPPED] -= len(report.not_evaluated)
    lines.append("")
    verdict = {
        "pass": "PASSED",
        "fail": "FAILED",
        "error": "ERROR",
        "interrupted": "INTERRUPTED",
    }[report.result]
    if not report.interrupted and code != int(report.exit_code):
        verdict = "ERROR"  # a passing run whose report could not be written exits 3
    lines.append(
        f"soc2gate {verdict} (exit {code}): {counts[Status.PASS]} passed, "
        f"{counts[Status.FAIL]} failed, {counts[Status.ERROR]} errors, "
        + (f"{len(report.not_evaluated)} not evaluated, " if report.not_evaluated else "")
        + f"{counts[Status.SKIPPED]} skipped in {format_duration(report.duration)}"
    )
    if not any(counts[s] for s in (Status.PASS, Status.FAIL, Status.ERROR)) and not (
        report.not_evaluated
    ):
        lines.append("nothing was verified: every check was skipped, which is not a pass")
    return "\n".join(lines)


#: Accepted findings listed on the console (JUnit and the evidence record hold them all).
ACCEPTED_SHOWN = 20


def accepted_lines(report: GateReport) -> list[str]:
    """Findings a waiver or a VEX statement stopped from blocking, each with who said so."""
    accepted = [
        (r, f)
        for r in report.results
        for f in r.all_findings
        if f.verdict.startswith(("waived", "VEX "))
    ]
    if not accepted:
        return []
    lines = ["", f"Accepted findings ({len(accepted)}): they do not block"]
    for r, f in accepted[:ACCEPTED_SHOWN]:
        lines.append(
            f"    - {one_line(f.severity_text, 60)} {one_line(f.id, 100)} in "
            f"{one_line(f.package or '?', 100)} [{one_line(r.name, 80)}]: "
            f"{one_line(f.verdict, 600)}"
        )
    if len(accepted) > ACCEPTED_SHOWN:
        lines.append(
            f"    ... {len(accepted) - ACCEPTED_SHOWN} more in the JUnit report and the evidence record"
        )
    return lines


def print_report(report: GateReport, out: TextIO, exit_code: int | None = None) -> None:
    print(render(report, exit_code=exit_code), file=out, flush=True)
