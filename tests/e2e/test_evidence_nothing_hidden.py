"""Issue 19 through the installed CLI against the moto server: nothing forged, nothing hidden.

An attacker here has the pipeline's own permissions: write evidence records, call kms:Sign on
some SIGN_VERIFY key, PutObject (and DeleteObject) under the evidence prefix. Each test shows
one way such an attacker made a failed deployment look passed, and that the verifier (the
auditor's `verify-evidence` / `audit-report`, with the key they pinned) now says so.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from gate_e2e import CliRun, run_cli

from soc2gate.demo.scenarios import SCENARIOS
from soc2gate.demo.world import MotoWorld
from soc2gate.report import evidence, signing

BUCKET = "soc2-evidence"
PREFIX = "gate/prod"
TODAY = date.today().isoformat()


def github(run_id: str) -> dict[str, str]:
    return {
        "GITHUB_REPOSITORY": "acme/defender",
        "GITHUB_RUN_ID": run_id,
        "GITHUB_RUN_ATTEMPT": "1",
        "GITHUB_SERVER_URL": "https://github.com",
    }


def make_key(world: MotoWorld) -> str:
    kms = world.client("kms", counted=False)
    return str(
        kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
    )


def gate(
    world: MotoWorld, tmp_path: Path, outcome: str, run_id: str, *extra: str
) -> tuple[CliRun, Path]:
    """A real gate run of the healthy deployment: a pass, or a fail under --fail-on MEDIUM."""
    s = SCENARIOS["healthy"]
    if not getattr(world, "_prepared_healthy", False):
        s.prepare(world)
        world._prepared_healthy = True  # type: ignore[attr-defined]
    record = tmp_path / f"evidence-{run_id}.json"
    args = [*s.gate_args(world), "--only", "ecr-scan-findings", "--evidence", str(record), *extra]
    if outcome == "fail":
        args += ["--fail-on", "MEDIUM"]
    run = run_cli(world, ["run", *args], tmp_path, extra_env=github(run_id))
    assert run.code == (1 if outcome == "fail" else 0), run.output
    return run, record


def forge(record: dict[str, Any]) -> dict[str, Any]:
    """The failed run edited into a pass."""
    edited = json.loads(json.dumps(record))
    for check in edited["checks"]:
        if check["status"] == "FAIL":
            check["status"], check["reason"] = "PASS", "no findings at or above MEDIUM"
    edited["run"]["result"], edited["run"]["exit_code"] = "pass", 0
    return edited


def rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text())))


# ---- item 2: the verifier pins the key ---------------------------------------------------------


def test_a_pass_forged_with_another_key_does_not_verify(world: MotoWorld, tmp_path: Path) -> None:
    """Before: `--kms` verified with the key the record named, so a forged PASS signed by any
    SIGN_VERIFY key the verifier may call verified (exit 0)."""
    release = make_key(world)
    _, record = gate(world, tmp_path, "fail", "1", "--sign-kms-key", release)
    # The attacker signs the edited record with a key of their own, as soc2gate would.
    attacker = make_key(world)
    kms = world.client("kms", counted=False)
    forged = signing.sign(
        forge(json.loads(record.read_text())), kms, signing.describe_key(kms, attacker)
    )
    record.write_text(evidence.dumps(forged))

    unpinned = run_cli(world, ["verify-evidence", str(record), "--kms"], tmp_path)
    assert unpinned.code == 2 and "--kms needs --kms-key ARN" in unpinned.stderr, unpinned.output
    pinned = run_cli(
        world, ["verify-evidence", str(record), "--kms", "--kms-key", release], tmp_path
    )
    assert pinned.code == 1, pinned.output
    assert f"names signing key {attacker}, which is not a pinned key" in pinned.stderr
    assert release in pinned.stderr

    folder = tmp_path / "records"
    folder.mkdir()
    (folder / "forged.json").write_text(record.read_text())
    audit = ["audit-report", "--evidence-dir", str(folder), "--to", TODAY, "--kms"]
    assert run_cli(world, audit, tmp_path).code == 2
    report = run_cli(
        world, [*audit, "--kms-key", release, "--csv", str(tmp_path / "r.csv")], tmp_path
    )
    assert report.code == 1, report.output
    (row,) = rows(tmp_path / "r.csv")
    assert row["integrity"] == "SIGNED BY ANOTHER KEY"
    # Both keys pinned: the attacker's is then trusted, which is what pinning it means.
    both = run_cli(world, [*audit, "--kms-key", release, "--kms-key", attacker], tmp_path)
    assert both.code == 0, both.output


def test_an_edited_key_arn_cannot_name_another_signer(world: MotoWorld, tmp_path: Path) -> None:
    """Before: the signature did not cover key_arn, so a record signed by a test key, edited to
    name the release key (checksum recomputed), verified offline and named the release key."""
    test_key, release = make_key(world), make_key(world)
    _, record = gate(world, tmp_path, "pass", "1", "--sign-kms-key", test_key)
    der = bytes(world.client("kms", counted=False).get_public_key(KeyId=test_key)["PublicKey"])
    (tmp_path / "test-key.der").write_bytes(der)
    edited = json.loads(record.read_text())
    edited["signature"]["key_arn"] = release
    edited["sha256"] = evidence.digest(edited)
    record.write_text(json.dumps(edited))
    run = run_cli(
        world, ["verify-evidence", str(record), "--public-key", str(tmp_path / "test-key.der")],
        tmp_path,
    )  # fmt: skip
    assert run.code == 1, run.output
    assert release not in run.stdout


# ---- item 3: --require-signature ---------------------------------------------------------------


def test_an_unsigned_pass_beside_a_signed_fail_is_a_failed_verification(
    world: MotoWorld, tmp_path: Path
) -> None:
    """Before: under --require-signature the unsigned PASS counted as a pass, the day had no
    gap and the report exited 0."""
    key = make_key(world)
    _, record = gate(world, tmp_path, "fail", "1", "--sign-kms-key", key)
    folder = tmp_path / "records"
    folder.mkdir()
    (folder / "fail.json").write_text(record.read_text())
    unsigned = forge(json.loads(record.read_text()))
    del unsigned["signature"]
    unsigned["sha256"] = evidence.digest(unsigned)
    (folder / "pass.json").write_text(json.dumps(unsigned))
    table, md = tmp_path / "r.csv", tmp_path / "r.md"
    run = run_cli(
        world,
        ["audit-report", "--evidence-dir", str(folder), "--to", TODAY,
         "--public-key", public_key(world, tmp_path, key),
         "--require-signature", "--csv", str(table), "--md", str(md)],
        tmp_path,
    )  # fmt: skip
    assert run.code == 1, run.output
    integrity = {r["result"]: r["integrity"] for r in rows(table)}
    assert integrity == {
        "fail": "signature verified",
        "pass": "UNSIGNED (signature required)",
    }
    gaps = md.read_text().split("## Gap days", 1)[1].split("##", 1)[0]
    assert f"- {TODAY}: 2 deployment(s)" in gaps, gaps


# ---- item 4: a FAIL hidden under Object Lock ---------------------------------------------------


@pytest.fixture
def period(world: MotoWorld, tmp_path: Path) -> dict[str, Any]:
    """A signed PASS and a signed FAIL of today, uploaded with Object Lock."""
    s3 = world.client("s3", counted=False)
    s3.create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
    key = make_key(world)
    upload = ["--sign-kms-key", key, "--evidence-s3", f"s3://{BUCKET}/{PREFIX}",
              "--evidence-retention", "400d"]  # fmt: skip
    gate(world, tmp_path, "pass", "100", *upload)
    gate(world, tmp_path, "fail", "101", *upload)
    keys = {}
    for item in s3.list_objects_v2(Bucket=BUCKET)["Contents"]:
        if item["Key"].endswith("/evidence.json"):
            body = s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
            keys[json.loads(body)["run"]["result"]] = (item["Key"], body)
    assert set(keys) == {"pass", "fail"}, keys
    return {"s3": s3, "key": key, "records": keys}


def public_key(world: MotoWorld, tmp_path: Path, key: str) -> str:
    der = bytes(world.client("kms", counted=False).get_public_key(KeyId=key)["PublicKey"])
    (tmp_path / "key.der").write_bytes(der)
    return str(tmp_path / "key.der")


def audit(world: MotoWorld, tmp_path: Path, key: str) -> tuple[CliRun, list[dict[str, str]], str]:
    table, md = tmp_path / "r.csv", tmp_path / "r.md"
    run = run_cli(
        world,
        ["audit-report", "--evidence-s3", f"s3://{BUCKET}/{PREFIX}", "--to", TODAY,
         "--public-key", public_key(world, tmp_path, key), "--require-signature",
         "--csv", str(table), "--md", str(md)],
        tmp_path,
    )  # fmt: skip
    return run, rows(table), md.read_text()


def test_the_clean_period_reports_clean(
    world: MotoWorld, tmp_path: Path, period: dict[str, Any]
) -> None:
    run, table, _ = audit(world, tmp_path, period["key"])
    assert run.code == 0, run.output
    assert sorted(r["integrity"] for r in table) == ["signature verified"] * 2


def test_a_pass_put_over_a_locked_fail_is_flagged(
    world: MotoWorld, tmp_path: Path, period: dict[str, Any]
) -> None:
    """Before: S3 kept the FAIL as an older version, the report read current versions only and
    showed two passes (exit 0)."""
    s3 = period["s3"]
    fail_key, _ = period["records"]["fail"]
    _, pass_body = period["records"]["pass"]
    s3.put_object(Bucket=BUCKET, Key=fail_key, Body=pass_body)  # what the pipeline role can do
    run, table, md = audit(world, tmp_path, period["key"])
    assert run.code == 1, run.output
    assert sorted(r["result"] for r in table) == ["fail", "pass", "pass"]
    (fail,) = [r for r in table if r["result"] == "fail"]
    assert fail["integrity"] == "signature verified; REPLACED"
    assert "?versionId=" in fail["record"]
    (copy,) = [r for r in table if r["record"] == f"s3://{BUCKET}/{fail_key}"]
    assert copy["integrity"] == "signature verified; REPLACED; MISPLACED; COPIED"
    assert "VERIFICATION FAILED" in run.stderr and "REPLACED: key" in run.stderr
    failed = md.split("## Failed or unverifiable runs", 1)[1].split("##", 1)[0]
    assert "fail" in failed and "None." not in failed


def test_a_deleted_fail_is_flagged(
    world: MotoWorld, tmp_path: Path, period: dict[str, Any]
) -> None:
    """Before: a delete marker hid the FAIL from the current listing (exit 0, one pass)."""
    fail_key, _ = period["records"]["fail"]
    period["s3"].delete_object(Bucket=BUCKET, Key=fail_key)  # a delete marker; the lock holds
    run, table, _ = audit(world, tmp_path, period["key"])
    assert run.code == 1, run.output
    (fail,) = [r for r in table if r["result"] == "fail"]
    assert fail["integrity"] == "signature verified; DELETED"
    assert "delete marker" in run.stderr


def test_a_record_copied_to_a_key_of_its_own_is_flagged(
    world: MotoWorld, tmp_path: Path, period: dict[str, Any]
) -> None:
    """A PASS copied to a key of another run (the same day) stands for two deployments."""
    pass_key, pass_body = period["records"]["pass"]
    other = pass_key.replace("_100-1/", "_102-1/")
    assert other != pass_key
    period["s3"].put_object(Bucket=BUCKET, Key=other, Body=pass_body)
    run, table, _ = audit(world, tmp_path, period["key"])
    assert run.code == 1, run.output
    flagged = {r["record"].rsplit("/", 2)[1][-5:]: r["integrity"] for r in table}
    assert flagged["100-1"] == "signature verified; COPIED"
    assert flagged["102-1"] == "signature verified; MISPLACED; COPIED"


@pytest.mark.parametrize("versioning", [None, "Suspended"], ids=["never-versioned", "suspended"])
def test_an_unversioned_bucket_is_not_audited_as_clean(
    versioning: str | None, world: MotoWorld, tmp_path: Path
) -> None:
    """Without versioning a PASS signed with the pipeline key, put over the FAIL's key, leaves
    no trace. Before: audit-report --require-signature was clean (exit 0). Now: exit 3, saying
    why, before any record is read (review finding F1)."""
    s3 = world.client("s3", counted=False)
    s3.create_bucket(Bucket="plain-evidence")
    if versioning:
        s3.put_bucket_versioning(
            Bucket="plain-evidence", VersioningConfiguration={"Status": versioning}
        )
    key = make_key(world)
    gate(world, tmp_path, "pass", "200", "--sign-kms-key", key,
         "--evidence-s3", "s3://plain-evidence/gate")  # fmt: skip
    run = run_cli(
        world,
        ["audit-report", "--evidence-s3", "s3://plain-evidence/gate", "--to", TODAY,
         "--public-key", public_key(world, tmp_path, key), "--require-signature"],
        tmp_path,
    )  # fmt: skip
    assert run.code == 3, run.output
    assert "bucket plain-evidence is not versioned" in run.stderr
    assert "ListObjectVersions" not in world.calls  # nothing read from it


def test_a_versioned_bucket_without_object_lock_says_what_it_cannot_prove(
    world: MotoWorld, tmp_path: Path
) -> None:
    s3 = world.client("s3", counted=False)
    s3.create_bucket(Bucket="versioned-evidence")
    s3.put_bucket_versioning(
        Bucket="versioned-evidence", VersioningConfiguration={"Status": "Enabled"}
    )
    key = make_key(world)
    gate(world, tmp_path, "pass", "201", "--sign-kms-key", key,
         "--evidence-s3", "s3://versioned-evidence/gate")  # fmt: skip
    run = run_cli(
        world,
        ["audit-report", "--evidence-s3", "s3://versioned-evidence/gate", "--to", TODAY,
         "--public-key", public_key(world, tmp_path, key)],
        tmp_path,
    )  # fmt: skip
    assert run.code == 0, run.output
    assert "WARNING: bucket versioned-evidence is versioned but has no Object Lock" in run.stdout
