"""The audit report's "image signed by" column and its count of unsigned images served."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from soc2gate.report import audit
from soc2gate.report.audit_render import to_csv, to_html, to_markdown

SIGNED = "sha256:" + "ab" * 32
UNSIGNED = "sha256:" + "cd" * 32
SIGNER = "arn:aws:signer:us-east-1:123456789012:/signing-profiles/soc2_release/a1B2c3D4e5"


def _entry(name: str, digests: list[dict[str, Any]] | None) -> audit.Entry:
    checks: list[dict[str, Any]] = [
        {"id": "ecr-scan-findings", "evidence": {"imageDigest": SIGNED}}
    ]
    if digests is not None:
        checks.append({"id": "deployed-image-signed", "evidence": {"digests": digests}})
    document = {"run": {"result": "pass" if digests is None else "fail"}, "checks": checks}
    when = datetime(2026, 12, 1, 10, tzinfo=timezone.utc)
    return audit.Entry(name, document, "unsigned", "msg", when)


def _report() -> audit.AuditReport:
    signed = {"digest": SIGNED, "status": "PASS", "signer": SIGNER, "source": "notation"}
    unsigned = {"digest": UNSIGNED, "status": "FAIL", "signer": "", "source": ""}
    return audit.AuditReport(
        date(2026, 12, 1),
        date(2026, 12, 2),
        "folder",
        [_entry("with-signatures", [signed, unsigned]), _entry("without", None)],
    )


def test_each_deployment_names_who_signed_each_served_digest() -> None:
    report = _report()
    entry = report.entries[0]
    assert entry.image_signers == [f"{SIGNED} {SIGNER} (notation)", f"{UNSIGNED} UNSIGNED"]
    assert entry.unsigned_images == 1
    # A run without the check says nothing (not "unsigned"): it was not asked.
    assert report.entries[1].image_signers == [] and report.entries[1].unsigned_images == 0


def test_every_rendering_carries_the_column_and_the_unsigned_count() -> None:
    report = _report()
    markdown = to_markdown(report)
    assert "| Image signed by |" in markdown
    assert f"abababababab {SIGNER} (notation); cdcdcdcdcdcd UNSIGNED" in markdown
    assert "## Unsigned images served (deployed-image-signed)" in markdown
    assert "1 unsigned digest(s) `with-signatures`" in markdown
    assert "Image signed by" in to_html(report)
    csv = to_csv(report)
    assert csv.splitlines()[0].split(",").count("image_signed_by") == 1
    assert f"{UNSIGNED} UNSIGNED" in csv


def test_an_attested_digest_names_the_repository_and_commit_it_was_built_from() -> None:
    identity = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main"
    attested = {
        "digest": SIGNED,
        "status": "PASS",
        "signer": identity,
        "source": "sigstore",
        "provenance": {
            "sourceRepository": "https://github.com/acme/app",
            "commit": "3f9c2e7a1b4d" + "0" * 28,
        },
    }
    entry = _entry("attested", [attested])
    assert entry.image_signers == [
        f"{SIGNED} {identity} (sigstore; built from https://github.com/acme/app@3f9c2e7a1b4d)"
    ]
    report = audit.AuditReport(date(2026, 12, 1), date(2026, 12, 2), "folder", [entry])
    assert "built from https://github.com/acme/app@3f9c2e7a1b4d" in to_markdown(report)
