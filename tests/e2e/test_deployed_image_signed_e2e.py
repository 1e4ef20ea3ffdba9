"""deployed-image-signed through the real CLI against the moto server: the signed pass is in
test_scenarios (scenarios signed, unsigned-deploy, wrong-signer); here the other negatives."""

from __future__ import annotations

from pathlib import Path

import pytest
from gate_e2e import run_cli

from soc2gate.demo.scenarios import (
    GATED_DIGEST,
    REPOSITORY,
    SCENARIOS,
    SIGNING_PROFILE,
    SIGNING_PROFILE_VERSION,
)
from soc2gate.demo.signatures import DEMO_ROOT_SHA256
from soc2gate.demo.world import MotoWorld

SHORT = GATED_DIGEST[:19]


def _signed(world: MotoWorld) -> list[str]:
    scenario = SCENARIOS["signed"]
    scenario.prepare(world)
    return ["run", *scenario.gate_args(world), "--only", "ecr-scan-findings", "--only",
            "sagemaker-endpoint-status", "--only", "deployed-image-scanned", "--only",
            "deployed-image-signed"]  # fmt: skip


def _line(stdout: str) -> str:
    return next(
        line for line in stdout.splitlines() if line.startswith("FAIL deployed-image-signed")
    )


def test_signing_failed_fails_with_aws_reason(world: MotoWorld, tmp_path: Path) -> None:
    args = _signed(world)
    world.on_call(
        "DescribeImageSigningStatus",
        1,
        lambda w: w.set_signing_status(
            REPOSITORY, GATED_DIGEST, SIGNING_PROFILE, "FAILED", failure_reason="no SignPayload"
        ),
    )
    run = run_cli(world, args, tmp_path)
    assert run.code == 1, run.output
    line = _line(run.stdout)
    assert f"{SHORT} is not signed by a trusted profile" in line
    assert "FAILED: SIGNING_FAILED: no SignPayload" in line


def test_a_revoked_signing_profile_version_fails(world: MotoWorld, tmp_path: Path) -> None:
    args = _signed(world)
    world.revoked.add(SIGNING_PROFILE_VERSION)
    run = run_cli(world, args, tmp_path)
    assert run.code == 1, run.output
    line = _line(run.stdout)
    assert "ECR managed signing says COMPLETE" in line
    assert f"revoked by AWS Signer: {SIGNING_PROFILE_VERSION}" in line
    assert world.calls["GetRevocationStatus"] == 1


def test_an_envelope_that_does_not_hash_to_its_digest_fails(
    world: MotoWorld, tmp_path: Path
) -> None:
    args = _signed(world)

    def tamper(w: MotoWorld) -> None:
        for digest, blob in list(w._blobs.items()):
            if blob.startswith(b'{"payload"'):
                w.serve_blob(digest, blob.replace(b'"payload": "', b'"payload": "e30', 1))

    world.on_call("ListImageReferrers", 2, tamper)
    run = run_cli(world, args, tmp_path)
    assert run.code == 1, run.output
    assert "no signature of it verifies" in _line(run.stdout)
    assert "tampered with or corrupted" in run.stdout
    assert world.calls["GetRevocationStatus"] == 0  # nothing unverified is asked about


def test_without_the_pinned_demo_root_the_signature_is_refused(
    world: MotoWorld, tmp_path: Path
) -> None:
    args = _signed(world)
    i = args.index("--signer-root-sha256")
    del args[i : i + 2]
    run = run_cli(world, args, tmp_path)
    assert run.code == 1, run.output
    assert "not at a pinned AWS Signer root" in run.stdout


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--enable", "deployed-image-signed"], "deployed-image-signed needs --signing-profile"),
        (
            ["--enable", "deployed-image-signed", "--signing-profile",
             "arn:aws:signer:us-east-1:123456789012:/signing-profiles/*"],
            "without wildcards",
        ),
        (
            ["--enable", "deployed-image-signed", "--signing-profile", f"{SIGNING_PROFILE}/v1"],
            "without a version",
        ),
        (["--signer-root-sha256", "abc"], "not a SHA-256"),
        # Sigstore sources are not built: their flags do not exist, so they cannot be skipped.
        (["--attestation-identity", "x"], "unrecognized arguments: --attestation-identity"),
        (["--sigstore-trusted-root", "x"], "unrecognized arguments: --sigstore-trusted-root"),
    ],
)  # fmt: skip
def test_a_signing_configuration_that_cannot_be_honoured_exits_2(
    world: MotoWorld, tmp_path: Path, extra: list[str], message: str
) -> None:
    run = run_cli(world, ["run", "--repository", REPOSITORY, "--endpoint", "e", *extra], tmp_path)
    assert run.code == 2, run.output
    assert message in run.stderr
    assert DEMO_ROOT_SHA256 not in run.stderr


def test_the_evidence_record_names_source_signer_and_time_per_digest(
    world: MotoWorld, tmp_path: Path
) -> None:
    import json

    import jsonschema

    record = tmp_path / "evidence.json"
    run = run_cli(world, [*_signed(world), "--evidence", str(record)], tmp_path)
    assert run.code == 0, run.output
    document = json.loads(record.read_text())
    schema_path = Path(__file__).resolve().parents[2] / "soc2gate/schemas/evidence.schema.json"
    schema = json.loads(schema_path.read_text())
    jsonschema.Draft202012Validator(schema).validate(document)
    (check,) = [c for c in document["checks"] if c["id"] == "deployed-image-signed"]
    (digest,) = check["evidence"]["digests"]
    assert digest["digest"] == GATED_DIGEST
    assert digest["source"] == "ecr-managed-signing+notation"
    assert digest["signer"] == SIGNING_PROFILE_VERSION
    assert digest["signingTime"].endswith("Z")
    assert check["evidence"]["unsigned"] == 0
    assert "signer:GetRevocationStatus" not in {o["operation"] for o in check["aws_operations"]}
    assert "signer-data:GetRevocationStatus" in {o["operation"] for o in check["aws_operations"]}
    # The schema holds each digest to its fields: one without its signer is refused.
    del digest["signer"]
    assert not jsonschema.Draft202012Validator(schema).is_valid(document)


def test_signing_in_progress_is_waited_for(world: MotoWorld, tmp_path: Path) -> None:
    run = run_cli(world, _signed(world), tmp_path)
    assert run.code == 0, run.output
    # The first read said IN_PROGRESS; the gate polled again and the second said COMPLETE.
    assert world.calls["DescribeImageSigningStatus"] == 2
    assert "deployed-image-signed: IN_PROGRESS" in run.stderr


def test_signing_that_never_finishes_fails_at_the_deadline(
    world: MotoWorld, tmp_path: Path
) -> None:
    scenario = SCENARIOS["healthy"]
    scenario.prepare(world)
    world.set_signing_status(REPOSITORY, GATED_DIGEST, SIGNING_PROFILE, "IN_PROGRESS")
    args = ["run", *scenario.gate_args(world), "--enable", "deployed-image-signed",
            "--signing-profile", SIGNING_PROFILE, "--timeout", "3s"]  # fmt: skip
    run = run_cli(world, args, tmp_path)
    assert run.code == 1, run.output
    assert "still IN_PROGRESS" in _line(run.stdout)
    assert world.calls["DescribeImageSigningStatus"] > 2


@pytest.mark.parametrize(
    ("operation", "action"),
    [
        ("DescribeImageSigningStatus", "ecr:DescribeImageSigningStatus"),
        # No ecr:ListImageReferrers action exists: BatchGetImage authorizes it.
        ("ListImageReferrers", "ecr:BatchGetImage"),
        ("GetRevocationStatus", "signer:GetRevocationStatus"),
    ],
)
def test_access_denied_on_a_signature_read_is_an_error(
    world: MotoWorld, tmp_path: Path, operation: str, action: str
) -> None:
    from soc2gate.demo.world import aws_error, fail_calls

    args = _signed(world)
    world.inject(operation, fail_calls(None, aws_error()))
    run = run_cli(world, args, tmp_path)
    assert run.code == 3, run.output
    line = next(x for x in run.stdout.splitlines() if x.startswith("ERROR deployed-image-signed"))
    assert action in line
