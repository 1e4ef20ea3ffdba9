"""ecr-scan-findings: the gated image's scan is complete and has nothing at or above --fail-on."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from soc2gate import waivers as waiver_file
from soc2gate.aws import error_code
from soc2gate.checks._ecr import (
    describe_repository,
    describe_tags,
    gated_image_unconfigured,
    scanning_config,
)
from soc2gate.checks.base import Check, CheckContext
from soc2gate.config import GateConfig
from soc2gate.models import RANKED_SEVERITIES, CheckResult, Finding, Severity
from soc2gate.polling import SCAN_STATUS, Verdict


@dataclass(frozen=True)
class ScanPage:
    status: str
    description: str
    findings: tuple[Finding, ...]
    summary_counts: Mapping[str, int]
    next_token: str | None
    #: False when AWS sent no imageScanFindings at all: a finished scan with nothing to read.
    has_findings: bool = True


def parse_basic(item: Mapping[str, Any]) -> Finding:
    attrs = {a.get("key"): a.get("value", "") for a in item.get("attributes") or []}
    return Finding(
        id=str(item.get("name", "?")),
        severity=_severity(item.get("severity")),
        package=str(attrs.get("package_name", "")),
        version=str(attrs.get("package_version", "")),
        title=str(item.get("description", ""))[:200],
    )


def parse_enhanced(item: Mapping[str, Any]) -> Finding:
    details = item.get("packageVulnerabilityDetails") or {}
    packages = details.get("vulnerablePackages") or [{}]
    return Finding(
        id=str(details.get("vulnerabilityId") or item.get("title") or "?"),
        severity=_severity(item.get("severity")),
        package=str(packages[0].get("name", "")),
        version=str(packages[0].get("version", "")),
        fix_available=str(item.get("fixAvailable", "")),
        title=str(item.get("title", ""))[:200],
    )


def _severity(value: Any) -> Severity:
    # A severity this code does not know is treated as unrated, which fails by default.
    try:
        return Severity.parse(str(value))
    except ValueError:
        return Severity.UNDEFINED


def parse_page(response: Mapping[str, Any]) -> ScanPage:
    status = response.get("imageScanStatus") or {}
    body = response.get("imageScanFindings") or {}
    enhanced = [
        parse_enhanced(f) for f in body.get("enhancedFindings") or [] if f.get("status") != "CLOSED"
    ]
    return ScanPage(
        status=str(status.get("status", "")),
        description=str(status.get("description", "")),
        findings=tuple(parse_basic(f) for f in body.get("findings") or []) + tuple(enhanced),
        summary_counts=dict(body.get("findingSeverityCounts") or {}),
        next_token=response.get("nextToken"),
        has_findings="imageScanFindings" in response,
    )


def fetch_scan(ecr: Any, repository: str, digest: str) -> list[ScanPage]:
    """Every page of findings for one digest; stops after the first page if not finished."""
    pages: list[ScanPage] = []
    kwargs: dict[str, Any] = {
        "repositoryName": repository,
        "imageId": {"imageDigest": digest},
        "maxResults": 1000,
    }
    seen_tokens: set[str] = set()
    while True:
        page = parse_page(ecr.describe_image_scan_findings(**kwargs))
        pages.append(page)
        if SCAN_STATUS.classify(page.status) is not Verdict.SUCCESS or not page.next_token:
            return pages
        if page.next_token in seen_tokens:
            raise RuntimeError("DescribeImageScanFindings returned the same nextToken twice")
        seen_tokens.add(page.next_token)
        kwargs["nextToken"] = page.next_token


def count(findings: Iterable[Finding], summary: Mapping[str, int]) -> Counter[Severity]:
    """Counts per severity: the larger of what the pages held and what AWS's summary says.

    If the two disagree (findings beyond the pages, or a summary that lags), the stricter wins.
    """
    counted: Counter[Severity] = Counter(f.severity for f in findings)
    for name, value in summary.items():
        sev = _severity(name)
        counted[sev] = max(counted[sev], int(value))
    return counted


class EcrScanFindings(Check):
    id = "ecr-scan-findings"
    title = "Image scan has no findings at or above the threshold"
    asserts = (
        "The gated tag's digest has a finished scan (basic or enhanced, all pages) with no "
        "finding at or above --fail-on; UNDEFINED/UNTRIAGED fail unless --fail-on-untriaged false."
    )
    remediation = (
        "Rebuild the image on patched base images / package versions that fix the listed "
        "findings, push it, and let the scan finish; or fix the scanning setup if no scan ran."
    )
    soc2 = ("CC7.1", "CC3.2")

    def skip_reason(self, config: GateConfig) -> str | None:
        return gated_image_unconfigured(config)

    def run(self, ctx: CheckContext) -> CheckResult:
        config = ctx.config
        repository = config.repository or ""
        tag = config.gated_tag(ctx.environ) or ""
        ecr = ctx.clients("ecr")
        ref = describe_tags(ecr, repository, (tag,))[tag]
        if ref is None:
            return self.failed(
                f"tag {tag!r} not found in {repository}: there is no image to read findings for"
            )
        evidence: dict[str, Any] = {"tag": tag, "imageDigest": ref.digest}
        try:
            pages = fetch_scan(ecr, repository, ref.digest)
        except Exception as exc:
            if error_code(exc) != "ScanNotFoundException":
                raise
            if config.wait_for_scan:
                return self.pending("NO_SCAN", f"no scan yet for {ref.digest}", evidence=evidence)
            return self._no_scan(ecr, repository, tag, ref.digest, evidence)

        first = pages[0]
        evidence["scanStatus"] = first.status
        verdict = SCAN_STATUS.classify(first.status)
        where = f"{repository}@{ref.digest} (tag {tag})"
        if verdict is Verdict.WAIT:
            return self.pending(first.status, f"scan {first.status} for {where}", evidence=evidence)
        if verdict is Verdict.FAILURE:
            return self.failed(
                f"scan of {where} ended {first.status}: {first.description or 'no description'}",
                evidence=evidence,
            )
        if verdict is Verdict.UNKNOWN:
            return self.error(
                f"unknown scan status {first.status!r} for {where} (known: {SCAN_STATUS.known()})",
                evidence=evidence,
            )
        changed = [p.status for p in pages[1:] if p.status != first.status]
        if changed:
            # The scan moved on (e.g. a rescan started) while its pages were read: read again.
            return self.pending(
                changed[0], f"scan of {where} went {first.status} -> {changed[0]} while paging"
            )
        if not all(page.has_findings for page in pages):
            # "COMPLETE" with no findings section is not "no findings": it could not be read.
            return self.error(
                f"scan of {where} is {first.status} but AWS returned no imageScanFindings; "
                "the findings could not be read, so the image is not verified",
                evidence=evidence,
            )
        findings = tuple(f for page in pages for f in page.findings)
        applied = waiver_file.apply(findings, ctx.waivers, repository, ctx.today)
        return evaluate(
            findings, first.summary_counts, config, self, where, evidence, len(pages), applied
        )

    def _no_scan(
        self, ecr: Any, repository: str, tag: str, digest: str, evidence: dict[str, Any]
    ) -> CheckResult:
        repo = describe_repository(ecr, repository)
        why = "the repository could not be read"
        if repo is not None:
            on, why = scanning_config(ecr, repo).effective(repository)
            if on:
                why += "; scanning is on, so the scan was not started for this push or has expired"
        return self.failed(
            f"no scan exists for {repository}@{digest} (tag {tag}): {why}",
            details=[
                "Enable scanning for the repository (registry rule or scanOnPush) and push again, "
                "or run: aws ecr start-image-scan --repository-name "
                f"{repository} --image-id imageDigest={digest}",
                "Pass --wait-for-scan true to wait for a scan instead of failing at once.",
            ],
            evidence=evidence,
        )


def evaluate(
    findings: tuple[Finding, ...],
    summary: Mapping[str, int],
    config: GateConfig,
    check: Check,
    where: str,
    evidence: dict[str, Any],
    pages: int = 1,
    applied: waiver_file.Applied | None = None,
) -> CheckResult:
    """Pure decision: counts across all pages against --fail-on, the untriaged rule, waivers."""
    applied = applied or waiver_file.Applied((), (), ())
    counts = count(findings, summary)
    seen: Counter[Severity] = Counter(f.severity for f in findings)
    ordered = [s for s in RANKED_SEVERITIES if counts[s]] + [
        s for s in (Severity.UNDEFINED, Severity.UNTRIAGED) if counts[s]
    ]
    counts_text = ", ".join(f"{s.name} {counts[s]}" for s in ordered) or "no findings"

    def failing_severity(sev: Severity) -> bool:
        return sev >= config.fail_on if sev.ranked else config.fail_on_untriaged

    def failing(f: Finding) -> bool:
        if not failing_severity(f.severity) or applied.is_waived(f):
            return False
        # --fail-only-fixable: enhanced findings without a fix don't fail; basic findings carry
        # no fix information and always count (fail closed).
        return not (config.fail_only_fixable and f.fix_available == "NO")

    bad = [f for f in findings if failing(f)]
    # Findings AWS counted but the pages did not hold can be neither waived nor judged: they fail.
    unseen = sum(max(0, counts[s] - seen[s]) for s in counts if failing_severity(s))
    bad_count = len(bad) + unseen
    worst = sorted(findings, key=Finding.sort_key)[: config.max_findings_shown]
    details = [f"counts ({pages} page(s)): {counts_text}"] + [
        f"{f.severity.name} {f.id} in {f.package or '?'} {f.version}".rstrip()
        + (f" (fix available: {f.fix_available})" if f.fix_available else "")
        + (" [WAIVED]" if applied.is_waived(f) else "")
        for f in worst
    ]
    if unseen:
        details.append(f"{unseen} finding(s) counted by AWS were not in the pages: they fail")
    details += [
        f"WAIVED {f.severity.name} {f.id} in {f.package or '?'} by {w.label}: {w.reason}"
        for f, w in applied.waived
    ]
    details += [f"warning: {w.label} matches no finding of this image" for w in applied.unused]
    evidence = {
        **evidence,
        "findingSeverityCounts": {s.name: counts[s] for s in ordered},
        "waived": [
            {
                "id": f.id,
                "package": f.package,
                "severity": f.severity.name,
                "reason": w.reason,
                "expires": w.expires.isoformat(),
            }
            for f, w in applied.waived
        ],
    }
    problems: list[str] = []
    if bad_count:
        top = sorted(bad, key=Finding.sort_key)[:3]
        shown = "; ".join(f"{f.id} {f.severity.name} in {f.package or '?'}" for f in top)
        rule = f"at or above {config.fail_on.name}"
        if config.fail_on_untriaged and any(not f.severity.ranked for f in bad):
            rule += " or unrated (UNDEFINED/UNTRIAGED)"
        problems.append(
            f"{bad_count} finding(s) {rule} in {where}: {counts_text}"
            + (f". Worst: {shown}" if shown else "")
        )
    for w in applied.expired:
        problems.append(f"{w.label} has expired: renew it with a new reason or fix the finding")
    waived_note = f" ({len(applied.waived)} waived)" if applied.waived else ""
    if problems:
        return check.failed(
            "; ".join(problems) + waived_note,
            details=details,
            evidence=evidence,
            findings=worst,
        )
    return check.passed(
        f"scan complete, nothing at or above {config.fail_on.name}{waived_note}: {counts_text}",
        details=details,
        evidence=evidence,
        findings=worst,
    )
