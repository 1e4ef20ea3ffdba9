"""Offline verification of a Notation signature envelope made by AWS Signer (JWS, ES384).

What notation's ``strict`` trust level with AWS Signer's plugin checks, with ``cryptography``:
the JWS signature over the payload with the leaf certificate of ``x5c``, every ``crit`` header
understood, the chain valid at the signed ``io.cncf.notary.authenticSigningTime`` and ending at a
root pinned by the SHA-256 of its DER bytes (never a root the envelope names as trusted), the
payload's ``targetArtifact.digest`` equal to the served digest, the signed
``com.amazonaws.signer.signingProfileVersion`` matching a trusted profile (version dropped,
case-insensitive, as AWS's plugin compares), and the signature not expired. Revocation is
asked of AWS Signer by the caller (``certificate_hashes``).

No field of the envelope is believed before the signature over it verified: the protected
header is read for ``alg`` only to refuse anything but ES384, and the chain and times are
judged only after the signature checked out with the leaf key.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

#: SHA-256 of the DER bytes of the AWS Signer roots trusted by default.
#: "AWS Signer Code Signing Root CA G1" (commercial regions): the thumbprint notation printed
#: for the root of a real AWS Signer signature (``notation inspect`` transcript of 2023-12-06 in
#: aws-samples/container-patterns, pattern/ecs-fargate-container-image-signing-and-verification).
#: Other public transcripts (ECR managed signing's chain too) show the same root. AWS publishes
#: the certificate at https://d2hvyiie56hcat.cloudfront.net/aws-signer-notation-root.cert; its
#: bytes are not vendored (not reachable where this was built); the envelope carries the root in
#: ``x5c``, so its hash is enough to anchor the chain. GovCloud's root differs and its
#: hash is not known here: GovCloud users pin it with --signer-root-sha256.
AWS_SIGNER_ROOTS: dict[str, str] = {
    "90a87d0543c3f094dbff9589b6649affe2f3d6e0f308799be2258461c686473f": (
        "AWS Signer Code Signing Root CA G1"
    ),
}

ENVELOPE_MEDIA_TYPE = "application/jose+json"
SIGNATURE_ARTIFACT_TYPE = "application/vnd.cncf.notary.signature"
PAYLOAD_CONTENT_TYPE = "application/vnd.cncf.notary.payload.v1+json"
SIGNING_SCHEME = "notary.x509.signingAuthority"
PROFILE_HEADER = "com.amazonaws.signer.signingProfileVersion"
JOB_HEADER = "com.amazonaws.signer.signingJob"
TIME_HEADER = "io.cncf.notary.authenticSigningTime"
EXPIRY_HEADER = "io.cncf.notary.expiry"
SCHEME_HEADER = "io.cncf.notary.signingScheme"
#: Critical headers this verifier understands (and enforces): anything else in ``crit`` fails.
UNDERSTOOD_CRITICAL = frozenset(
    {
        SCHEME_HEADER,
        TIME_HEADER,
        EXPIRY_HEADER,
        PROFILE_HEADER,
        JOB_HEADER,
        # AWS Signer names its own plugin as the verifier; what it checks is done here.
        "io.cncf.notary.verificationPlugin",
        "io.cncf.notary.verificationPluginMinVersion",
    }
)
KNOWN_HEADERS = UNDERSTOOD_CRITICAL | {"alg", "crit", "cty"}
_PROFILE_ARN = re.compile(
    r"^arn:aws(-[a-z]+)*:signer:[a-z0-9-]+:[0-9]{12}:/signing-profiles/[a-zA-Z0-9_]{2,}$"
)
_PROFILE_VERSION_ARN = re.compile(
    r"^(arn:aws(-[a-z]+)*:signer:[a-z0-9-]+:[0-9]{12}:/signing-profiles/[a-zA-Z0-9_]{2,})"
    r"/[a-zA-Z0-9]{10}$"
)
PLUGIN_ID = "com.amazonaws.signer.notation.plugin"


class EnvelopeRejected(Exception):
    """The envelope does not prove what it must; the message says what and why."""


def valid_profile_arn(arn: str) -> bool:
    """A signing profile ARN (not a profile version, no wildcards), as AWS documents it."""
    return bool(_PROFILE_ARN.match(arn))


@dataclass(frozen=True)
class VerifiedSignature:
    """What a verified envelope says, believed only because it verified."""

    profile_version_arn: str
    profile_arn: str
    job_arn: str
    signing_time: dt.datetime
    expiry: dt.datetime | None
    target_digest: str
    root_sha256: str
    #: hex SHA-384 of each certificate's TBS bytes followed by its issuer's (the root with
    #: itself): what AWS Signer's GetRevocationStatus takes.
    certificate_hashes: tuple[str, ...]


def _b64url(text: Any, what: str) -> bytes:
    if not isinstance(text, str) or not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise EnvelopeRejected(f"{what} is not base64url text")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise EnvelopeRejected(f"{what} is not base64url") from None


def _json_object(data: bytes, what: str) -> dict[str, Any]:
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [k for k, _ in pairs]
        if len(keys) != len(set(keys)):
            raise EnvelopeRejected(f"{what} repeats a member")
        return dict(pairs)

    try:
        value = json.loads(data.decode("utf-8"), object_pairs_hook=no_duplicates)
    except (UnicodeDecodeError, ValueError):
        raise EnvelopeRejected(f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise EnvelopeRejected(f"{what} is not a JSON object")
    return value


def _time(value: Any, what: str) -> dt.datetime:
    if not isinstance(value, str):
        raise EnvelopeRejected(f"{what} is missing or not a string")
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise EnvelopeRejected(f"{what} {value!r} is not an RFC 3339 time") from None
    if parsed.tzinfo is None:
        raise EnvelopeRejected(f"{what} {value!r} has no time zone")
    return parsed.astimezone(dt.timezone.utc)


def profile_of(version_arn: str) -> str:
    """The profile ARN of a profile version ARN (``.../signing-profiles/NAME/VERSION``)."""
    match = _PROFILE_VERSION_ARN.match(version_arn)
    if match is None:
        raise EnvelopeRejected(
            f"signed {PROFILE_HEADER} {version_arn!r} is not an AWS Signer profile version ARN"
        )
    return match.group(1)


def certificate_hashes(chain: list[Any]) -> tuple[str, ...]:
    """hex SHA-384 over each certificate's TBS bytes and its issuer's (the root with itself)."""
    out = []
    for i, cert in enumerate(chain):
        issuer = chain[min(i + 1, len(chain) - 1)]
        out.append(
            hashlib.sha384(cert.tbs_certificate_bytes + issuer.tbs_certificate_bytes).hexdigest()
        )
    return tuple(out)


def _check_key_usage(chain: list[Any]) -> None:
    """What the Notary Project's signing-certificate requirements ask: the leaf's KeyUsage
    has digitalSignature and not keyCertSign, its ExtendedKeyUsage (when present) names code
    signing; a CA's KeyUsage (when present) allows certificate signing."""
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID

    leaf = chain[0]
    try:
        usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        raise EnvelopeRejected(
            "the signing certificate has no KeyUsage: a code-signing leaf must allow "
            "digitalSignature"
        ) from None
    if not usage.digital_signature:
        raise EnvelopeRejected("the signing certificate's KeyUsage does not allow digitalSignature")
    if usage.key_cert_sign:
        raise EnvelopeRejected("the signing certificate's KeyUsage allows certificate signing")
    try:
        extended = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        extended = None
    if extended is not None and ExtendedKeyUsageOID.CODE_SIGNING not in extended:
        raise EnvelopeRejected(
            "the signing certificate's ExtendedKeyUsage does not name code signing "
            f"({', '.join(o.dotted_string for o in extended)})"
        )
    for i, cert in enumerate(chain[1:], start=1):
        try:
            ca_usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        except x509.ExtensionNotFound:
            continue
        if not ca_usage.key_cert_sign:
            raise EnvelopeRejected(
                f"certificate {i} ({cert.subject.rfc4514_string()}) issues others but its "
                "KeyUsage does not allow certificate signing"
            )


def verify_envelope(
    envelope: bytes,
    *,
    served_digest: str,
    trusted_profiles: Iterable[str],
    root_pins: Iterable[str],
    now: dt.datetime,
) -> VerifiedSignature:
    """Verify one JWS envelope for ``served_digest``; EnvelopeRejected says why not."""
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
    from cryptography.hazmat.primitives.serialization import Encoding

    jws = _json_object(envelope, "the envelope")
    unknown = set(jws) - {"payload", "protected", "header", "signature"}
    if unknown:
        raise EnvelopeRejected(f"the envelope has members a JWS does not: {sorted(unknown)}")
    protected_text = jws.get("protected")
    payload_text = jws.get("payload")
    protected = _json_object(_b64url(protected_text, "protected header"), "protected header")
    if protected.get("alg") != "ES384":
        # Read before the signature only to refuse: none, HS256 and every other alg.
        raise EnvelopeRejected(f"alg is {protected.get('alg')!r}: AWS Signer signs with ES384 only")
    header = jws.get("header")
    if not isinstance(header, dict):
        raise EnvelopeRejected("the envelope has no unprotected header with x5c")
    x5c = header.get("x5c")
    if not isinstance(x5c, list) or not x5c or not all(isinstance(c, str) for c in x5c):
        raise EnvelopeRejected("x5c is missing or not a list of certificates")
    try:
        chain = [x509.load_der_x509_certificate(base64.b64decode(c, validate=True)) for c in x5c]
    except (binascii.Error, ValueError):
        raise EnvelopeRejected("x5c holds something that is not a DER certificate") from None
    leaf = chain[0]
    key = leaf.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp384r1":
        raise EnvelopeRejected("the leaf certificate's key is not ECDSA P-384")
    raw = _b64url(jws.get("signature"), "signature")
    if len(raw) != 96:
        raise EnvelopeRejected("the ES384 signature is not 96 bytes (r||s)")
    der = encode_dss_signature(int.from_bytes(raw[:48], "big"), int.from_bytes(raw[48:], "big"))
    signing_input = f"{protected_text}.{payload_text}".encode("ascii")
    try:
        key.verify(der, signing_input, ec.ECDSA(hashes.SHA384()))
    except InvalidSignature:
        raise EnvelopeRejected(
            "the signature does not verify with the leaf certificate's key (payload or "
            "protected header altered, or signed by another key)"
        ) from None

    # From here the protected header and the payload are what the leaf key signed.
    unknown = set(protected) - KNOWN_HEADERS
    if unknown:
        raise EnvelopeRejected(f"protected header has members not understood: {sorted(unknown)}")
    crit = protected.get("crit")
    if not isinstance(crit, list) or not all(isinstance(c, str) for c in crit):
        raise EnvelopeRejected("crit is missing or not a list of names")
    not_understood = [c for c in crit if c not in UNDERSTOOD_CRITICAL]
    if not_understood:
        raise EnvelopeRejected(f"critical header(s) not understood: {', '.join(not_understood)}")
    for name in crit:
        if name not in protected:
            raise EnvelopeRejected(f"critical header {name} is listed in crit but absent")
    for name in (SCHEME_HEADER, TIME_HEADER, PROFILE_HEADER, JOB_HEADER):
        if name not in crit:
            raise EnvelopeRejected(f"{name} is not marked critical (AWS Signer marks it)")
    if EXPIRY_HEADER in protected and EXPIRY_HEADER not in crit:
        raise EnvelopeRejected(f"{EXPIRY_HEADER} is not marked critical")
    if protected.get(SCHEME_HEADER) != SIGNING_SCHEME:
        raise EnvelopeRejected(
            f"signing scheme {protected.get(SCHEME_HEADER)!r}, not {SIGNING_SCHEME}"
        )
    if protected.get("cty") != PAYLOAD_CONTENT_TYPE:
        raise EnvelopeRejected(f"content type {protected.get('cty')!r}, not {PAYLOAD_CONTENT_TYPE}")
    plugin = protected.get("io.cncf.notary.verificationPlugin")
    if plugin is not None and plugin != PLUGIN_ID:
        raise EnvelopeRejected(f"the envelope asks for verification plugin {plugin!r}")
    signing_time = _time(protected.get(TIME_HEADER), TIME_HEADER)
    expiry = _time(protected[EXPIRY_HEADER], EXPIRY_HEADER) if EXPIRY_HEADER in protected else None

    # The chain: each certificate issued by the next, valid at the signing time, the last one
    # self-signed and pinned.
    for i, cert in enumerate(chain):
        start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
        if not start <= signing_time <= end:
            raise EnvelopeRejected(
                f"certificate {i} ({cert.subject.rfc4514_string()}) was not valid at the signing "
                f"time {signing_time:%Y-%m-%dT%H:%M:%SZ} (valid {start:%Y-%m-%d} to {end:%Y-%m-%d})"
            )
        issuer = chain[i + 1] if i + 1 < len(chain) else cert
        if i > 0 or len(chain) == 1:
            try:
                constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
            except x509.ExtensionNotFound:
                constraints = None
            if i > 0 and (constraints is None or not constraints.ca):
                raise EnvelopeRejected(f"certificate {i} issues others but is not a CA")
        try:
            cert.verify_directly_issued_by(issuer)
        except (ValueError, TypeError, InvalidSignature):
            raise EnvelopeRejected(
                f"certificate {i} ({cert.subject.rfc4514_string()}) is not issued by "
                f"{issuer.subject.rfc4514_string()}: the chain is broken"
            ) from None
    try:
        leaf_ca = leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        leaf_ca = False
    if leaf_ca or len(chain) < 2:
        raise EnvelopeRejected("the signing certificate is a CA, not a leaf issued by one")
    _check_key_usage(chain)
    root_hash = hashlib.sha256(chain[-1].public_bytes(Encoding.DER)).hexdigest()
    pins = {p.lower() for p in root_pins}
    if root_hash not in pins:
        raise EnvelopeRejected(
            f"the chain ends at {chain[-1].subject.rfc4514_string()} (SHA-256 {root_hash}), "
            "not at a pinned AWS Signer root"
        )
    if expiry is not None and now > expiry:
        raise EnvelopeRejected(f"the signature expired at {expiry:%Y-%m-%dT%H:%M:%SZ}")

    payload = _json_object(_b64url(payload_text, "payload"), "payload")
    target = payload.get("targetArtifact")
    digest = target.get("digest") if isinstance(target, dict) else None
    if not isinstance(digest, str):
        raise EnvelopeRejected("the payload names no targetArtifact.digest")
    if digest != served_digest:
        raise EnvelopeRejected(f"the signature is for {digest}, not the served {served_digest}")

    version_arn = protected.get(PROFILE_HEADER)
    if not isinstance(version_arn, str):
        raise EnvelopeRejected(f"{PROFILE_HEADER} is not a string")
    profile = profile_of(version_arn)
    trusted = [t for t in trusted_profiles if valid_profile_arn(t.lower())]
    if not any(profile.lower() == t.lower() for t in trusted):
        raise EnvelopeRejected(
            f"signed by profile {profile}, which is not a trusted --signing-profile "
            f"({', '.join(trusted) or 'none'})"
        )
    job = protected.get(JOB_HEADER)
    if not isinstance(job, str) or not job:
        raise EnvelopeRejected(f"{JOB_HEADER} is not a string")
    return VerifiedSignature(
        profile_version_arn=version_arn,
        profile_arn=profile,
        job_arn=job,
        signing_time=signing_time,
        expiry=expiry,
        target_digest=digest,
        root_sha256=root_hash,
        certificate_hashes=certificate_hashes(chain),
    )
