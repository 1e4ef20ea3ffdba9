"""Offline verification of Sigstore bundles: cosign signatures and GitHub artifact attestations.

``actions/attest-build-provenance`` (with ``push-to-registry``) and ``cosign`` (new bundle
format) store a Sigstore bundle as an OCI referrer of the image. A bundle is verified with the
``sigstore`` library against the trusted root the user pinned (``--sigstore-trusted-root``;
default the production root shipped inside the library), never against a key or root the
bundle names: the Fulcio certificate chains to the root at the transparency log's time, its SCT
and log entry verify, and the DSSE signature verifies with the certificate's key. Only then is
anything in the bundle believed:

- the certificate's identity (SAN) is one of ``--attestation-identity`` and its OIDC issuer is
  ``--attestation-issuer`` (exact strings, no patterns);
- the in-toto statement's subject names the served digest;
- for a SLSA v1 provenance, the certificate's source repository and commit (Fulcio's signed
  extensions, not the predicate the workflow wrote) name this repository and the gate's commit,
  and the predicate agrees with the certificate on repository, commit, ref and workflow.

A bundle without a transparency-log entry (GitHub's own Sigstore instance signs attestations of
private repositories with a timestamp only) cannot be verified by the library: that is
``BundleUnverifiable`` (an ERROR), never a pass.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from soc2gate.checks.ecr._ecr import short_digest

BUNDLE_ARTIFACT_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
BUNDLE_MEDIA_TYPES = frozenset(
    {
        "application/vnd.dev.sigstore.bundle.v0.3+json",
        "application/vnd.dev.sigstore.bundle+json;version=0.3",
    }
)
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
IN_TOTO_PAYLOAD = "application/vnd.in-toto+json"
IN_TOTO_STATEMENTS = frozenset(
    {"https://in-toto.io/Statement/v1", "https://in-toto.io/Statement/v0.1"}
)
SLSA_V1 = "https://slsa.dev/provenance/v1"
#: cosign's signature (new bundle format): a statement with no predicate.
COSIGN_SIGN_V1 = "https://sigstore.dev/cosign/sign/v1"
#: What a trusted identity's statement must be to vouch for an image: a signature or a build
#: provenance. A vulnerability scan or an SBOM about the digest approves nothing.
ACCEPTED_PREDICATES = (SLSA_V1, COSIGN_SIGN_V1)
#: GitHub Actions' SLSA build type, by its current name and the one it had first (same schema:
#: externalParameters.workflow, resolvedDependencies[0] the source commit).
GITHUB_BUILD_TYPES = (
    "https://actions.github.io/buildtypes/workflow/v1",
    "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1",
)
#: sigstore-python cannot verify a bundle without a transparency-log entry (GitHub's private
#: repositories: an RFC 3161 timestamp only).
NO_TLOG_ISSUE = "https://github.com/sigstore/sigstore-python/issues/1529"
#: Fulcio's certificate extensions (https://github.com/sigstore/fulcio/blob/main/docs/oid-info.md).
OID_SOURCE_REPOSITORY_URI = "1.3.6.1.4.1.57264.1.12"
OID_SOURCE_REPOSITORY_DIGEST = "1.3.6.1.4.1.57264.1.13"
OID_SOURCE_REPOSITORY_REF = "1.3.6.1.4.1.57264.1.14"
OID_BUILD_CONFIG_URI = "1.3.6.1.4.1.57264.1.18"
#: Where the production trusted root sits inside the sigstore package.
_PRODUCTION_ROOT = ("https%3A%2F%2Ftuf-repo-cdn.sigstore.dev", "trusted_root.json")


class BundleRejected(Exception):
    """The bundle does not prove what it must; the message says what and why."""


class BundleUnverifiable(Exception):
    """The bundle may be genuine but cannot be verified here; the message says why."""


@dataclass(frozen=True)
class AttestationPolicy:
    """What a bundle must prove, all of it given by the user (never read from the bundle)."""

    identities: tuple[str, ...]
    issuer: str
    #: OWNER/REPO a provenance must name (--attestation-repository, else GITHUB_REPOSITORY).
    repository: str | None
    #: The commit being deployed (--commit-sha, else GITHUB_SHA, ...).
    commit: str | None


@dataclass(frozen=True)
class VerifiedBundle:
    identity: str
    issuer: str
    predicate_type: str
    signing_time: dt.datetime
    #: For a SLSA provenance: sourceRepository, commit, ref, workflow (from the certificate).
    provenance: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TrustedRootFile:
    """The trusted root a run verifies with, and where it came from (for the evidence)."""

    root: Any  # sigstore.models.TrustedRoot
    sha256: str
    source: str


def load_trusted_root(path: str | None) -> TrustedRootFile:
    """The user's pinned trusted root, else the production root shipped with ``sigstore``.

    Raises BundleUnverifiable when the file cannot be read or is not a trusted root."""
    from importlib import resources

    from sigstore import __version__ as sigstore_version
    from sigstore.models import TrustedRoot

    if path:
        source = path
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise BundleUnverifiable(f"--sigstore-trusted-root {path}: {exc.strerror}") from None
    else:
        source = f"the production trusted root shipped with sigstore {sigstore_version}"
        data = (
            resources.files("sigstore._store")
            .joinpath(_PRODUCTION_ROOT[0])
            .joinpath(_PRODUCTION_ROOT[1])
            .read_bytes()
        )
    from sigstore_models.trustroot.v1 import TrustedRoot as InnerRoot

    try:
        root = TrustedRoot(InnerRoot.from_json(data))
    except Exception as exc:  # pydantic and sigstore errors alike
        raise BundleUnverifiable(f"{source} is not a Sigstore trusted root: {exc}") from None
    return TrustedRootFile(root, hashlib.sha256(data).hexdigest(), source)


def _precheck(raw: bytes) -> None:
    """Refuse what the library cannot judge, with the reason, before it raises something vaguer."""
    try:
        doc = json.loads(raw)
    except ValueError:
        raise BundleRejected("the bundle is not JSON") from None
    if not isinstance(doc, dict):
        raise BundleRejected("the bundle is not a JSON object")
    media_type = doc.get("mediaType")
    if media_type not in BUNDLE_MEDIA_TYPES:
        raise BundleRejected(
            f"bundle media type {media_type!r} is not a Sigstore bundle v0.3 "
            f"({BUNDLE_ARTIFACT_TYPE})"
        )
    material = doc.get("verificationMaterial")
    if not isinstance(material, dict):
        raise BundleRejected("the bundle has no verificationMaterial")
    if not material.get("tlogEntries"):
        stamped = bool((material.get("timestampVerificationData") or {}).get("rfc3161Timestamps"))
        what = (
            "it carries an RFC 3161 timestamp but no transparency-log entry, as GitHub's own "
            "Sigstore instance signs attestations of private repositories"
            if stamped
            else "it carries no transparency-log entry"
        )
        raise BundleUnverifiable(
            f"{what}; the sigstore library cannot verify such bundles yet ({NO_TLOG_ISSUE}), "
            "so this attestation proves nothing here: use ECR managed signing or notation for "
            "private repositories, or attest with the public-good Sigstore instance"
        )
    if "dsseEnvelope" not in doc:
        raise BundleRejected(
            "the bundle holds a message signature, not a DSSE in-toto statement: it does not "
            "name the image it signs"
        )


def _der_utf8(value: bytes) -> str:
    """A Fulcio v2 extension's value: a DER UTF8String."""
    if len(value) < 2 or value[0] != 0x0C:
        raise BundleRejected("a certificate extension is not a DER UTF8String")
    length, offset = value[1], 2
    if length & 0x80:
        count = length & 0x7F
        length, offset = int.from_bytes(value[2 : 2 + count], "big"), 2 + count
    if offset + length != len(value):
        raise BundleRejected("a certificate extension has a bad DER length")
    return value[offset:].decode("utf-8")


def certificate_claims(cert: Any) -> dict[str, str]:
    """Fulcio's source repository, commit, ref and build config extensions of ``cert``."""
    from cryptography import x509

    names = {
        OID_SOURCE_REPOSITORY_URI: "sourceRepository",
        OID_SOURCE_REPOSITORY_DIGEST: "commit",
        OID_SOURCE_REPOSITORY_REF: "ref",
        OID_BUILD_CONFIG_URI: "workflow",
    }
    out: dict[str, str] = {}
    for ext in cert.extensions:
        name = names.get(ext.oid.dotted_string)
        if name and isinstance(ext.value, x509.UnrecognizedExtension):
            out[name] = _der_utf8(ext.value.value)
    return out


def _subjects(statement: dict[str, Any]) -> list[str]:
    subjects = statement.get("subject")
    if not isinstance(subjects, list) or not subjects:
        raise BundleRejected("the in-toto statement has no subject")
    out = []
    for subject in subjects:
        digest = subject.get("digest") if isinstance(subject, dict) else None
        if not isinstance(digest, dict):
            raise BundleRejected("an in-toto subject has no digest")
        sha = digest.get("sha256")
        if isinstance(sha, str):
            out.append("sha256:" + sha.lower())
    return out


def _path(doc: Any, *keys: str | int) -> Any:
    for key in keys:
        if isinstance(key, int):
            doc = doc[key] if isinstance(doc, list) and len(doc) > key else None
        else:
            doc = doc.get(key) if isinstance(doc, dict) else None
    return doc


def check_provenance(
    statement: dict[str, Any], claims: dict[str, str], policy: AttestationPolicy
) -> dict[str, str]:
    """A SLSA v1 provenance: the certificate names this repository and commit, and the
    predicate (written by the workflow itself) agrees with the certificate."""
    missing = [k for k in ("sourceRepository", "commit", "ref", "workflow") if not claims.get(k)]
    if missing:
        raise BundleRejected(
            f"the signing certificate lacks Fulcio's {', '.join(missing)} extension(s): it "
            "cannot say which repository and commit the build came from"
        )
    if not policy.repository or not policy.commit:
        raise BundleUnverifiable(
            "this provenance cannot be matched to the deployment: the gate does not know "
            f"{'the repository' if not policy.repository else 'the commit'} being deployed; "
            "pass --attestation-repository OWNER/REPO and --commit-sha (or run in GitHub "
            "Actions, which sets GITHUB_REPOSITORY and GITHUB_SHA)"
        )
    want_repo = f"https://github.com/{policy.repository}"
    if claims["sourceRepository"].lower() != want_repo.lower():
        raise BundleRejected(
            f"built from {claims['sourceRepository']}, not {want_repo} (the certificate's "
            "source repository)"
        )
    if claims["commit"].lower() != policy.commit.lower():
        raise BundleRejected(
            f"built from commit {claims['commit']}, not {policy.commit}, the commit being "
            "deployed (the certificate's source repository digest)"
        )
    predicate = statement.get("predicate")
    build_type = _path(predicate, "buildDefinition", "buildType")
    if build_type not in GITHUB_BUILD_TYPES:
        raise BundleRejected(
            f"provenance buildType {build_type!r} is not GitHub Actions' "
            f"({GITHUB_BUILD_TYPES[0]}): its predicate cannot be cross-checked against the "
            "certificate"
        )
    workflow = _path(predicate, "buildDefinition", "externalParameters", "workflow")
    dependency = _path(predicate, "buildDefinition", "resolvedDependencies", 0)
    said = {
        "repository": _path(workflow, "repository"),
        "ref": _path(workflow, "ref"),
        "path": _path(workflow, "path"),
        "commit": _path(dependency, "digest", "gitCommit"),
        "uri": _path(dependency, "uri"),
    }
    expected = {
        "repository": claims["sourceRepository"],
        "ref": claims["ref"],
        "commit": claims["commit"],
        "uri": f"git+{claims['sourceRepository']}@{claims['ref']}",
    }
    for key, want in expected.items():
        got = said[key]
        if not isinstance(got, str) or got.lower() != want.lower():
            raise BundleRejected(
                f"the provenance predicate says {key} {got!r} but its certificate says {want!r}: "
                "the predicate was not written by the build the certificate names"
            )
    config = f"{claims['sourceRepository']}/{said['path']}@{claims['ref']}"
    if not isinstance(said["path"], str) or config.lower() != claims["workflow"].lower():
        raise BundleRejected(
            f"the provenance predicate names workflow {said['path']!r} but its certificate "
            f"says {claims['workflow']!r}"
        )
    return {
        "sourceRepository": claims["sourceRepository"],
        "commit": claims["commit"],
        "ref": claims["ref"],
        "workflow": claims["workflow"],
    }


def verify_bundle(
    raw: bytes, *, served_digest: str, policy: AttestationPolicy, trusted_root: Any
) -> VerifiedBundle:
    """Verify one bundle for ``served_digest``; BundleRejected/BundleUnverifiable say why not."""
    _precheck(raw)
    from sigstore.errors import Error as SigstoreError
    from sigstore.models import Bundle, InvalidBundle
    from sigstore.verify import Verifier
    from sigstore.verify.policy import AnyOf, Identity

    try:
        bundle = Bundle.from_json(raw)
    except (InvalidBundle, ValueError) as exc:
        raise BundleRejected(f"the bundle cannot be read: {exc}") from None
    identity = _IdentityCheck(
        AnyOf([Identity(identity=i, issuer=policy.issuer) for i in policy.identities])
    )
    try:
        verifier = Verifier(trusted_root=trusted_root)
        payload_type, payload = verifier.verify_dsse(bundle, identity)
    except SigstoreError as exc:
        raise BundleRejected(f"does not verify against the pinned trusted root: {exc}") from None
    # Judged on the certificate the library verified, and said plainly.
    if not identity.checked:
        raise BundleRejected("the signing certificate's identity was never checked")
    if identity.refused:
        cert = bundle.signing_certificate
        raise BundleRejected(
            f"signed by {_identity_of(cert)} (issuer {_issuer_of(cert)}), not by a trusted "
            f"--attestation-identity ({', '.join(policy.identities)}) of --attestation-issuer "
            f"{policy.issuer}"
        )
    if payload_type != IN_TOTO_PAYLOAD:
        raise BundleRejected(f"DSSE payload type {payload_type!r} is not an in-toto statement")
    try:
        statement = json.loads(payload)
    except ValueError:
        raise BundleRejected("the signed in-toto statement is not JSON") from None
    if not isinstance(statement, dict) or statement.get("_type") not in IN_TOTO_STATEMENTS:
        raise BundleRejected("the signed payload is not an in-toto statement")
    subjects = _subjects(statement)
    if served_digest.lower() not in subjects:
        raise BundleRejected(
            f"it attests {', '.join(map(short_digest, subjects)) or 'no sha256 digest'}, not "
            f"the served digest {short_digest(served_digest)}"
        )
    predicate_type = str(statement.get("predicateType") or "")
    if predicate_type not in ACCEPTED_PREDICATES:
        raise BundleRejected(
            f"it is a {predicate_type or 'statement without a predicateType'}, neither a "
            f"signature ({COSIGN_SIGN_V1}) nor a SLSA v1 build provenance: it does not vouch "
            "for the image"
        )
    cert = bundle.signing_certificate
    provenance: dict[str, str] = {}
    if predicate_type == SLSA_V1:
        provenance = check_provenance(statement, certificate_claims(cert), policy)
    integrated = bundle.log_entry._inner.integrated_time
    when = dt.datetime.fromtimestamp(int(integrated or 0), tz=dt.timezone.utc)
    return VerifiedBundle(
        identity=_identity_of(cert),
        issuer=policy.issuer,
        predicate_type=predicate_type,
        signing_time=when,
        provenance=provenance,
    )


class _IdentityCheck:
    """The identity policy, recorded instead of raised: the library calls it once the
    certificate chains to the root, and the bundle's own verification goes on to the end, so
    a wrong identity is reported as such rather than as "0 of 1 policies succeeded"."""

    def __init__(self, policy: Any) -> None:
        self._policy = policy
        self.checked = False
        self.refused = False

    def verify(self, cert: Any) -> None:
        from sigstore.errors import VerificationError

        self.checked = True
        try:
            self._policy.verify(cert)
        except VerificationError:
            self.refused = True


def _issuer_of(cert: Any) -> str:
    """The certificate's OIDC issuer (Fulcio's v2 extension, else the v1 one), for messages."""
    from cryptography import x509

    for ext in cert.extensions:
        if not isinstance(ext.value, x509.UnrecognizedExtension):
            continue
        if ext.oid.dotted_string == "1.3.6.1.4.1.57264.1.8":
            try:
                return _der_utf8(ext.value.value)
            except BundleRejected:
                return "unreadable"
    for ext in cert.extensions:
        if ext.oid.dotted_string == "1.3.6.1.4.1.57264.1.1" and isinstance(
            ext.value, x509.UnrecognizedExtension
        ):
            return ext.value.value.decode("utf-8", "replace")
    return "none"


def _identity_of(cert: Any) -> str:
    """The certificate's SAN (URI or email), for messages."""
    from cryptography import x509

    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return "no identity"
    values = [*san.get_values_for_type(x509.UniformResourceIdentifier)]
    values += san.get_values_for_type(x509.RFC822Name)
    return ", ".join(values) or "no identity"
