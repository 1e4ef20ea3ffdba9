"""SARIF 2.1.0 for GitHub code scanning (``--sarif``).

One run of the tool ``soc2gate``:

- rules: one per check in the report (``helpUri`` into the README, the check's remediation as
  its help) and one per vulnerability id that has a result;
- results: one per failing or erroring check (a check not evaluated is counted at the check it
  depends on, as in every report), level ``error``; one per blocking finding, level ``error``;
  with ``--sarif-all`` one per other finding (waived, VEX'd, below the threshold...), level
  ``warning``. The image, digest, package, version and fixed version are in its ``properties``.
- every result is located in one file of the repository (``location``: code scanning drops
  results without a location) at line 1, with a ``primaryLocationLineHash`` of its own: code
  scanning tells alerts apart by rule, file and that hash, and the hash of the file's first line
  would merge two packages' findings of one CVE and reopen every alert when the line changes.
  The same finding on the same digest (and target) keeps its hash across runs.
- within GitHub's limits (25,000 results and rules per run, 10 MB gzipped): the lowest
  severities are left out first, and the run's ``properties`` and a tool notification say how
  many and why.
- ``invocations[0]`` states the process's exit code. Writing the file never changes it.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from soc2gate import __version__
from soc2gate.config import GateConfig, expand_targets
from soc2gate.models import CheckResult, Finding, GateReport, Severity, Status
from soc2gate.report.files import write_atomically
from soc2gate.report.text import one_line

SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
PROJECT_URL = "https://github.com/soc2gate/soc2gate"
DOCS_URL = f"{PROJECT_URL}/blob/main/README.md"
#: GitHub code scanning rejects a run above these (docs: "SARIF support for code scanning").
MAX_RESULTS = 25_000
MAX_RULES = 25_000
#: 10 MB gzipped per upload; kept a little under so the file never sits on the edge.
MAX_GZIP_BYTES = 10_000_000 - 100_000
#: GitHub shows at most 1024 characters of a rule's descriptions.
_DESCRIPTION = 1000
#: GitHub's security-severity (critical > 9.0, high 7.0-8.9, medium 4.0-6.9, low 0.1-3.9).
_SECURITY_SEVERITY = {
    Severity.CRITICAL: 9.5,
    Severity.HIGH: 8.0,
    Severity.MEDIUM: 5.5,
    Severity.LOW: 2.0,
    # A severity nobody rated (or the gate could not read) could be critical.
    Severity.UNDEFINED: 9.5,
    Severity.UNTRIAGED: 9.5,
    Severity.UNKNOWN: 9.5,
}


@dataclass(frozen=True)
class Candidate:
    """One result before the limits are applied, with what ranks it."""

    rank: tuple[int, int, str]
    rule: str
    result: dict[str, Any]


def fingerprint(*parts: str) -> dict[str, str]:
    """``partialFingerprints``: a SHA-256 of what identifies the result, in GitHub's own key
    (``<16 hex>:1``, the shape upload-sarif writes) and in full under ``soc2gate/v1``."""
    digest = hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()
    return {"primaryLocationLineHash": f"{digest[:16]}:1", "soc2gate/v1": digest}


def _location(uri: str) -> list[dict[str, Any]]:
    return [
        {
            "physicalLocation": {
                "artifactLocation": {"uri": uri},
                "region": {"startLine": 1},
            }
        }
    ]


def _pascal(check_id: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", check_id) if part)


def _check_rule(result: CheckResult, criteria: Sequence[str], custom: bool) -> dict[str, Any]:
    anchor = "custom-checks" if custom else "what-the-gate-replaces"
    remediation = one_line(result.remediation or "See the check's documentation.", 2000)
    return {
        "id": result.check_id,
        "name": _pascal(result.check_id),
        "shortDescription": {"text": one_line(result.title or result.check_id, _DESCRIPTION)},
        "fullDescription": {"text": one_line(result.title or result.check_id, _DESCRIPTION)},
        "helpUri": f"{DOCS_URL}#{anchor}",
        "help": {"text": remediation, "markdown": f"**How to fix:** {remediation}"},
        "defaultConfiguration": {"level": "error"},
        "properties": {
            "tags": ["soc2", "deployment-gate", *criteria][:20],
            "precision": "very-high",
            "problem.severity": "error",
        },
    }


def _advisory_uri(vulnerability: str) -> str:
    if re.fullmatch(r"CVE-\d{4}-\d{4,}", vulnerability, re.I):
        return f"https://nvd.nist.gov/vuln/detail/{vulnerability.upper()}"
    if re.fullmatch(r"GHSA(-[23456789cfghjmpqrvwx]{4}){3}", vulnerability, re.I):
        return f"https://github.com/advisories/{vulnerability}"
    return ""


def _vulnerability_rule(rule_id: str, findings: Sequence[Finding]) -> dict[str, Any]:
    worst = min(findings, key=Finding.sort_key)
    title = one_line(worst.title or worst.id, _DESCRIPTION)
    fixes = sorted({f"{f.package} {f.fixed_in}" for f in findings if f.package and f.fixed_in})
    help_text = (
        f"Rebuild the image on a base or package version that fixes {worst.id}"
        + (f" ({', '.join(fixes)[:500]})" if fixes else "")
        + ", push it and let the scan finish; or accept it with a waiver or a VEX statement."
    )
    scores = [f.score for f in findings if f.score is not None and 0 < f.score <= 10]
    severity = (
        max(scores) if scores else max(_SECURITY_SEVERITY.get(f.severity, 0.0) for f in findings)
    )
    rule: dict[str, Any] = {
        "id": rule_id,
        "name": worst.id,
        "shortDescription": {"text": f"{worst.id} ({worst.severity_text})"},
        "fullDescription": {"text": title},
        "help": {"text": help_text, "markdown": help_text},
        "defaultConfiguration": {"level": "error"},
        "properties": {
            "tags": ["security", "vulnerability", worst.severity.name.lower()],
            "precision": "very-high",
        },
    }
    if severity > 0:
        rule["properties"]["security-severity"] = f"{severity:.1f}"
    uri = _advisory_uri(worst.id)
    if uri:
        rule["helpUri"] = uri
    return rule


def _repositories(config: GateConfig) -> dict[str, str]:
    """The gated repository of each target ("" for a single-target run)."""
    try:
        return {name: target.repository or "" for name, target in expand_targets(config, False)}
    except Exception:  # the run already validated it; never let a report fail on it
        return {"": config.repository or ""}


def _finding_result(
    finding: Finding, case: CheckResult, repository: str, location: str
) -> dict[str, Any]:
    blocks = finding.blocks
    image = f"{repository}@{finding.digest}" if finding.digest else repository
    version = finding.full_version or finding.version
    fix = f"; fixed in {finding.fixed_in}" if finding.fixed_in else ""
    where = f" [{case.target}]" if case.target else ""
    verdict = (
        "blocks the release" if blocks else f"does not block: {finding.verdict or 'not judged'}"
    )
    text = one_line(
        f"{finding.severity_text} {finding.id} in {finding.package or '?'} {version} of "
        f"{image}{where}: {verdict}{fix}",
        2000,
    )
    properties: dict[str, Any] = {
        "image": image,
        "repository": repository,
        "digest": finding.digest,
        "package": finding.package,
        "version": version,
        "fixedVersion": finding.fixed_in,
        "severity": finding.severity_text,
        "verdict": finding.verdict,
        "blocks": blocks,
        "check": case.check_id,
    }
    if case.target:
        properties["target"] = case.target
    if finding.package_manager:
        properties["packageManager"] = finding.package_manager
    if finding.fix_available:
        properties["fixAvailable"] = finding.fix_available
    if finding.exploit_available:
        properties["exploitAvailable"] = finding.exploit_available
    if finding.score is not None:
        properties["score"] = finding.score
    return {
        "level": "error" if blocks else "warning",
        "message": {"text": text},
        "locations": _location(location),
        "partialFingerprints": fingerprint(
            "finding", case.target, finding.digest, finding.id.upper(), finding.package, version
        ),
        "properties": properties,
    }


def _rank(finding: Finding) -> tuple[int, int, str]:
    """Results are kept in this order when a limit is reached: checks, blocking findings,
    then the others; within each, the highest severity first."""
    severity, key = finding.sort_key()
    return (1 if finding.blocks else 2, severity, key)


def build(
    report: GateReport,
    config: GateConfig,
    location: str,
    *,
    exit_code: int,
    started_at: datetime | None = None,
    finished_at: datetime | None = None,
    properties: Mapping[str, str] | None = None,
    criteria: Mapping[str, Sequence[str]] | None = None,
    custom: frozenset[str] = frozenset(),
    max_results: int = MAX_RESULTS,
    max_rules: int = MAX_RULES,
    max_gzip_bytes: int = MAX_GZIP_BYTES,
) -> dict[str, Any]:
    """The SARIF log of one run; ``exit_code`` is the process's, as every report states."""
    criteria = criteria or {}
    repositories = _repositories(config)
    check_rules: dict[str, dict[str, Any]] = {}
    for result in report.results:
        check_rules.setdefault(
            result.check_id,
            _check_rule(result, criteria.get(result.check_id, ()), result.check_id in custom),
        )
    candidates: list[Candidate] = []
    for case in report.cases:
        if case.status not in (Status.FAIL, Status.ERROR, Status.PENDING) or case.not_evaluated:
            continue
        how = f" How to fix: {case.remediation}" if case.remediation else ""
        status = "FAIL" if case.status is Status.FAIL else "ERROR"
        candidates.append(
            Candidate(
                (0, 0, case.name),
                case.check_id,
                {
                    "level": "error",
                    "message": {
                        "text": one_line(f"{status} {case.name}: {case.reason}{how}", 4000)
                    },
                    "locations": _location(location),
                    "partialFingerprints": fingerprint("check", case.target, case.label),
                    "properties": {
                        "check": case.check_id,
                        "status": case.status.value
                        if case.status is not Status.PENDING
                        else "ERROR",
                        **({"target": case.target} if case.target else {}),
                        **({"subject": case.subject} if case.subject else {}),
                    },
                },
            )
        )
    findings_by_rule: dict[str, list[Finding]] = {}
    for result in report.results:
        repository = repositories.get(result.target, config.repository or "")
        for finding in result.all_findings:
            if not finding.blocks and not config.sarif_all:
                continue
            rule = finding.id if finding.id not in check_rules else f"vulnerability/{finding.id}"
            findings_by_rule.setdefault(rule, []).append(finding)
            body = _finding_result(finding, result, repository, location)
            candidates.append(Candidate(_rank(finding), rule, body))
    candidates.sort(key=lambda c: c.rank)

    total = len(candidates)
    keep = total
    while True:
        log = _log(
            report,
            config,
            candidates[:keep],
            total,
            check_rules,
            findings_by_rule,
            exit_code,
            started_at,
            finished_at,
            properties or {},
            max_rules,
            max_results,
        )
        kept = len(log["runs"][0]["results"])
        size = gzipped_size(log)
        if size <= max_gzip_bytes or kept == 0:
            return log
        # Too large: leave out the lowest-ranked results, in proportion to the excess.
        keep = min(kept - 1, int(kept * max_gzip_bytes / size * 0.95))


def _log(
    report: GateReport,
    config: GateConfig,
    candidates: Sequence[Candidate],
    total: int,
    check_rules: Mapping[str, dict[str, Any]],
    findings_by_rule: Mapping[str, Sequence[Finding]],
    exit_code: int,
    started_at: datetime | None,
    finished_at: datetime | None,
    properties: Mapping[str, str],
    max_rules: int,
    max_results: int,
) -> dict[str, Any]:
    from soc2gate.report.github import result_for

    rules: list[dict[str, Any]] = list(check_rules.values())
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    results: list[dict[str, Any]] = []
    for candidate in candidates:
        if len(results) >= max_results:
            break
        if candidate.rule not in index:
            if len(rules) >= max_rules:
                continue
            index[candidate.rule] = len(rules)
            rules.append(_vulnerability_rule(candidate.rule, findings_by_rule[candidate.rule]))
        results.append(
            {"ruleId": candidate.rule, "ruleIndex": index[candidate.rule], **candidate.result}
        )
    left_out = total - len(results)
    notifications: list[dict[str, Any]] = []
    run_properties: dict[str, Any] = {
        "soc2gate.exit_code": exit_code,
        "result": result_for(exit_code),
        "sarifAll": config.sarif_all,
        **{k: v for k, v in properties.items() if v},
    }
    if left_out:
        why = (
            f"{left_out} of {total} results were left out, the lowest severities first: GitHub "
            f"code scanning accepts at most {max_results} results and {max_rules} rules per run "
            "and 10 MB gzipped. The JUnit report, the step summary and the evidence record "
            "count every finding."
        )
        run_properties["trimmed"] = {"resultsLeftOut": left_out, "resultsTotal": total, "why": why}
        notifications.append({"level": "warning", "message": {"text": why}})
    invocation: dict[str, Any] = {
        # The gate ran to a verdict (pass or fail); 2, 3, 130 and 143 did not.
        "executionSuccessful": exit_code in (0, 1),
        "exitCode": exit_code,
        "exitCodeDescription": result_for(exit_code),
    }
    if started_at is not None:
        invocation["startTimeUtc"] = _utc(started_at)
    if finished_at is not None:
        invocation["endTimeUtc"] = _utc(finished_at)
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "soc2gate",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": PROJECT_URL,
                        "rules": rules,
                    }
                },
                "invocations": [invocation],
                "results": results,
                "properties": run_properties,
            }
        ],
    }


def _utc(when: datetime) -> str:
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def left_out(log: Mapping[str, Any]) -> int:
    """How many results the limits left out of ``log`` (0 when none)."""
    trimmed = log["runs"][0]["properties"].get("trimmed") or {}
    return int(trimmed.get("resultsLeftOut", 0))


def gzipped_size(log: Mapping[str, Any]) -> int:
    """Bytes of the file as written (``dumps``), gzipped: what GitHub's 10 MB limit counts."""
    return len(gzip.compress(dumps(log).encode("utf-8"), 6))


def dumps(log: Mapping[str, Any]) -> str:
    return json.dumps(log, indent=1, ensure_ascii=False) + "\n"


def write(log: Mapping[str, Any], path: str) -> None:
    write_atomically(path, dumps(log))
