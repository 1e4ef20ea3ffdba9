"""ECR image scans as the world scripts them, and their rendering in ECR's answer shapes.

moto's DescribeImageScanFindings answers one canned COMPLETE scan (a fake CVE-9999-9999) for
any image StartImageScan ran on, and its DescribeImages carries no scan fields. So a world
scripts each image's scan (``MotoWorld.set_scan`` stores a ``ScanScript``), and
``soc2gate.demo.moto_patches`` answers from that script with the functions here:
``imageScanStatus``; ``imageScanFindings`` / ``imageScanFindingsSummary`` (counts per severity,
completion and source-update times); and each finding as ECR renders it, a basic scan's
``ImageScanFinding`` (name, uri, severity, attributes) or an enhanced scan's
``EnhancedImageScanFinding`` (Amazon Inspector's shape: package details, CVSS score,
``exploitAvailable``, ``status``). ``finding`` is one vulnerability, written once and rendered
either way.
"""

from __future__ import annotations

import collections
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

SCAN_STATUSES = (
    "IN_PROGRESS",
    "PENDING",
    "COMPLETE",
    "ACTIVE",
    "FAILED",
    "UNSUPPORTED_IMAGE",
    "SCAN_ELIGIBILITY_EXPIRED",
    "FINDINGS_UNAVAILABLE",
    "LIMIT_EXCEEDED",
    "IMAGE_ARCHIVED",
)
#: Statuses whose response carries ``imageScanFindings``.
FINDINGS_STATUSES = ("COMPLETE", "ACTIVE")
# Illustrative status descriptions (only COMPLETE's is ECR's exact wording).
_DEFAULT_DESCRIPTIONS = {
    "COMPLETE": "The scan was completed successfully.",
    "ACTIVE": "Continuous scan is selected for image.",
    "IN_PROGRESS": "Scan in progress.",
    "PENDING": "Scan pending.",
    "FAILED": "UnsupportedImageError: The operating system and/or package manager are not "
    "supported.",
    "UNSUPPORTED_IMAGE": "The operating system and/or package manager are not supported.",
    "SCAN_ELIGIBILITY_EXPIRED": "Image is no longer eligible for continuous scanning.",
    "FINDINGS_UNAVAILABLE": "Findings are not available for this image.",
    "LIMIT_EXCEEDED": "The scan quota for this image has been exceeded.",
    "IMAGE_ARCHIVED": "The image is archived and is not scanned.",
}
_DEFAULT_SCORES = {
    "CRITICAL": 9.1,
    "HIGH": 7.5,
    "MEDIUM": 5.3,
    "LOW": 3.3,
    "INFORMATIONAL": 0.0,
}
_BASIC_SEVERITIES = ("INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL", "UNDEFINED")


def finding(
    id: str,
    severity: str,
    package: str = "openssl",
    version: str = "3.0.2",
    description: str | None = None,
    fix_available: str = "YES",
    *,
    fixed_in: str | None = None,
    score: float | None = None,
    exploit_available: str = "NO",
    status: str = "ACTIVE",
) -> dict[str, Any]:
    """One vulnerability, rendered as a basic or an enhanced finding by ``MotoWorld.set_scan``.

    ``exploit_available`` and ``status`` (ACTIVE, SUPPRESSED by an Inspector suppression rule)
    appear in enhanced findings only, as in ECR."""
    sev = severity.upper()
    return {
        "id": id,
        "severity": sev,
        "package": package,
        "version": version,
        "description": description or f"{id}: vulnerability in {package} {version}.",
        "fix_available": fix_available,
        "fixed_in": fixed_in,
        "score": _DEFAULT_SCORES.get(sev, 0.0) if score is None else score,
        "exploit_available": exploit_available,
        "status": status,
    }


@dataclass
class ScanScript:
    """What DescribeImageScanFindings / DescribeImages report for one image."""

    status: str = "COMPLETE"
    description: str | None = None
    findings: list[dict[str, Any]] = field(default_factory=list)
    enhanced: bool = False
    page_size: int = 100
    not_found: bool = False
    completed_at: datetime | None = None
    source_updated_at: datetime | None = None
    #: False: imageScanFindings is only ``{"findings": []}`` (no counts, no completion time),
    #: what real AWS answers for an enhanced scan before its findings land, and for some clean
    #: images (aws/aws-cli#6759).
    populated: bool = True
    #: Amazon Inspector's coverage reason for the image (ListCoverage), None for no record.
    coverage: str | None = None


def script_scan(
    old: ScanScript | None,
    *,
    status: str,
    description: str | None,
    findings: Sequence[Mapping[str, Any]],
    enhanced: bool,
    page_size: int,
    populated: bool,
    coverage: str | None,
    completed_at: datetime | None,
) -> ScanScript:
    """The script ``MotoWorld.set_scan`` leaves for an image whose previous one was ``old``.

    A scan that stays COMPLETE / ACTIVE keeps its completion time unless ``completed_at`` is
    given; "auto" ``coverage`` is what Inspector reports for an enhanced scan (SUCCESSFUL once it
    has findings, PENDING_INITIAL_SCAN before) and no record for a basic one.
    """
    completed = None
    if status in FINDINGS_STATUSES:
        same = old is not None and old.status == status and old.completed_at is not None
        completed = old.completed_at if same and old is not None else datetime.now(timezone.utc)
        completed = completed_at if completed_at is not None else completed
    return ScanScript(
        status=status,
        description=description,
        findings=[dict(f) for f in findings],
        enhanced=enhanced,
        page_size=page_size,
        completed_at=completed,
        source_updated_at=(completed - timedelta(hours=3)) if completed else None,
        populated=populated,
        coverage=(
            ("SUCCESSFUL" if status in FINDINGS_STATUSES else "PENDING_INITIAL_SCAN")
            if enhanced
            else None
        )
        if coverage == "auto"
        else coverage,
    )


def scan_status(script: ScanScript) -> dict[str, str]:
    """``imageScanStatus``: the scripted status, with ECR's description unless scripted."""
    return {
        "status": script.status,
        "description": script.description or _DEFAULT_DESCRIPTIONS.get(script.status, ""),
    }


def scan_summary(script: ScanScript) -> dict[str, Any] | None:
    """``imageScanFindings`` (without the findings) / ``imageScanFindingsSummary``, or None
    when the status carries none."""
    if script.status not in FINDINGS_STATUSES:
        return None
    if not script.populated:
        return {"findings": []}
    return {
        "imageScanCompletedAt": script.completed_at,
        "vulnerabilitySourceUpdatedAt": script.source_updated_at,
        "findingSeverityCounts": _severity_counts(script),
    }


def _severity_counts(script: ScanScript) -> dict[str, int]:
    counts: collections.Counter[str] = collections.Counter()
    for f in script.findings:
        sev = f["severity"]
        if not script.enhanced and sev not in _BASIC_SEVERITIES:
            sev = "UNDEFINED"
        counts[sev] += 1
    return dict(counts)


def render_basic(f: Mapping[str, Any]) -> dict[str, Any]:
    """A basic scan's ``ImageScanFinding``."""
    sev = f["severity"] if f["severity"] in _BASIC_SEVERITIES else "UNDEFINED"
    attrs = [
        {"key": "package_version", "value": f["version"]},
        {"key": "package_name", "value": f["package"]},
    ]
    if f.get("score"):
        attrs.append({"key": "CVSS3_SCORE", "value": str(f["score"])})
    return {
        "name": f["id"],
        "description": f["description"],
        "uri": f"https://nvd.nist.gov/vuln/detail/{f['id']}",
        "severity": sev,
        "attributes": attrs,
    }


def render_enhanced(
    f: Mapping[str, Any],
    *,
    account_id: str,
    region: str,
    repo: str,
    digest: str,
    tags: list[str],
    pushed_at: datetime,
) -> dict[str, Any]:
    """An enhanced scan's ``EnhancedImageScanFinding`` for image ``repo@digest``."""
    key = hashlib.sha256(f"{repo}{digest}{f['id']}{f['package']}".encode()).hexdigest()
    observed = pushed_at
    package: dict[str, Any] = {
        "name": f["package"],
        "version": f["version"],
        "packageManager": "OS",
        "arch": "X86_64",
    }
    if f.get("fixed_in"):
        package["fixedInVersion"] = f["fixed_in"]
    score = float(f.get("score") or 0.0)
    vector = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"
    text = (
        f"Upgrade {f['package']} to {f['fixed_in']} or later."
        if f.get("fixed_in")
        else "None Provided"
    )
    return {
        "awsAccountId": account_id,
        "description": f["description"],
        "findingArn": f"arn:aws:inspector2:{region}:{account_id}:finding/{key[:32]}",
        "firstObservedAt": observed,
        "lastObservedAt": datetime.now(timezone.utc),
        "updatedAt": datetime.now(timezone.utc),
        "packageVulnerabilityDetails": {
            "vulnerabilityId": f["id"],
            "vulnerablePackages": [package],
            "source": "NVD",
            "sourceUrl": f"https://nvd.nist.gov/vuln/detail/{f['id']}",
            "vendorSeverity": f["severity"],
            "cvss": [
                {"baseScore": score, "scoringVector": vector, "source": "NVD", "version": "3.1"}
            ],
            "referenceUrls": [f"https://www.cve.org/CVERecord?id={f['id']}"],
        },
        "remediation": {"recommendation": {"text": text}},
        "resources": [
            {
                "details": {
                    "awsEcrContainerImage": {
                        "architecture": "amd64",
                        "imageHash": digest,
                        "imageTags": tags,
                        "platform": "UBUNTU_22_04",
                        "pushedAt": pushed_at,
                        "registry": account_id,
                        "repositoryName": repo,
                    }
                },
                "id": f"arn:aws:ecr:{region}:{account_id}:repository/{repo}/{digest}",
                "type": "AWS_ECR_CONTAINER_IMAGE",
            }
        ],
        "score": score,
        "scoreDetails": {
            "cvss": {
                "score": score,
                "scoreSource": "NVD",
                "scoringVector": vector,
                "version": "3.1",
                "adjustments": [],
            }
        },
        "severity": f["severity"],
        "status": f.get("status", "ACTIVE"),
        "title": f"{f['id']} - {f['package']}",
        "type": "PACKAGE_VULNERABILITY",
        "fixAvailable": f.get("fix_available", "YES"),
        "exploitAvailable": f.get("exploit_available", "NO"),
    }
