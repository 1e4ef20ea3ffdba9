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
