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
    from soc2gate.demo import moto_patches

    moto_patches.install()  # GetPublicKey answers the key ARN, as AWS does
    with mock_aws():
        yield boto3.client("kms", region_name="us-east-1")


def signed(kms: Any, spec: str = "ECC_NIST_P256") -> tuple[dict[str, Any], bytes]:
    arn = kms.create_key(KeySpec=spec, KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
    key = signing.describe_key(kms, arn)
    document = dict(RECORD)
    document["sha256"] = evidence.digest(document)
    return signing.sign(document, kms, key), key.public_key_der


def pinned(record: dict[str, Any]) -> tuple[str]:
    return (record["signature"]["key_arn"],)


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
    online = signing.verify_document(record, "r", kms=kms, kms_keys=pinned(record))
    assert (online.code, online.status) == (0, "verified"), online.message
    assert record["signature"]["format"] == "soc2gate-signature/2"
    with pytest.raises(ValueError, match="pinned key"):
        signing.verify_document(record, "r", kms=kms)  # KMS without a pinned key: refused


def test_a_forgery_with_everything_recomputed_but_the_signature_fails(kms: Any) -> None:
    record, der = signed(kms)
    forged = json.loads(json.dumps(record))
    forged["run"]["result"] = "pass"
    forged["checks"][0]["status"] = "PASS"
    forged["signature"]["signed_digest"] = evidence.signed_digest(forged)
    forged["sha256"] = evidence.digest(forged)
    bad = signing.verify_document(forged, "r", public_key=signing.load_public_key(der))
    assert (bad.code, bad.status) == (1, "bad-signature")
    by_kms = signing.verify_document(forged, "r", kms=kms, kms_keys=pinned(record))
    assert by_kms.status == "bad-signature"
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


# ---- issue 19: the verifier trusts only the pinned key; the signature covers its metadata ------


def test_the_signature_covers_its_own_metadata(kms: Any) -> None:
    """Editing key_arn (or the algorithm) and recomputing the checksum breaks the signature:
    the output can never name a signer the record was not signed by."""
    record, der = signed(kms)
    other = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
    for member, value in (("key_arn", other), ("key_spec", "RSA_2048")):
        edited = json.loads(json.dumps(record))
        edited["signature"][member] = value
        edited["signature"]["signed_digest"] = evidence.signed_digest(edited)
        edited["sha256"] = evidence.digest(edited)
        offline = signing.verify_document(edited, "r", public_key=signing.load_public_key(der))
        assert (offline.code, offline.status) == (1, "bad-signature"), (member, offline.message)
        assert other not in offline.message
    # Dropping the format (to pass as an old record) changes the message: no longer verifies.
    downgraded = json.loads(json.dumps(record))
    del downgraded["signature"]["format"]
    downgraded["signature"]["signed_digest"] = evidence.signed_digest(downgraded)
    downgraded["sha256"] = evidence.digest(downgraded)
    verdict = signing.verify_document(downgraded, "r", public_key=signing.load_public_key(der))
    assert verdict.status == "bad-signature"
    for bad in ("soc2gate-signature/1", "soc2gate-signature/3"):
        unknown = json.loads(json.dumps(record))
        unknown["signature"]["format"] = bad
        unknown["sha256"] = evidence.digest(unknown)
        assert signing.verify_document(unknown, "r", kms=kms, kms_keys=pinned(record)).code == 1


def legacy_record(kms: Any) -> tuple[dict[str, Any], bytes, str]:
    """A record as soc2gate signed them before format 2: the message covered the content only."""
    arn = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
    key = signing.describe_key(kms, arn)
    document = dict(RECORD)
    message = f"{evidence.FORMAT} sha256:{evidence.signed_digest(document)}".encode()
    value = kms.sign(
        KeyId=arn, Message=message, MessageType="RAW", SigningAlgorithm="ECDSA_SHA_256"
    )["Signature"]
    block = {
        "key_arn": arn,
        "key_spec": "ECC_NIST_P256",
        "algorithm": "ECDSA_SHA_256",
        "public_key_sha256": key.fingerprint,
        "signed_digest": evidence.signed_digest(document),
        "value": base64.b64encode(value).decode(),
    }
    return evidence.with_signature(document, block), key.public_key_der, arn


def test_an_old_format_signature_verifies_with_a_caveat_and_fails_when_required(kms: Any) -> None:
    record, der, arn = legacy_record(kms)
    public = signing.load_public_key(der)
    for kwargs in ({"public_key": public}, {"kms": kms, "kms_keys": (arn,)}):
        ok = signing.verify_document(record, "r", **kwargs)  # type: ignore[arg-type]
        assert (ok.code, ok.status) == (0, "legacy"), ok.message
        assert "before soc2gate's signatures covered their own metadata" in ok.message
        strict = signing.verify_document(record, "r", require_signature=True, **kwargs)  # type: ignore[arg-type]
        assert (strict.code, strict.status) == (1, "legacy"), strict.message
        assert "OLD SIGNATURE FORMAT" in strict.message


def test_kms_verification_asks_only_the_pinned_keys(kms: Any) -> None:
    record, _ = signed(kms)
    other = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
    verdict = signing.verify_document(record, "r", kms=kms, kms_keys=(other,))
    assert (verdict.code, verdict.status) == (1, "wrong-key")
    assert record["signature"]["key_arn"] in verdict.message and other in verdict.message
    both = signing.verify_document(record, "r", kms=kms, kms_keys=(other, *pinned(record)))
    assert both.status == "verified"


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        ({"SignatureValid": "true"}, "unverifiable"),
        ({"SignatureValid": 1}, "unverifiable"),
        ({"SignatureValid": None}, "unverifiable"),
        ({"KeyId": "arn:aws:kms:us-east-1:123456789012:key/other"}, "unverifiable"),
        ({"KeyId": None}, "unverifiable"),
        ({"SigningAlgorithm": "RSASSA_PSS_SHA_256"}, "unverifiable"),
        ({"SignatureValid": False}, "bad-signature"),
        ({}, "verified"),
    ],
)
def test_a_kms_verify_answer_is_read_strictly(
    kms: Any, answer: dict[str, Any], status: str
) -> None:
    """What kms:Verify answered is held to the key and algorithm asked (botocore Stubber)."""
    from botocore.stub import Stubber

    record, _ = signed(kms)
    arn = record["signature"]["key_arn"]
    client = boto3.client("kms", region_name="us-east-1")
    valid = {"KeyId": arn, "SignatureValid": True, "SigningAlgorithm": "ECDSA_SHA_256"}

    def serve(parsed: dict[str, Any], **_: Any) -> None:
        # The answer as the parser handed it, then changed (None: the member left out).
        parsed.update(answer)
        for name in [k for k, v in answer.items() if v is None]:
            del parsed[name]

    client.meta.events.register("after-call.kms.Verify", serve)
    with Stubber(client) as stub:
        stub.add_response("verify", valid)
        verdict = signing.verify_document(record, "r", kms=client, kms_keys=(arn,))
    assert verdict.status == status, verdict.message
    assert verdict.code == {"verified": 0, "bad-signature": 1, "unverifiable": 3}[status]


@pytest.mark.parametrize(
    "value",
    [
        "alias/soc2gate-evidence",
        "arn:aws:kms:us-east-1:123456789012:alias/soc2gate-evidence",
        "1234abcd-12ab-34cd-56ef-1234567890ab",
        "arn:aws:kms::123456789012:key/1234",
    ],
)
def test_a_pinned_key_must_be_a_key_arn(value: str) -> None:
    with pytest.raises(ValueError, match="pin the key by its ARN"):
        signing.pinned_key(value)
    arn = "arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/mrk-1234"
    assert signing.pinned_key(arn) == arn and signing.region_of(arn) == "us-gov-west-1"


# ---- issue 19: keys unique per target and run attempt; nothing overwritten; codes agree -------


def test_two_targets_of_one_run_finishing_in_the_same_second_get_two_keys() -> None:
    when = datetime(2026, 3, 2, 10, 1, 0, tzinfo=timezone.utc)
    env = {"GITHUB_REPOSITORY": "acme/svc", "GITHUB_RUN_ID": "9", "GITHUB_RUN_ATTEMPT": "2"}
    keys = {
        object_prefix(GateConfig(commit_sha="f" * 40, target=(name,)), env, when, "gate")
        for name in ("eu-prod", "us-prod")
    }
    assert keys == {
        "gate/2026/03/02/20260302T100100Z_acme.svc_ffffffffffff_9-2_eu-prod/",
        "gate/2026/03/02/20260302T100100Z_acme.svc_ffffffffffff_9-2_us-prod/",
    }
    again = object_prefix(
        GateConfig(commit_sha="f" * 40), {**env, "GITHUB_RUN_ATTEMPT": "3"}, when, ""
    )
    assert again.endswith("_9-3/")
    long = object_prefix(GateConfig(target=("x" * 60, "y" * 60)), env, when, "")
    assert len(long.rsplit("_", 1)[1]) <= 41


def uploader(s3_factory: Any, tmp_path: Path, **values: Any) -> Any:
    from soc2gate.report.evidence_store import EvidenceOutput

    config = build_config(
        {}, {"endpoint": "e", "evidence_s3": "s3://bucket/p", "commit_sha": "a" * 40, **values}
    )
    out = EvidenceOutput(config, lambda service, region: s3_factory(), {"GITHUB_RUN_ID": "5"})
    return out


def test_an_upload_never_overwrites_a_taken_key(tmp_path: Path) -> None:
    """Two runs that would write the same key: the second fails (exit 3), the first stays."""
    import io

    from soc2gate.models import GateReport

    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="bucket")
        s3.put_bucket_versioning(Bucket="bucket", VersioningConfiguration={"Status": "Enabled"})
        when = datetime(2026, 3, 2, 10, 1, 0, tzinfo=timezone.utc)
        codes = []
        for _ in range(2):
            out = uploader(lambda: s3, tmp_path)
            out.err = io.StringIO()
            code = out.build(GateReport([]), when, when, 0)
            codes.append(out.upload(code, None))
        assert codes == [0, 3]
        assert "already exists at that key" in out.err.getvalue()
        versions = s3.list_object_versions(Bucket="bucket")["Versions"]
        assert len(versions) == 1


def test_a_failed_junit_copy_leaves_the_uploaded_record_and_the_exit_code_agreeing(
    tmp_path: Path,
) -> None:
    """Before: the record went up saying pass, then the JUnit copy failed and the run exited 3.
    Now the record goes first with the final code, and the copy is a warning."""
    import io

    from botocore.stub import ANY, Stubber

    from soc2gate.models import GateReport

    s3 = boto3.client("s3", region_name="us-east-1")
    junit_file = tmp_path / "junit.xml"
    junit_file.write_text("<testsuites/>")
    stub = Stubber(s3)
    bodies: list[bytes] = []
    s3.meta.events.register(
        "before-parameter-build.s3.PutObject",
        lambda params, **_: bodies.append(params["Body"]),
    )
    stub.add_response("put_object", {}, {"Bucket": "bucket", "Key": ANY, "Body": ANY,
                                         "ContentType": "application/json", "IfNoneMatch": "*"})  # fmt: skip
    stub.add_client_error("put_object", "AccessDenied", "no junit for you", 403)
    with stub:
        out = uploader(lambda: s3, tmp_path)
        out.err = io.StringIO()
        when = datetime(2026, 3, 2, 10, 1, 0, tzinfo=timezone.utc)
        code = out.upload(out.build(GateReport([]), when, when, 0), str(junit_file))
    record = json.loads(bodies[0])
    assert (code, record["run"]["exit_code"]) == (0, 0)
    assert "JUnit copy" in out.err.getvalue() and "not uploaded" in out.err.getvalue()
    assert out.uploaded == ["s3://bucket/p/" + object_prefix_of(record) + "evidence.json"]


def object_prefix_of(record: dict[str, Any]) -> str:
    from soc2gate.report.evidence_store import object_name

    return object_name(record)


def test_require_signature_makes_an_unsigned_pass_fail_and_leaves_the_gap() -> None:
    report = audit.AuditReport(date(2026, 3, 1), date(2026, 3, 31), "src")
    unsigned = entry("pass", 2, "unsigned")
    unsigned.verdict_code = 1  # what verify_document says under --require-signature
    report.entries = [entry("fail", 2), unsigned]
    assert [d.day for d, _ in report.gap_days()] == [2]
    assert report.exit_code == 1 and report.broken == [unsigned]
    assert unsigned.integrity_text == "UNSIGNED (signature required)"


def test_the_control_mapping_goes_into_the_record_and_the_per_criterion_totals() -> None:
    from soc2gate.models import CheckResult, GateReport, Status

    config = GateConfig(endpoint="e", enable=("sagemaker-model-isolation",))
    results = (
        CheckResult("sagemaker-model-isolation", Status.FAIL, "EnableNetworkIsolation false"),
        CheckResult("sagemaker-endpoint-status", Status.PASS, "InService"),
    )
    now = datetime(2026, 3, 2, tzinfo=timezone.utc)
    record = evidence.build(GateReport(results=results), config, {}, now, now)
    checks = {c["id"]: c for c in record["checks"]}
    assert checks["sagemaker-model-isolation"]["controls"] == {
        "security_hub": ["SageMaker.5", "SageMaker.16", "SageMaker.19"],
        "aws_config": ["sagemaker-model-isolation-enabled", "sagemaker-model-in-vpc"],
    }
    assert "controls" not in checks["sagemaker-endpoint-status"]  # it maps to no control
    import jsonschema

    schema = Path(evidence.__file__).resolve().parents[1] / "schemas" / "evidence.schema.json"
    jsonschema.validate(record, json.loads(schema.read_text(encoding="utf-8")))
    report = audit.AuditReport(date(2026, 3, 1), date(2026, 3, 31), "src")
    report.entries = [audit.Entry("r", record, "verified", "msg", now)]
    assert "SageMaker.5" in report.criteria_controls()["CC6.6"]
    assert "| CC6.6 | 0 | 1 | 0 | 0 | SageMaker.16, SageMaker.19, SageMaker.5," in (
        audit_render.to_markdown(report)
    )
