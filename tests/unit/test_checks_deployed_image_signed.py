"""deployed-image-signed: ECR managed signing states, referrer paging, revocation, the verdict.

AWS answers go through botocore's Stubber (shapes from the ECR and signer-data models); the
envelopes are built by soc2gate.demo.signatures under the demo root pinned here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from soc2gate.aws import AwsClients, in_region
from soc2gate.checks.base import CheckContext
from soc2gate.checks.provenance._notation import verify_envelope
from soc2gate.checks.provenance.deployed_image_signed import (
    DeployedImageSigned,
    DigestVerdict,
    SourceResult,
    decide,
    evaluate,
    list_signature_referrers,
    managed_signing,
    revoked,
    served_digests,
)
from soc2gate.config import GateConfig
from soc2gate.demo.signatures import DEMO_CHAIN, sign_envelope
from soc2gate.errors import UnreadableAnswer
from soc2gate.models import CheckResult, Status

REPO = "defender-image-analyzer-soc2"
DIGEST = "sha256:" + "ab" * 32
OTHER = "sha256:" + "cd" * 32
PROFILE = "arn:aws:signer:us-east-1:123456789012:/signing-profiles/soc2_release"
OTHER_PROFILE = "arn:aws:signer:us-east-1:123456789012:/signing-profiles/sandbox_builds"
URI = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/{REPO}"
CHECK = DeployedImageSigned()


def _ecr() -> Any:
    return boto3.client(
        "ecr", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


def _status(*entries: dict[str, Any]) -> dict[str, Any]:
    return {
        "repositoryName": REPO,
        "imageId": {"imageDigest": DIGEST},
        "registryId": "123456789012",
        "signingStatuses": list(entries),
    }


def _managed(answer: dict[str, Any]) -> SourceResult:
    ecr = _ecr()
    with Stubber(ecr) as stub:
        stub.add_response(
            "describe_image_signing_status",
            answer,
            {"repositoryName": REPO, "imageId": {"imageDigest": DIGEST}},
        )
        return managed_signing(ecr, REPO, DIGEST, (PROFILE,))


def test_complete_for_a_trusted_profile_is_complete() -> None:
    result = _managed(_status({"signingProfileArn": PROFILE, "status": "COMPLETE"}))
    assert (result.outcome, result.signer) == ("complete", PROFILE)


def test_in_progress_waits() -> None:
    result = _managed(_status({"signingProfileArn": PROFILE, "status": "IN_PROGRESS"}))
    assert result.outcome == "pending" and "IN_PROGRESS" in result.detail


def test_failed_fails_with_aws_reason() -> None:
    result = _managed(
        _status(
            {
                "signingProfileArn": PROFILE,
                "status": "FAILED",
                "failureCode": "FAILURE-CODE",
                "failureReason": "FAILURE-REASON",
            }
        )
    )
    assert result.outcome == "failed"
    assert "FAILED: FAILURE-CODE: FAILURE-REASON" in result.detail


def test_a_complete_entry_wins_over_a_failed_one_of_the_same_trust() -> None:
    # Two trusted rules: one FAILED, one COMPLETE (recorded shape): the COMPLETE one signs.
    ecr = _ecr()
    answer = _status(
        {"signingProfileArn": OTHER_PROFILE, "status": "FAILED", "failureReason": "x"},
        {"signingProfileArn": PROFILE, "status": "COMPLETE"},
    )
    with Stubber(ecr) as stub:
        stub.add_response("describe_image_signing_status", answer)
        result = managed_signing(ecr, REPO, DIGEST, (PROFILE, OTHER_PROFILE))
    assert result.outcome == "complete" and result.signer == PROFILE


def test_no_entry_for_the_profile_says_how_to_add_a_signing_rule() -> None:
    result = _managed(_status({"signingProfileArn": OTHER_PROFILE, "status": "COMPLETE"}))
    assert result.outcome == "none"
    assert f"no status for {PROFILE}" in result.detail
    assert OTHER_PROFILE in result.detail  # what is there is said
    assert "put-signing-configuration" in result.detail


def test_no_entry_at_all_is_none() -> None:
    assert _managed(_status()).outcome == "none"


def test_an_unknown_state_is_unreadable_never_a_wait() -> None:
    with pytest.raises(UnreadableAnswer, match=r"'REVOKED'.*does not know"):
        _managed(_status({"signingProfileArn": PROFILE, "status": "REVOKED"}))


def test_a_missing_status_list_is_unreadable_not_unsigned() -> None:
    answer = _status()
    del answer["signingStatuses"]
    with pytest.raises(UnreadableAnswer, match="without a signingStatuses list"):
        _managed(answer)


def _referrer(
    digest: str, artifact: str = "application/vnd.cncf.notary.signature"
) -> dict[str, Any]:
    return {
        "digest": digest,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": artifact,
        "size": 700,
        "artifactStatus": "ACTIVE",
    }


def test_referrers_are_paged_by_hand() -> None:
    ecr = _ecr()
    first = "sha256:" + "01" * 32
    second = "sha256:" + "02" * 32
    expected = {
        "repositoryName": REPO,
        "subjectId": {"imageDigest": DIGEST},
        "filter": {"artifactTypes": ["application/vnd.cncf.notary.signature"]},
        "maxResults": 50,
    }
    with Stubber(ecr) as stub:
        stub.add_response(
            "list_image_referrers", {"referrers": [_referrer(first)], "nextToken": "t1"}, expected
        )
        stub.add_response(
            "list_image_referrers",
            {"referrers": [_referrer(second), _referrer(OTHER, "application/x-other")]},
            {**expected, "nextToken": "t1"},
        )
        found = list_signature_referrers(ecr, REPO, DIGEST)
        stub.assert_no_pending_responses()
    # Both pages read; an artifact of another type (if AWS ignored the filter) is not used.
    assert [r["digest"] for r in found] == [first, second]


def test_a_referrers_answer_without_the_list_is_unreadable() -> None:
    ecr = _ecr()
    with Stubber(ecr) as stub:
        stub.add_response("list_image_referrers", {})
        with pytest.raises(UnreadableAnswer, match="without a referrers list"):
            list_signature_referrers(ecr, REPO, DIGEST)


def _signature() -> Any:
    envelope = sign_envelope(DEMO_CHAIN, DIGEST, f"{PROFILE}/a1B2c3D4e5")
    return verify_envelope(
        envelope,
        served_digest=DIGEST,
        trusted_profiles=[PROFILE],
        root_pins=[DEMO_CHAIN.root_sha256],
        now=dt.datetime.now(dt.timezone.utc),
    )


def _ctx(signer: Any) -> CheckContext:
    return CheckContext(
        config=GateConfig(signing_profile=(PROFILE,)),
        clients=lambda service: signer,
        clock=lambda: 0.0,
        environ={},
    )


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"revokedEntities": []}, []),
        ({"revokedEntities": ["JOB"]}, ["JOB"]),
    ],
)
def test_revocation_asks_aws_signer_with_the_certificate_hashes(
    answer: dict[str, Any], expected: list[str]
) -> None:
    signature = _signature()
    signer = boto3.client(
        "signer-data", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(signer) as stub:
        stub.add_response(
            "get_revocation_status",
            answer,
            {
                "signatureTimestamp": signature.signing_time,
                "platformId": "Notation-OCI-SHA384-ECDSA",
                "profileVersionArn": signature.profile_version_arn,
                "jobArn": signature.job_arn,
                "certificateHashes": list(signature.certificate_hashes),
            },
        )
        assert revoked(_ctx(signer), signature) == expected


def _signer(region: str) -> Any:
    return boto3.client(
        "signer-data", region_name=region, aws_access_key_id="x", aws_secret_access_key="x"
    )


def test_revocation_is_asked_of_the_profiles_own_region() -> None:
    """The run's region is eu-west-1, the trusted profile's us-east-1: AWS Signer is asked in
    us-east-1 (an empty answer from eu-west-1 would read as "nothing revoked")."""
    signature = _signature()
    assert ":us-east-1:" in signature.profile_version_arn
    home, other = _signer("us-east-1"), _signer("eu-west-1")
    asked: list[str] = []

    def clients(service: str) -> Any:
        asked.append(service)
        return {"signer-data": other, in_region("signer-data", "us-east-1"): home}[service]

    ctx = CheckContext(
        config=GateConfig(signing_profile=(PROFILE,)),
        clients=clients,
        clock=lambda: 0.0,
        environ={},
    )
    with Stubber(home) as stub_home, Stubber(other) as stub_other:
        stub_home.add_response("get_revocation_status", {"revokedEntities": ["JOB"]})
        assert revoked(ctx, signature) == ["JOB"]
        stub_home.assert_no_pending_responses()
        stub_other.assert_no_pending_responses()  # nothing was asked in eu-west-1
    assert asked[-1] == "signer-data@region:us-east-1"


def test_a_client_that_answers_for_another_region_is_unreadable_not_unrevoked() -> None:
    signature = _signature()
    other = _signer("eu-west-1")
    with Stubber(other) as stub:
        stub.add_response("get_revocation_status", {"revokedEntities": []})
        with pytest.raises(UnreadableAnswer, match="could not be asked"):
            revoked(_ctx(other), signature)


def test_aws_clients_make_a_client_in_the_asked_region() -> None:
    clients = AwsClients(region="eu-west-1")
    assert clients("signer-data").meta.region_name == "eu-west-1"
    assert clients(in_region("signer-data", "us-east-1")).meta.region_name == "us-east-1"


def test_a_revocation_answer_without_the_list_is_unreadable_not_unrevoked() -> None:
    signer = boto3.client(
        "signer-data", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(signer) as stub:
        stub.add_response("get_revocation_status", {})
        with pytest.raises(UnreadableAnswer, match="revokedEntities"):
            revoked(_ctx(signer), _signature())


VERIFIED = SourceResult("notation", "verified", "signed by P at T", signer="P/v", signing_time="T")
COMPLETE = SourceResult("ecr-managed-signing", "complete", "COMPLETE", signer=PROFILE)
PENDING = SourceResult("ecr-managed-signing", "pending", "IN_PROGRESS")
NONE_M = SourceResult("ecr-managed-signing", "none", "no status for P: add a rule")
NONE_N = SourceResult("notation", "none", "no Notation signature is listed")
BAD_N = SourceResult("notation", "failed", "signature x: revoked by AWS Signer: JOB")


@pytest.mark.parametrize(
    ("managed", "notation", "status", "source", "words"),
    [
        (COMPLETE, VERIFIED, Status.PASS, "ecr-managed-signing+notation", "signed by P"),
        (NONE_M, VERIFIED, Status.PASS, "notation", "signed by P"),
        (PENDING, VERIFIED, Status.PASS, "notation", "signed by P"),
        # COMPLETE alone passes, saying the signature itself was not verified.
        (COMPLETE, NONE_N, Status.PASS, "ecr-managed-signing", "was not verified"),
        # COMPLETE but the listed signature does not hold: never a pass.
        (COMPLETE, BAD_N, Status.FAIL, "", "but no signature of it verifies"),
        (PENDING, NONE_N, Status.PENDING, "", "IN_PROGRESS"),
        (PENDING, BAD_N, Status.PENDING, "", "IN_PROGRESS"),
        (NONE_M, NONE_N, Status.FAIL, "", "is not signed by a trusted profile"),
        (NONE_M, BAD_N, Status.FAIL, "", "revoked by AWS Signer"),
    ],
)
def test_the_digest_passes_only_if_a_source_verifies_it(
    managed: SourceResult, notation: SourceResult, status: Status, source: str, words: str
) -> None:
    verdict = decide(DigestVerdict(URI, DIGEST, ["gated image"]), [managed, notation])
    assert verdict.status is status
    assert verdict.source == source
    assert words in verdict.reason
    assert verdict.digest[:19] in verdict.reason or "sha256:abababababab" in verdict.reason


def _deployed(evidence: dict[str, Any], status: Status = Status.PASS) -> CheckResult:
    return CheckResult("deployed-image-scanned", status, "r", evidence=evidence)


def test_every_digest_that_serves_traffic_is_judged_once() -> None:
    evidence = {
        "repositoryUri": URI,
        "scannedDigest": DIGEST,
        "deployedImages": [
            {"variant": "AllTraffic", "resolvedImage": f"{URI}@{DIGEST}"},
            {"variant": "shadow Shadow", "resolvedImage": f"{URI}@{OTHER}"},
        ],
        "inferenceComponents": [
            {"inferenceComponent": "ic-1", "resolvedImage": f"{URI}@{OTHER}"},
        ],
    }
    served = served_digests(CHECK, _deployed(evidence, Status.FAIL))
    assert not isinstance(served, CheckResult)
    _, images = served
    assert images == {
        (URI, DIGEST): ["gated image", "variant AllTraffic"],
        (URI, OTHER): ["variant shadow Shadow", "inference component ic-1"],
    }


def test_without_deployed_image_scanned_there_is_nothing_to_judge() -> None:
    result = served_digests(CHECK, None)
    assert isinstance(result, CheckResult) and result.status is Status.ERROR
    assert "not part of this run" in result.reason


def test_when_deployed_image_scanned_read_no_images_this_is_not_evaluated() -> None:
    result = served_digests(CHECK, _deployed({}, Status.ERROR))
    assert isinstance(result, CheckResult) and result.status is Status.ERROR
    assert result.blocked_by == "deployed-image-scanned"


def test_a_served_image_without_a_digest_is_an_error() -> None:
    evidence = {
        "repositoryUri": URI,
        "scannedDigest": DIGEST,
        "deployedImages": [{"variant": "AllTraffic", "resolvedImage": None}],
    }
    result = served_digests(CHECK, _deployed(evidence))
    assert isinstance(result, CheckResult) and result.status is Status.ERROR


def test_one_unsigned_digest_fails_the_check_and_is_counted() -> None:
    good = decide(DigestVerdict(URI, DIGEST, ["gated image"]), [COMPLETE, VERIFIED])
    bad = decide(DigestVerdict(URI, OTHER, ["variant AllTraffic"]), [NONE_M, NONE_N])
    result = evaluate(CHECK, [good, bad], GateConfig(signing_profile=(PROFILE,)))
    assert result.status is Status.FAIL
    assert "sha256:cdcdcdcdcdcd is not signed" in result.reason
    assert "variant AllTraffic" in result.reason
    assert result.evidence["unsigned"] == 1
    signed = result.evidence["digests"][0]
    assert (signed["source"], signed["signer"], signed["signingTime"]) == (
        "ecr-managed-signing+notation",
        "P/v",
        "T",
    )


def test_all_signed_passes_naming_source_signer_and_time() -> None:
    good = decide(DigestVerdict(URI, DIGEST, ["gated image"]), [COMPLETE, VERIFIED])
    result = evaluate(CHECK, [good], GateConfig(signing_profile=(PROFILE,)))
    assert result.status is Status.PASS
    assert "signed by P at T" in result.reason
    assert result.evidence["unsigned"] == 0


def test_the_check_is_skipped_without_a_trusted_profile() -> None:
    config = GateConfig(repository=REPO, require_tags=("t",), endpoint="e")
    assert "no --signing-profile" in (CHECK.skip_reason(config) or "")
    assert (
        CHECK.skip_reason(GateConfig(**{**config.__dict__, "signing_profile": (PROFILE,)})) is None
    )
