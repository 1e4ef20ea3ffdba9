"""Signing, verifying, storing and reporting evidence (issue 13), in-process with moto KMS."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from soc2gate.config import GateConfig, build_config
from soc2gate.errors import ConfigError
from soc2gate.report import audit, audit_render, evidence, signing
from soc2gate.report.evidence_store import object_prefix, split_s3_url

RECORD: dict[str, Any] = {
    "format": evidence.FORMAT,
    "tool": {"name": "soc2gate", "version": "0"},
    "run": {"result": "fail", "exit_code": 1, "commit_sha": "abc", "ci": {}},
    "config": {"repository": "repo", "endpoint": "ep"},
    "checks": [
        {
            "id": "ecr-scan-findings",
            "status": "FAIL",
            "soc2_criteria": ["CC7.1", "CC3.2"],
            "evidence": {"imageDigest": "sha256:" + "a" * 64},
        }
    ],
    "timing": {
        "started_at": "2026-03-02T10:00:00+00:00",
        "finished_at": "2026-03-02T10:01:00+00:00",
    },
}


@pytest.fixture
def kms() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("kms", region_name="us-east-1")


def signed(kms: Any, spec: str = "ECC_NIST_P256") -> tuple[dict[str, Any], bytes]:
    arn = kms.create_key(KeySpec=spec, KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
    key = signing.describe_key(kms, arn)
    document = dict(RECORD)
    document["sha256"] = evidence.digest(document)
    return signing.sign(document, kms, key), key.public_key_der


@pytest.mark.parametrize(
    ("spec", "algorithm"),
    [("ECC_NIST_P256", "ECDSA_SHA_256"), ("RSA_2048", "RSASSA_PSS_SHA_256")],
)
def test_sign_then_verify_offline_and_with_kms(kms: Any, spec: str, algorithm: str) -> None:
    record, der = signed(kms, spec)
    assert record["signature"]["algorithm"] == algorithm
    assert evidence.check(record, "r")[0]  # the checksum covers the signature block
    key = signing.load_public_key(der)
    ok = signing.verify_document(record, "r", public_key=key, require_signature=True)
    assert (ok.code, ok.status) == (0, "verified"), ok.message
    online = signing.verify_document(record, "r", kms=kms)
    assert (online.code, online.status) == (0, "verified"), online.message


def test_a_forgery_with_everything_recomputed_but_the_signature_fails(kms: Any) -> None:
    record, der = signed(kms)
    forged = json.loads(json.dumps(record))
    forged["run"]["result"] = "pass"
    forged["checks"][0]["status"] = "PASS"
    forged["signature"]["signed_digest"] = evidence.signed_digest(forged)
    forged["sha256"] = evidence.digest(forged)
    bad = signing.verify_document(forged, "r", public_key=signing.load_public_key(der))
    assert (bad.code, bad.status) == (1, "bad-signature")
    assert signing.verify_document(forged, "r", kms=kms).status == "bad-signature"
    flipped = json.loads(json.dumps(record))
    raw = bytearray(base64.b64decode(flipped["signature"]["value"]))
    raw[-1] ^= 1
    flipped["signature"]["value"] = base64.b64encode(bytes(raw)).decode()
    flipped["sha256"] = evidence.digest(flipped)
    assert signing.verify_document(flipped, "r", public_key=signing.load_public_key(der)).code == 1


def test_keys_that_cannot_sign_are_refused(kms: Any) -> None:
    symmetric = kms.create_key()["KeyMetadata"]["Arn"]
    with pytest.raises(signing.SigningError, match="SIGN_VERIFY"):
        signing.describe_key(kms, symmetric)
    with pytest.raises(signing.SigningError, match="GetPublicKey"):
        signing.describe_key(kms, "alias/nothing-here")
    p384 = kms.create_key(KeySpec="ECC_NIST_P384", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
    with pytest.raises(signing.SigningError, match="ECDSA_SHA_384"):
        signing.describe_key(kms, p384)


def test_public_key_formats() -> None:
    with pytest.raises(ValueError):
        signing.load_public_key(b"not a key")
    with pytest.raises(ValueError):
        signing.load_public_key(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"sign_kms_key": "alias/k"}, "--sign-kms-key needs --evidence or --evidence-s3"),
        ({"evidence_retention": "400d"}, "--evidence-retention needs --evidence-s3"),
        ({"evidence_kms_key": "k"}, "--evidence-kms-key needs --evidence-s3"),
        ({"evidence_s3": "bucket/prefix"}, "expected s3://bucket/prefix"),
        ({"evidence_s3": "s3://b", "evidence_retention": "0d"}, "number of days"),
        ({"evidence_s3": "s3://b", "evidence_retention": "1y"}, "number of days"),
        ({"evidence_s3": "s3://b", "evidence_retention_mode": "LEGAL"}, "COMPLIANCE or GOVERNANCE"),
    ],
)
def test_bad_evidence_options(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_config({}, {"endpoint": "e", **_parsed(values)})


def _parsed(values: dict[str, Any]) -> dict[str, Any]:
    from soc2gate.config import parse_mapping

    return parse_mapping(values, "test")


def test_good_evidence_options() -> None:
    config = build_config(
        {},
        {
            "endpoint": "e",
            **_parsed(
                {
                    "evidence_s3": "s3://b/p/",
                    "evidence_retention": "400d",
                    "evidence_retention_mode": "governance",
                    "sign_kms_key": "alias/k",
                }
            ),
        },
    )
    assert (config.evidence_s3, config.evidence_retention) == ("s3://b/p", 400)
    assert config.evidence_retention_mode == "GOVERNANCE"
    assert split_s3_url("s3://b/p/q/") == ("b", "p/q")


def test_object_keys_sort_by_time_and_name_the_run() -> None:
    when = datetime(2026, 3, 2, 10, 1, 0, tzinfo=timezone.utc)
    env = {"GITHUB_REPOSITORY": "acme/svc", "GITHUB_RUN_ID": "9", "GITHUB_RUN_ATTEMPT": "2"}
    key = object_prefix(GateConfig(commit_sha="f" * 40), env, when, "gate")
    assert key == "gate/2026/03/02/20260302T100100Z_acme.svc_ffffffffffff_9-2/"
    hostile = {"GITHUB_REPOSITORY": "../../x y", "CODEBUILD_BUILD_ID": "p:../id"}
    key = object_prefix(GateConfig(), hostile, when, "")
    assert ".." not in key and " " not in key and key.startswith("2026/03/02/")


# ---- the audit report -------------------------------------------------------------------------


def entry(result: str, day: int, integrity: str = "verified", **config: str) -> audit.Entry:
    document = json.loads(json.dumps(RECORD))
    document["run"]["result"] = result
    document["config"].update(config)
    when = datetime(2026, 3, day, 12, tzinfo=timezone.utc)
    return audit.Entry(f"r{day}{result}", document, integrity, "msg", when)


def test_gap_days_exit_codes_and_weeks() -> None:
    report = audit.AuditReport(date(2026, 3, 1), date(2026, 3, 31), "src")
    report.entries = [
        entry("fail", 2),
        entry("pass", 2),
        entry("fail", 3),  # a gap: no pass that day
        entry("pass", 4, "bad-signature"),  # a forged pass does not close the gap
        entry("fail", 4),
    ]
    assert [d.day for d, _ in report.gap_days()] == [3, 4]
    assert report.exit_code == 1
    report.entries[3].integrity = "unverifiable"
    assert report.exit_code == 3
    assert sum(sum(c.values()) for c in report.per_week().values()) == 5
    assert report.criteria()["CC7.1"]["FAIL"] == 5


def test_hostile_strings_stay_inert() -> None:
    report = audit.AuditReport(date(2026, 3, 1), date(2026, 3, 31), "src")
    report.entries = [
        entry("pass", 2, repository="<script>alert(1)</script>", endpoint='=HYPERLINK("x")|a'),
    ]
    report.entries[0].document["run"]["ci"] = {"url": "javascript:alert(1)", "run_id": "1"}  # type: ignore[index]
    page = audit_render.to_html(report)
    assert "<script>" not in page and "javascript:" not in page
    assert "&lt;script&gt;" in page
    table = audit_render.to_csv(report)
    assert "'=HYPERLINK" in table
    md = audit_render.to_markdown(report)
    assert "\\|a" in md


def test_folder_records(tmp_path: Path) -> None:
    record = dict(RECORD)
    record["sha256"] = evidence.digest(record)
    (tmp_path / "a.json").write_text(json.dumps(record))
    (tmp_path / "b.json").write_text("{not json")
    report = audit.collect(
        audit.from_folder(str(tmp_path)), date(2026, 3, 1), date(2026, 3, 31), "x"
    )
    assert [e.integrity for e in report.entries] == ["unreadable", "unsigned"]
    assert report.exit_code == 3
    outside = audit.collect(
        audit.from_folder(str(tmp_path)), date(2026, 4, 1), date(2026, 4, 2), "x"
    )
    assert [e.integrity for e in outside.entries] == ["unreadable"]
