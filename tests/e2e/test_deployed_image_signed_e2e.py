"""deployed-image-signed through the real CLI against the moto server: the signed pass is in
test_scenarios (scenarios signed, unsigned-deploy, wrong-signer); here the other negatives."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from gate_e2e import run_cli

from soc2gate.demo.attestations import DEMO_SIGSTORE
from soc2gate.demo.scenarios import (
    ATTESTATION_IDENTITY,
    ATTESTATION_REPOSITORY,
    COMMIT_SHA,
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


SCHEMA = Path(__file__).resolve().parents[2] / "soc2gate/schemas/evidence.schema.json"


def _signed_check(record: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The evidence record, held to its schema, and its deployed-image-signed check."""
    import jsonschema

    document = json.loads(record.read_text())
    jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text())).validate(document)
    (check,) = [c for c in document["checks"] if c["id"] == "deployed-image-signed"]
    return document, check


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
        (["--attestation-identity", "x"], "is not an exact certificate identity"),
        (
            ["--attestation-identity", "https://github.com/o/r/.github/workflows/*"],
            "no wildcards or patterns",
        ),
        (["--attestation-issuer", "http://issuer"], "is not an https:// URL"),
        (["--attestation-identity", "a@b.c", "--sigstore-trusted-root", "missing.json"],
         "cannot read missing.json"),
        (["--attestation-identity", "a@b.c", "--attestation-repository", "not a repo"],
         "is not OWNER/REPO"),
        # Without a trusted identity a pinned root would verify nothing: refused, not ignored.
        (["--attestation-repository", "o/r"], "--attestation-repository needs --attestation-identity"),
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
    import jsonschema

    record = tmp_path / "evidence.json"
    run = run_cli(world, [*_signed(world), "--evidence", str(record)], tmp_path)
    assert run.code == 0, run.output
    document, check = _signed_check(record)
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
    assert not jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text())).is_valid(document)


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


# ---- Sigstore: GitHub artifact attestations (scenario "attested") ---------------------------


def _attested(world: MotoWorld, *, drop: tuple[str, ...] = ()) -> list[str]:
    """The attested scenario's run, optionally without some flag (and its value)."""
    scenario = SCENARIOS["attested"]
    scenario.prepare(world)
    args = ["run", *scenario.gate_args(world), "--only", "ecr-scan-findings", "--only",
            "sagemaker-endpoint-status", "--only", "deployed-image-scanned", "--only",
            "deployed-image-signed"]  # fmt: skip
    for flag in drop:
        i = args.index(flag)
        del args[i : i + 2]
    return args


def _bundle_referrers(world: MotoWorld) -> list[dict[str, object]]:
    return [
        r
        for r in world.image_referrers(REPOSITORY, GATED_DIGEST)
        if r["artifactType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
    ]


def _signed_line(stdout: str, result: str = "FAIL") -> str:
    return next(
        line for line in stdout.splitlines() if line.startswith(f"{result} deployed-image-signed")
    )


def test_an_attested_deployment_records_identity_repository_commit_and_workflow(
    world: MotoWorld, tmp_path: Path
) -> None:
    record = tmp_path / "evidence.json"
    run = run_cli(world, [*_attested(world), "--evidence", str(record)], tmp_path)
    assert run.code == 0, run.output
    _, check = _signed_check(record)
    (digest,) = check["evidence"]["digests"]
    assert digest["source"] == "sigstore"
    assert digest["signer"] == ATTESTATION_IDENTITY
    assert digest["provenance"] == {
        "sourceRepository": f"https://github.com/{ATTESTATION_REPOSITORY}",
        "commit": COMMIT_SHA,
        "ref": "refs/heads/main",
        "workflow": ATTESTATION_IDENTITY,
    }
    assert check["evidence"]["sigstoreTrustedRootSha256"] == DEMO_SIGSTORE.trusted_root_sha256
    assert f"built from https://github.com/{ATTESTATION_REPOSITORY}@{COMMIT_SHA}" in check["reason"]
    # Verified offline: AWS Signer is never asked, and nothing but ECR reads the referrers.
    operations = {o["operation"] for o in check["aws_operations"]}
    assert operations <= {"ecr:ListImageReferrers", "ecr:BatchGetImage",
                          "ecr:GetDownloadUrlForLayer"}, operations  # fmt: skip
    assert world.calls["GetRevocationStatus"] == 0
    assert world.calls["DescribeImageSigningStatus"] == 0


def test_the_shipped_production_root_does_not_trust_another_instances_bundle(
    world: MotoWorld, tmp_path: Path
) -> None:
    """Without --sigstore-trusted-root the production root shipped with sigstore is the one
    trusted: the demo instance's bundle does not chain to it."""
    run = run_cli(world, _attested(world, drop=("--sigstore-trusted-root",)), tmp_path)
    assert run.code == 1, run.output
    line = _signed_line(run.stdout)
    assert f"{SHORT} is not signed by a trusted signer" in line
    assert "does not verify against the pinned trusted root" in run.junit.read_text()


def test_a_bundle_of_another_identity_fails(world: MotoWorld, tmp_path: Path) -> None:
    args = _attested(world)
    i = args.index("--attestation-identity")
    args[i + 1] = ATTESTATION_IDENTITY.replace("release.yml", "nightly.yml")
    run = run_cli(world, args, tmp_path)
    assert run.code == 1, run.output
    report = run.junit.read_text()
    assert f"signed by {ATTESTATION_IDENTITY} (issuer https://token.actions." in report
    assert "not by a trusted --attestation-identity" in report
    assert "nightly.yml" in report


def test_a_predicate_that_contradicts_its_certificate_fails(
    world: MotoWorld, tmp_path: Path
) -> None:
    """The workflow writes the predicate; Fulcio's certificate is what is believed."""
    args = _attested(world)
    for r in _bundle_referrers(world):
        world._referrers[(REPOSITORY, GATED_DIGEST)].remove(r)
    image = f"{world.account_id}.dkr.ecr.{world.region}.amazonaws.com/{REPOSITORY}"
    world.push_attestation(
        REPOSITORY,
        GATED_DIGEST,
        DEMO_SIGSTORE.attest(
            GATED_DIGEST,
            subject_name=image,
            repository=ATTESTATION_REPOSITORY,
            predicate_overrides={"commit": "0" * 40},
        ),
    )
    run = run_cli(world, args, tmp_path)
    assert run.code == 1, run.output
    assert "the predicate was not written by the build the certificate names" in run.stdout


def test_a_private_repositorys_bundle_is_an_error_linking_the_upstream_issue(
    world: MotoWorld, tmp_path: Path
) -> None:
    args = _attested(world)
    for r in _bundle_referrers(world):
        world._referrers[(REPOSITORY, GATED_DIGEST)].remove(r)
    world.push_attestation(
        REPOSITORY, GATED_DIGEST, DEMO_SIGSTORE.attest(GATED_DIGEST, corrupt="no-tlog")
    )
    run = run_cli(world, args, tmp_path)
    assert run.code == 3, run.output
    line = _signed_line(run.stdout, "ERROR")
    assert f"{SHORT} could not be verified" in line
    assert "github.com/sigstore/sigstore-python/issues/1529" in run.stdout


def test_a_bundle_that_does_not_hash_to_its_digest_fails(world: MotoWorld, tmp_path: Path) -> None:
    args = _attested(world)
    (layer,) = [d for d, blob in world._blobs.items() if b'"dsseEnvelope"' in blob]
    world.serve_blob(layer, world._blobs[layer].replace(b'"payload"', b'"payload" ', 1))
    run = run_cli(world, args, tmp_path)
    assert run.code == 1, run.output
    assert "tampered with or corrupted" in run.stdout


def test_without_the_deployed_commit_a_provenance_is_an_error_saying_what_to_pass(
    world: MotoWorld, tmp_path: Path
) -> None:
    args = _attested(world, drop=("--attestation-repository",))
    run = run_cli(world, args, tmp_path)  # run_cli drops GITHUB_* from the environment
    assert run.code == 3, run.output
    assert "pass --attestation-repository OWNER/REPO and --commit-sha" in run.stdout
    # GitHub Actions names the repository: the same run passes there.
    run = run_cli(world, args, tmp_path, extra_env={"GITHUB_REPOSITORY": ATTESTATION_REPOSITORY})
    assert run.code == 0, run.output


def test_a_platform_image_of_an_attested_index_passes_saying_how_they_relate(
    world: MotoWorld, tmp_path: Path
) -> None:
    """The build attests the multi-platform index; SageMaker resolved its linux/amd64 image.
    The index lists that image by digest (its bytes hashed to the attested digest), so the
    attestation vouches for it, and the report says so. deployed-image-scanned still fails:
    the scan passed the index, not this digest."""
    from dataclasses import replace

    from soc2gate.demo.scenarios import _HEALTHY, _scenario

    base = SCENARIOS["attested"]
    spec = replace(_HEALTHY, attestation="trusted", arm64_user="app", deployed="platform")
    scenario = _scenario("t", "t", 1, "", spec, test_args=base.test_args)
    scenario.prepare(world)
    record = tmp_path / "evidence.json"
    args = ["run", *scenario.gate_args(world), "--evidence", str(record)]
    run = run_cli(world, args, tmp_path)
    document, check = _signed_check(record)
    assert check["status"] == "PASS", run.output
    (gated, served) = check["evidence"]["digests"]
    index = gated["digest"]
    assert gated["source"] == "sigstore" and gated["relation"] == ""
    assert served["digest"] != index
    assert served["relation"] == (
        f"the linux/amd64 image of index {index[:19]}, the digest the signature names"
    )
    assert served["provenance"]["commit"] == COMMIT_SHA
    # The index's signatures are read once, for the gated image, not again for its platform.
    assert world.calls["ListImageReferrers"] == 2
    (scanned,) = [c for c in document["checks"] if c["id"] == "deployed-image-scanned"]
    assert scanned["status"] == "FAIL" and run.code == 1


def test_a_platform_image_of_an_unsigned_index_fails_naming_both(
    world: MotoWorld, tmp_path: Path
) -> None:
    from dataclasses import replace

    from soc2gate.demo.scenarios import _HEALTHY, _scenario

    base = SCENARIOS["attested"]
    spec = replace(_HEALTHY, arm64_user="app", deployed="platform")
    scenario = _scenario("t", "t", 1, "", spec, test_args=base.test_args)
    scenario.prepare(world)
    run = run_cli(world, ["run", *scenario.gate_args(world)], tmp_path)
    assert run.code == 1, run.output
    report = run.junit.read_text()
    assert "image of index sha256:" in report
    assert "which is not signed either" in report


# ---- each source alone passes through the CLI -------------------------------------------------


def _healthy_signed_args(world: MotoWorld) -> list[str]:
    scenario = SCENARIOS["healthy"]
    scenario.prepare(world)
    return ["run", *scenario.gate_args(world), "--enable", "deployed-image-signed",
            "--signing-profile", SIGNING_PROFILE, "--signer-root-sha256", DEMO_ROOT_SHA256,
            "--evidence", "evidence.json"]  # fmt: skip


def _signed_digest(tmp_path: Path) -> dict[str, object]:
    _, check = _signed_check(tmp_path / "evidence.json")
    assert check["status"] == "PASS", check["reason"]
    (digest,) = check["evidence"]["digests"]
    return dict(digest)


def test_ecr_managed_signing_alone_passes_saying_the_signature_was_not_verified(
    world: MotoWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    args = _healthy_signed_args(world)
    world.set_signing_status(REPOSITORY, GATED_DIGEST, SIGNING_PROFILE, "COMPLETE")
    run = run_cli(world, args, tmp_path)
    assert run.code == 0, run.output
    digest = _signed_digest(tmp_path)
    assert digest["source"] == "ecr-managed-signing"
    assert digest["signer"] == SIGNING_PROFILE
    assert "the signature itself was not verified" in run.junit.read_text()


def test_a_notation_signature_alone_passes_without_ecr_managed_signing(
    world: MotoWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Signed with notation and the AWS Signer plugin in the pipeline, no signing rule: ECR
    has no status for the profile, the verified signature is enough."""
    from soc2gate.demo.signatures import DEMO_CHAIN, sign_envelope

    monkeypatch.chdir(tmp_path)
    args = _healthy_signed_args(world)
    world.push_signature(
        REPOSITORY, GATED_DIGEST, sign_envelope(DEMO_CHAIN, GATED_DIGEST, SIGNING_PROFILE_VERSION)
    )
    run = run_cli(world, args, tmp_path)
    assert run.code == 0, run.output
    digest = _signed_digest(tmp_path)
    assert digest["source"] == "notation"
    assert digest["signer"] == SIGNING_PROFILE_VERSION
    assert world.calls["GetRevocationStatus"] == 1


@pytest.mark.parametrize(
    ("signature", "words"),
    [
        (
            {"digest": "sha256:" + "0f" * 32},
            f"the signature is for sha256:{'0f' * 32}, not the served {GATED_DIGEST}",
        ),
        ({"extra_crit": ("com.example.mustUnderstand",)}, "com.example.mustUnderstand"),
    ],
)
def test_a_notation_signature_that_does_not_prove_this_digest_fails_naming_it(
    world: MotoWorld,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    signature: dict[str, object],
    words: str,
) -> None:
    """Pushed as a referrer of the served digest: a signature of another digest, one with a
    critical header the verifier does not understand."""
    from soc2gate.demo.signatures import DEMO_CHAIN, sign_envelope

    monkeypatch.chdir(tmp_path)
    args = _healthy_signed_args(world)
    digest = str(signature.get("digest", GATED_DIGEST))
    extra = {k: v for k, v in signature.items() if k != "digest"}
    world.push_signature(
        REPOSITORY,
        GATED_DIGEST,
        sign_envelope(DEMO_CHAIN, digest, SIGNING_PROFILE_VERSION, **extra),  # type: ignore[arg-type]
    )
    run = run_cli(world, args, tmp_path)
    assert run.code == 1, run.output
    assert f"{SHORT} is not signed by a trusted profile" in _line(run.stdout)
    assert words in run.junit.read_text()
    assert world.calls["GetRevocationStatus"] == 0  # nothing unverified is asked about


def test_an_attestation_of_another_digest_fails_naming_both(
    world: MotoWorld, tmp_path: Path
) -> None:
    args = _attested(world)
    for r in _bundle_referrers(world):
        world._referrers[(REPOSITORY, GATED_DIGEST)].remove(r)
    other = "sha256:" + "0f" * 32
    world.push_attestation(REPOSITORY, GATED_DIGEST, DEMO_SIGSTORE.attest(other))
    run = run_cli(world, args, tmp_path)
    assert run.code == 1, run.output
    assert f"it attests sha256:0f0f0f0f0f0f, not the served digest {SHORT}" in (
        run.junit.read_text()
    )
