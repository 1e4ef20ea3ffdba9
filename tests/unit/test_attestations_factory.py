"""The private Sigstore instance (soc2gate.demo.attestations), proven with the real library.

Every bundle the factory makes is handed to sigstore-python's ``Verifier.verify_dsse`` under the
instance's own trusted root: a good bundle verifies and yields its statement, and each
``corrupt`` knob is refused by the library for the reason the knob names.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from rfc3161_client import VerifierBuilder, decode_timestamp_response
from sigstore.errors import CertValidationError, VerificationError
from sigstore.models import Bundle, InvalidBundle, TrustedRoot
from sigstore.verify import Verifier
from sigstore.verify import policy as sp

from soc2gate.demo.attestations import (
    BUNDLE_MEDIA_TYPE,
    CORRUPTIONS,
    COSIGN_SIGN_V1,
    DEFAULT_COMMIT,
    DEFAULT_REPOSITORY,
    GITHUB_ISSUER,
    GITHUB_WORKFLOW_BUILD_TYPE,
    SLSA_PROVENANCE_V1,
    SigstoreInstance,
    referrer_manifest,
)

DIGEST = "sha256:" + "ab" * 32
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/defender-image-analyzer-soc2"
IDENTITY = f"https://github.com/{DEFAULT_REPOSITORY}/.github/workflows/release.yml@refs/heads/main"
OTHER_COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(scope="module")
def instance() -> SigstoreInstance:
    return SigstoreInstance("unit-tests")


def _verifier(inst: SigstoreInstance, tmp_path: Path) -> Verifier:
    path = tmp_path / f"{inst.name}-trusted_root.json"
    path.write_text(inst.trusted_root_json())
    return Verifier(trusted_root=TrustedRoot.from_file(str(path)))


@pytest.fixture
def verifier(instance: SigstoreInstance, tmp_path: Path) -> Verifier:
    return _verifier(instance, tmp_path)


def _verify(
    verifier: Verifier, bundle: bytes, identity: str = IDENTITY, issuer: str = GITHUB_ISSUER
) -> dict[str, Any]:
    payload_type, payload = verifier.verify_dsse(
        Bundle.from_json(bundle), sp.Identity(identity=identity, issuer=issuer)
    )
    assert payload_type == "application/vnd.in-toto+json"
    statement: dict[str, Any] = json.loads(payload)
    return statement


def _leaf(bundle: bytes) -> x509.Certificate:
    raw = json.loads(bundle)["verificationMaterial"]["certificate"]["rawBytes"]
    return x509.load_der_x509_certificate(base64.b64decode(raw))


def test_a_good_bundle_verifies_and_yields_the_provenance_statement(
    instance: SigstoreInstance, verifier: Verifier
) -> None:
    bundle = instance.attest(DIGEST, subject_name=IMAGE)
    statement = _verify(verifier, bundle)
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["subject"] == [{"name": IMAGE, "digest": {"sha256": "ab" * 32}}]
    assert statement["predicateType"] == SLSA_PROVENANCE_V1
    build = statement["predicate"]["buildDefinition"]
    assert build["buildType"] == GITHUB_WORKFLOW_BUILD_TYPE
    assert build["externalParameters"]["workflow"] == {
        "ref": "refs/heads/main",
        "repository": f"https://github.com/{DEFAULT_REPOSITORY}",
        "path": ".github/workflows/release.yml",
    }
    assert build["resolvedDependencies"] == [
        {
            "uri": f"git+https://github.com/{DEFAULT_REPOSITORY}@refs/heads/main",
            "digest": {"gitCommit": DEFAULT_COMMIT},
        }
    ]
    run = statement["predicate"]["runDetails"]
    assert run["builder"]["id"] == IDENTITY
    assert run["metadata"]["invocationId"].startswith(
        f"https://github.com/{DEFAULT_REPOSITORY}/actions/runs/"
    )


def test_the_bundle_has_the_shape_github_writes(instance: SigstoreInstance) -> None:
    bundle = json.loads(instance.attest(DIGEST))
    assert list(bundle) == ["mediaType", "verificationMaterial", "dsseEnvelope"]
    assert bundle["mediaType"] == BUNDLE_MEDIA_TYPE
    material = bundle["verificationMaterial"]
    assert list(material) == ["certificate", "tlogEntries", "timestampVerificationData"]
    entry = material["tlogEntries"][0]
    assert entry["kindVersion"] == {"kind": "dsse", "version": "0.0.1"}
    assert base64.b64decode(entry["logId"]["keyId"]).hex() == instance.rekor_log_id
    body = json.loads(base64.b64decode(entry["canonicalizedBody"]))
    payload = base64.b64decode(bundle["dsseEnvelope"]["payload"])
    assert body["spec"]["payloadHash"] == {
        "algorithm": "sha256",
        "value": hashlib.sha256(payload).hexdigest(),
    }
    assert (
        body["spec"]["signatures"][0]["signature"] == bundle["dsseEnvelope"]["signatures"][0]["sig"]
    )
    leaf = _leaf(json.dumps(bundle).encode())
    assert leaf.not_valid_after_utc - leaf.not_valid_before_utc == dt.timedelta(minutes=10)
    integrated = dt.datetime.fromtimestamp(int(entry["integratedTime"]), dt.timezone.utc)
    assert leaf.not_valid_before_utc <= integrated <= leaf.not_valid_after_utc


def test_the_certificate_carries_the_fulcio_github_extensions(instance: SigstoreInstance) -> None:
    leaf = _leaf(instance.attest(DIGEST, commit=OTHER_COMMIT, ref="refs/tags/v1.2.3", run_id=77))
    ref = "refs/tags/v1.2.3"
    repo_uri = f"https://github.com/{DEFAULT_REPOSITORY}"
    identity = f"{repo_uri}/.github/workflows/release.yml@{ref}"
    for check in (
        sp.OIDCIssuer(GITHUB_ISSUER),
        sp.OIDCIssuerV2(GITHUB_ISSUER),
        sp.GitHubWorkflowRepository(DEFAULT_REPOSITORY),
        sp.GitHubWorkflowSHA(OTHER_COMMIT),
        sp.GitHubWorkflowRef(ref),
        sp.GitHubWorkflowTrigger("push"),
        sp.OIDCBuildSignerURI(identity),
        sp.OIDCBuildSignerDigest(OTHER_COMMIT),
        sp.OIDCRunnerEnvironment("github-hosted"),
        sp.OIDCSourceRepositoryURI(repo_uri),
        sp.OIDCSourceRepositoryDigest(OTHER_COMMIT),
        sp.OIDCSourceRepositoryRef(ref),
        sp.OIDCSourceRepositoryOwnerURI("https://github.com/acme"),
        sp.OIDCBuildConfigURI(f"{repo_uri}/.github/workflows/release.yml@{ref}"),
        sp.OIDCBuildConfigDigest(OTHER_COMMIT),
        sp.OIDCBuildTrigger("push"),
        sp.OIDCRunInvocationURI(f"{repo_uri}/actions/runs/77/attempts/1"),
        sp.OIDCSourceRepositoryVisibility("private"),
        sp.Identity(identity=identity, issuer=GITHUB_ISSUER),
    ):
        check.verify(leaf)
    with pytest.raises(VerificationError, match="OIDCSourceRepositoryDigest does not match"):
        sp.OIDCSourceRepositoryDigest(DEFAULT_COMMIT).verify(leaf)
    with pytest.raises(VerificationError, match="SANs do not match"):
        sp.Identity(identity=IDENTITY, issuer=GITHUB_ISSUER).verify(leaf)


#: Each knob, and what sigstore-python raises for it.
KNOB_ERRORS: list[tuple[str, type[Exception], str]] = [
    ("signature", VerificationError, "DSSE: invalid signature"),
    ("other-ca", CertValidationError, "failed to build timestamp certificate chain"),
    ("no-sct", VerificationError, "does not contain a signed certificate timestamp"),
    ("sct", VerificationError, "SCT verify failed: keyring: invalid signature"),
    ("tlog-body", VerificationError, "log entry payload hash does not match bundle"),
    ("set", VerificationError, "SET: invalid inclusion promise"),
    ("checkpoint", VerificationError, "checkpoint: invalid signature"),
    ("expired-cert", CertValidationError, "cert is not valid at validation time"),
    ("no-tlog", InvalidBundle, "expected exactly one log entry in bundle"),
]


@pytest.mark.parametrize(("knob", "error", "fragment"), KNOB_ERRORS)
def test_each_corrupt_knob_is_refused_by_the_library(
    instance: SigstoreInstance,
    verifier: Verifier,
    knob: str,
    error: type[Exception],
    fragment: str,
) -> None:
    bundle = instance.attest(DIGEST, corrupt=knob)
    with pytest.raises(error, match=fragment):
        _verify(verifier, bundle)


def test_every_knob_is_tested() -> None:
    assert [k for k, _, _ in KNOB_ERRORS] == list(CORRUPTIONS)


def test_the_private_repository_shape_has_no_log_entry_and_one_real_timestamp(
    instance: SigstoreInstance,
) -> None:
    bundle = json.loads(instance.attest(DIGEST, corrupt="no-tlog"))
    material = bundle["verificationMaterial"]
    assert material["tlogEntries"] == []
    (stamp,) = material["timestampVerificationData"]["rfc3161Timestamps"]
    response = decode_timestamp_response(base64.b64decode(stamp["signedTimestamp"]))
    signature = base64.b64decode(bundle["dsseEnvelope"]["signatures"][0]["sig"])
    assert response.tst_info.message_imprint.message == hashlib.sha256(signature).digest()
    assert response.tst_info.gen_time == _leaf(json.dumps(bundle).encode()).not_valid_before_utc
    tsa = instance.tsa_certificate
    checker = VerifierBuilder().tsa_certificate(tsa).add_root_certificate(tsa).build()
    assert checker.verify_message(response, signature)


def test_a_bundle_of_another_instance_does_not_verify_under_this_root(
    instance: SigstoreInstance, tmp_path: Path
) -> None:
    other = SigstoreInstance("someone-else")
    bundle = other.attest(DIGEST)
    _verify(_verifier(other, tmp_path), bundle)  # good under its own root
    with pytest.raises(CertValidationError, match="failed to build timestamp certificate chain"):
        _verify(_verifier(instance, tmp_path), bundle)


@pytest.mark.parametrize(
    ("identity", "issuer", "fragment"),
    [
        (IDENTITY.replace("release.yml", "other.yml"), GITHUB_ISSUER, "SANs do not match"),
        (IDENTITY, "https://accounts.google.com", "OIDCIssuer does not match"),
    ],
)
def test_another_identity_or_issuer_is_refused(
    instance: SigstoreInstance, verifier: Verifier, identity: str, issuer: str, fragment: str
) -> None:
    with pytest.raises(VerificationError, match=fragment):
        _verify(verifier, instance.attest(DIGEST), identity=identity, issuer=issuer)


def test_a_custom_identity_and_issuer_verify(
    instance: SigstoreInstance, verifier: Verifier
) -> None:
    identity = "https://github.com/acme/workflows/.github/workflows/attest.yml@refs/heads/main"
    issuer = "https://token.actions.githubusercontent.com/acme"
    bundle = instance.attest(DIGEST, identity=identity, issuer=issuer)
    _verify(verifier, bundle, identity=identity, issuer=issuer)
    sp.OIDCBuildSignerURI(identity).verify(_leaf(bundle))


def test_predicate_overrides_write_a_predicate_the_certificate_contradicts(
    instance: SigstoreInstance, verifier: Verifier
) -> None:
    bundle = instance.attest(
        DIGEST, predicate_overrides={"commit": OTHER_COMMIT, "repository": "evil/fork"}
    )
    # The library checks the signature, not what the predicate claims: it verifies ...
    statement = _verify(verifier, bundle)
    dependency = statement["predicate"]["buildDefinition"]["resolvedDependencies"][0]
    assert dependency == {
        "uri": "git+https://github.com/evil/fork@refs/heads/main",
        "digest": {"gitCommit": OTHER_COMMIT},
    }
    # ... while the certificate still names the real repository and commit.
    leaf = _leaf(bundle)
    sp.OIDCSourceRepositoryDigest(DEFAULT_COMMIT).verify(leaf)
    sp.OIDCSourceRepositoryURI(f"https://github.com/{DEFAULT_REPOSITORY}").verify(leaf)


def test_a_cosign_signature_statement(instance: SigstoreInstance, verifier: Verifier) -> None:
    statement = _verify(verifier, instance.attest(DIGEST, predicate_type=COSIGN_SIGN_V1))
    assert statement == {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"digest": {"sha256": "ab" * 32}, "annotations": {}}],
        "predicateType": COSIGN_SIGN_V1,
        "predicate": {},
    }


def test_many_bundles_share_one_growing_log_and_each_still_verifies(tmp_path: Path) -> None:
    inst = SigstoreInstance("growing-log")
    verifier = _verifier(inst, tmp_path)
    bundles = [inst.attest("sha256:" + f"{i:064x}") for i in range(7)]
    for i, bundle in enumerate(bundles):
        proof = json.loads(bundle)["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]
        assert (proof["logIndex"], proof["treeSize"]) == (str(i), str(i + 1))
        _verify(verifier, bundle)
    # RFC 6962 PATH(6, D[7]): the hash of leaves 4-5, then of leaves 0-3.
    last = json.loads(bundles[6])["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]
    assert len(last["hashes"]) == 2


def test_a_bundle_signed_long_ago_verifies(instance: SigstoreInstance, verifier: Verifier) -> None:
    when = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.timezone.utc)
    bundle = instance.attest(DIGEST, signed_at=when)
    _verify(verifier, bundle)
    assert _leaf(bundle).not_valid_before_utc == when


def test_the_trusted_root_is_fixed_by_the_name_and_names_the_logs_by_key_hash(
    instance: SigstoreInstance,
) -> None:
    assert SigstoreInstance("unit-tests").trusted_root_sha256 == instance.trusted_root_sha256
    assert SigstoreInstance("another").trusted_root_sha256 != instance.trusted_root_sha256
    root = json.loads(instance.trusted_root_json())
    assert root["mediaType"] == "application/vnd.dev.sigstore.trustedroot+json;version=0.1"
    for log in (*root["tlogs"], *root["ctlogs"]):
        key = base64.b64decode(log["publicKey"]["rawBytes"])
        assert base64.b64decode(log["logId"]["keyId"]) == hashlib.sha256(key).digest()
        assert log["publicKey"]["validFor"]["start"] < "2025"
    assert base64.b64decode(root["ctlogs"][0]["logId"]["keyId"]).hex() == instance.ct_log_id
    chain = root["certificateAuthorities"][0]["certChain"]["certificates"]
    assert [base64.b64decode(c["rawBytes"]) for c in chain] == [
        instance.intermediate.public_bytes(Encoding.DER),
        instance.root.public_bytes(Encoding.DER),
    ]
    spki = instance.intermediate.public_key().public_bytes(
        Encoding.DER, PublicFormat.SubjectPublicKeyInfo
    )
    assert spki != instance.root.public_key().public_bytes(
        Encoding.DER, PublicFormat.SubjectPublicKeyInfo
    )


@pytest.mark.parametrize("predicate_type", [SLSA_PROVENANCE_V1, COSIGN_SIGN_V1])
def test_the_referrer_manifest_is_the_one_the_action_pushes(
    instance: SigstoreInstance, predicate_type: str
) -> None:
    bundle = instance.attest(DIGEST, predicate_type=predicate_type)
    text, layer = referrer_manifest(bundle, DIGEST, 1575)
    manifest = json.loads(text)
    assert list(manifest) == [
        "schemaVersion",
        "mediaType",
        "artifactType",
        "config",
        "layers",
        "subject",
        "annotations",
    ]
    assert manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert manifest["artifactType"] == BUNDLE_MEDIA_TYPE
    assert manifest["config"] == {
        "mediaType": "application/vnd.oci.empty.v1+json",
        "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
        "size": 2,
    }
    assert layer == "sha256:" + hashlib.sha256(bundle).hexdigest()
    assert manifest["layers"] == [
        {"mediaType": BUNDLE_MEDIA_TYPE, "digest": layer, "size": len(bundle)}
    ]
    assert manifest["subject"] == {
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "digest": DIGEST,
        "size": 1575,
    }
    created = _leaf(bundle).not_valid_before_utc.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert manifest["annotations"] == {
        "org.opencontainers.image.created": created,
        "dev.sigstore.bundle.content": "dsse-envelope",
        "dev.sigstore.bundle.predicateType": predicate_type,
    }


def test_bad_arguments_are_refused(instance: SigstoreInstance) -> None:
    with pytest.raises(ValueError, match="unknown corrupt knob 'nope'"):
        instance.attest(DIGEST, corrupt="nope")
    with pytest.raises(ValueError, match="sha256:<64 hex>"):
        instance.attest("ab" * 32)
