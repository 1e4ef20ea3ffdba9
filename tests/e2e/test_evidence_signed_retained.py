"""Issue 13 through the installed CLI against the moto server: signed, verified, retained.

KMS (asymmetric Sign/Verify/GetPublicKey) and S3 (Object Lock, SSE-KMS) are moto's own services
behind the MotoWorld server; the gate reaches them through AWS_ENDPOINT_URL like every AWS call.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
from pathlib import Path
from typing import Any

import pytest
from gate_e2e import CliRun, run_cli

from soc2gate.demo.scenarios import SCENARIOS
from soc2gate.demo.world import MotoWorld

SCHEMA = Path(__file__).resolve().parents[2] / "soc2gate" / "schemas" / "evidence.schema.json"
ALIAS = "alias/soc2gate-evidence"
BUCKET = "soc2-evidence"
GITHUB = {
    "GITHUB_REPOSITORY": "acme/defender",
    "GITHUB_RUN_ID": "4242",
    "GITHUB_RUN_ATTEMPT": "1",
    "GITHUB_SERVER_URL": "https://github.com",
}


def make_key(world: MotoWorld, spec: str = "ECC_NIST_P256", alias: str | None = ALIAS) -> str:
    kms = world.client("kms", counted=False)
    usage = "ENCRYPT_DECRYPT" if spec == "SYMMETRIC_DEFAULT" else "SIGN_VERIFY"
    arn = kms.create_key(KeySpec=spec, KeyUsage=usage)["KeyMetadata"]["Arn"]
    if alias:
        kms.create_alias(AliasName=alias, TargetKeyId=arn)
    return str(arn)


def public_key_der(world: MotoWorld, key: str) -> bytes:
    return bytes(world.client("kms", counted=False).get_public_key(KeyId=key)["PublicKey"])


def gate(
    world: MotoWorld, tmp_path: Path, scenario: str, *extra: str, env: dict[str, str] | None = None
) -> CliRun:
    s = SCENARIOS[scenario]
    s.prepare(world)
    args = [*s.gate_args(world), "--only", "ecr-scan-findings", *extra]
    return run_cli(world, ["run", *args], tmp_path, extra_env={**GITHUB, **(env or {})})


def verify(world: MotoWorld, tmp_path: Path, record: Path, *args: str, **env: str) -> CliRun:
    return run_cli(world, ["verify-evidence", str(record), *args], tmp_path, extra_env=env)


def rewrite(path: Path, record: dict[str, Any]) -> None:
    """What someone with write access and the public recipe can do: edit, recompute sha256."""
    body = {k: v for k, v in record.items() if k != "sha256"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    record["sha256"] = hashlib.sha256(canonical.encode()).hexdigest()
    path.write_text(json.dumps(record, indent=2), encoding="utf-8")


def fail_to_pass(record: dict[str, Any]) -> dict[str, Any]:
    edited = json.loads(json.dumps(record))
    (check,) = [c for c in edited["checks"] if c["status"] == "FAIL"]
    check["status"], check["reason"] = "PASS", "no findings at or above HIGH"
    edited["run"]["result"], edited["run"]["exit_code"] = "pass", 0
    return edited


# ---- signed ---------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["ECC_NIST_P256", "RSA_2048"])
def test_a_signed_record_verifies_offline_and_with_kms(
    world: MotoWorld, tmp_path: Path, spec: str
) -> None:
    import jsonschema

    arn = make_key(world, spec)
    record = tmp_path / "evidence.json"
    run = gate(world, tmp_path, "healthy", "--evidence", str(record), "--sign-kms-key", ALIAS)
    assert run.code == 0, run.output
    document = json.loads(record.read_text())
    jsonschema.validate(document, json.loads(SCHEMA.read_text()))
    block = document["signature"]
    assert block["key_arn"] == arn
    assert block["algorithm"] == (
        "ECDSA_SHA_256" if spec == "ECC_NIST_P256" else "RSASSA_PSS_SHA_256"
    )
    der = public_key_der(world, arn)
    assert block["public_key_sha256"] == hashlib.sha256(der).hexdigest()

    (tmp_path / "key.der").write_bytes(der)
    pem = b"-----BEGIN PUBLIC KEY-----\n" + base64.encodebytes(der) + b"-----END PUBLIC KEY-----\n"
    (tmp_path / "key.pem").write_bytes(pem)
    (tmp_path / "key.b64").write_bytes(base64.b64encode(der))  # `--output text` of the AWS CLI
    for name in ("key.der", "key.pem", "key.b64"):
        ok = verify(
            world, tmp_path, record, "--public-key", str(tmp_path / name), "--require-signature"
        )
        assert ok.code == 0, ok.output
        assert "signature verifies" in ok.stdout
    online = verify(world, tmp_path, record, "--kms", "--kms-key", arn, "--require-signature")
    assert online.code == 0, online.output
    assert f"pinned KMS key {arn} verified" in online.stdout
    alias = verify(world, tmp_path, record, "--kms", "--kms-key", ALIAS)
    assert alias.code == 2 and "pin the key by its ARN" in alias.stderr, alias.output
    unchecked = verify(world, tmp_path, record)
    assert unchecked.code == 0 and "NOT checked" in unchecked.stdout


@pytest.fixture
def signed_failure(world: MotoWorld, tmp_path: Path) -> tuple[Path, bytes]:
    arn = make_key(world)
    record = tmp_path / "evidence.json"
    run = gate(
        world, tmp_path, "critical-finding", "--evidence", str(record), "--sign-kms-key", arn
    )
    assert run.code == 1, run.output
    return record, public_key_der(world, arn)


def test_fail_edited_into_pass_with_the_checksum_recomputed_is_caught(
    world: MotoWorld, tmp_path: Path, signed_failure: tuple[Path, bytes]
) -> None:
    record, der = signed_failure
    (tmp_path / "key.der").write_bytes(der)
    arn = json.loads(record.read_text())["signature"]["key_arn"]
    forged = fail_to_pass(json.loads(record.read_text()))
    rewrite(record, forged)
    for args in ([], ["--public-key", str(tmp_path / "key.der")], ["--kms", "--kms-key", arn]):
        run = verify(world, tmp_path, record, *args)
        assert run.code == 1, (args, run.output)
        assert "modified after it was signed" in run.stderr

    # The editor also rewrites signed_digest: now the signature itself must fail.
    from soc2gate.report import evidence

    forged["signature"]["signed_digest"] = evidence.signed_digest(forged)
    rewrite(record, forged)
    unchecked = verify(world, tmp_path, record)  # checksum and digest fooled; key not checked
    assert unchecked.code == 0 and "NOT checked" in unchecked.stdout
    assert verify(world, tmp_path, record, "--require-signature").code == 2
    for args in (["--public-key", str(tmp_path / "key.der")], ["--kms", "--kms-key", arn]):
        run = verify(world, tmp_path, record, *args)
        assert run.code == 1, (args, run.output)
        assert "BAD SIGNATURE" in run.stderr


def test_another_key_is_refused(
    world: MotoWorld, tmp_path: Path, signed_failure: tuple[Path, bytes]
) -> None:
    record, _ = signed_failure
    other = make_key(world, alias="alias/other")
    (tmp_path / "other.der").write_bytes(public_key_der(world, other))
    run = verify(world, tmp_path, record, "--public-key", str(tmp_path / "other.der"))
    assert run.code == 1 and "not signed by the given public key" in run.stderr, run.output
    run = verify(world, tmp_path, record, "--kms", "--kms-key", other)
    assert run.code == 1 and "which is not a pinned key" in run.stderr, run.output


def test_an_unsigned_record_fails_require_signature(world: MotoWorld, tmp_path: Path) -> None:
    arn = make_key(world)
    (tmp_path / "key.der").write_bytes(public_key_der(world, arn))
    record = tmp_path / "evidence.json"
    assert gate(world, tmp_path, "healthy", "--evidence", str(record)).code == 0
    run = verify(
        world, tmp_path, record, "--public-key", str(tmp_path / "key.der"), "--require-signature"
    )
    assert run.code == 1 and "is not signed" in run.stderr, run.output
    assert verify(world, tmp_path, record, "--require-signature").code == 2  # no key to check


def test_kms_unreachable_is_exit_3(
    world: MotoWorld, tmp_path: Path, signed_failure: tuple[Path, bytes]
) -> None:
    record, _ = signed_failure
    arn = json.loads(record.read_text())["signature"]["key_arn"]
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    run = verify(
        world, tmp_path, record, "--kms", "--kms-key", arn,
        AWS_ENDPOINT_URL=closed, AWS_MAX_ATTEMPTS="1",
    )  # fmt: skip
    assert run.code == 3, run.output
    assert "could not check the signature" in run.stderr


def test_a_key_that_cannot_sign_is_refused_before_any_check(
    world: MotoWorld, tmp_path: Path
) -> None:
    make_key(world, "SYMMETRIC_DEFAULT")
    run = gate(
        world, tmp_path, "healthy", "--evidence", str(tmp_path / "e.json"), "--sign-kms-key", ALIAS
    )
    assert run.code == 2, run.output
    assert "SIGN_VERIFY" in run.stderr
    assert not any(op.startswith("Describe") for op in world.calls), world.calls


def test_a_key_that_fails_at_sign_time_leaves_an_unsigned_record_and_exit_3(
    world: MotoWorld, tmp_path: Path
) -> None:
    from soc2gate.demo.world import aws_error, fail_calls

    make_key(world)
    world.inject("Sign", fail_calls(None, aws_error("KMSInvalidStateException", "key disabled")))
    record = tmp_path / "evidence.json"
    run = gate(world, tmp_path, "healthy", "--evidence", str(record), "--sign-kms-key", ALIAS)
    assert run.code == 3, run.output
    assert "NOT signed" in run.stderr and "key disabled" in run.stderr
    document = json.loads(record.read_text())
    assert "signature" not in document and document["run"]["exit_code"] == 3


# ---- retained -------------------------------------------------------------------------------


def make_bucket(world: MotoWorld, *, lock: bool = True) -> Any:
    s3 = world.client("s3", counted=False)
    s3.create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=lock)
    return s3


def test_upload_with_sse_kms_and_object_lock(world: MotoWorld, tmp_path: Path) -> None:
    s3 = make_bucket(world)
    make_key(world)
    data_key = world.client("kms", counted=False).create_key()["KeyMetadata"]["Arn"]
    record = tmp_path / "evidence.json"
    run = gate(
        world,
        tmp_path,
        "healthy",
        "--evidence", str(record),
        "--sign-kms-key", ALIAS,
        "--evidence-s3", f"s3://{BUCKET}/gate/prod",
        "--evidence-kms-key", data_key,
        "--evidence-retention", "400d",
        "--evidence-retention-mode", "GOVERNANCE",
    )  # fmt: skip
    assert run.code == 0, run.output
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"])
    assert len(keys) == 2, keys
    evidence_key, junit_key = keys
    assert evidence_key.endswith("/evidence.json") and junit_key.endswith("/junit.xml")
    # prefix/YYYY/MM/DD/<stamp>_<repository>_<commit>_<run>/
    parts = evidence_key.split("/")
    assert parts[:2] == ["gate", "prod"] and len(parts) == 7
    stamp, repository, sha, run_id = parts[5].split("_")
    assert stamp.startswith(parts[2] + parts[3] + parts[4] + "T")
    assert repository == "acme.defender" and run_id == "4242-1" and len(sha) == 12
    head = s3.head_object(Bucket=BUCKET, Key=evidence_key)
    assert head["ObjectLockMode"] == "GOVERNANCE"
    days = (head["ObjectLockRetainUntilDate"] - head["LastModified"]).days
    assert 399 <= days <= 400
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"].endswith(
        data_key.rsplit("/", 1)[1]
    )
    body = s3.get_object(Bucket=BUCKET, Key=evidence_key)["Body"].read()
    assert body == record.read_bytes()
    assert f"s3://{BUCKET}/{evidence_key}" in run.stdout


def test_retention_on_a_bucket_without_object_lock_is_exit_2_before_any_check(
    world: MotoWorld, tmp_path: Path
) -> None:
    make_bucket(world, lock=False)
    run = gate(
        world, tmp_path, "healthy",
        "--evidence-s3", f"s3://{BUCKET}/p", "--evidence-retention", "400d",
    )  # fmt: skip
    assert run.code == 2, run.output
    assert "does not have Object Lock enabled" in run.stderr
    assert not any(op.startswith("Describe") for op in world.calls), world.calls


@pytest.mark.parametrize(("scenario", "expected"), [("healthy", 3), ("critical-finding", 1)])
def test_a_failed_upload_is_reported_and_the_local_record_still_written(
    world: MotoWorld, tmp_path: Path, scenario: str, expected: int
) -> None:
    record = tmp_path / "evidence.json"
    run = gate(
        world,
        tmp_path,
        scenario,
        "--evidence",
        str(record),
        "--evidence-s3",
        "s3://no-such-bucket/x",
        "--summary",
        str(tmp_path / "summary.md"),
    )
    assert run.code == expected, run.output
    assert "evidence NOT uploaded" in run.stderr and "NoSuchBucket" in run.stderr
    # Issue 19: every report states the process's exit code, not the verdict before the upload.
    document = json.loads(record.read_text())
    assert document["run"]["exit_code"] == expected
    assert document["run"]["result"] == ("error" if expected == 3 else "fail")
    junit = (tmp_path / "junit.xml").read_text()
    assert f'<property name="soc2gate.exit_code" value="{expected}"' in junit
    summary = (tmp_path / "summary.md").read_text()
    assert summary.splitlines()[0].endswith(f"(exit {expected})"), summary.splitlines()[0]


def test_an_unreachable_bucket_is_exit_3_with_the_local_record_written(
    world: MotoWorld, tmp_path: Path
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    record = tmp_path / "evidence.json"
    run = gate(
        world, tmp_path, "healthy", "--evidence", str(record), "--evidence-s3", "s3://b/p",
        env={"AWS_ENDPOINT_URL_S3": closed},
    )  # fmt: skip
    assert run.code == 3, run.output
    assert "evidence NOT uploaded to s3://b/p/" in run.stderr
    # The local record says what the process exits with (issue 19), signed or not.
    document = json.loads(record.read_text())
    assert (document["run"]["result"], document["run"]["exit_code"]) == ("error", 3)
