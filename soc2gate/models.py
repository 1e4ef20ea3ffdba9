"""Typed values shared by checks, the runner and the reports."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Status(str, Enum):
    """Outcome of one check. PENDING is only ever seen by the runner, never in a report."""

    PASS = "PASS"
    FAIL = "FAIL"
    ERROR = "ERROR"
    SKIPPED = "SKIPPED"
    PENDING = "PENDING"


@functools.total_ordering
class Severity(Enum):
    """ECR/Inspector finding severity, ordered so that "HIGH and above" is a comparison.

    UNDEFINED (basic scanning) and UNTRIAGED (enhanced scanning) are not on the scale: they mean
    "nobody knows yet", and whether they fail the gate is a separate setting.

    UNKNOWN is never sent by AWS: it is what the gate records for a severity it could not read
    (missing, null, or a name neither ECR nor Inspector defines). It always fails the gate,
    whatever --fail-on and --fail-on-untriaged say: an unreadable severity could be CRITICAL.
    """

    INFORMATIONAL = 1
    LOW = 2
    MEDIUM = 3
    HIGH = 4
    CRITICAL = 5
    UNDEFINED = 0
    UNTRIAGED = -1
    UNKNOWN = -2

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.value < other.value

    @property
    def ranked(self) -> bool:
        """True for the five severities that have an order."""
        return self.value > 0

    @classmethod
    def parse(cls, text: str) -> Severity:
        """Parse a severity name from AWS or a user, case-insensitively; ValueError if unknown."""
        try:
            severity = cls[text.strip().upper()]
        except KeyError:
            severity = None
        if severity is None or severity is cls.UNKNOWN:
            names = ", ".join(s.name for s in RANKED_SEVERITIES)
            raise ValueError(f"unknown severity {text!r} (expected one of {names})")
        return severity


RANKED_SEVERITIES: tuple[Severity, ...] = tuple(
    sorted((s for s in Severity if s.ranked), reverse=True)
)

#: ``Finding.verdict`` of a finding that fails the gate.
BLOCKS = "blocks"


@dataclass(frozen=True)
class Finding:
    """One vulnerability finding, normalised from basic or enhanced scanning."""

    id: str
    severity: Severity
    package: str = ""
    version: str = ""
    fix_available: str = ""  # YES / NO / PARTIAL for enhanced scanning, "" when unknown
    title: str = ""
    #: What AWS sent as the severity when the gate could not read it (severity UNKNOWN).
    raw_severity: str = ""
    #: Amazon Inspector marks it SUPPRESSED (a suppression rule): it still counts here unless
    #: --honour-inspector-suppressions.
    suppressed: bool = False
    #: Enhanced scanning's exploitAvailable: YES / NO; "" when AWS did not say (basic scanning
    #: never does), or what AWS sent when it is neither (read as possibly exploitable).
    exploit_available: str = ""
    #: Enhanced scanning's score (Inspector's CVSS-based score), None when AWS sent none.
    score: float | None = None
    #: Enhanced scanning's packageManager (OS, PIP, NPM, JAR...); "" for basic scanning, which
    #: reports operating-system packages only.
    package_manager: str = ""
    #: The version as the package manager writes it when AWS splits it (enhanced scanning's
    #: epoch, version and release: ``1:2.9.14+dfsg-1.3~deb12u1``); "" when ``version`` is all.
    full_version: str = ""
    #: The version that fixes it (enhanced scanning's fixedInVersion); "" when AWS names none.
    fixed_in: str = ""
    #: The image digest whose scan reported it (set by the scan check).
    digest: str = ""
    #: The gate's verdict on this finding, set by the scan check: "blocks" when it fails the
    #: gate, else why it does not ("below HIGH", "waived", "VEX not_affected (...) by ...",
    #: "no fix available"); "" unknown.
    verdict: str = ""

    @property
    def blocks(self) -> bool:
        return self.verdict == BLOCKS

    @property
    def severity_text(self) -> str:
        if self.severity is Severity.UNKNOWN:
            return f"UNKNOWN severity {self.raw_severity or '(none)'}"
        return self.severity.name

    def sort_key(self) -> tuple[int, str]:
        # Unranked severities sort just below CRITICAL/HIGH so they are always shown.
        rank = self.severity.value if self.severity.ranked else 3.5
        return (-int(rank * 10), self.id)


@dataclass(frozen=True)
class CheckResult:
    """The verdict of one check on one target.

    ``reason`` is one line a CI engineer can act on; ``details`` are further lines for the report
    body; ``evidence`` holds the AWS values the verdict was based on (never secrets).
    """

    check_id: str
    status: Status
    reason: str
    title: str = ""
    remediation: str = ""
    details: tuple[str, ...] = ()
    evidence: Mapping[str, Any] = field(default_factory=dict)
    #: The worst findings, as many as --max-findings-shown: what the reports list.
    findings: tuple[Finding, ...] = ()
    #: Every finding the check judged, each with its verdict (the SARIF report has one result
    #: per blocking finding, and with --sarif-all one per other finding).
    all_findings: tuple[Finding, ...] = ()
    target: str = ""
    duration: float = 0.0
    #: For PENDING: the state the check is waiting on (e.g. "Creating", "IN_PROGRESS").
    state: str = ""
    #: AWS operations the check called: (``service:Operation``, canonical JSON of the request).
    calls: tuple[tuple[str, str], ...] = ()
    #: Not evaluated: the id of the check this one depends on (``depends_on``) whose FAIL or
    #: ERROR left nothing to judge. The status stays the FAIL or ERROR the check returned, so
    #: the exit code is exactly what it was; reports show it once, as "not evaluated", pointing
    #: at that check. The runner keeps it only while that check of the same target did fail.
    blocked_by: str = ""
    #: What the check waited through: (seconds since the run started, state), one entry per
    #: state change seen while polling, then the final status. Empty when it never waited.
    transitions: tuple[tuple[float, str], ...] = ()
    #: A check that fans out (a custom check over ``{model}``): one result per subject, each
    #: its own JUnit testcase named ``<check> [<subject>]``. This result's status is the
    #: worst of them, so the exit code does not depend on the parts.
    parts: tuple[CheckResult, ...] = ()
    #: What a part was judged for (a model name); "" for a whole check.
    subject: str = ""
    #: Seconds since the run started when the result became final (0 for a skipped check):
    #: a fleet target's wall time is its last check's.
    ended: float = 0.0

    @property
    def label(self) -> str:
        """The check id, then the subject of a part in brackets (``<check> [<model>]``): the
        JUnit testcase name (the suite names the target)."""
        return f"{self.check_id} [{self.subject}]" if self.subject else self.check_id

    @property
    def name(self) -> str:
        """The label, then the target in brackets when there is one (console, outputs)."""
        return f"{self.label} [{self.target}]" if self.target else self.label

    @property
    def not_evaluated(self) -> bool:
        """True when the check could not be judged because ``blocked_by`` failed."""
        return bool(self.blocked_by) and self.status in (Status.FAIL, Status.ERROR)

    @property
    def counted_status(self) -> Status:
        """The status reports count: a not-evaluated check counts as SKIPPED (its upstream
        failure is counted once, there). Never used for the exit code."""
        return Status.SKIPPED if self.not_evaluated else self.status


def expand_parts(results: Iterable[CheckResult]) -> list[CheckResult]:
    """Each result, or in its place the parts of a check that fanned out (one per model): what
    every report counts and shows as one case (console row, JUnit testcase, summary line,
    ``failed-checks`` entry), so they all count the same way.

    Only settled verdicts are split: a check that was not evaluated, interrupted or timed out
    is shown whole, as the runner reported it.
    """
    settled = (Status.PASS, Status.FAIL, Status.ERROR)
    out: list[CheckResult] = []
    for result in results:
        if (
            result.parts
            and result.status in settled
            and not result.not_evaluated
            and all(p.status in settled for p in result.parts)
        ):
            out += [
                dataclasses.replace(
                    p,
                    duration=result.duration,
                    target=result.target,
                    calls=result.calls,
                    ended=result.ended,
                )
                for p in result.parts
            ]
        else:
            out.append(result)
    return out


@dataclass(frozen=True)
class GateReport:
    """All results of one run, with the exit code they imply."""

    results: tuple[CheckResult, ...]
    duration: float = 0.0
    interrupted: bool = False
    #: The OpenVEX documents the run read (--vex): path, @id, author, version and SHA-256 of
    #: each, as the evidence record lists them.
    vex_documents: tuple[Mapping[str, Any], ...] = ()

    def __post_init__(self) -> None:
        # Fail closed: "not evaluated" stands only while the check it points at failed or
        # errored in this very report (same target), so a failure is never hidden by it. The
        # check pointed at may itself be not evaluated (deployed-image-scanned -> the scan ->
        # the missing repository): the chain must end at a counted failure.
        bad = [r for r in self.results if r.status in (Status.FAIL, Status.ERROR)]
        failed = {(r.target, r.check_id) for r in bad if not r.blocked_by}
        grew = True
        while grew:
            more = {
                (r.target, r.check_id)
                for r in bad
                if r.blocked_by and (r.target, r.blocked_by) in failed
            }
            grew = not more <= failed
            failed |= more
        if any(r.blocked_by and (r.target, r.blocked_by) not in failed for r in self.results):
            import dataclasses

            kept = tuple(
                r
                if not r.blocked_by or (r.target, r.blocked_by) in failed
                else dataclasses.replace(r, blocked_by="")
                for r in self.results
            )
            object.__setattr__(self, "results", kept)

    def by_status(self, status: Status) -> tuple[CheckResult, ...]:
        return tuple(r for r in self.results if r.status is status)

    @property
    def cases(self) -> tuple[CheckResult, ...]:
        """The results as every report shows and counts them (``expand_parts``)."""
        return tuple(expand_parts(self.results))

    def counted(self, status: Status) -> tuple[CheckResult, ...]:
        """Cases by ``counted_status``: what reports count (a failure counts once)."""
        return tuple(r for r in self.cases if r.counted_status is status)

    @property
    def not_evaluated(self) -> tuple[CheckResult, ...]:
        return tuple(r for r in self.cases if r.not_evaluated)

    @property
    def exit_code(self) -> int:
        from soc2gate.exitcodes import ExitCode

        if self.interrupted:
            return ExitCode.INTERRUPTED
        if self.by_status(Status.FAIL):
            return ExitCode.FAILED
        if self.by_status(Status.ERROR) or self.by_status(Status.PENDING):
            return ExitCode.ERROR
        if not self.by_status(Status.PASS):
            # Fail closed: a run that verified nothing is not a pass.
            return ExitCode.ERROR
        return ExitCode.PASSED

    @property
    def result(self) -> str:
        """ "pass", "fail", "error" or "interrupted": the GitHub Action's ``result`` output.

        "interrupted" covers SIGINT and SIGTERM alike: only ``cli.main`` knows which signal
        it was, and the exit code (130 or 143) tells them apart. A run whose report could not
        be written exits 3, so the CLI derives the word it publishes from its final exit code
        (``report.github.result_for``), which agrees with this for every code a report implies.
        """
        if self.interrupted:
            return "interrupted"
        code = self.exit_code
        return {0: "pass", 1: "fail"}.get(int(code), "error")
