"""Sigstore bundles verified offline (checks.provenance._sigstore), on real GitHub attestations.

The bundles are GitHub's own (tests/fixtures/sigstore/README.md), verified with the sigstore
library against the production trusted root it ships, with no network: what a user's pinned
identity, repository and commit admit, and each way one of them refuses.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from soc2gate.checks.provenance._sigstore import (
    GITHUB_ISSUER,
    NO_TLOG_ISSUE,
    AttestationPolicy,
    BundleRejected,
    BundleUnverifiable,
    _der_utf8,
    load_trusted_root,
    verify_bundle,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "sigstore"
REAL = (FIXTURES / "reusable-workflow-attestation.sigstore.json").read_bytes()
PRIVATE = (FIXTURES / "github_release_bundle.json").read_bytes()
IDENTITY = (
    "https://github.com/github/artifact-attestations-workflows/.github/workflows/attest.yml"
    "@09b495c3f12c7881b3cc17209a327792065c1a1d"
)
REPOSITORY = "malancas/attest-demo"
COMMIT = "95baf27389e83e6a5c48f42e190d48d7abcea19e"
SUBJECT = "sha256:" + "49a3aa6075e0f49f82843e74b5baa614ad2a588e6675612bf108a0a008c5ac25"
POLICY = AttestationPolicy((IDENTITY,), GITHUB_ISSUER, REPOSITORY, COMMIT)


@pytest.fixture(scope="module")
def root() -> Any:
    return load_trusted_root(None).root


def _verify(
    raw: bytes, root: Any, policy: AttestationPolicy = POLICY, digest: str = SUBJECT
) -> Any:
    return verify_bundle(raw, served_digest=digest, policy=policy, trusted_root=root)


def test_the_shipped_root_is_the_production_one_and_named() -> None:
    loaded = load_trusted_root(None)
    assert "production trusted root shipped with sigstore" in loaded.source
    assert len(loaded.sha256) == 64


def test_a_real_github_provenance_verifies_offline_with_what_the_certificate_says(
    root: Any,
) -> None:
    verified = _verify(REAL, root)
    assert verified.identity == IDENTITY
    assert verified.predicate_type == "https://slsa.dev/provenance/v1"
    assert verified.provenance == {
        "sourceRepository": "https://github.com/malancas/attest-demo",
        "commit": COMMIT,
        "ref": "refs/heads/main",
        "workflow": "https://github.com/malancas/attest-demo/.github/workflows/shared.yml"
        "@refs/heads/main",
    }
    assert verified.signing_time.year == 2024


def test_repository_match_ignores_case_as_github_does(root: Any) -> None:
    policy = AttestationPolicy((IDENTITY,), GITHUB_ISSUER, "Malancas/Attest-Demo", COMMIT)
    assert _verify(REAL, root, policy).provenance["commit"] == COMMIT


@pytest.mark.parametrize(
    ("policy", "words"),
    [
        (
            AttestationPolicy((IDENTITY,), GITHUB_ISSUER, REPOSITORY, "0" * 40),
            f"built from commit {COMMIT}, not {'0' * 40}",
        ),
        (
            AttestationPolicy((IDENTITY,), GITHUB_ISSUER, "malancas/other", COMMIT),
            "not https://github.com/malancas/other",
        ),
        (
            # A reusable workflow signs: the caller's own workflow is not the identity.
            AttestationPolicy(
                (
                    "https://github.com/malancas/attest-demo/.github/workflows/shared.yml"
                    "@refs/heads/main",
                ),
                GITHUB_ISSUER,
                REPOSITORY,
                COMMIT,
            ),
            f"signed by {IDENTITY} \\(issuer https://token.actions.githubusercontent.com\\), "
            "not by a trusted --attestation-identity",
        ),
        (
            AttestationPolicy((IDENTITY,), "https://accounts.google.com", REPOSITORY, COMMIT),
            "of --attestation-issuer https://accounts.google.com",
        ),
    ],
)
def test_another_commit_repository_identity_or_issuer_is_refused(
    root: Any, policy: AttestationPolicy, words: str
) -> None:
    with pytest.raises(BundleRejected, match=words):
        _verify(REAL, root, policy)


def test_a_bundle_for_another_digest_is_refused_naming_both(root: Any) -> None:
    other = "sha256:" + "ab" * 32
    with pytest.raises(BundleRejected, match="not the served digest sha256:abababababab"):
        _verify(REAL, root, digest=other)


def test_without_the_deployed_repository_or_commit_a_provenance_is_unverifiable(
    root: Any,
) -> None:
    for policy in (
        AttestationPolicy((IDENTITY,), GITHUB_ISSUER, None, COMMIT),
        AttestationPolicy((IDENTITY,), GITHUB_ISSUER, REPOSITORY, None),
    ):
        with pytest.raises(BundleUnverifiable, match=r"--attestation-repository.*--commit-sha"):
            _verify(REAL, root, policy)


def test_another_instances_root_does_not_verify_it() -> None:
    """sigstore's staging root: a real trusted root, not the one that signed this bundle."""
    from importlib import resources

    staging = resources.files("sigstore._store").joinpath(
        "https%3A%2F%2Ftuf-repo-cdn.sigstage.dev", "trusted_root.json"
    )
    from sigstore.models import TrustedRoot

    with pytest.raises(BundleRejected, match="does not verify"):
        _verify(REAL, TrustedRoot.from_file(str(staging)))


def _tampered(change: dict[str, Any]) -> bytes:
    doc = json.loads(REAL)
    statement = json.loads(base64.b64decode(doc["dsseEnvelope"]["payload"]))
    statement["predicate"]["buildDefinition"]["resolvedDependencies"][0]["digest"].update(change)
    doc["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    return json.dumps(doc).encode()


def test_a_predicate_edited_after_signing_is_refused(root: Any) -> None:
    with pytest.raises(BundleRejected, match="does not verify"):
        _verify(_tampered({"gitCommit": "0" * 40}), root)


def test_a_private_repositorys_bundle_is_unverifiable_and_links_the_upstream_issue(
    root: Any,
) -> None:
    with pytest.raises(BundleUnverifiable) as caught:
        _verify(PRIVATE, root)
    assert "RFC 3161 timestamp but no transparency-log entry" in str(caught.value)
    assert NO_TLOG_ISSUE in str(caught.value)


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"not json", "not JSON"),
        (b"[]", "not a JSON object"),
        (json.dumps({"mediaType": "application/json"}).encode(), "is not a Sigstore bundle"),
        (
            json.dumps(
                {**json.loads(REAL), "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"}
            )
            .replace('"dsseEnvelope"', '"messageSignature"')
            .encode(),
            "message signature",
        ),
    ],
)
def test_what_is_not_a_dsse_bundle_is_refused(root: Any, raw: bytes, words: str) -> None:
    with pytest.raises(BundleRejected, match=words):
        _verify(raw, root)


def test_a_pinned_root_that_is_not_one_is_unverifiable(tmp_path: Path) -> None:
    bad = tmp_path / "root.json"
    bad.write_text('{"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",'
                   ' "tlogs": "nope"}')  # fmt: skip
    with pytest.raises(BundleUnverifiable, match="is not a Sigstore trusted root"):
        load_trusted_root(str(bad))
    with pytest.raises(BundleUnverifiable, match="No such file"):
        load_trusted_root(str(tmp_path / "missing.json"))


@pytest.mark.parametrize(
    ("value", "text"),
    [(b"\x0c\x03abc", "abc"), (b"\x0c\x81\x03abc", "abc")],
)
def test_fulcio_extension_values_are_der_utf8_strings(value: bytes, text: str) -> None:
    assert _der_utf8(value) == text


@pytest.mark.parametrize("value", [b"", b"\x04\x03abc", b"\x0c\x05abc", b"\x0c\x02abc"])
def test_a_malformed_extension_value_is_refused(value: bytes) -> None:
    with pytest.raises(BundleRejected):
        _der_utf8(value)


# ---- the demo's own Sigstore instance: what only a bundle made to order can show ------------


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from sigstore.models import TrustedRoot

    from soc2gate.demo.attestations import DEMO_SIGSTORE

    path = tmp_path_factory.mktemp("root") / "trusted_root.json"
    path.write_text(DEMO_SIGSTORE.trusted_root_json())
    return TrustedRoot.from_file(str(path))


DEMO_DIGEST = "sha256:" + "5e" * 32
DEMO_IDENTITY = (
    "https://github.com/acme/defender-image-analyzer/.github/workflows/release.yml@refs/heads/main"
)
DEMO_POLICY = AttestationPolicy(
    (DEMO_IDENTITY,),
    GITHUB_ISSUER,
    "acme/defender-image-analyzer",
    "3f9c2e7a1b4d5c6e8f0a9b1c2d3e4f5a6b7c8d9e",
)


def test_a_cosign_signature_vouches_for_the_signer_only(demo_root: Any) -> None:
    from soc2gate.demo.attestations import COSIGN_SIGN_V1, DEMO_SIGSTORE

    raw = DEMO_SIGSTORE.attest(DEMO_DIGEST, predicate_type=COSIGN_SIGN_V1)
    verified = verify_bundle(
        raw, served_digest=DEMO_DIGEST, policy=DEMO_POLICY, trusted_root=demo_root
    )
    assert verified.identity == DEMO_IDENTITY
    assert verified.provenance == {}  # no claim about the commit is made or believed


@pytest.mark.parametrize(
    "predicate_type",
    [
        "https://cosign.sigstore.dev/attestation/vuln/v1",
        "https://spdx.dev/Document",
        "https://slsa.dev/provenance/v0.2",
    ],
)
def test_a_statement_that_is_neither_signature_nor_provenance_vouches_for_nothing(
    demo_root: Any, predicate_type: str
) -> None:
    """A vulnerability scan or an SBOM the trusted workflow made about the digest approves
    nothing; an older provenance format cannot be cross-checked against its certificate."""
    from soc2gate.demo.attestations import DEMO_SIGSTORE

    raw = DEMO_SIGSTORE.attest(DEMO_DIGEST, predicate_type=predicate_type)
    with pytest.raises(BundleRejected, match="neither a signature"):
        verify_bundle(raw, served_digest=DEMO_DIGEST, policy=DEMO_POLICY, trusted_root=demo_root)


@pytest.mark.parametrize(
    ("override", "words"),
    [
        ({"commit": "0" * 40}, "predicate says commit"),
        ({"repository": "acme/other"}, "predicate says repository"),
        ({"ref": "refs/heads/evil"}, "predicate says ref"),
        ({"workflow": ".github/workflows/other.yml"}, "names workflow"),
        ({"buildType": "https://example.com/buildtype"}, "is not GitHub Actions'"),
    ],
)
def test_a_predicate_that_contradicts_its_certificate_is_refused(
    demo_root: Any, override: dict[str, str], words: str
) -> None:
    from soc2gate.demo.attestations import DEMO_SIGSTORE

    raw = DEMO_SIGSTORE.attest(DEMO_DIGEST, predicate_overrides=override)
    with pytest.raises(BundleRejected, match=words):
        verify_bundle(raw, served_digest=DEMO_DIGEST, policy=DEMO_POLICY, trusted_root=demo_root)


@pytest.mark.parametrize(
    "corrupt", ["signature", "other-ca", "no-sct", "tlog-body", "expired-cert"]
)
def test_each_broken_bundle_is_refused_by_the_library_never_passed(
    demo_root: Any, corrupt: str
) -> None:
    from soc2gate.demo.attestations import DEMO_SIGSTORE

    raw = DEMO_SIGSTORE.attest(DEMO_DIGEST, corrupt=corrupt)
    with pytest.raises(BundleRejected, match="does not verify against the pinned trusted root"):
        verify_bundle(raw, served_digest=DEMO_DIGEST, policy=DEMO_POLICY, trusted_root=demo_root)
