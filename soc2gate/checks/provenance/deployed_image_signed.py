"""deployed-image-signed: every digest that serves traffic was signed by a trusted AWS Signer profile.

Runs after deployed-image-scanned and judges the digests it read: the gated digest, every
production and shadow variant's ``DeployedImages[].ResolvedImage`` and every inference
component's ``ResolvedImage`` (its evidence), so both checks judge the same images. Each
digest passes only if at least one source verifies it; every source tried is reported:

- ``ecr-managed-signing``: ``DescribeImageSigningStatus`` has an entry COMPLETE for a trusted
  ``--signing-profile`` (IN_PROGRESS waits, FAILED fails with AWS's reason, no entry fails
  saying how to add a signing rule). COMPLETE only says a signature was made: the signature
  itself is verified as below whenever it is listed, and the result says when it is not.
- ``notation``: the digest's referrers of artifact type ``application/vnd.cncf.notary.signature``
  (``ListImageReferrers``, pages followed by hand), each envelope read by digest (BatchGetImage,
  GetDownloadUrlForLayer, its SHA-256 checked) and verified offline (``_notation``), then asked
  of AWS Signer for revocation (``signer-data`` ``GetRevocationStatus``).

Sigstore bundles (cosign, GitHub artifact attestations) are not a source yet: their options are
refused at configuration time (``config.validate_signing``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from soc2gate.checks.base import Check, CheckContext
from soc2gate.checks.ecr._ecr import (
    BlobError,
    ImageUri,
    gated_image_unconfigured,
    parse_image_uri,
    short_digest,
)
from soc2gate.checks.provenance._notation import (
    AWS_SIGNER_ROOTS,
    ENVELOPE_MEDIA_TYPE,
    SIGNATURE_ARTIFACT_TYPE,
    EnvelopeRejected,
    VerifiedSignature,
    verify_envelope,
)
from soc2gate.checks.sagemaker._sagemaker import endpoint_unconfigured
from soc2gate.config import GateConfig
from soc2gate.errors import UnreadableAnswer
from soc2gate.models import CheckResult, Status
from soc2gate.polling import SIGNING_STATUS, Verdict

DEPLOYED_CHECK = "deployed-image-scanned"
#: Referrers read per digest at most: more signatures than this is not a normal image.
MAX_REFERRERS = 25
#: A Notation envelope is a few kilobytes.
ENVELOPE_LIMIT = 256 * 1024
REVOCATION_PLATFORM = "Notation-OCI-SHA384-ECDSA"
SIGNING_RULE_FIX = (
    "add a signing rule for it (aws ecr put-signing-configuration --signing-configuration "
    "'rules=[{signingProfileArn=ARN}]') and push the image again, or sign it with notation and "
    "the AWS Signer plugin"
)


@dataclass(frozen=True)
class SourceResult:
    """What one source said about one digest."""

    source: str  # ecr-managed-signing | notation
    outcome: str  # verified | complete | pending | failed | none
    detail: str
    signer: str = ""
    signing_time: str = ""


@dataclass
class DigestVerdict:
    repository: str
    digest: str
    served_as: list[str]
    status: Status = Status.FAIL
    reason: str = ""
    source: str = ""
    signer: str = ""
    signing_time: str = ""
    sources: list[SourceResult] = field(default_factory=list)

    def evidence(self) -> dict[str, Any]:
        return {
            "repository": self.repository,
            "digest": self.digest,
            "servedAs": list(self.served_as),
            "status": self.status.value,
            "source": self.source,
            "signer": self.signer,
            "signingTime": self.signing_time,
            "sources": [
                {"source": s.source, "outcome": s.outcome, "detail": s.detail} for s in self.sources
            ],
        }


class DeployedImageSigned(Check):
    id = "deployed-image-signed"
    title = "Every image that serves traffic is signed by a trusted signer"
    asserts = (
        "Every digest deployed-image-scanned read (the gated digest, each production and shadow "
        "variant's ResolvedImage, each inference component's) is signed by a --signing-profile: "
        "a Notation signature (ListImageReferrers) whose JWS verifies offline with ES384 over a "
        "chain ending at the pinned AWS Signer root, names that digest and a trusted profile, "
        "has not expired and is not revoked (signer-data GetRevocationStatus); or ECR managed "
        "signing (DescribeImageSigningStatus) COMPLETE for a trusted profile, the signature "
        "itself verified whenever it is listed (IN_PROGRESS waits, FAILED fails)."
    )
    remediation = (
        "Sign the image with a trusted AWS Signer profile: turn on ECR managed signing for the "
        "repository (aws ecr put-signing-configuration) and push again, or sign it with notation "
        "and the AWS Signer plugin (notation sign --plugin com.amazonaws.signer.notation.plugin "
        "--id PROFILE_ARN IMAGE@DIGEST); then deploy that digest. See docs/provenance.md."
    )
    soc2 = ("CC8.1", "CC6.8")
    default_enabled = False
    depends_on = (DEPLOYED_CHECK,)
    beyond = (
        "no Security Hub control or AWS Config rule checks that the images serving an endpoint "
        "were signed by a signer the pipeline trusts; SageMaker has no admission control"
    )

    def skip_reason(self, config: GateConfig) -> str | None:
        unconfigured = endpoint_unconfigured(config) or gated_image_unconfigured(config)
        if unconfigured:
            return unconfigured
        if not config.signing_profile:
            return "no --signing-profile: no trusted signer to verify against"
        return None

    def run(self, ctx: CheckContext) -> CheckResult:
        deployed = ctx.result_of(DEPLOYED_CHECK)
        served = served_digests(self, deployed)
        if isinstance(served, CheckResult):
            return served
        gated, images = served
        verdicts = [
            judge_digest(ctx, gated, repo, digest, labels)
            for (repo, digest), labels in images.items()
        ]
        return evaluate(self, verdicts, ctx.config)


def served_digests(
    check: Check, deployed: CheckResult | None
) -> tuple[ImageUri, dict[tuple[str, str], list[str]]] | CheckResult:
    """The gated repository and {(repository URI, digest): [what serves it]} from
    deployed-image-scanned's evidence; a CheckResult when it did not read them."""
    if deployed is None:
        return check.error(
            f"{DEPLOYED_CHECK} is not part of this run: it reads the digests that serve "
            f"traffic, which this check judges; run it too"
        )
    evidence = deployed.evidence
    if deployed.status is Status.SKIPPED or "deployedImages" not in evidence:
        return replace(
            check.error(
                f"{DEPLOYED_CHECK} read no deployed images ({deployed.status.value}: "
                f"{deployed.reason}): nothing to verify the signatures of"
            ),
            blocked_by=DEPLOYED_CHECK if deployed.status is not Status.SKIPPED else "",
        )
    gated = parse_image_uri(str(evidence.get("repositoryUri") or ""))
    digest = evidence.get("scannedDigest")
    if gated is None or not isinstance(digest, str) or not digest.startswith("sha256:"):
        return check.error(f"{DEPLOYED_CHECK} did not record the gated repository and digest")
    images: dict[tuple[str, str], list[str]] = {}
    images.setdefault((gated.where, digest), []).append("gated image")
    entries: list[tuple[str, Any]] = [
        (f"variant {d.get('variant')}", d.get("resolvedImage"))
        for d in evidence.get("deployedImages") or []
    ]
    entries += [
        (f"inference component {c.get('inferenceComponent')}", c.get("resolvedImage"))
        for c in evidence.get("inferenceComponents") or []
    ]
    for label, image in entries:
        uri = parse_image_uri(str(image or ""))
        if uri is None or not uri.digest:
            return check.error(f"{label} serves {image!r}, not an image by digest: cannot verify")
        images.setdefault((uri.where, uri.digest), []).append(label)
    return gated, images


def judge_digest(
    ctx: CheckContext, gated: ImageUri, where: str, digest: str, labels: list[str]
) -> DigestVerdict:
    """Every source on one digest, then the verdict."""
    uri = parse_image_uri(f"{where}@{digest}")
    verdict = DigestVerdict(repository=where, digest=digest, served_as=labels)
    if uri is None or uri.registry_key != gated.registry_key:
        verdict.status = Status.ERROR
        verdict.reason = (
            f"{short_digest(digest)} is served from {where}, outside the gated registry: its "
            "signatures cannot be read here"
        )
        return verdict
    ecr = ctx.registry_client("ecr")
    profiles = ctx.config.signing_profile
    managed = managed_signing(ecr, uri.repository, digest, profiles)
    notation = notation_signatures(ctx, ecr, uri.repository, digest)
    verdict.sources = [managed, notation]
    return decide(verdict, managed, notation)


def decide(verdict: DigestVerdict, managed: SourceResult, notation: SourceResult) -> DigestVerdict:
    """Pure: the digest's verdict from what each source said."""
    short = short_digest(verdict.digest)
    if notation.outcome == "verified":
        verdict.status, verdict.source = Status.PASS, "notation"
        verdict.signer, verdict.signing_time = notation.signer, notation.signing_time
        verdict.reason = f"{short} {notation.detail}"
        if managed.outcome == "complete":
            verdict.source = "ecr-managed-signing+notation"
        return verdict
    if managed.outcome == "complete":
        if notation.outcome == "failed":
            verdict.status = Status.FAIL
            verdict.reason = (
                f"{short}: ECR managed signing says COMPLETE ({managed.signer}) but no signature "
                f"of it verifies: {notation.detail}"
            )
            return verdict
        verdict.status, verdict.source, verdict.signer = (
            Status.PASS,
            "ecr-managed-signing",
            managed.signer,
        )
        verdict.reason = (
            f"{short} ECR managed signing COMPLETE for {managed.signer}; the signature itself "
            f"was not verified ({notation.detail})"
        )
        return verdict
    if managed.outcome == "pending":
        verdict.status = Status.PENDING
        verdict.reason = f"{short}: {managed.detail}"
        return verdict
    verdict.status = Status.FAIL
    verdict.reason = (
        f"{short} is not signed by a trusted profile: {managed.detail}; {notation.detail}"
    )
    return verdict


def managed_signing(
    ecr: Any, repository: str, digest: str, profiles: Sequence[str]
) -> SourceResult:
    """ECR managed signing's status for the trusted profiles."""
    answer = ecr.describe_image_signing_status(
        repositoryName=repository, imageId={"imageDigest": digest}
    )
    statuses = answer.get("signingStatuses")
    if not isinstance(statuses, list):
        raise UnreadableAnswer("DescribeImageSigningStatus answered without a signingStatuses list")
    trusted = {p.lower(): p for p in profiles}
    found: list[tuple[Verdict, dict[str, Any]]] = []
    others: list[str] = []
    for entry in statuses:
        if not isinstance(entry, dict) or not isinstance(entry.get("signingProfileArn"), str):
            raise UnreadableAnswer("DescribeImageSigningStatus: an entry without signingProfileArn")
        arn = entry["signingProfileArn"]
        if arn.lower() not in trusted:
            others.append(f"{arn} {entry.get('status')}")
            continue
        state = entry.get("status")
        verdict = SIGNING_STATUS.classify(state if isinstance(state, str) else None)
        if verdict is Verdict.UNKNOWN:
            raise UnreadableAnswer(
                f"DescribeImageSigningStatus: status {state!r} for {arn}, a state this gate does "
                f"not know ({SIGNING_STATUS.known()})"
            )
        found.append((verdict, entry))
    for wanted in (Verdict.SUCCESS, Verdict.WAIT, Verdict.FAILURE):
        for verdict, entry in found:
            if verdict is not wanted:
                continue
            arn = entry["signingProfileArn"]
            if verdict is Verdict.SUCCESS:
                return SourceResult("ecr-managed-signing", "complete", "COMPLETE", signer=arn)
            if verdict is Verdict.WAIT:
                return SourceResult(
                    "ecr-managed-signing",
                    "pending",
                    f"ECR managed signing with {arn} is IN_PROGRESS (signing runs after the push)",
                )
            why = ": ".join(
                str(entry.get(k)) for k in ("failureCode", "failureReason") if entry.get(k)
            )
            return SourceResult(
                "ecr-managed-signing",
                "failed",
                f"ECR managed signing with {arn} FAILED: {why or 'AWS gave no reason'}",
            )
    seen = f" (it has: {', '.join(others)})" if others else ""
    return SourceResult(
        "ecr-managed-signing",
        "none",
        f"ECR managed signing has no status for {', '.join(profiles)}{seen}: {SIGNING_RULE_FIX}",
    )


def list_signature_referrers(ecr: Any, repository: str, digest: str) -> list[dict[str, Any]]:
    """Notation signature referrers of ``digest``; pages followed by hand (no paginator)."""
    out: list[dict[str, Any]] = []
    token: str | None = None
    for _ in range(100):
        kwargs: dict[str, Any] = {
            "repositoryName": repository,
            "subjectId": {"imageDigest": digest},
            "filter": {"artifactTypes": [SIGNATURE_ARTIFACT_TYPE]},
            "maxResults": 50,
        }
        if token:
            kwargs["nextToken"] = token
        answer = ecr.list_image_referrers(**kwargs)
        referrers = answer.get("referrers")
        if not isinstance(referrers, list):
            raise UnreadableAnswer("ListImageReferrers answered without a referrers list")
        for r in referrers:
            if not isinstance(r, dict) or not isinstance(r.get("digest"), str):
                raise UnreadableAnswer("ListImageReferrers: a referrer without a digest")
            if r.get("artifactType") == SIGNATURE_ARTIFACT_TYPE:
                out.append(r)
        token = answer.get("nextToken")
        if not token:
            return out
    raise UnreadableAnswer("ListImageReferrers kept answering with a nextToken (100 pages)")


def _envelope(ecr: Any, repository: str, referrer: str) -> bytes:
    """The JWS envelope of one signature manifest, its SHA-256 checked."""
    from soc2gate.checks.ecr._ecr import download_blob

    answer = ecr.batch_get_image(
        repositoryName=repository,
        imageIds=[{"imageDigest": referrer}],
        acceptedMediaTypes=["application/vnd.oci.image.manifest.v1+json"],
    )
    images = answer.get("images") or []
    if not images:
        raise EnvelopeRejected(f"signature manifest {short_digest(referrer)} could not be read")
    try:
        manifest = json.loads(images[0].get("imageManifest") or "")
    except ValueError:
        raise EnvelopeRejected("the signature manifest is not JSON") from None
    layers = manifest.get("layers") if isinstance(manifest, dict) else None
    envelopes = [
        layer
        for layer in layers or []
        if isinstance(layer, dict) and layer.get("mediaType") == ENVELOPE_MEDIA_TYPE
    ]
    if len(envelopes) != 1 or not isinstance(envelopes[0].get("digest"), str):
        raise EnvelopeRejected(
            f"the signature manifest has {len(envelopes)} {ENVELOPE_MEDIA_TYPE} layers, not one"
        )
    layer_digest = envelopes[0]["digest"]
    url = ecr.get_download_url_for_layer(repositoryName=repository, layerDigest=layer_digest)
    if not isinstance(url.get("downloadUrl"), str):
        raise UnreadableAnswer("GetDownloadUrlForLayer answered without a downloadUrl")
    try:
        return download_blob(url["downloadUrl"], layer_digest, limit=ENVELOPE_LIMIT)
    except BlobError as exc:
        raise EnvelopeRejected(f"envelope {short_digest(layer_digest)}: {exc}") from None


def revoked(ctx: CheckContext, signature: VerifiedSignature) -> list[str]:
    """What AWS Signer says is revoked of this signature (profile, job, certificates).

    Asked only of the profile's own region: another region's Signer knows nothing of it, and
    an empty answer from there would read as "nothing revoked"."""
    client = ctx.clients("signer-data")
    parts = signature.profile_version_arn.split(":")
    region = parts[3] if len(parts) > 4 else ""
    if region != client.meta.region_name:
        raise UnreadableAnswer(
            f"the signature's profile {signature.profile_version_arn} is in region "
            f"{region or '(none)'}, but this run asks AWS Signer in {client.meta.region_name}: "
            "its revocation cannot be checked here; run the gate in the profile's region"
        )
    answer = client.get_revocation_status(
        signatureTimestamp=signature.signing_time,
        platformId=REVOCATION_PLATFORM,
        profileVersionArn=signature.profile_version_arn,
        jobArn=signature.job_arn,
        certificateHashes=list(signature.certificate_hashes),
    )
    entities = answer.get("revokedEntities")
    if not isinstance(entities, list) or not all(isinstance(e, str) for e in entities):
        # Fail closed: an answer without the list is not "nothing revoked".
        raise UnreadableAnswer("GetRevocationStatus answered without a revokedEntities list")
    return entities


def notation_signatures(ctx: CheckContext, ecr: Any, repository: str, digest: str) -> SourceResult:
    """Verify the digest's Notation signatures; "verified" when one holds."""
    referrers = list_signature_referrers(ecr, repository, digest)
    if not referrers:
        return SourceResult("notation", "none", "no Notation signature is listed as its referrer")
    pins = ctx.config.signer_root_sha256 or tuple(AWS_SIGNER_ROOTS)
    # Wall-clock time for the expiry (ctx.clock is a monotonic clock for polling).
    now = dt.datetime.now(dt.timezone.utc)
    problems: list[str] = []
    for referrer in referrers[:MAX_REFERRERS]:
        name = short_digest(referrer["digest"])
        try:
            envelope = _envelope(ecr, repository, referrer["digest"])
            signature = verify_envelope(
                envelope,
                served_digest=digest,
                trusted_profiles=ctx.config.signing_profile,
                root_pins=pins,
                now=now,
            )
        except EnvelopeRejected as exc:
            problems.append(f"signature {name}: {exc}")
            continue
        gone = revoked(ctx, signature)
        if gone:
            problems.append(f"signature {name}: revoked by AWS Signer: {', '.join(gone)}")
            continue
        when = signature.signing_time.strftime("%Y-%m-%dT%H:%M:%SZ")
        return SourceResult(
            "notation",
            "verified",
            f"signed by {signature.profile_version_arn} at {when} (Notation signature {name} "
            "verified offline to the pinned AWS Signer root, not revoked)",
            signer=signature.profile_version_arn,
            signing_time=when,
        )
    if len(referrers) > MAX_REFERRERS:
        problems.append(f"{len(referrers) - MAX_REFERRERS} more signature(s) not read")
    return SourceResult("notation", "failed", "; ".join(problems))


def evaluate(check: Check, verdicts: Sequence[DigestVerdict], config: GateConfig) -> CheckResult:
    """Pure: the check's result from each digest's verdict."""
    evidence: dict[str, Any] = {
        "signingProfiles": list(config.signing_profile),
        "signerRootSha256": list(config.signer_root_sha256 or AWS_SIGNER_ROOTS),
        "digests": [v.evidence() for v in verdicts],
    }
    details = [
        f"{v.digest} ({', '.join(v.served_as)}): {v.status.value}: "
        + "; ".join(f"{s.source} {s.outcome}: {s.detail}" for s in v.sources)
        for v in verdicts
    ]
    for status in (Status.FAIL, Status.ERROR):
        bad = [v for v in verdicts if v.status is status]
        if bad:
            reason = "; ".join(f"{v.reason} (serves {', '.join(v.served_as)})" for v in bad)
            unsigned = sum(1 for v in verdicts if v.status is not Status.PASS)
            evidence["unsigned"] = unsigned
            if status is Status.FAIL:
                return check.failed(reason, details=details, evidence=evidence)
            return check.error(reason, details=details, evidence=evidence)
    pending = [v for v in verdicts if v.status is Status.PENDING]
    if pending:
        return check.pending("IN_PROGRESS", "; ".join(v.reason for v in pending), details=details)
    evidence["unsigned"] = 0
    signers = sorted({v.signer for v in verdicts})
    return check.passed(
        f"{len(verdicts)} digest(s) serving traffic signed by a trusted profile: "
        + "; ".join(f"{v.reason} [{v.source}]" for v in verdicts),
        details=[*details, f"signers: {', '.join(signers)}"],
        evidence=evidence,
    )
