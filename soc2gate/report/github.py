"""GitHub Actions output: annotations, the step summary and step outputs.

Every string that came from AWS or a user is untrusted: annotation text is escaped per the
workflow-command rules, and summary cells are HTML-escaped with markdown metacharacters
backslashed, so a hostile FailureReason can neither run a workflow command nor break the table.

The outputs and the summary's heading describe the process's real exit code, which only
``cli.main`` knows (143 for SIGTERM where the report alone implies 130; 3 when a report could
not be written): pass it as ``exit_code``. The outputs are exactly those action.yml documents.
"""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Mapping

from soc2gate.exitcodes import ExitCode
from soc2gate.models import CheckResult, Finding, GateReport, Status
from soc2gate.report.text import clean, one_line

#: GitHub refuses a step summary over 1 MiB; stay well below it.
SUMMARY_LIMIT = 512 * 1024
#: GitHub shows at most 10 error annotations per step.
ANNOTATION_LIMIT = 10

# Most important first: what blocks a release outright, then what is misconfigured.
_PRIORITY = (
    "ecr-scan-findings",
    "deployed-image-scanned",
    "sagemaker-endpoint-status",
    "sagemaker-model-env",
    "ecr-repository-config",
    "sagemaker-endpoint-config",
    "ecr-image-tags",
)


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _rank(result: CheckResult) -> tuple[int, int]:
    status_rank = 0 if result.status is Status.FAIL else 1
    try:
        check_rank = _PRIORITY.index(result.check_id)
    except ValueError:
        check_rank = len(_PRIORITY)
    return status_rank, check_rank


def problems(report: GateReport) -> list[CheckResult]:
    """FAIL and ERROR results, most important first."""
    bad = [r for r in report.results if r.status in (Status.FAIL, Status.ERROR, Status.PENDING)]
    return sorted(bad, key=_rank)


def result_for(exit_code: int) -> str:
    """The ``result`` output for a process exit code: pass, fail, error or interrupted.

    From the exit code rather than the report, so that the output can never disagree with
    ``exit-code``: a passing run whose report could not be written exits 3 and is an "error".
    """
    words: dict[int, str] = {
        ExitCode.PASSED: "pass",
        ExitCode.FAILED: "fail",
        ExitCode.INTERRUPTED: "interrupted",
        ExitCode.TERMINATED: "interrupted",
    }
    return words.get(int(exit_code), "error")


def failed_checks(report: GateReport) -> list[str]:
    """Names of the checks that failed or errored (the ``failed-checks`` output).

    Every check that did not reach a verdict counts, not only FAIL: an all-ERROR run, and the
    checks an interrupt left unfinished, must never look like "nothing failed". Failures come
    first, then errors, each most important first; in a fleet a name carries its target, as in
    ``ecr-scan-findings [prod-eu]``. ``result`` says whether anything FAILED or only errored.
    """
    return [r.name for r in problems(report)]


def annotation_lines(report: GateReport) -> list[str]:
    lines = []
    for result in problems(report):
        title = escape_property(one_line(f"{result.name} ({result.status.value})", 200))
        message = clean(result.reason, 4000)
        if result.remediation:
            message += f"\nHow to fix: {result.remediation}"
        lines.append(f"::error title={title}::{escape_data(message)}")
    return lines


# Inside a table cell only these change the rendering: emphasis, code, links, pipes, strike.
# (<, > and & are HTML-escaped first.) Line-start syntax (#, -, +) cannot occur mid-row.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def md(text: object, limit: int = 1000) -> str:
    """Safe inside a markdown table cell: one line, HTML-escaped, metacharacters escaped."""
    value = html.escape(one_line(text, limit), quote=True)
    return _MD_SPECIAL.sub(r"\\\1", value)


_ICON = {
    Status.PASS: "✅ PASS",
    Status.FAIL: "❌ FAIL",
    Status.ERROR: "⚠️ ERROR",
    Status.SKIPPED: "⏭️ SKIP",
    Status.PENDING: "⚠️ ERROR",
}


_HEADING = {
    "pass": "passed",
    "fail": "FAILED",
    "error": "could not verify",
    "interrupted": "INTERRUPTED",
}
_SIGNAL: dict[int, str] = {ExitCode.INTERRUPTED: "SIGINT", ExitCode.TERMINATED: "SIGTERM"}


def heading(exit_code: int) -> str:
    """The summary's first line: the verdict word and the process's exit code."""
    verdict = _HEADING[result_for(exit_code)]
    if exit_code in _SIGNAL:
        verdict = f"{verdict} by {_SIGNAL[exit_code]}"
    return f"## soc2gate {verdict} (exit {int(exit_code)})"


def summary(report: GateReport, junit_path: str | None = None, exit_code: int | None = None) -> str:
    """The markdown step summary; ``exit_code`` is the process's (default: the report's)."""
    code = int(report.exit_code if exit_code is None else exit_code)
    out = [
        heading(code),
        "",
        "| Result | Check | Reason |",
        "| --- | --- | --- |",
    ]
    for r in report.results:
        out.append(f"| {_ICON[r.status]} | {md(r.name, 200)} | {md(r.reason, 600)} |")
    bad = problems(report)
    if bad:
        out += ["", "### What failed and how to fix it", ""]
        for r in bad:
            out.append(f"- **{md(r.name, 200)}**: {md(r.reason, 2000)}")
            if r.remediation:
                out.append(f"  - How to fix: {md(r.remediation, 1000)}")
        for r in bad:
            if r.details:
                # HTML-escaped inside <pre>: a hostile "</pre>" or "|" stays text.
                # Colons as entities too, so no line of the file can read as "::command".
                body = html.escape("\n".join(clean(d, 2000) for d in r.details[-120:]))
                body = body.replace(":", "&#58;")
                out += [
                    "",
                    f"<details><summary>{html.escape(one_line(r.name, 200))}: details</summary>",
                    "",
                    f"<pre>{body}</pre>",
                    "",
                    "</details>",
                ]
    findings: list[Finding] = sorted(
        {f for r in report.results for f in r.findings}, key=Finding.sort_key
    )[:20]
    if findings:
        out += [
            "",
            "### Top findings",
            "",
            "| Severity | Finding | Package | Version | Fix available |",
            "| --- | --- | --- | --- | --- |",
        ]
        for f in findings:
            out.append(
                f"| {f.severity.name} | {md(f.id, 100)} | {md(f.package, 100)} | "
                f"{md(f.version, 60)} | {md(f.fix_available or '-', 20)} |"
            )
    waived = [
        (r, w) for r in report.results for w in r.evidence.get("waived", []) if isinstance(w, dict)
    ]
    if waived:
        out += [
            "",
            "### Waived findings",
            "",
            "| Check | Finding | Package | Severity | Expires | Reason |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for r, w in waived:
            out.append(
                f"| {md(r.name, 100)} | {md(w.get('id', ''), 100)} | {md(w.get('package', ''), 100)} "
                f"| {md(w.get('severity', ''), 20)} | {md(w.get('expires', ''), 20)} "
                f"| {md(w.get('reason', ''), 300)} |"
            )
    if junit_path:
        out += ["", f"JUnit report: {md(junit_path, 300)}"]
    text = "\n".join(out) + "\n"
    if len(text.encode("utf-8")) > SUMMARY_LIMIT:
        cut = text.encode("utf-8")[: SUMMARY_LIMIT - 200].decode("utf-8", "ignore")
        text = cut.rsplit("\n", 1)[0] + "\n\n(summary truncated to stay under GitHub's limit)\n"
    return text


def output_lines(outputs: Mapping[str, str]) -> str:
    """$GITHUB_OUTPUT content in the delimiter form, safe for any value."""
    chunks = []
    for name, value in outputs.items():
        delimiter = f"soc2gate_{uuid.uuid4().hex}"
        chunks.append(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
    return "".join(chunks)


def outputs(report: GateReport, junit_path: str, exit_code: int | None = None) -> dict[str, str]:
    """The step outputs action.yml documents; ``exit_code`` is the process's (default: the
    report's)."""
    code = int(report.exit_code if exit_code is None else exit_code)
    return {
        "result": result_for(code),
        "exit-code": str(code),
        "failed-checks": ",".join(failed_checks(report)),
        "junit-path": junit_path,
    }
