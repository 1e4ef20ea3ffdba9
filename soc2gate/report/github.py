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
import itertools
import re
import uuid
from collections.abc import Mapping

from soc2gate.durations import format_duration
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
    """FAIL and ERROR results, most important first.

    A check not evaluated because a check it depends on failed is left out: that failure is
    listed (and annotated) once, under the check that failed.
    """
    bad = [
        r
        for r in report.cases
        if r.status in (Status.FAIL, Status.ERROR, Status.PENDING) and not r.not_evaluated
    ]
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
    checks an interrupt left unfinished, must never look like "nothing failed". A check not
    evaluated because another failed is not listed again: the one it depends on is. Failures come
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


_DIGEST = re.compile(r"sha256:([0-9a-f]{64})")
_NOT_EVALUATED_ICON = "⏸️ NOT EVALUATED"
#: Characters a mermaid gantt label may hold (":", "#" and ";" would end or break the line).
_MERMAID_UNSAFE = re.compile(r"[^A-Za-z0-9 _.()/+-]")


def short_digests(text: str) -> str:
    """``sha256:`` + 12 hex digits for every full digest (the full ones go in the details)."""
    return _DIGEST.sub(lambda m: f"sha256:{m.group(1)[:12]}", text)


def check_cell(name: str) -> str:
    """A check name that does not wrap in a table: ``<code>`` with non-breaking hyphens."""
    return f"<code>{md(name, 200).replace('-', chr(0x2011))}</code>"


def _code(text: str, limit: int = 200) -> str:
    return f"<code>{md(text, limit)}</code>"


def _cell(text: object, limit: int) -> str:
    return md(short_digests(one_line(text, limit * 2)), limit)


def _header(report: GateReport, gated: Mapping[str, str]) -> list[str]:
    """One line saying what was gated: repository, tag and digest, endpoint, region, commit."""
    parts: list[str] = []
    digests = sorted(
        {
            str(r.evidence.get("imageDigest"))
            for r in report.results
            if r.check_id == "ecr-scan-findings"
            and _DIGEST.fullmatch(str(r.evidence.get("imageDigest", "")))
        }
    )
    image = gated.get("repository", "")
    if image:
        text = _code(image)
        if gated.get("tag"):
            text += f" tag {_code(gated['tag'])}"
        if len(digests) == 1:
            text += f" at {_code(short_digests(digests[0]))}"
        elif digests:
            text += f" ({len(digests)} digests, listed in full below)"
        parts.append(f"**Image** {text}")
    labels = (
        ("registry", "Registry"),
        ("endpoint", "Endpoint"),
        ("region", "Region"),
        ("targets", "Targets"),
    )
    for key, label in labels:
        if gated.get(key):
            parts.append(f"**{label}** {md(gated[key], 200)}")
    if gated.get("commit"):
        parts.append(f"**Commit** {_code(gated['commit'][:12], 40)}")
    when = md(gated.get("started", ""), 40)
    took = format_duration(report.duration)
    parts.append(f"**Run** {when + ', ' if when else ''}took {took}")
    return [" · ".join(parts)]


def _counts_line(report: GateReport) -> str:
    words = [
        (len(report.counted(Status.PASS)), "passed"),
        (len(report.counted(Status.FAIL)), "failed"),
        (
            len(report.counted(Status.ERROR)) + len(report.counted(Status.PENDING)),
            "could not be verified",
        ),
        (len(report.not_evaluated), "not evaluated (a check they depend on failed)"),
        (len(report.counted(Status.SKIPPED)) - len(report.not_evaluated), "skipped"),
    ]
    return ", ".join(f"{n} {w}" for n, w in words if n) or "no checks ran"


def timeline(report: GateReport) -> list[str]:
    """The waits as a mermaid gantt chart (GitHub renders it): one bar per state a check
    waited in, from the state change the runner saw to the next, ending in the final state."""
    waited = [r for r in report.results if len(r.transitions) >= 2]
    if not waited:
        return []
    out = [
        "```mermaid",
        "gantt",
        "    title What the gate waited for (mm:ss since the run started)",
        "    dateFormat x",
        "    axisFormat %M:%S",
    ]
    for r in waited:
        out.append(f"    section {_MERMAID_UNSAFE.sub('', one_line(r.name, 80)) or 'check'}")
        steps = list(r.transitions)
        for (start, state), (end, _next) in itertools.pairwise(steps):
            label = _MERMAID_UNSAFE.sub("", state) or "waiting"
            begin, finish = int(start * 1000), max(int(end * 1000), int(start * 1000) + 1)
            out.append(f"    {label} : {begin}, {finish}")
        end_at, final = steps[-1]
        tag = "crit, " if r.status in (Status.FAIL, Status.ERROR) else ""
        out.append(
            f"    {_MERMAID_UNSAFE.sub('', final) or 'done'} : {tag}milestone, "
            f"{int(end_at * 1000)}, {int(end_at * 1000)}"
        )
    out.append("```")
    return out


def _findings(report: GateReport) -> list[str]:
    """Which findings block the release and which do not.

    Only findings the scan check marked "blocks" (at or above the threshold, not waived) are
    presented as the problem; the others are listed, collapsed, as not blocking, so a PASS or
    an unrelated failure never reads as if they were the cause.
    """
    results = [r for r in report.results if r.findings]
    blocking = sorted(
        {f for r in results if r.status is Status.FAIL for f in r.findings if f.blocks},
        key=Finding.sort_key,
    )[:20]
    others = sorted(
        {f for r in results for f in r.findings if f not in blocking and not f.blocks},
        key=Finding.sort_key,
    )[:20]
    out: list[str] = []
    if blocking:
        out += [
            "",
            "### Top findings: these block the release",
            "",
            "At or above the threshold (or, under --fail-on-exploitable, with a known exploit) "
            "and not waived.",
            "",
            "| Severity | Finding | Package | Version | Fix available | Known exploit |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for f in blocking:
            note = " (SUPPRESSED in Inspector)" if f.suppressed else ""
            out.append(
                f"| {md(f.severity_text, 60)} | {md(f.id, 100)}{note} | {md(f.package, 100)} | "
                f"{md(f.version, 60)} | {md(f.fix_available or '-', 20)} | "
                f"{md(f.exploit_available or '-', 20)} |"
            )
    if others:
        label = "Other findings" if blocking else "Findings"
        out += [
            "",
            f"<details><summary>{label} that do not block ({len(others)}): below the "
            "threshold, waived, VEX not_affected or fixed, or without a fix</summary>",
            "",
            "| Severity | Finding | Package | Version | Why it does not block |",
            "| --- | --- | --- | --- | --- |",
        ]
        for f in others:
            out.append(
                f"| {md(f.severity_text, 60)} | {md(f.id, 100)} | {md(f.package, 100)} | "
                f"{md(f.version, 60)} | {md(f.verdict or 'not judged', 400)} |"
            )
        out += ["", "</details>"]
    return out


def _problem_lines(results: list[CheckResult], heading_text: str, intro: str = "") -> list[str]:
    if not results:
        return []
    out = ["", f"### {heading_text}", ""]
    if intro:
        out += [intro, ""]
    for r in results:
        out.append(f"- {check_cell(r.name)}: {_cell(r.reason, 2000)}")
        if r.remediation:
            out.append(f"  - How to fix: {md(r.remediation, 1000)}")
    return out


def summary(
    report: GateReport,
    junit_path: str | None = None,
    exit_code: int | None = None,
    gated: Mapping[str, str] | None = None,
) -> str:
    """The markdown step summary; ``exit_code`` is the process's (default: the report's).

    ``gated`` says what was gated for the header line (repository, tag, endpoint, region,
    commit, started, targets).
    """
    from soc2gate.report.causes import blocked_text, interrupted

    code = int(report.exit_code if exit_code is None else exit_code)
    by_key = {(r.target, r.check_id): r for r in report.results}
    out = [heading(code), ""]
    out += _header(report, gated or {})
    out += ["", "| Result | Check | Reason |", "| --- | --- | --- |"]
    for r in report.cases:  # one row per case, counted as the console and JUnit count them
        if r.not_evaluated:
            upstream = by_key.get((r.target, r.blocked_by))
            icon, why = _NOT_EVALUATED_ICON, f"{blocked_text(r, upstream)}: {r.reason}"
        else:
            icon, why = _ICON[r.status], r.reason
        out.append(f"| {icon} | {check_cell(r.name)} | {_cell(why, 600)} |")
    out += ["", _counts_line(report) + "."]
    out += ["", *timeline(report)] if timeline(report) else []
    bad = problems(report)
    failed = [r for r in bad if r.status is Status.FAIL]
    stopped = [r for r in bad if interrupted(r)]
    unverified = [r for r in bad if r.status is not Status.FAIL and r not in stopped]
    out += _problem_lines(failed, "What failed and how to fix it")
    out += _problem_lines(
        unverified,
        "What could not be verified and what to do",
        "The gate could not look, so these are not passed.",
    )
    out += _problem_lines(
        stopped,
        f"Interrupted before a verdict (exit {code})",
        "Nothing to fix in the deployment: run the gate again to get a verdict.",
    )
    blocked = list(report.not_evaluated)
    if blocked:
        out += ["", "### Not evaluated", ""]
        for r in blocked:
            upstream = by_key.get((r.target, r.blocked_by))
            out.append(
                f"- {check_cell(r.name)}: {md(blocked_text(r, upstream), 300)}; it is judged "
                f"once {check_cell(r.blocked_by)} passes."
            )
    if code == ExitCode.PASSED:
        out += ["", "### Passed", "", "Every selected check passed; skipped checks are listed."]
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
    out += _findings(report)
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
                f"| {check_cell(r.name)} | {md(w.get('id', ''), 100)} | "
                f"{md(w.get('package', ''), 100)} | {md(w.get('severity', ''), 20)} | "
                f"{md(w.get('expires', ''), 20)} | {md(w.get('reason', ''), 300)} |"
            )
    digests = sorted(
        {
            m.group(0)
            for r in report.results
            for text in (r.reason, *r.details, str(r.evidence.get("imageDigest", "")))
            for m in _DIGEST.finditer(one_line(text, 20000))
        }
    )
    if digests:
        out += [
            "",
            "<details><summary>Digests in full</summary>",
            "",
            *[f"- {short_digests(d)}: `{d}`" for d in digests],
            "",
            "</details>",
        ]
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
