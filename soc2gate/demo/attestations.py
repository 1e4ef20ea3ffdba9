"""A private Sigstore instance: Fulcio-like CA, CT log, Rekor log, and the bundles they make.

GitHub artifact attestations (``actions/attest-build-provenance``) and cosign v3 signatures are
Sigstore bundles (v0.3 JSON) pushed to the registry as OCI referrers of the image. No test may
reach the public Sigstore, so the demo world and the tests make their own instance, in the
layout the public one writes (the reference was a public ``attest-build-provenance`` bundle):

- a CA (root and intermediate, P-384) that issues one short-lived P-256 leaf per bundle, with
  the Fulcio extensions GitHub's OIDC token gives (OIDs ``1.3.6.1.4.1.57264.1.*``) and an
  embedded precertificate SCT signed by the instance's CT log;
- a Rekor log that records each bundle's DSSE envelope as a ``dsse`` 0.0.1 entry, with an
  inclusion promise (SET) and an inclusion proof in a real Merkle tree of all the entries the
  instance has made, under a signed checkpoint;
- ``trusted_root_json()``: the ``trustedroot+json;version=0.1`` document naming that CA, CT log
  and Rekor log, which is what a user pins.

The instance's keys and CA certificates are derived from its ``name`` (same name, same root:
``trusted_root_sha256`` is a constant per name); the leaves are random. Every ``corrupt`` knob
of :meth:`SigstoreInstance.attest` makes one thing wrong, for the negative tests (``CORRUPTIONS``
lists them). This module does not import ``sigstore``: the verifier is the library, the maker is
plain ``cryptography``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import struct
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
TRUSTED_ROOT_MEDIA_TYPE = "application/vnd.dev.sigstore.trustedroot+json;version=0.1"
IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1"
#: The predicate type of a cosign v3 image signature (cosign's ``CosignSignPredicateType``).
COSIGN_SIGN_V1 = "https://sigstore.dev/cosign/sign/v1"
#: The buildType ``actions/attest-build-provenance`` writes.
GITHUB_WORKFLOW_BUILD_TYPE = "https://actions.github.io/buildtypes/workflow/v1"
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
OCI_EMPTY_MEDIA_TYPE = "application/vnd.oci.empty.v1+json"
OCI_MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST_MEDIA_TYPE = "application/vnd.docker.distribution.manifest.v2+json"

#: The demo's defaults (the same repository and commit the audit-period demo deploys).
DEFAULT_REPOSITORY = "acme/defender-image-analyzer"
DEFAULT_COMMIT = "3f9c2e7a1b4d5c6e8f0a9b1c2d3e4f5a6b7c8d9e"
DEFAULT_REF = "refs/heads/main"
DEFAULT_WORKFLOW = ".github/workflows/release.yml"

#: What ``attest(corrupt=...)`` accepts, each with what it makes wrong.
CORRUPTIONS: Mapping[str, str] = {
    "signature": "the DSSE signature's bytes flipped (the log recorded the good one)",
    "other-ca": "the leaf issued by a CA the trusted root does not name",
    "no-sct": "the leaf carries no embedded SCT",
    "sct": "the leaf's SCT signed by a CT log the trusted root does not name",
    "tlog-body": "the log entry records another payload (its SET and proof are good)",
    "set": "the inclusion promise signed by a key the trusted root does not name",
    "checkpoint": "the checkpoint signed by a key the trusted root does not name",
    "expired-cert": "the entry integrated after the leaf expired",
    "no-tlog": (
        "GitHub's private-repository shape: no log entry, one RFC 3161 timestamp of the DSSE "
        "signature (by ``tsa_certificate``)"
    ),
}

_EPOCH = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
_FAR = dt.datetime(2049, 12, 31, tzinfo=dt.timezone.utc)
_LEAF_LIFETIME = dt.timedelta(minutes=10)
_SCT_OID = x509.ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2")


def _fulcio_oid(n: int) -> x509.ObjectIdentifier:
    return x509.ObjectIdentifier(f"1.3.6.1.4.1.57264.1.{n}")


# ---- small encoders --------------------------------------------------------------------------


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _der(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _der_length(len(content)) + content


def _utf8(value: str) -> bytes:
    """A DER UTF8String: how Fulcio writes its V2 extensions (.8 onwards)."""
    return _der(0x0C, value.encode())


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _spki(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def _key_id(key: ec.EllipticCurvePublicKey) -> bytes:
    """RFC 6962 key ID: SHA-256 of the DER SubjectPublicKeyInfo (a log's ``logId``)."""
    return hashlib.sha256(_spki(key)).digest()


def _derive(label: str, curve: ec.EllipticCurve) -> ec.EllipticCurvePrivateKey:
    # 255 bits: below the order of P-256 and P-384.
    secret = int.from_bytes(hashlib.sha256(label.encode()).digest(), "big") >> 1
    return ec.derive_private_key(secret, curve)


def _canonical(value: Any) -> bytes:
    """JSON as Rekor writes it (sorted keys, no spaces). For the ASCII strings and integers used
    here this is RFC 8785 (JCS), which the SET is computed over."""
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def _rfc3339(when: dt.datetime) -> str:
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{when.microsecond // 1000:03d}Z"
    )


# ---- Merkle tree (RFC 6962) ------------------------------------------------------------------


def _leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def _node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def _tree_hash(leaves: list[bytes]) -> bytes:
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return _node_hash(_tree_hash(leaves[:k]), _tree_hash(leaves[k:]))


def _inclusion_path(index: int, leaves: list[bytes]) -> list[bytes]:
    """RFC 6962 PATH(m, D[n]), leaf to root: what Rekor returns as ``hashes``."""
    if len(leaves) <= 1:
        return []
    k = _split(len(leaves))
    if index < k:
        return [*_inclusion_path(index, leaves[:k]), _tree_hash(leaves[k:])]
    return [*_inclusion_path(index - k, leaves[k:]), _tree_hash(leaves[:k])]


# ---- the CA ----------------------------------------------------------------------------------


@dataclass
class _CA:
    root_key: ec.EllipticCurvePrivateKey
    int_key: ec.EllipticCurvePrivateKey
    root: x509.Certificate
    intermediate: x509.Certificate


def _ca_name(org: str, cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _make_ca(label: str, org: str) -> _CA:
    """Root (pathlen 1) and intermediate (pathlen 0, EKU codeSigning) as Fulcio's are."""
    root_key = _derive(f"{label}:fulcio-root", ec.SECP384R1())
    int_key = _derive(f"{label}:fulcio-intermediate", ec.SECP384R1())
    root_name = _ca_name(org, "sigstore")
    root_ski = x509.SubjectKeyIdentifier.from_public_key(root_key.public_key())
    ca_usage = x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )
    serial = int.from_bytes(hashlib.sha256(label.encode()).digest()[:16], "big") >> 1
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(serial)
        .not_valid_before(_EPOCH)
        .not_valid_after(_FAR)
        .add_extension(ca_usage, critical=True)
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .add_extension(root_ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(root_ski),
            critical=False,
        )
        .sign(root_key, hashes.SHA384(), ecdsa_deterministic=True)
    )
    intermediate = (
        x509.CertificateBuilder()
        .subject_name(_ca_name(org, "sigstore-intermediate"))
        .issuer_name(root_name)
        .public_key(int_key.public_key())
        .serial_number(serial + 1)
        .not_valid_before(_EPOCH)
        .not_valid_after(_FAR)
        .add_extension(ca_usage, critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(int_key.public_key()), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(root_ski),
            critical=False,
        )
        .sign(root_key, hashes.SHA384(), ecdsa_deterministic=True)
    )
    return _CA(root_key, int_key, root, intermediate)


# ---- the instance ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Claims:
    """What GitHub's OIDC token says about the run, as Fulcio copies it into the leaf."""

    identity: str
    issuer: str
    repository: str
    commit: str
    ref: str
    workflow: str
    event: str
    run_id: int
    repository_id: str
    owner_id: str
    visibility: str
    runner: str

    @property
    def repository_uri(self) -> str:
        return f"https://github.com/{self.repository}"

    @property
    def build_config_uri(self) -> str:
        return f"{self.repository_uri}/{self.workflow}@{self.ref}"

    @property
    def invocation_uri(self) -> str:
        return f"{self.repository_uri}/actions/runs/{self.run_id}/attempts/1"

    def extensions(self) -> list[tuple[x509.ObjectIdentifier, bytes]]:
        """Fulcio's extensions in Fulcio's order: .1-.6 raw bytes (legacy), .8 on DER UTF8."""
        owner = self.repository.split("/", 1)[0]
        legacy = [
            (1, self.issuer),
            (2, self.event),
            (3, self.commit),
            (4, self.workflow.rsplit("/", 1)[-1]),
            (5, self.repository),
            (6, self.ref),
        ]
        v2 = [
            (8, self.issuer),
            (9, self.identity),
            (10, self.commit),
            (11, self.runner),
            (12, self.repository_uri),
            (13, self.commit),
            (14, self.ref),
            (15, self.repository_id),
            (16, f"https://github.com/{owner}"),
            (17, self.owner_id),
            (18, self.build_config_uri),
            (19, self.commit),
            (20, self.event),
            (21, self.invocation_uri),
            (22, self.visibility),
        ]
        return [(_fulcio_oid(n), v.encode()) for n, v in legacy] + [
            (_fulcio_oid(n), _utf8(v)) for n, v in v2
        ]


class SigstoreInstance:
    """A Fulcio-like CA, a CT log and a Rekor log, and the bundles they make.

    ``name`` seeds every key and CA certificate: two instances with the same name share a
    trusted root; another name is another instance (a bundle of one does not verify under the
    other's root).
    """

    def __init__(self, name: str = "soc2gate-demo") -> None:
        self.name = name
        self.host = f"{name}.sigstore.invalid"
        self._ca = _make_ca(name, f"{name} sigstore")
        self._ct_key = _derive(f"{name}:ctlog", ec.SECP256R1())
        self._rekor_key = _derive(f"{name}:rekor", ec.SECP256R1())
        self._tree_id = int.from_bytes(hashlib.sha256(f"{name}:tree".encode()).digest()[:8], "big")
        self._leaves: list[bytes] = []
        self._lock = threading.Lock()
        # Keys and a CA outside the trusted root, for the corrupt knobs.
        self._rogue_key = _derive(f"{name}:rogue", ec.SECP256R1())
        self._other_ca: _CA | None = None

    # -- the trusted root ------------------------------------------------------------------

    @property
    def root(self) -> x509.Certificate:
        return self._ca.root

    @property
    def intermediate(self) -> x509.Certificate:
        return self._ca.intermediate

    @property
    def tsa_certificate(self) -> x509.Certificate:
        """The timestamping certificate of the ``no-tlog`` bundles' RFC 3161 timestamps (self-
        issued, EKU timeStamping; ``trusted_root_json`` does not name it)."""
        return _tsa_cert(self.name)[1]

    @property
    def rekor_log_id(self) -> str:
        """The Rekor log's ID, hex (SHA-256 of its DER public key)."""
        return _key_id(self._rekor_key.public_key()).hex()

    @property
    def ct_log_id(self) -> str:
        """The CT log's ID, hex (SHA-256 of its DER public key)."""
        return _key_id(self._ct_key.public_key()).hex()

    def trusted_root(self) -> dict[str, Any]:
        """The trusted root document (see ``trusted_root_json``) as a dict."""
        start = _rfc3339(_EPOCH)

        def log(url: str, key: ec.EllipticCurvePrivateKey) -> dict[str, Any]:
            return {
                "baseUrl": url,
                "hashAlgorithm": "SHA2_256",
                "publicKey": {
                    "rawBytes": _b64(_spki(key.public_key())),
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                    "validFor": {"start": start},
                },
                "logId": {"keyId": _b64(_key_id(key.public_key()))},
            }

        return {
            "mediaType": TRUSTED_ROOT_MEDIA_TYPE,
            "tlogs": [log(f"https://rekor.{self.host}", self._rekor_key)],
            "certificateAuthorities": [
                {
                    "subject": {"organization": f"{self.name} sigstore", "commonName": "sigstore"},
                    "uri": f"https://fulcio.{self.host}",
                    "certChain": {
                        "certificates": [
                            {"rawBytes": _b64(c.public_bytes(Encoding.DER))}
                            for c in (self._ca.intermediate, self._ca.root)
                        ]
                    },
                    "validFor": {"start": start},
                }
            ],
            "ctlogs": [log(f"https://ctfe.{self.host}/{self.name}", self._ct_key)],
            "timestampAuthorities": [],
        }

    def trusted_root_json(self) -> str:
        """The ``trustedroot+json;version=0.1`` document naming this instance's CA (intermediate
        then root), CT log and Rekor log; what ``sigstore.models.TrustedRoot.from_file`` loads."""
        return json.dumps(self.trusted_root(), indent=2)

    @property
    def trusted_root_sha256(self) -> str:
        """SHA-256 of ``trusted_root_json()``: a constant for a given ``name``."""
        return hashlib.sha256(self.trusted_root_json().encode()).hexdigest()

    # -- statements ------------------------------------------------------------------------

    @staticmethod
    def statement(
        subject_name: str,
        subject_digest: str,
        *,
        predicate_type: str = SLSA_PROVENANCE_V1,
        identity: str,
        repository: str = DEFAULT_REPOSITORY,
        commit: str = DEFAULT_COMMIT,
        ref: str = DEFAULT_REF,
        workflow: str = DEFAULT_WORKFLOW,
        event: str = "push",
        run_id: int = 4242424242,
        repository_id: str = "700000001",
        owner_id: str = "90000001",
        runner: str = "github-hosted",
        predicate_overrides: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The in-toto v1 Statement: SLSA v1 provenance as ``actions/attest-build-provenance``
        writes it, or (``predicate_type=COSIGN_SIGN_V1``) cosign v3's signature statement."""
        hex_digest = subject_digest.removeprefix("sha256:")
        if predicate_type == COSIGN_SIGN_V1:
            # cosign sign (v3, bundle format): no subject name, empty annotations and predicate.
            return {
                "_type": STATEMENT_TYPE,
                "subject": [{"digest": {"sha256": hex_digest}, "annotations": {}}],
                "predicateType": COSIGN_SIGN_V1,
                "predicate": {},
            }
        o = dict(predicate_overrides or {})
        o_repo = str(o.get("repository", repository))
        o_commit = str(o.get("commit", commit))
        o_ref = str(o.get("ref", ref))
        o_workflow = str(o.get("workflow", workflow))
        predicate: dict[str, Any] = {
            "buildDefinition": {
                "buildType": str(o.get("buildType", GITHUB_WORKFLOW_BUILD_TYPE)),
                "externalParameters": {
                    "workflow": {
                        "ref": o_ref,
                        "repository": f"https://github.com/{o_repo}",
                        "path": o_workflow,
                    }
                },
                "internalParameters": {
                    "github": {
                        "event_name": event,
                        "repository_id": repository_id,
                        "repository_owner_id": owner_id,
                        "runner_environment": runner,
                    }
                },
                "resolvedDependencies": [
                    {
                        "uri": f"git+https://github.com/{o_repo}@{o_ref}",
                        "digest": {"gitCommit": o_commit},
                    }
                ],
            },
            "runDetails": {
                "builder": {"id": str(o.get("builder", identity))},
                "metadata": {
                    "invocationId": f"https://github.com/{o_repo}/actions/runs/{run_id}/attempts/1"
                },
            },
        }
        return {
            "_type": STATEMENT_TYPE,
            "subject": [{"name": subject_name, "digest": {"sha256": hex_digest}}],
            "predicateType": predicate_type,
            "predicate": predicate,
        }

    # -- signing ---------------------------------------------------------------------------

    def _issue_leaf(
        self,
        key: ec.EllipticCurvePrivateKey,
        claims: _Claims,
        when: dt.datetime,
        *,
        ca: _CA,
        sct: str,
    ) -> x509.Certificate:
        """A Fulcio leaf for ``key``; ``sct`` is "good", "none" or "rogue" (foreign CT key)."""
        issuer_key = ca.int_key
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([]))
            .issuer_name(ca.intermediate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(when)
            .not_valid_after(when + _LEAF_LIFETIME)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                critical=False,
            )
            .add_extension(
                x509.SubjectAlternativeName([x509.UniformResourceIdentifier(claims.identity)]),
                critical=True,
            )
        )
        for oid, value in claims.extensions():
            builder = builder.add_extension(x509.UnrecognizedExtension(oid, value), critical=False)
        if sct == "none":
            return builder.sign(issuer_key, hashes.SHA384())
        # The SCT signs the precertificate's TBS without the SCT list (and without the poison,
        # which the precertificate had and the final certificate has not): the TBS of the same
        # certificate made without the SCT extension, when that extension comes last.
        pre = builder.sign(issuer_key, hashes.SHA384())
        log_key = self._ct_key if sct == "good" else self._rogue_key
        sct_list = self._sct_list(pre.tbs_certificate_bytes, ca.int_key, log_key, when)
        builder = builder.add_extension(
            x509.UnrecognizedExtension(_SCT_OID, _der(0x04, sct_list)), critical=False
        )
        return builder.sign(issuer_key, hashes.SHA384())

    @staticmethod
    def _sct_list(
        tbs: bytes,
        issuer_key: ec.EllipticCurvePrivateKey,
        log_key: ec.EllipticCurvePrivateKey,
        when: dt.datetime,
    ) -> bytes:
        """A SignedCertificateTimestampList of one v1 precert SCT (RFC 6962 3.2, 3.3)."""
        timestamp = int(when.timestamp() * 1000)
        issuer_key_hash = _key_id(issuer_key.public_key())
        signed = (
            struct.pack("!BBQH", 0, 0, timestamp, 1)  # v1, certificate_timestamp, precert_entry
            + issuer_key_hash
            + len(tbs).to_bytes(3, "big")
            + tbs
            + struct.pack("!H", 0)  # no extensions
        )
        signature = log_key.sign(signed, ec.ECDSA(hashes.SHA256()))
        sct = (
            struct.pack("!B", 0)
            + _key_id(log_key.public_key())
            + struct.pack("!QH", timestamp, 0)
            + struct.pack("!BBH", 4, 3, len(signature))  # sha256, ecdsa
            + signature
        )
        item = struct.pack("!H", len(sct)) + sct
        return struct.pack("!H", len(item)) + item

    def _log(
        self,
        body: bytes,
        integrated: int,
        *,
        set_key: ec.EllipticCurvePrivateKey,
        checkpoint_key: ec.EllipticCurvePrivateKey,
    ) -> dict[str, Any]:
        """Append ``body`` to the log; the bundle's ``tlogEntries[0]`` for it."""
        log_id = _key_id(self._rekor_key.public_key())
        with self._lock:
            index = len(self._leaves)
            self._leaves.append(_leaf_hash(body))
            leaves = list(self._leaves)
        root = _tree_hash(leaves)
        path = _inclusion_path(index, leaves)
        promise = _canonical(
            {
                "body": _b64(body),
                "integratedTime": integrated,
                "logID": log_id.hex(),
                "logIndex": index,
            }
        )
        set_signature = set_key.sign(promise, ec.ECDSA(hashes.SHA256()))
        note = f"{self.host} - {self._tree_id}\n{len(leaves)}\n{_b64(root)}\n"
        note_signature = checkpoint_key.sign(note.encode(), ec.ECDSA(hashes.SHA256()))
        # sigstore-python matches a note signature to the log by the first 4 bytes of its ID.
        hint = _key_id(self._rekor_key.public_key())[:4]
        checkpoint = f"{note}\n\u2014 {self.host} {_b64(hint + note_signature)}\n"
        return {
            "logIndex": str(index),
            "logId": {"keyId": _b64(log_id)},
            "kindVersion": {"kind": "dsse", "version": "0.0.1"},
            "integratedTime": str(integrated),
            "inclusionPromise": {"signedEntryTimestamp": _b64(set_signature)},
            "inclusionProof": {
                "logIndex": str(index),
                "rootHash": _b64(root),
                "treeSize": str(len(leaves)),
                "hashes": [_b64(h) for h in path],
                "checkpoint": {"envelope": checkpoint},
            },
            "canonicalizedBody": _b64(body),
        }

    @staticmethod
    def _dsse_body(
        payload: bytes, envelope: Mapping[str, Any], signature: bytes, leaf_pem: bytes
    ) -> bytes:
        """The ``dsse`` 0.0.1 entry Rekor stores for an envelope (canonical JSON)."""
        return _canonical(
            {
                "apiVersion": "0.0.1",
                "kind": "dsse",
                "spec": {
                    # Rekor hashes its own canonical form of the envelope; verifiers cannot
                    # recompute it and do not check it.
                    "envelopeHash": {
                        "algorithm": "sha256",
                        "value": hashlib.sha256(_canonical(envelope)).hexdigest(),
                    },
                    "payloadHash": {
                        "algorithm": "sha256",
                        "value": hashlib.sha256(payload).hexdigest(),
                    },
                    "signatures": [{"signature": _b64(signature), "verifier": _b64(leaf_pem)}],
                },
            }
        )

    def attest(
        self,
        subject_digest: str,
        *,
        subject_name: str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/defender-image-analyzer-soc2",
        identity: str | None = None,
        issuer: str = GITHUB_ISSUER,
        repository: str = DEFAULT_REPOSITORY,
        commit: str = DEFAULT_COMMIT,
        ref: str = DEFAULT_REF,
        workflow: str = DEFAULT_WORKFLOW,
        signed_at: dt.datetime | None = None,
        predicate_type: str = SLSA_PROVENANCE_V1,
        predicate_overrides: Mapping[str, Any] | None = None,
        event: str = "push",
        run_id: int = 4242424242,
        visibility: str = "private",
        corrupt: str | None = None,
    ) -> bytes:
        """A Sigstore bundle v0.3 (JSON bytes) of a DSSE-enveloped in-toto Statement about
        ``subject_digest`` (``sha256:<hex>``), signed by a fresh leaf whose SAN is ``identity``
        (default ``https://github.com/<repository>/<workflow>@<ref>``) and logged in this
        instance's Rekor log at ``signed_at`` (default now).

        ``predicate_overrides`` changes the predicate only (keys ``repository``, ``commit``,
        ``ref``, ``workflow``, ``builder``, ``buildType``): a statement the certificate
        contradicts. ``corrupt`` is one of ``CORRUPTIONS``.
        """
        if corrupt is not None and corrupt not in CORRUPTIONS:
            raise ValueError(f"unknown corrupt knob {corrupt!r}; one of {sorted(CORRUPTIONS)}")
        if not subject_digest.startswith("sha256:") or len(subject_digest) != 71:
            raise ValueError(f"subject_digest must be sha256:<64 hex>, got {subject_digest!r}")
        when = (signed_at or dt.datetime.now(dt.timezone.utc)).replace(microsecond=0)
        identity = identity or f"https://github.com/{repository}/{workflow}@{ref}"
        claims = _Claims(
            identity=identity,
            issuer=issuer,
            repository=repository,
            commit=commit,
            ref=ref,
            workflow=workflow,
            event=event,
            run_id=run_id,
            repository_id="700000001",
            owner_id="90000001",
            visibility=visibility,
            runner="github-hosted",
        )
        statement = self.statement(
            subject_name,
            subject_digest,
            predicate_type=predicate_type,
            identity=identity,
            repository=repository,
            commit=commit,
            ref=ref,
            workflow=workflow,
            event=event,
            run_id=run_id,
            predicate_overrides=predicate_overrides,
        )
        payload = json.dumps(statement, separators=(",", ":")).encode()

        key = ec.generate_private_key(ec.SECP256R1())
        if corrupt == "other-ca":
            if self._other_ca is None:
                self._other_ca = _make_ca(f"{self.name}:other", f"{self.name} other sigstore")
            ca = self._other_ca
        else:
            ca = self._ca
        sct = {"no-sct": "none", "sct": "rogue"}.get(corrupt or "", "good")
        leaf = self._issue_leaf(key, claims, when, ca=ca, sct=sct)
        leaf_pem = leaf.public_bytes(Encoding.PEM)

        pae = _pae(IN_TOTO_PAYLOAD_TYPE, payload)
        signature = key.sign(pae, ec.ECDSA(hashes.SHA256()))
        envelope = {
            "payload": _b64(payload),
            "payloadType": IN_TOTO_PAYLOAD_TYPE,
            "signatures": [{"sig": _b64(signature), "keyid": ""}],
        }

        verification: dict[str, Any] = {
            "certificate": {"rawBytes": _b64(leaf.public_bytes(Encoding.DER))},
        }
        if corrupt == "no-tlog":
            verification["tlogEntries"] = []
            verification["timestampVerificationData"] = {
                "rfc3161Timestamps": [
                    {"signedTimestamp": _b64(_timestamp_response(self.name, signature, when))}
                ]
            }
        else:
            if corrupt == "tlog-body":
                other = payload.replace(b"sha256", b"sha512", 1)
                other_sig = key.sign(_pae(IN_TOTO_PAYLOAD_TYPE, other), ec.ECDSA(hashes.SHA256()))
                other_envelope = {**envelope, "payload": _b64(other)}
                body = self._dsse_body(other, other_envelope, other_sig, leaf_pem)
            else:
                body = self._dsse_body(payload, envelope, signature, leaf_pem)
            integrated = int(when.timestamp()) + 2
            if corrupt == "expired-cert":
                integrated = int((when + _LEAF_LIFETIME).timestamp()) + 60
            verification["tlogEntries"] = [
                self._log(
                    body,
                    integrated,
                    set_key=self._rogue_key if corrupt == "set" else self._rekor_key,
                    checkpoint_key=self._rogue_key if corrupt == "checkpoint" else self._rekor_key,
                )
            ]
            verification["timestampVerificationData"] = {"rfc3161Timestamps": []}

        if corrupt == "signature":
            flipped = bytes(b ^ 0xFF for b in signature[-8:])
            envelope["signatures"] = [{"sig": _b64(signature[:-8] + flipped), "keyid": ""}]

        bundle = {
            "mediaType": BUNDLE_MEDIA_TYPE,
            "verificationMaterial": verification,
            "dsseEnvelope": envelope,
        }
        return json.dumps(bundle, indent=2).encode()


def _pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding: what the envelope's signature signs."""
    return b"DSSEv1 %d %s %d %s" % (
        len(payload_type),
        payload_type.encode(),
        len(payload),
        payload,
    )


def _der_int(value: int) -> bytes:
    return _der(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def _oid(dotted: str) -> bytes:
    return _der(0x06, _oid_body(dotted))


def _oid_body(dotted: str) -> bytes:
    first, second, *rest = (int(p) for p in dotted.split("."))
    out = bytearray()
    for arc in [first * 40 + second, *rest]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out.extend(reversed(chunk))
    return bytes(out)


_SHA256_ALG = _der(0x30, _oid("2.16.840.1.101.3.4.2.1"))
_TST_INFO_OID = "1.2.840.113549.1.9.16.1.4"


def _tsa_cert(label: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A self-issued timestamping certificate (EKU timeStamping) no trusted root names."""
    key = _derive(f"{label}:tsa", ec.SECP256R1())
    name = _ca_name(f"{label} timestamping", "tsa")
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(int.from_bytes(hashlib.sha256(label.encode()).digest()[:8], "big"))
        .not_valid_before(_EPOCH)
        .not_valid_after(_FAR)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(key, hashes.SHA256(), ecdsa_deterministic=True)
    )
    return key, cert


def _timestamp_response(label: str, signature: bytes, when: dt.datetime) -> bytes:
    """An RFC 3161 TimeStampResp (status granted) over ``signature``, as GitHub's private
    instance adds to a bundle: a CMS SignedData of a TSTInfo, signed by a timestamping key of
    its own that no trusted root here names (sigstore-python cannot verify these bundles in any
    case: they carry no log entry, sigstore-python issue 1529)."""
    key, cert = _tsa_cert(label)
    imprint = _der(0x30, _SHA256_ALG + _der(0x04, hashlib.sha256(signature).digest()))
    tst_info = _der(
        0x30,
        _der_int(1)
        + _oid("1.3.6.1.4.1.57264.2")  # a policy OID
        + imprint
        + _der_int(int(when.timestamp()))
        + _der(0x18, when.strftime("%Y%m%d%H%M%SZ").encode()),
    )
    cert_der = cert.public_bytes(Encoding.DER)
    attributes = sorted(
        [
            _der(0x30, _oid("1.2.840.113549.1.9.3") + _der(0x31, _oid(_TST_INFO_OID))),
            _der(
                0x30,
                _oid("1.2.840.113549.1.9.4")
                + _der(0x31, _der(0x04, hashlib.sha256(tst_info).digest())),
            ),
            _der(
                0x30,
                _oid("1.2.840.113549.1.9.16.2.47")  # signingCertificateV2
                + _der(
                    0x31,
                    _der(
                        0x30,
                        _der(0x30, _der(0x30, _der(0x04, hashlib.sha256(cert_der).digest()))),
                    ),
                ),
            ),
        ]
    )
    signed_attrs = b"".join(attributes)
    cms_signature = key.sign(_der(0x31, signed_attrs), ec.ECDSA(hashes.SHA256()))
    signer_info = _der(
        0x30,
        _der_int(1)
        + _der(0x30, cert.issuer.public_bytes() + _der_int(cert.serial_number))
        + _SHA256_ALG
        + _der(0xA0, signed_attrs)
        + _der(0x30, _oid("1.2.840.10045.4.3.2"))
        + _der(0x04, cms_signature),
    )
    signed_data = _der(
        0x30,
        _der_int(3)
        + _der(0x31, _SHA256_ALG)
        + _der(0x30, _oid(_TST_INFO_OID) + _der(0xA0, _der(0x04, tst_info)))
        + _der(0xA0, cert_der)
        + _der(0x31, signer_info),
    )
    token = _der(0x30, _oid("1.2.840.113549.1.7.2") + _der(0xA0, signed_data))
    return _der(0x30, _der(0x30, _der_int(0)) + token)


def referrer_manifest(
    bundle: bytes,
    subject_digest: str,
    subject_size: int,
    subject_media_type: str = DOCKER_MANIFEST_MEDIA_TYPE,
) -> tuple[str, str]:
    """The OCI image manifest ``actions/attest-build-provenance`` (``push-to-registry: true``)
    and cosign v3 push as a referrer of ``subject_digest``: artifactType the bundle media type,
    the empty config, one layer (the bundle), and the ``dev.sigstore.bundle.*`` annotations.
    Returns the manifest's JSON and the layer's digest (``sha256:<hex>`` of ``bundle``)."""
    parsed = json.loads(bundle)
    statement = json.loads(base64.b64decode(parsed["dsseEnvelope"]["payload"]))
    leaf = x509.load_der_x509_certificate(
        base64.b64decode(parsed["verificationMaterial"]["certificate"]["rawBytes"])
    )
    empty = b"{}"
    layer_digest = "sha256:" + hashlib.sha256(bundle).hexdigest()
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST_MEDIA_TYPE,
        "artifactType": BUNDLE_MEDIA_TYPE,
        "config": {
            "mediaType": OCI_EMPTY_MEDIA_TYPE,
            "digest": "sha256:" + hashlib.sha256(empty).hexdigest(),
            "size": len(empty),
        },
        "layers": [{"mediaType": BUNDLE_MEDIA_TYPE, "digest": layer_digest, "size": len(bundle)}],
        "subject": {
            "mediaType": subject_media_type,
            "digest": subject_digest,
            "size": subject_size,
        },
        "annotations": {
            "org.opencontainers.image.created": _rfc3339(leaf.not_valid_before_utc),
            "dev.sigstore.bundle.content": "dsse-envelope",
            "dev.sigstore.bundle.predicateType": statement["predicateType"],
        },
    }
    return json.dumps(manifest, indent=2), layer_digest


#: The demo's instance (the scenarios pin its ``trusted_root_json()``).
DEMO_SIGSTORE = SigstoreInstance()
