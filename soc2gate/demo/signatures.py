"""A stand-in for AWS Signer: its certificate chain and Notation JWS envelopes.

No public repository holds a real AWS Signer envelope, so the demo (and the tests) make their
own, in the layout notation and AWS Signer write: JWS JSON serialization, ES384, the chain
leaf -> regional CA -> intermediate CA -> root in ``x5c``, the AWS Signer critical headers.
The demo root is built deterministically (fixed key, RFC 6979 signature), so its SHA-256
(``DEMO_ROOT_SHA256``) is a constant the scenarios pin with ``--signer-root-sha256``. Every
``corrupt`` knob makes one thing wrong, for the negative tests.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

SIGNATURE_ARTIFACT_TYPE = "application/vnd.cncf.notary.signature"
ENVELOPE_MEDIA_TYPE = "application/jose+json"
_EPOCH = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
_FAR = dt.datetime(2049, 12, 31, tzinfo=dt.timezone.utc)


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "soc2gate demo"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def make_cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
    *,
    ca: bool,
    serial: int,
    not_before: dt.datetime = _EPOCH,
    not_after: dt.datetime = _FAR,
    usage: str = "default",
) -> x509.Certificate:
    """A certificate for ``key`` issued by ``issuer`` (self-signed when None).

    ``usage`` (leaves): "default" KeyUsage digitalSignature and ExtendedKeyUsage codeSigning,
    as a code-signing leaf has; "none" no KeyUsage; "no-digital-signature"; "cert-sign"
    (keyCertSign too); "server-auth" (ExtendedKeyUsage serverAuth only). CAs get keyCertSign
    ("no-cert-sign": digitalSignature instead), except the root, left as it was (its SHA-256 is
    the pin)."""
    issuer_name, issuer_key = issuer if issuer is not None else (_name(subject), key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca and issuer is not None:
        signs_certificates = usage != "no-cert-sign"
        builder = builder.add_extension(
            _key_usage(digital_signature=not signs_certificates, key_cert_sign=signs_certificates),
            critical=True,
        )
    elif not ca and usage != "none":
        builder = builder.add_extension(
            _key_usage(
                digital_signature=usage != "no-digital-signature",
                key_cert_sign=usage == "cert-sign",
            ),
            critical=True,
        )
        purpose = (
            x509.oid.ExtendedKeyUsageOID.SERVER_AUTH
            if usage == "server-auth"
            else x509.oid.ExtendedKeyUsageOID.CODE_SIGNING
        )
        builder = builder.add_extension(x509.ExtendedKeyUsage([purpose]), critical=False)
    return builder.sign(issuer_key, hashes.SHA384(), ecdsa_deterministic=True)


def _key_usage(*, digital_signature: bool = False, key_cert_sign: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=key_cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _key(seed: int) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(seed, ec.SECP384R1())


@dataclass
class SignerChain:
    """Root, intermediate and regional CA keys and certificates; leaves made per signature."""

    root_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: _key(0x5EED01))
    int_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: _key(0x5EED02))
    ca_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: _key(0x5EED03))
    root_name: str = "soc2gate demo Signer Code Signing Root CA G1"

    def __post_init__(self) -> None:
        self.root = make_cert(self.root_name, self.root_key, None, ca=True, serial=1)
        self.intermediate = make_cert(
            "soc2gate demo Signer Code Signing Int CA G1",
            self.int_key,
            (self.root.subject, self.root_key),
            ca=True,
            serial=2,
        )
        self.regional = make_cert(
            "soc2gate demo Signer us-east-1 Code Signing CA G1",
            self.ca_key,
            (self.intermediate.subject, self.int_key),
            ca=True,
            serial=3,
        )

    @property
    def root_sha256(self) -> str:
        return hashlib.sha256(self.root.public_bytes(Encoding.DER)).hexdigest()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign_envelope(
    chain: SignerChain,
    digest: str,
    profile_version_arn: str,
    *,
    signing_time: dt.datetime | None = None,
    expiry: dt.datetime | None = None,
    leaf_valid_days: float = 3.0,
    alg: str = "ES384",
    extra_crit: tuple[str, ...] = (),
    extra_headers: Mapping[str, Any] | None = None,
    size: int = 1234,
    tamper_payload: bool = False,
    other_key: bool = False,
    leaf_usage: str = "default",
) -> bytes:
    """A Notation JWS envelope as AWS Signer makes it, signing ``digest``."""
    when = signing_time or dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    leaf_key = ec.generate_private_key(ec.SECP384R1())
    leaf = make_cert(
        "AWS Signer",
        leaf_key,
        (chain.regional.subject, chain.ca_key),
        ca=False,
        usage=leaf_usage,
        serial=int(when.timestamp()),
        not_before=when - dt.timedelta(hours=1),
        not_after=when + dt.timedelta(days=leaf_valid_days),
    )
    profile = profile_version_arn
    region, account = profile.split(":")[3], profile.split(":")[4]
    headers: dict[str, Any] = {
        "alg": alg,
        "crit": [
            "io.cncf.notary.signingScheme",
            "io.cncf.notary.authenticSigningTime",
            "com.amazonaws.signer.signingProfileVersion",
            "com.amazonaws.signer.signingJob",
            "io.cncf.notary.verificationPlugin",
            *(["io.cncf.notary.expiry"] if expiry else []),
            *extra_crit,
        ],
        "cty": "application/vnd.cncf.notary.payload.v1+json",
        "io.cncf.notary.signingScheme": "notary.x509.signingAuthority",
        "io.cncf.notary.authenticSigningTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "io.cncf.notary.verificationPlugin": "com.amazonaws.signer.notation.plugin",
        "com.amazonaws.signer.signingProfileVersion": profile,
        "com.amazonaws.signer.signingJob": (
            f"arn:aws:signer:{region}:{account}:/signing-jobs/{hashlib.sha1(digest.encode()).hexdigest()}"
        ),
    }
    if expiry:
        headers["io.cncf.notary.expiry"] = expiry.strftime("%Y-%m-%dT%H:%M:%SZ")
    headers.update(extra_headers or {})
    payload = {
        "targetArtifact": {
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "digest": digest,
            "size": size,
        }
    }
    protected_text = _b64url(json.dumps(headers).encode())
    payload_text = _b64url(json.dumps(payload).encode())
    signer = ec.generate_private_key(ec.SECP384R1()) if other_key else leaf_key
    der = signer.sign(f"{protected_text}.{payload_text}".encode(), ec.ECDSA(hashes.SHA384()))
    r, s = decode_dss_signature(der)
    raw = r.to_bytes(48, "big") + s.to_bytes(48, "big")
    if tamper_payload:
        payload["targetArtifact"]["size"] = size + 1
        payload_text = _b64url(json.dumps(payload).encode())
    envelope = {
        "payload": payload_text,
        "protected": protected_text,
        "header": {
            "x5c": [
                base64.b64encode(c.public_bytes(Encoding.DER)).decode()
                for c in (leaf, chain.regional, chain.intermediate, chain.root)
            ],
            "io.cncf.notary.signingAgent": "notation-go/1.0.0 soc2gate-demo",
        },
        "signature": _b64url(raw),
    }
    return json.dumps(envelope).encode()


def signature_manifest(subject_digest: str, subject_size: int, envelope: bytes) -> bytes:
    """The OCI manifest notation pushes as a referrer of ``subject_digest``."""
    empty = b"{}"
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": SIGNATURE_ARTIFACT_TYPE,
        "config": {
            "mediaType": "application/vnd.oci.empty.v1+json",
            "digest": "sha256:" + hashlib.sha256(empty).hexdigest(),
            "size": len(empty),
        },
        "layers": [
            {
                "mediaType": ENVELOPE_MEDIA_TYPE,
                "digest": "sha256:" + hashlib.sha256(envelope).hexdigest(),
                "size": len(envelope),
            }
        ],
        "subject": {
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "digest": subject_digest,
            "size": subject_size,
        },
        "annotations": {"io.cncf.notary.x509chain.thumbprint#S256": "[]"},
    }
    return json.dumps(manifest, indent=2).encode()


DEMO_CHAIN = SignerChain()
#: The demo root's SHA-256: what the scenarios pin (--signer-root-sha256).
DEMO_ROOT_SHA256 = DEMO_CHAIN.root_sha256
