"""ecr-scan-findings: the gated image's scan is complete and has nothing at or above --fail-on."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from soc2gate import vex as vex_file
from soc2gate import waivers as waiver_file
from soc2gate.aws import error_code
from soc2gate.checks.base import Check, CheckContext
from soc2gate.checks.ecr._ecr import (
    REPOSITORY_CHECK,
    CoverageUnreadable,
    ForeignRegistry,
    ImageRef,
    WrongRegistry,
    describe_tags,
    gated_image_unconfigured,
    gated_repository,
    image_coverage,
    repository_missing,
    scanning_config,
    short_digest,
)
from soc2gate.config import GateConfig
from soc2gate.errors import UnreadableAnswer
from soc2gate.models import BLOCKS, RANKED_SEVERITIES, CheckResult, Finding, Severity, Status
from soc2gate.polling import SCAN_STATUS, Verdict


class Unreadable(UnreadableAnswer):
    """An answer the verdict depends on is missing a field, has a null, or the wrong type."""


@dataclass(frozen=True)
class ScanPage:
    status: str
    description: str
    findings: tuple[Finding, ...]
    #: findingSeverityCounts, or None when AWS sent none (then only the pages count).
    summary_counts: Mapping[str, int] | None
    next_token: str | None
    #: imageScanFindings is an object holding a findings or enhancedFindings list.
    has_findings: bool = True
    #: imageScanCompletedAt as ISO text, "" when AWS did not send it.
    completed_at: str = ""
    #: vulnerabilitySourceUpdatedAt as ISO text, "" when AWS did not send it.
    source_updated_at: str = ""
    #: imageScanCompletedAt in seconds since the epoch, None when AWS did not send it.
    completed: float | None = None
    #: The answer carries enhancedFindings (Amazon Inspector scanning).
    enhanced: bool = False
    #: imageScanFindings is an object at all (absent or null: False).
    has_body: bool = True


def _text(value: Any, where: str, *, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise Unreadable(f"{where} is {'missing' if value is None else type(value).__name__}")
    return value


def _items(value: Any, where: str) -> list[Mapping[str, Any]]:
    """A list of objects, [] when the key is absent; null or another type is unreadable."""
    if not isinstance(value, list) or not all(isinstance(i, Mapping) for i in value):
        raise Unreadable(f"{where} is not a list of objects")
    return value


def _instant(value: Any, where: str) -> float | None:
    """Seconds since the epoch of an AWS timestamp (parsed or wire form); None when absent."""
    if value is None:
        return None
    if hasattr(value, "timestamp"):
        return float(value.timestamp())
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        from botocore.utils import parse_timestamp

        try:
            return float(parse_timestamp(value).timestamp())
        except Exception:
            pass
    raise Unreadable(f"{where} is not a timestamp")


def _age_text(seconds: float) -> str:
    if seconds % 86400 == 0:
        return f"{int(seconds // 86400)}d"
    if seconds % 3600 == 0:
        return f"{int(seconds // 3600)}h"
    return f"{seconds:g}s"


def _iso(instant: float | None) -> str:
    if instant is None:
        return ""
    import datetime as dt

    return dt.datetime.fromtimestamp(instant, dt.timezone.utc).isoformat()


#: What to do about a scan that ended in a failure state: the scan, not the image, is the
#: problem, so the check's "rebuild on patched images" does not apply.
_SCAN_FAILURE_FIX = {
    "UNSUPPORTED_IMAGE": (
        "Basic scanning cannot read this image's operating system or package manager (e.g. a "
        "FROM scratch or distroless image): turn on enhanced scanning (Amazon Inspector) for "
        "the repository, or build on a base image basic scanning supports, then push again."
    ),
    "SCAN_ELIGIBILITY_EXPIRED": (
        "Amazon Inspector stopped rescanning this image (its scan duration ended): push the "
        "image again or lengthen the registry's scan duration, then run the gate again."
    ),
    "LIMIT_EXCEEDED": (
        "ECR allows one basic scan of an image per 24 hours: wait and rescan (aws ecr "
        "start-image-scan), or use enhanced scanning."
    ),
    "IMAGE_ARCHIVED": "Restore the archived image in ECR, let it be scanned, then run the gate.",
    "IMAGE_SIZE_EXCEEDED": (
        "The image is too large for ECR to scan: make it smaller (multi-stage build, a slimmer "
        "base), push it and let the scan finish."
    ),
}
_SCAN_FAILED_FIX = (
    "The scan itself failed (AWS's description above): fix what it names, rescan (aws ecr "
    "start-image-scan) and run the gate again."
)


def scan_failure_remediation(status: str, description: str) -> str:
    """The "How to fix" for a scan that ended ``status`` with AWS's ``description``."""
    if "UnsupportedImage" in description:  # basic scanning says FAILED with this code
        return _SCAN_FAILURE_FIX["UNSUPPORTED_IMAGE"]
    return _SCAN_FAILURE_FIX.get(status, _SCAN_FAILED_FIX)


def parse_basic(item: Mapping[str, Any]) -> Finding:
    attrs = {
        a.get("key"): a.get("value", "")
        for a in item.get("attributes") or []
        if isinstance(a, Mapping)
    }
    severity, raw = _severity(item.get("severity"))
    return Finding(
        id=str(item.get("name") or "?").strip(),
        severity=severity,
        package=str(attrs.get("package_name") or "").strip(),
        version=str(attrs.get("package_version") or "").strip(),
        title=str(item.get("description") or "").strip()[:200],
        raw_severity=raw,
    )


def parse_enhanced(item: Mapping[str, Any]) -> Finding:
    details = item.get("packageVulnerabilityDetails")
    details = details if isinstance(details, Mapping) else {}
    packages = details.get("vulnerablePackages")
    first = packages[0] if isinstance(packages, list) and packages else {}
    first = first if isinstance(first, Mapping) else {}
    severity, raw = _severity(item.get("severity"))
    score = item.get("score")
    version = str(first.get("version") or "").strip()
    # Shown and matched against VEX package purls, never judged: what is not a string is
    # left out (a VEX statement then cannot name this package by version).
    release, epoch, fixed = first.get("release"), first.get("epoch"), first.get("fixedInVersion")
    full = (
        f"{version}-{release.strip()}" if isinstance(release, str) and release.strip() else version
    )
    if isinstance(epoch, int) and not isinstance(epoch, bool) and epoch > 0:
        full = f"{epoch}:{full}"
    manager = first.get("packageManager")
    return Finding(
        id=str(details.get("vulnerabilityId") or item.get("title") or "?").strip(),
        severity=severity,
        package=str(first.get("name") or "").strip(),
        version=version,
        full_version=full if full != version else "",
        package_manager=manager.strip().upper() if isinstance(manager, str) else "?",
        fixed_in=fixed.strip()
        if isinstance(fixed, str) and fixed.strip() not in ("", "NotAvailable")
        else "",
        fix_available=str(item.get("fixAvailable") or ""),
        title=str(item.get("title") or "").strip()[:200],
        raw_severity=raw,
        suppressed=item.get("status") == "SUPPRESSED",
        exploit_available=_exploit(item.get("exploitAvailable")),
        # Shown, never judged: a score that is not a number is simply not shown.
        score=float(score)
        if isinstance(score, (int, float)) and not isinstance(score, bool)
        else None,
    )


#: What an enhanced finding's exploitAvailable may say (ECR's and Inspector's documentation).
EXPLOIT_VALUES = ("YES", "NO")


def _exploit(value: Any) -> str:
    """exploitAvailable as the gate reads it: YES, NO, or what AWS sent instead ("(none)" when
    missing or null). Anything but exactly NO is read as "may have a known exploit" (fail
    closed): a "no" in another spelling is not a value AWS documents."""
    if isinstance(value, str) and value in EXPLOIT_VALUES:
        return value
    return "(none)" if value is None else repr(value)[:40]


def _severity(value: Any) -> tuple[Severity, str]:
    """(severity, what AWS sent when it is not one the gate knows).

    A missing, null or unknown severity is UNKNOWN, which fails whatever the thresholds say:
    treating it as UNDEFINED would let --fail-on-untriaged false pass a finding whose severity
    the gate simply could not read.
    """
    if isinstance(value, str):
        try:
            return Severity.parse(value), ""
        except ValueError:
            return Severity.UNKNOWN, repr(value)
    return Severity.UNKNOWN, "(none)" if value is None else repr(value)


def parse_page(response: Mapping[str, Any]) -> ScanPage:
    """One DescribeImageScanFindings answer as typed values; Unreadable when it cannot be read.

    ``imageScanFindings`` may be absent or null (a scan still running, or FAILED): that is
    ``has_findings=False``, and the check decides what it means for the status. Inside it,
    every list and count the verdict reads must have its type; ``or []`` never stands in.
    """
    status = response.get("imageScanStatus")
    if not isinstance(status, Mapping):
        raise Unreadable("imageScanStatus is missing")
    state = _text(status.get("status"), "imageScanStatus.status")
    body = response.get("imageScanFindings")
    token = response.get("nextToken")
    if token is not None and not isinstance(token, str):
        raise Unreadable("nextToken is not a string")
    if body is None:
        return ScanPage(
            status=state,
            description=str(status.get("description") or "").strip(),
            findings=(),
            summary_counts=None,
            next_token=token or None,
            has_findings=False,
            has_body=False,
        )
    if not isinstance(body, Mapping):
        raise Unreadable(f"imageScanFindings is {type(body).__name__}, not an object")
    findings: list[Finding] = []
    lists = 0
    if "findings" in body:
        findings += [parse_basic(f) for f in _items(body["findings"], "findings")]
        lists += 1
    if "enhancedFindings" in body:
        enhanced = _items(body["enhancedFindings"], "enhancedFindings")
        # CLOSED findings were fixed in a later image or rescan; SUPPRESSED ones still count.
        findings += [parse_enhanced(f) for f in enhanced if f.get("status") != "CLOSED"]
        lists += 1
    counts: dict[str, int] | None = None
    if "findingSeverityCounts" in body:
        raw_counts = body["findingSeverityCounts"]
        if not isinstance(raw_counts, Mapping) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in raw_counts.values()
        ):
            raise Unreadable("findingSeverityCounts is not a map of counts")
        counts = {str(k): int(v) for k, v in raw_counts.items()}
    return ScanPage(
        status=state,
        description=str(status.get("description") or "").strip(),
        findings=tuple(findings),
        summary_counts=counts,
        next_token=token or None,
        has_findings=lists > 0,
        completed_at=_iso(_instant(body.get("imageScanCompletedAt"), "imageScanCompletedAt")),
        source_updated_at=_iso(
            _instant(body.get("vulnerabilitySourceUpdatedAt"), "vulnerabilitySourceUpdatedAt")
        ),
        completed=_instant(body.get("imageScanCompletedAt"), "imageScanCompletedAt"),
        enhanced="enhancedFindings" in body,
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
            raise Unreadable(
                "DescribeImageScanFindings returned the same nextToken twice: the pages cannot "
                "be read to the end"
            )
        seen_tokens.add(page.next_token)
        kwargs["nextToken"] = page.next_token


def count(findings: Iterable[Finding], summary: Mapping[str, int] | None) -> Counter[Severity]:
    """Counts per severity: the larger of what the pages held and what AWS's summary says.

    If the two disagree (findings beyond the pages, or a summary that lags), the stricter wins.
    A count under a severity name the gate does not know is counted as UNKNOWN (it fails).
    """
    counted: Counter[Severity] = Counter(f.severity for f in findings)
    for name, value in (summary or {}).items():
        sev, _ = _severity(name)
        counted[sev] = max(counted[sev], int(value))
    return counted


#: Seconds a scan's completion may seem to precede the image's push (clocks of two services).
PUSH_SKEW = 300.0


def _all_counts(pages: list[ScanPage]) -> dict[str, int] | None:
    """findingSeverityCounts over every page: AWS sends them on each, and the highest count of
    each severity wins (a later page may count what an earlier one did not yet)."""
    merged: dict[str, int] = {}
    seen = False
    for page in pages:
        if page.summary_counts is None:
            continue
        seen = True
        for name, value in page.summary_counts.items():
            merged[name] = max(merged.get(name, 0), value)
    return merged if seen else None


#: Inspector coverage reasons that mean "registered, the scan has not finished yet".
COVERAGE_WAIT_REASONS = frozenset(
    {"PENDING_INITIAL_SCAN", "SCAN_IN_PROGRESS", "PENDING_REVIVAL_SCAN"}
)


class EcrScanFindings(Check):
    id = "ecr-scan-findings"
    title = "Image scan has no findings at or above the threshold"
    asserts = (
        "Every digest the required tags and the gated tag point at has a finished, readable scan "
        "(basic or enhanced, all pages) with no finding at or above --fail-on; UNDEFINED/"
        "UNTRIAGED fail unless --fail-on-untriaged false; a severity the gate cannot read always "
        "fails. Readable means COMPLETE/ACTIVE with a findings list and either "
        "imageScanCompletedAt or Amazon Inspector's coverage record (ACTIVE, SUCCESSFUL, "
        "lastScannedAt) for the digest; until then the check waits. Optionally: a scan "
        "completed longer ago than --max-scan-age fails; a finding at or above "
        "--fail-on-exploitable whose exploitAvailable is not NO fails even below --fail-on; "
        "with --honour-inspector-suppressions findings Amazon Inspector SUPPRESSED do not count."
    )
    remediation = (
        "Rebuild the image on patched base images / package versions that fix the listed "
        "findings, push it, and let the scan finish; or fix the scanning setup if no scan ran."
    )
    soc2 = ("CC7.1", "CC3.2")
    beyond = (
        "Security Hub collects Inspector findings, but no control stops a deployment on the "
        "findings of the digest being deployed"
    )
    # A repository that does not exist is ecr-repository-config's FAIL: counted once, there.
    defers_to = (REPOSITORY_CHECK,)

    def skip_reason(self, config: GateConfig) -> str | None:
        return gated_image_unconfigured(config)

    def run(self, ctx: CheckContext) -> CheckResult:
        result = self._run(ctx)
        moved = tag_moves(ctx, ctx.config.gated_tag(ctx.environ) or "")
        if not moved:
            return result
        # The gated tag named other images earlier in this run: the verdict is about the one it
        # names now (imageDigest), and every report shows how it got there.
        line, history, note = moved
        return replace(
            result,
            reason=f"{note}: {result.reason}",
            details=(line, *result.details),
            evidence={**result.evidence, "gatedTagHistory": history},
        )

    def _run(self, ctx: CheckContext) -> CheckResult:
        config = ctx.config
        repository = config.repository or ""
        tag = config.gated_tag(ctx.environ) or ""
        ecr = ctx.registry_client("ecr")
        # Every digest the gate vouches for: the gated tag's and each required tag's. When the
        # required tags disagree, ecr-image-tags fails; each digest is still judged here.
        tags = tuple(dict.fromkeys((tag, *config.expanded_tags(ctx.environ))))
        try:
            refs = describe_tags(ecr, repository, tags)
        except Exception as exc:
            gone = repository_missing(self, exc, repository)
            if gone is None:
                raise
            return gone
        ref = refs[tag]
        if ref is None:
            return self.failed(
                f"tag {tag!r} not found in {repository}: there is no image to read findings for"
            )
        ctx.saw_tag(repository, tag, ref.digest)
        digests: dict[str, list[str]] = {}
        images: dict[str, ImageRef] = {}
        for name in tags:
            found = refs.get(name)
            if found is not None:
                digests.setdefault(found.digest, []).append(name)
                images.setdefault(found.digest, found)
        outcomes = [
            self._judge_digest(ctx, ecr, repository, digest, names, images[digest])
            for digest, names in digests.items()
        ]
        gated = outcomes[0]  # the gated tag is asked for first
        if len(outcomes) == 1:
            return gated
        evidence = dict(gated.evidence)
        evidence["digests"] = {
            digest: {"tags": names, "status": o.status.value}
            for (digest, names), o in zip(digests.items(), outcomes, strict=True)
        }
        for status in (Status.FAIL, Status.ERROR, Status.PENDING):
            bad = [o for o in outcomes if o.status is status]
            if bad:
                state = bad[0].state
                return replace(
                    bad[0]
                    if len(bad) == 1
                    else self._result(status, "; ".join(o.reason for o in bad), state=state),
                    evidence=evidence,
                    details=tuple(d for o in bad for d in o.details),
                    findings=tuple(f for o in bad for f in o.findings),
                    all_findings=tuple(f for o in outcomes for f in o.all_findings),
                )
        others = ", ".join(short_digest(d) for d in list(digests)[1:])
        return replace(
            gated,
            reason=f"{gated.reason} (also clean: {others}, named by other required tags)",
            evidence=evidence,
            details=tuple(d for o in outcomes for d in o.details),
            all_findings=tuple(f for o in outcomes for f in o.all_findings),
        )

    def _judge_digest(
        self,
        ctx: CheckContext,
        ecr: Any,
        repository: str,
        digest: str,
        tags: list[str],
        ref: ImageRef,
    ) -> CheckResult:
        config = ctx.config
        tag = tags[0]
        evidence: dict[str, Any] = {"tag": tag, "imageDigest": digest}
        where = f"{repository}@{digest} (tag {', '.join(tags)})"
        try:
            pages = fetch_scan(ecr, repository, digest)
        except Unreadable as exc:
            return self.error(
                f"could not read the scan of {where}: {exc}; DescribeImageScanFindings answered "
                "without a field the verdict needs, so the image is not verified",
                evidence=evidence,
            )
        except Exception as exc:
            if error_code(exc) != "ScanNotFoundException":
                raise
            if config.wait_for_scan:
                return self.pending("NO_SCAN", f"no scan yet for {digest}", evidence=evidence)
            return self._no_scan(ctx, ecr, repository, tag, digest, evidence)

        first = pages[0]
        evidence["scanStatus"] = first.status
        verdict = SCAN_STATUS.classify(first.status)
        if verdict is Verdict.WAIT:
            return self.pending(first.status, f"scan {first.status} for {where}", evidence=evidence)
        if verdict is Verdict.FAILURE:
            result = self.failed(
                f"scan of {where} ended {first.status}: {first.description or 'no description'}",
                evidence=evidence,
            )
            return replace(
                result, remediation=scan_failure_remediation(first.status, first.description)
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
        if not all(page.has_body for page in pages):
            return self.error(
                f"scan of {where} is {first.status} but AWS returned no imageScanFindings; "
                "the findings could not be read, so the image is not verified",
                evidence=evidence,
            )
        # The stable-read rule (docs/security/checks.md, "When a scan counts as read"): AWS answers COMPLETE or
        # ACTIVE before enhanced findings land, with the same body a clean image gets. The scan
        # counts only when AWS says when it completed, or Inspector's own coverage record says
        # it scanned this digest.
        # A completion before the image was pushed is not a scan of this push (a few minutes of
        # clock skew between ECR's services are allowed).
        pushed = ref.pushed
        earliest = pushed - PUSH_SKEW if pushed is not None else None
        proof = ""
        scanned: float | None = None
        source = "imageScanCompletedAt"
        if first.completed is not None and (earliest is None or first.completed >= earliest):
            proof = f"imageScanCompletedAt {first.completed_at}"
            scanned = first.completed
        if not proof and first.status == "COMPLETE" and not first.enhanced:
            # A basic scan: Amazon Inspector knows nothing of it, so there is nobody else to
            # ask. Without a completion time after the push it is not a scan of this push.
            if first.completed is None:
                why = "AWS reports the basic scan COMPLETE but gives no imageScanCompletedAt"
            else:
                why = (
                    f"the basic scan completed {first.completed_at}, before the image was "
                    f"pushed ({ref.pushed_at}): it is not a scan of this push"
                )
            return self.pending(
                "NOT_SCANNED",
                f"{why}; waiting for a scan of {where} (rescan with aws ecr start-image-scan "
                "if scan on push is off)",
                evidence=evidence,
            )
        if not proof:
            waiting = self._coverage(ctx, repository, digest, where, evidence, earliest)
            if isinstance(waiting, CheckResult):
                return waiting
            proof, scanned = waiting
            source = "Amazon Inspector lastScannedAt"
        if not all(page.has_findings for page in pages):
            # "COMPLETE" with no findings list is not "no findings": it could not be read.
            return self.error(
                f"scan of {where} is {first.status} but AWS returned no findings list "
                "(imageScanFindings without findings/enhancedFindings); the findings could not "
                "be read, so the image is not verified",
                evidence=evidence,
            )
        evidence["scanCompletedAt"] = first.completed_at or None
        evidence["vulnerabilitySourceUpdatedAt"] = first.source_updated_at or None
        evidence["scannedAt"] = _iso(scanned)
        evidence["scannedAtSource"] = source
        evidence["scanReadBecause"] = proof
        stale = ""
        if config.max_scan_age:
            evidence["maxScanAgeSeconds"] = config.max_scan_age
            # Wall-clock time: the scan's age is measured against AWS's timestamps.
            if scanned is None or time.time() - scanned > config.max_scan_age:
                stale = (
                    f"the scan of {where} completed {_iso(scanned) or 'at an unknown time'}, "
                    "longer ago than "
                    f"--max-scan-age {_age_text(config.max_scan_age)}: stale, findings "
                    "published since then are not in it; rescan the image"
                )
        findings = tuple(f for page in pages for f in page.findings)
        applied = waiver_file.apply(findings, ctx.waivers, repository, ctx.today)
        # VEX statements apply to this digest only: the product must name the image judged.
        vexed = vex_file.apply(
            findings, ctx.vex, vex_file.Image(repository, digest), ctx.now, config.vex_max_age
        )
        return evaluate(
            findings,
            _all_counts(pages),
            config,
            self,
            where,
            evidence,
            len(pages),
            applied,
            stale,
            vexed,
        )

    def _coverage(
        self,
        ctx: CheckContext,
        repository: str,
        digest: str,
        where: str,
        evidence: dict[str, Any],
        earliest: float | None = None,
    ) -> CheckResult | tuple[str, float]:
        """Inspector's coverage record decides whether an enhanced scan has really run.

        Returns the proof (text for the evidence) and the time of the scan, or the PENDING /
        FAIL / ERROR result.
        """
        repo = gated_repository(ctx)
        if repo is None or not repo.arn:
            return self.error(f"cannot name the image to Amazon Inspector: {repository} has no ARN")
        try:
            coverage = image_coverage(ctx.registry_client("inspector2"), repo.arn, digest)
        except CoverageUnreadable as exc:
            return self.error(f"could not read Amazon Inspector's coverage of {where}: {exc}")
        no_time = (
            f"AWS reports the scan {evidence.get('scanStatus')} but gives no imageScanCompletedAt"
        )
        if coverage is None:
            config = ctx.config
            foreign = ""
            if config.registry_id and not config.registry_role_arn:
                foreign = (
                    f" (the repository is in account {config.registry_id}: Inspector shows its "
                    "coverage only to that account and to the organization's Inspector "
                    "delegated administrator; pass --registry-role-arn with a role in "
                    f"{config.registry_id} that may call inspector2:ListCoverage)"
                )
            return self.pending(
                "NOT_COVERED",
                f"{no_time}, and Amazon Inspector has no coverage record for {where} yet: the "
                f"findings may not have landed{foreign}",
                evidence=evidence,
            )
        evidence["inspectorCoverage"] = {
            "statusCode": coverage.status_code,
            "reason": coverage.reason,
            "lastScannedAt": coverage.last_scanned_at or None,
        }
        label = f"Amazon Inspector coverage {coverage.status_code}/{coverage.reason}"
        if coverage.status_code == "ACTIVE" and coverage.reason == "SUCCESSFUL":
            scanned = coverage.last_scanned
            if scanned is not None and (earliest is None or scanned >= earliest):
                return f"{label}, lastScannedAt {coverage.last_scanned_at}", scanned
            if scanned is not None:
                return self.pending(
                    "NOT_SCANNED",
                    f"{no_time}; {label} but its lastScannedAt {coverage.last_scanned_at} is "
                    f"before the image was pushed: not a scan of {where} yet",
                    evidence=evidence,
                )
            return self.pending(
                "NOT_SCANNED",
                f"{no_time}; {label} but no lastScannedAt yet for {where}",
                evidence=evidence,
            )
        if coverage.status_code == "ACTIVE" and coverage.reason in COVERAGE_WAIT_REASONS:
            return self.pending(
                coverage.reason, f"{no_time}; {label} for {where}", evidence=evidence
            )
        if coverage.status_code == "INACTIVE":
            return self.failed(
                f"Amazon Inspector does not scan {where}: {label} (the image is not covered, so "
                "its findings cannot be trusted)",
                evidence=evidence,
            )
        return self.error(
            f"{no_time}, and {label} is a state this gate does not know for {where}",
            evidence=evidence,
        )

    def _no_scan(
        self,
        ctx: CheckContext,
        ecr: Any,
        repository: str,
        tag: str,
        digest: str,
        evidence: dict[str, Any],
    ) -> CheckResult:
        try:
            repo = gated_repository(ctx)  # read once per run, shared with the other checks
        except WrongRegistry:
            repo = None
        why = "the repository could not be read"
        if repo is not None:
            try:
                on, why = scanning_config(ecr, repo).effective(repository)
            except ForeignRegistry:
                on, why = False, "the registry's scanning settings cannot be read from here"
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


def tag_moves(ctx: CheckContext, tag: str) -> tuple[str, list[dict[str, Any]], str] | None:
    """(a detail line, the history, a note for the reason) when ``tag`` named more than one
    image during this run."""
    seen = ctx.tag_history(ctx.config.repository or "", tag)
    if len(seen) < 2:
        return None
    path = " -> ".join(f"{short_digest(d)} (seen at +{at:.0f}s)" for at, d in seen)
    line = (
        f"tag {tag} moved during this run: {path}; the gate judged the image it named last "
        f"({seen[-1][1]}), and every check about the gated image judges that digest"
    )
    note = (
        f"tag moved during the run ({short_digest(seen[0][1])} -> {short_digest(seen[-1][1])}, "
        "judged the last)"
    )
    return line, [{"digest": d, "seenAfterSeconds": round(at, 3)} for at, d in seen], note


def evaluate(
    findings: tuple[Finding, ...],
    summary: Mapping[str, int] | None,
    config: GateConfig,
    check: Check,
    where: str,
    evidence: dict[str, Any],
    pages: int = 1,
    applied: waiver_file.Applied | None = None,
    stale: str = "",
    vexed: vex_file.Applied | None = None,
) -> CheckResult:
    """Pure decision: counts across all pages against --fail-on, the untriaged rule, waivers,
    VEX statements (``vexed``), --fail-on-exploitable, --honour-inspector-suppressions, and
    ``stale`` (the --max-scan-age problem, "" when the scan is fresh enough)."""
    applied = applied or waiver_file.Applied((), (), ())
    vexed = vexed or vex_file.Applied()
    # By identity, as Applied.is_waived does, in one lookup each (a scan may hold thousands).
    waived_by = {id(f): w for f, w in applied.waived}
    vex_by = {id(f): s for f, s in vexed.covered}
    exploit_floor = config.fail_on_exploitable
    counts = count(findings, summary)
    seen: Counter[Severity] = Counter(f.severity for f in findings)
    ordered = [s for s in RANKED_SEVERITIES if counts[s]] + [
        s for s in (Severity.UNDEFINED, Severity.UNTRIAGED, Severity.UNKNOWN) if counts[s]
    ]
    counts_text = ", ".join(f"{s.name} {counts[s]}" for s in ordered) or "no findings"

    def failing_severity(sev: Severity) -> bool:
        if sev is Severity.UNKNOWN:
            return True  # could not read it: fail closed, whatever the thresholds
        return sev >= config.fail_on if sev.ranked else config.fail_on_untriaged

    def exploit_severity(sev: Severity) -> bool:
        return exploit_floor is not None and sev.ranked and sev >= exploit_floor

    def exploitable(f: Finding) -> bool:
        """--fail-on-exploitable: at or above its severity, and exploitAvailable is not NO.
        Basic findings carry no exploit information and a missing or unknown value could be
        YES: both count as exploitable (fail closed)."""
        return exploit_severity(f.severity) and f.exploit_available != "NO"

    def honoured(f: Finding) -> bool:
        return config.honour_inspector_suppressions and f.suppressed

    def accepted(f: Finding) -> bool:
        """A waiver or a VEX statement (not_affected, fixed) stops it from blocking."""
        return id(f) in waived_by or id(f) in vex_by

    def failing(f: Finding) -> bool:
        if accepted(f) or honoured(f):
            return False
        if exploitable(f):
            return True  # a known exploit fails whether or not a fix exists
        if not failing_severity(f.severity):
            return False
        # --fail-only-fixable: enhanced findings without a fix don't fail; basic findings carry
        # no fix information and always count (fail closed).
        return not (config.fail_only_fixable and f.fix_available == "NO")

    def why_not(f: Finding) -> str:
        """The finding's verdict: "blocks", or why it does not (a waiver and a VEX statement
        that both apply are both named)."""
        if accepted(f):
            statement = vex_by.get(id(f))
            return "; ".join(
                [
                    *(["waived"] if id(f) in waived_by else []),
                    *([statement.reason] if statement else []),
                ]
            )
        if honoured(f):
            return "SUPPRESSED in Amazon Inspector (--honour-inspector-suppressions)"
        if failing(f):
            return BLOCKS
        if not failing_severity(f.severity):
            if not f.severity.ranked:
                return "unrated (--fail-on-untriaged false)"
            if exploit_floor is not None and f.exploit_available == "NO":
                return f"below {config.fail_on.name}, no known exploit"
            return f"below {config.fail_on.name}"
        return "no fix available (--fail-only-fixable)"

    bad = [f for f in findings if failing(f)]
    # Findings AWS counted but the pages did not hold can be neither waived nor judged: they fail.
    # Their exploitability is unknown too: at or above --fail-on-exploitable they fail as well.
    unseen = sum(
        max(0, counts[s] - seen[s]) for s in counts if failing_severity(s) or exploit_severity(s)
    )
    bad_count = len(bad) + unseen
    digest = str(evidence.get("imageDigest") or "")
    judged = tuple(
        replace(f, verdict=why_not(f), digest=digest)
        for f in sorted(findings, key=Finding.sort_key)
    )
    worst = list(judged[: config.max_findings_shown])
    details = [f"counts ({pages} page(s)): {counts_text}"]
    if evidence.get("scanReadBecause"):
        details.append(f"scan read on: {evidence['scanReadBecause']}; {scan_times(evidence)}")
    details += [
        f"{f.severity_text} {f.id} in {f.package or '?'} {f.version}".rstrip()
        + finding_notes(f)
        + (" [WAIVED]" if id(f) in waived_by else "")
        + (f" [{vex_by[id(f)].reason}]" if id(f) in vex_by else "")
        + (" [SUPPRESSED in Amazon Inspector]" if f.suppressed else "")
        for f in worst
    ]
    if unseen:
        details.append(f"{unseen} finding(s) counted by AWS were not in the pages: they fail")
    details += [
        f"WAIVED {f.severity.name} {f.id} in {f.package or '?'} by {w.label}: {w.reason}"
        for f, w in applied.waived
    ]
    details += [
        f"VEX {f.severity.name} {f.id} in {f.package or '?'}: {s.reason} ({s.label})"
        for f, s in vexed.covered[:VEX_LINES]
    ]
    if len(vexed.covered) > VEX_LINES:
        details.append(
            f"... and {len(vexed.covered) - VEX_LINES} more findings VEX stops from blocking "
            "(the evidence record lists them all)"
        )
    details += [
        f"warning: {f.severity.name} {f.id} in {f.package or '?'} counts again: {why}"
        for f, _s, why in vexed.refused[:VEX_LINES]
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
        # Which findings Amazon Inspector suppressed, and whether they counted here.
        "suppressedInInspector": [
            {
                "id": f.id,
                "package": f.package,
                "severity": f.severity.name,
                "counted": not honoured(f),
            }
            for f in findings
            if f.suppressed
        ],
        # Findings a VEX statement stopped from blocking, and those whose statement no longer
        # applies (--vex-max-age); the documents themselves are in the record's vex_documents.
        **(
            {
                "vex": [s.record(f) for f, s in vexed.covered],
                "vexNoLongerApplies": [{**s.record(f), "why": why} for f, s, why in vexed.refused],
            }
            if vexed.covered or vexed.refused
            else {}
        ),
        "knownExploits": [
            {"id": f.id, "package": f.package, "severity": f.severity.name}
            for f in findings
            if f.exploit_available == "YES"
        ],
    }
    problems: list[str] = []
    if bad_count:
        top = sorted(bad, key=Finding.sort_key)[:3]
        shown = "; ".join(
            f"{f.id} {f.severity_text} in {f.package or '?'}{short_notes(f)}" for f in top
        )
        rule = f"at or above {config.fail_on.name}"
        if exploit_floor is not None and any(
            exploitable(f) and not failing_severity(f.severity) for f in bad
        ):
            rule += (
                f" or with a known (or unreported) exploit at or above {exploit_floor.name} "
                "(--fail-on-exploitable)"
            )
        if config.fail_on_untriaged and any(
            f.severity in (Severity.UNDEFINED, Severity.UNTRIAGED) for f in bad
        ):
            rule += " or unrated (UNDEFINED/UNTRIAGED)"
        if counts[Severity.UNKNOWN]:
            rule += " or of a severity the gate cannot read (always fails)"
        problems.append(
            f"{bad_count} finding(s) {rule} in {where}: {counts_text}"
            + (f". Worst: {shown}" if shown else "")
        )
        suppressed = [f for f in bad if f.suppressed]
        if suppressed:
            ids = ", ".join(dict.fromkeys(f.id for f in suppressed[:5]))
            problems.append(
                f"{len(suppressed)} of them ({ids}) SUPPRESSED in Amazon Inspector: an Inspector "
                "suppression rule does not waive a finding here; to accept one, add it to the "
                "waivers file (.soc2gate-waivers.yml or --waivers) with id, reason and expires, "
                "or let Inspector decide with --honour-inspector-suppressions true"
            )
    bad_ids = {id(f) for f in bad}
    refused = [(f, why) for f, _s, why in vexed.refused if id(f) in bad_ids]
    if refused:
        problems.append(
            f"the VEX statement for {len(refused)} of them no longer applies: {refused[0][1]}; "
            "issue a new statement or fix the finding"
        )
    for w in applied.expired:
        problems.append(f"{w.label} has expired: renew it with a new reason or fix the finding")
    if stale:
        problems.append(stale)
    waived_note = f" ({len(applied.waived)} waived)" if applied.waived else ""
    by_status = Counter(s.status for _f, s in vexed.covered)
    if by_status:
        waived_note += f" ({', '.join(f'{n} VEX {st}' for st, n in sorted(by_status.items()))})"
    honoured_count = sum(1 for f in findings if honoured(f))
    if honoured_count:
        waived_note += f" ({honoured_count} SUPPRESSED in Inspector, not counted)"
    if problems:
        result = check.failed(
            "; ".join(problems) + waived_note,
            details=details,
            evidence=evidence,
            findings=worst,
        )
        result = replace(result, all_findings=judged)
        if stale:
            only_stale = len(problems) == 1
            fix = RESCAN_FIX if only_stale else f"{result.remediation} {RESCAN_FIX}"
            result = replace(result, remediation=fix)
        return result
    read = str(evidence.get("scanReadBecause") or "")
    # Say so when only Inspector's record proves the scan ran: ECR itself gave no completion.
    how = f" ({read})" if read.startswith("Amazon Inspector") else ""
    passed = check.passed(
        f"scan complete{how}, nothing at or above {config.fail_on.name}{waived_note}: "
        f"{counts_text}",
        details=details,
        evidence=evidence,
        findings=worst,
    )
    return replace(passed, all_findings=judged)


#: Findings VEX stopped from blocking that the details list one by one (the evidence has all).
VEX_LINES = 50

#: What to do about a scan older than --max-scan-age.
RESCAN_FIX = (
    "The scan is older than --max-scan-age: findings published since then are not in it. "
    "Basic scanning: rescan with aws ecr start-image-scan --repository-name <repository> "
    "--image-id imageDigest=<digest> (once per image per 24 hours). Enhanced scanning: make the "
    "registry rule CONTINUOUS_SCAN so Amazon Inspector rescans when its database changes, and "
    "push the image again if its scan duration ended. Then run the gate again."
)


def scan_times(evidence: Mapping[str, Any]) -> str:
    """When the scan ran and how fresh its vulnerability database was, for every verdict."""
    completed = evidence.get("scannedAt") or evidence.get("scanCompletedAt") or "not reported"
    source = evidence.get("scannedAtSource") or "imageScanCompletedAt"
    updated = evidence.get("vulnerabilitySourceUpdatedAt") or "not reported by AWS"
    return f"scan completed {completed} ({source}); vulnerability database updated {updated}"


def finding_notes(f: Finding) -> str:
    """Fix and exploit availability and the score, as the details list a finding."""
    notes = []
    if f.fix_available:
        notes.append(f"fix available: {f.fix_available}")
    if f.exploit_available and f.exploit_available != "(none)":
        notes.append(f"known exploit: {f.exploit_available}")
    if f.score is not None:
        notes.append(f"score {f.score:g}")
    return f" ({', '.join(notes)})" if notes else ""


def short_notes(f: Finding) -> str:
    """A known exploit, for the one-line reason (the details carry the rest)."""
    return " (known exploit)" if f.exploit_available == "YES" else ""
