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

- ``sigstore``: the digest's referrers of artifact type
  ``application/vnd.dev.sigstore.bundle.v0.3+json`` (``actions/attest-build-provenance`` with
  ``push-to-registry``, cosign's new bundle format), each bundle read by digest the same way and
  verified offline with the ``sigstore`` library against the pinned trusted root and a trusted
  ``--attestation-identity`` (``_sigstore``); a SLSA v1 provenance must name this repository and
  the commit being deployed.

The AWS Signer sources run when ``--signing-profile`` is given, the Sigstore one when
``--attestation-identity`` is.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
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
from soc2gate.checks.provenance._sigstore import (
    BUNDLE_ARTIFACT_TYPE,
    BUNDLE_MEDIA_TYPES,
    AttestationPolicy,
    BundleRejected,
    BundleUnverifiable,
    TrustedRootFile,
    load_trusted_root,
    verify_bundle,
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
#: A Sigstore bundle is tens of kilobytes; a provenance with many dependencies a few hundred.
BUNDLE_LIMIT = 4 * 1024 * 1024
REVOCATION_PLATFORM = "Notation-OCI-SHA384-ECDSA"
SIGNING_RULE_FIX = (
    "add a signing rule for it (aws ecr put-signing-configuration --signing-configuration "
    "'rules=[{signingProfileArn=ARN}]') and push the image again, or sign it with notation and "
    "the AWS Signer plugin"
)


@dataclass(frozen=True)
class SourceResult:
    """What one source said about one digest."""

    source: str  # ecr-managed-signing | notation | sigstore
    outcome: str  # verified | complete | pending | failed | unverifiable | none
    detail: str
    signer: str = ""
    signing_time: str = ""
    #: A verified build provenance: sourceRepository, commit, ref, workflow.
    provenance: dict[str, str] = field(default_factory=dict)


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
    provenance: dict[str, str] = field(default_factory=dict)
    #: How this digest relates to the one the signature names (multi-platform images).
    relation: str = ""
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
            "provenance": dict(self.provenance),
            "relation": self.relation,
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
        "itself verified whenever it is listed (IN_PROGRESS waits, FAILED fails); or a Sigstore "
        "bundle (cosign, GitHub artifact attestation) that verifies against the pinned trusted "
        "root, is signed by an --attestation-identity of --attestation-issuer and attests that "
        "digest, a SLSA v1 provenance naming this repository and the commit being deployed."
    )
    remediation = (
        "Sign the image with a trusted AWS Signer profile: turn on ECR managed signing for the "
        "repository (aws ecr put-signing-configuration) and push again, or sign it with notation "
        "and the AWS Signer plugin (notation sign --plugin com.amazonaws.signer.notation.plugin "
        "--id PROFILE_ARN IMAGE@DIGEST), or attest it from the trusted workflow "
        "(actions/attest-build-provenance with push-to-registry: true); then deploy that digest. "
        "See docs/provenance.md."
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
        if not config.signing_profile and not config.attestation_identity:
            return (
                "no --signing-profile or --attestation-identity: no trusted signer to verify "
                "against"
            )
        return None

    def run(self, ctx: CheckContext) -> CheckResult:
        deployed = ctx.result_of(DEPLOYED_CHECK)
        served = served_digests(self, deployed)
        if isinstance(served, CheckResult):
            return served
        gated, images = served
        # The gated digest comes first: a platform image of it reuses its verdict.
        judged: dict[tuple[str, str], DigestVerdict] = {}
        for (repo, digest), labels in images.items():
            judged[(repo, digest)] = judge_digest(ctx, gated, repo, digest, labels, judged)
        verdicts = list(judged.values())
        extra: dict[str, Any] = {}
        if ctx.config.attestation_identity:
            try:
                root = trusted_root(ctx)
                extra = {
                    "sigstoreTrustedRoot": root.source,
                    "sigstoreTrustedRootSha256": root.sha256,
                }
            except BundleUnverifiable:
                pass  # each digest's verdict already says why no bundle was verified
        return evaluate(self, verdicts, ctx.config, extra)


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
    digest = evidence.get("scannedDigest")
    gated = parse_image_uri(f"{evidence.get('repositoryUri') or ''}@{digest}")
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
    ctx: CheckContext,
    gated: ImageUri,
    where: str,
    digest: str,
    labels: list[str],
    judged: Mapping[tuple[str, str], DigestVerdict] | None = None,
) -> DigestVerdict:
    """Every source on one digest, then the verdict (``judged``: the verdicts so far, the
    gated digest's among them, so its sources are not read twice)."""
    uri = parse_image_uri(f"{where}@{digest}")
    verdict = DigestVerdict(repository=where, digest=digest, served_as=labels)
    if uri is None or uri.registry_key != gated.registry_key:
        verdict.status = Status.ERROR
        verdict.reason = (
            f"{short_digest(digest)} is served from {where}, outside the gated registry: its "
            "signatures cannot be read here"
        )
        return verdict
    verdict.sources = digest_sources(ctx, uri.repository, digest)
    decide(verdict, verdict.sources)
    if verdict.status is Status.PASS or not gated.digest or gated.digest == digest:
        return verdict
    if not uri.same_repository(gated):
        return verdict
    # A multi-platform image: the signature may name the gated index while SageMaker resolved
    # one of its platform images. The index lists that image by digest, so a verified
    # signature of the index vouches for it; nothing else does.
    platform = index_platform(ctx, uri.repository, gated.digest, digest)
    if platform is None:
        return verdict
    index = (judged or {}).get((gated.where, gated.digest)) or decide(
        DigestVerdict(where, gated.digest, ["gated image"]),
        digest_sources(ctx, uri.repository, gated.digest),
    )
    image_of = f"the {platform} image of index {short_digest(gated.digest)}"
    if index.status is not Status.PASS:
        verdict.reason += f"; it is {image_of}, which is not signed either: {index.reason}"
        return verdict
    relation = f"{image_of}, the digest the signature names"
    verdict.status, verdict.source = Status.PASS, index.source
    verdict.signer, verdict.signing_time = index.signer, index.signing_time
    verdict.provenance, verdict.relation = index.provenance, relation
    verdict.reason = f"{short_digest(digest)} is {relation}: {index.reason}"
    return verdict


def index_platform(ctx: CheckContext, repository: str, index: str, digest: str) -> str | None:
    """The platform ``index`` lists ``digest`` as, when ``index`` is an image index whose bytes
    hash to its digest; None when it is not an index or does not list it."""
    import hashlib

    from soc2gate.checks.ecr._ecr import INDEX_TYPES, platform_of

    ecr = ctx.registry_client("ecr")
    answer = ecr.batch_get_image(
        repositoryName=repository,
        imageIds=[{"imageDigest": index}],
        acceptedMediaTypes=list(INDEX_TYPES),
    )
    images = answer.get("images") or []
    if not images or not isinstance(images[0].get("imageManifest"), str):
        return None
    raw = images[0]["imageManifest"].encode()
    if "sha256:" + hashlib.sha256(raw).hexdigest() != index:
        raise UnreadableAnswer(
            f"BatchGetImage answered for {short_digest(index)} with a manifest of another digest"
        )
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    for entry in (body.get("manifests") or []) if isinstance(body, dict) else []:
        if isinstance(entry, dict) and entry.get("digest") == digest:
            return platform_of(entry)
    return None


def digest_sources(ctx: CheckContext, repository: str, digest: str) -> list[SourceResult]:
    """What each configured source says about ``digest`` now (never memoized: a pending
    signature is asked again on the next poll)."""
    ecr = ctx.registry_client("ecr")
    config = ctx.config
    types = [SIGNATURE_ARTIFACT_TYPE] if config.signing_profile else []
    types += [BUNDLE_ARTIFACT_TYPE] if config.attestation_identity else []
    out: list[SourceResult] = []
    if config.signing_profile:
        # The status first: COMPLETE means the signature was pushed before it was read.
        out.append(managed_signing(ecr, repository, digest, config.signing_profile))
    referrers = list_signature_referrers(ecr, repository, digest, tuple(types))
    if config.signing_profile:
        notation = [r for r in referrers if r.get("artifactType") == SIGNATURE_ARTIFACT_TYPE]
        out.append(notation_signatures(ctx, ecr, repository, digest, notation))
    if config.attestation_identity:
        bundles = [r for r in referrers if r.get("artifactType") == BUNDLE_ARTIFACT_TYPE]
        out.append(sigstore_bundles(ctx, ecr, repository, digest, bundles))
    return out


def decide(verdict: DigestVerdict, sources: Sequence[SourceResult]) -> DigestVerdict:
    """Pure: the digest's verdict from what each source said."""
    short = short_digest(verdict.digest)
    by_source = {s.source: s for s in sources}
    managed = by_source.get("ecr-managed-signing")
    notation = by_source.get("notation")
    complete = managed is not None and managed.outcome == "complete"
    verified = [s for s in sources if s.outcome == "verified"]
    if verified:
        first = verified[0]
        names = [s.source for s in verified]
        if complete and "notation" in names:
            names.insert(0, "ecr-managed-signing")
        verdict.status, verdict.source = Status.PASS, "+".join(names)
        verdict.signer, verdict.signing_time = first.signer, first.signing_time
        verdict.provenance = next((dict(s.provenance) for s in verified if s.provenance), {})
        verdict.reason = f"{short} {first.detail}"
        return verdict
    if managed is not None and complete:
        if notation is not None and notation.outcome == "failed":
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
        unverified = notation.detail if notation is not None else "not read"
        verdict.reason = (
            f"{short} ECR managed signing COMPLETE for {managed.signer}; the signature itself "
            f"was not verified ({unverified})"
        )
        return verdict
    details = "; ".join(s.detail for s in sources)
    pending = [s for s in sources if s.outcome == "pending"]
    if pending:
        verdict.status = Status.PENDING
        verdict.reason = f"{short}: {pending[0].detail}"
        return verdict
    if any(s.outcome == "unverifiable" for s in sources):
        verdict.status = Status.ERROR
        verdict.reason = f"{short} could not be verified: {details}"
        return verdict
    trusted = "signer" if "sigstore" in by_source else "profile"
    verdict.status = Status.FAIL
    verdict.reason = f"{short} is not signed by a trusted {trusted}: {details}"
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


def list_signature_referrers(
    ecr: Any,
    repository: str,
    digest: str,
    artifact_types: tuple[str, ...] = (SIGNATURE_ARTIFACT_TYPE,),
) -> list[dict[str, Any]]:
    """Referrers of ``digest`` of ``artifact_types`` (Notation signatures, Sigstore bundles);
    pages followed by hand (no paginator)."""
    out: list[dict[str, Any]] = []
    token: str | None = None
    for _ in range(100):
        kwargs: dict[str, Any] = {
            "repositoryName": repository,
            "subjectId": {"imageDigest": digest},
            "filter": {"artifactTypes": list(artifact_types)},
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
            if r.get("artifactType") in artifact_types:
                out.append(r)
        token = answer.get("nextToken")
        if not token:
            return out
    raise UnreadableAnswer("ListImageReferrers kept answering with a nextToken (100 pages)")


def _envelope(
    ecr: Any,
    repository: str,
    referrer: str,
    media_types: frozenset[str] = frozenset({ENVELOPE_MEDIA_TYPE}),
    limit: int = ENVELOPE_LIMIT,
) -> bytes:
    """The one layer of ``media_types`` of a signature or bundle manifest (a JWS envelope, a
    Sigstore bundle), its SHA-256 checked."""
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
        if isinstance(layer, dict) and layer.get("mediaType") in media_types
    ]
    if len(envelopes) != 1 or not isinstance(envelopes[0].get("digest"), str):
        raise EnvelopeRejected(
            f"the signature manifest has {len(envelopes)} {' or '.join(sorted(media_types))} "
            "layers, not one"
        )
    layer_digest = envelopes[0]["digest"]
    url = ecr.get_download_url_for_layer(repositoryName=repository, layerDigest=layer_digest)
    if not isinstance(url.get("downloadUrl"), str):
        raise UnreadableAnswer("GetDownloadUrlForLayer answered without a downloadUrl")
    try:
        return download_blob(url["downloadUrl"], layer_digest, limit=limit)
    except BlobError as exc:
        raise EnvelopeRejected(f"envelope {short_digest(layer_digest)}: {exc}") from None


def revoked(ctx: CheckContext, signature: VerifiedSignature) -> list[str]:
    """What AWS Signer says is revoked of this signature (profile, job, certificates).

    Asked of the profile's own region (the signed profile ARN, which matched a trusted
    ``--signing-profile``): another region's Signer knows nothing of it, and an empty answer
    from there would read as "nothing revoked"."""
    from soc2gate.aws import in_region

    parts = signature.profile_version_arn.split(":")
    region = parts[3] if len(parts) > 4 else ""
    if not region:
        raise UnreadableAnswer(
            f"the signature's profile {signature.profile_version_arn} names no region: its "
            "revocation cannot be asked of AWS Signer"
        )
    client = ctx.clients("signer-data")
    if region != client.meta.region_name:
        client = ctx.clients(in_region("signer-data", region))
    if client.meta.region_name != region:
        raise UnreadableAnswer(
            f"AWS Signer in {region} (the region of {signature.profile_version_arn}) could not "
            f"be asked: the client answered for {client.meta.region_name}"
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


def notation_signatures(
    ctx: CheckContext,
    ecr: Any,
    repository: str,
    digest: str,
    referrers: list[dict[str, Any]] | None = None,
) -> SourceResult:
    """Verify the digest's Notation signatures; "verified" when one holds."""
    if referrers is None:
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


def trusted_root(ctx: CheckContext) -> TrustedRootFile:
    """The run's Sigstore trusted root, read once (BundleUnverifiable when it cannot be)."""
    path = ctx.config.sigstore_trusted_root
    root: TrustedRootFile = ctx.memo(
        ("sigstore-trusted-root", path), lambda: load_trusted_root(path)
    )
    return root


def sigstore_bundles(
    ctx: CheckContext, ecr: Any, repository: str, digest: str, referrers: list[dict[str, Any]]
) -> SourceResult:
    """Verify the digest's Sigstore bundles; "verified" when one holds, "unverifiable" when
    none holds and one could not be judged (no transparency-log entry, unknown commit)."""
    config = ctx.config
    identities = ", ".join(config.attestation_identity)
    if not referrers:
        return SourceResult(
            "sigstore",
            "none",
            "no Sigstore bundle (cosign signature or GitHub artifact attestation) is listed as "
            "its referrer",
        )
    try:
        root = trusted_root(ctx)
    except BundleUnverifiable as exc:
        return SourceResult("sigstore", "unverifiable", str(exc))
    policy = AttestationPolicy(
        identities=config.attestation_identity,
        issuer=config.attestation_issuer,
        repository=config.resolved_repository(ctx.environ),
        commit=config.resolved_sha(ctx.environ),
    )
    problems: list[str] = []
    unverifiable = False
    for referrer in referrers[:MAX_REFERRERS]:
        name = short_digest(referrer["digest"])
        try:
            raw = _envelope(ecr, repository, referrer["digest"], BUNDLE_MEDIA_TYPES, BUNDLE_LIMIT)
            bundle = verify_bundle(raw, served_digest=digest, policy=policy, trusted_root=root.root)
        except (EnvelopeRejected, BundleRejected) as exc:
            problems.append(f"bundle {name}: {exc}")
            continue
        except BundleUnverifiable as exc:
            unverifiable = True
            problems.append(f"bundle {name}: {exc}")
            continue
        when = bundle.signing_time.strftime("%Y-%m-%dT%H:%M:%SZ")
        what = "build provenance" if bundle.provenance else f"{bundle.predicate_type} statement"
        built = (
            f", built from {bundle.provenance['sourceRepository']}@"
            f"{bundle.provenance['commit']} by {bundle.provenance['workflow']}"
            if bundle.provenance
            else ""
        )
        return SourceResult(
            "sigstore",
            "verified",
            f"attested by {bundle.identity} at {when} ({what} {name}, verified offline "
            f"against {root.source}{built})",
            signer=bundle.identity,
            signing_time=when,
            provenance=bundle.provenance,
        )
    if len(referrers) > MAX_REFERRERS:
        problems.append(f"{len(referrers) - MAX_REFERRERS} more bundle(s) not read")
    return SourceResult(
        "sigstore",
        "unverifiable" if unverifiable else "failed",
        f"no Sigstore bundle verifies for {identities} ({config.attestation_issuer}): "
        + "; ".join(problems),
    )


def evaluate(
    check: Check,
    verdicts: Sequence[DigestVerdict],
    config: GateConfig,
    extra: dict[str, Any] | None = None,
) -> CheckResult:
    """Pure: the check's result from each digest's verdict."""
    evidence: dict[str, Any] = {
        **(extra or {}),
        "signingProfiles": list(config.signing_profile),
        "signerRootSha256": list(config.signer_root_sha256 or AWS_SIGNER_ROOTS),
        "attestationIdentities": list(config.attestation_identity),
        "attestationIssuer": config.attestation_issuer if config.attestation_identity else "",
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
        f"{len(verdicts)} digest(s) serving traffic signed by a trusted "
        f"{'signer' if config.attestation_identity else 'profile'}: "
        + "; ".join(f"{v.reason} [{v.source}]" for v in verdicts),
        details=[*details, f"signers: {', '.join(signers)}"],
        evidence=evidence,
    )
