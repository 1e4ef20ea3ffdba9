"""Offline verification of AWS Signer Notation envelopes: the pass, and one test per negative.

The tests build their own chain (soc2gate.demo.signatures) since no public AWS Signer envelope
exists; the verifier trusts only the root hash pinned here.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from soc2gate.checks.provenance._notation import (
    AWS_SIGNER_ROOTS,
    EnvelopeRejected,
    certificate_hashes,
    verify_envelope,
)
from soc2gate.demo.signatures import DEMO_CHAIN, SignerChain, make_cert, sign_envelope

DIGEST = "sha256:" + "ab" * 32
OTHER = "sha256:" + "cd" * 32
PROFILE = "arn:aws:signer:us-east-1:123456789012:/signing-profiles/release_signing"
VERSION = f"{PROFILE}/a1B2c3D4e5"
NOW = dt.datetime.now(dt.timezone.utc)


def verify(envelope: bytes, **kw: Any) -> Any:
    args: dict[str, Any] = {
        "served_digest": DIGEST,
        "trusted_profiles": [PROFILE],
        "root_pins": [DEMO_CHAIN.root_sha256],
        "now": NOW,
    }
    args.update(kw)
    return verify_envelope(envelope, **args)


def _edit(envelope: bytes, **changes: Any) -> bytes:
    jws = json.loads(envelope)
    jws.update(changes)
    return json.dumps(jws).encode()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_a_signature_by_the_trusted_profile_under_the_pinned_root_verifies() -> None:
    signed = verify(sign_envelope(DEMO_CHAIN, DIGEST, VERSION))
    assert signed.profile_arn == PROFILE
    assert signed.profile_version_arn == VERSION
    assert signed.target_digest == DIGEST
    assert signed.root_sha256 == DEMO_CHAIN.root_sha256
    assert len(signed.certificate_hashes) == 4


def test_the_profile_is_compared_without_its_version_and_case_insensitively() -> None:
    signed = verify(sign_envelope(DEMO_CHAIN, DIGEST, VERSION), trusted_profiles=[PROFILE.upper()])
    assert signed.profile_arn == PROFILE


def test_the_default_pins_are_the_aws_signer_root_and_not_the_demo_root() -> None:
    with pytest.raises(EnvelopeRejected, match="not at a pinned AWS Signer root"):
        verify(sign_envelope(DEMO_CHAIN, DIGEST, VERSION), root_pins=AWS_SIGNER_ROOTS)


def test_a_chain_ending_at_another_root_is_refused() -> None:
    other = SignerChain(
        root_key=ec.generate_private_key(ec.SECP384R1()),
        int_key=ec.generate_private_key(ec.SECP384R1()),
        ca_key=ec.generate_private_key(ec.SECP384R1()),
        root_name=DEMO_CHAIN.root_name,  # same name, other key: the name proves nothing
    )
    with pytest.raises(EnvelopeRejected, match="not at a pinned AWS Signer root"):
        verify(sign_envelope(other, DIGEST, VERSION))


def test_a_signature_for_another_digest_is_refused() -> None:
    with pytest.raises(EnvelopeRejected, match=f"is for {OTHER}, not the served {DIGEST}"):
        verify(sign_envelope(DEMO_CHAIN, OTHER, VERSION))


def test_an_unknown_critical_header_is_refused() -> None:
    envelope = sign_envelope(
        DEMO_CHAIN,
        DIGEST,
        VERSION,
        extra_crit=("x.example.policy",),
        extra_headers={"x.example.policy": "1"},
    )
    with pytest.raises(EnvelopeRejected, match="not understood"):
        verify(envelope)


def test_a_signature_by_another_profile_is_refused() -> None:
    other = "arn:aws:signer:us-east-1:123456789012:/signing-profiles/sandbox/a1B2c3D4e5"
    with pytest.raises(EnvelopeRejected, match=r"signed by profile .*sandbox, which is not"):
        verify(sign_envelope(DEMO_CHAIN, DIGEST, other))


def test_a_profile_that_only_starts_like_the_trusted_one_is_refused() -> None:
    longer = f"{PROFILE}_evil/a1B2c3D4e5"
    with pytest.raises(EnvelopeRejected, match="which is not a trusted"):
        verify(sign_envelope(DEMO_CHAIN, DIGEST, longer))


def test_a_wildcard_trusted_profile_never_matches() -> None:
    wildcard = "arn:aws:signer:us-east-1:123456789012:/signing-profiles/*"
    with pytest.raises(EnvelopeRejected, match="which is not a trusted"):
        verify(sign_envelope(DEMO_CHAIN, DIGEST, VERSION), trusted_profiles=[wildcard])


def test_a_signed_profile_header_with_a_wildcard_is_refused() -> None:
    with pytest.raises(EnvelopeRejected, match="not an AWS Signer profile version ARN"):
        verify(
            sign_envelope(
                DEMO_CHAIN, DIGEST, "arn:aws:signer:us-east-1:123456789012:/signing-profiles/*/x"
            )
        )


def test_an_expired_signature_is_refused() -> None:
    past = NOW - dt.timedelta(days=2)
    envelope = sign_envelope(
        DEMO_CHAIN, DIGEST, VERSION, signing_time=past, expiry=past + dt.timedelta(days=1)
    )
    with pytest.raises(EnvelopeRejected, match="expired"):
        verify(envelope)


def test_a_leaf_not_valid_at_the_signing_time_is_refused() -> None:
    # Signed at T with a leaf valid only from T-1h to T-29min.
    envelope = sign_envelope(DEMO_CHAIN, DIGEST, VERSION, leaf_valid_days=-0.02)
    with pytest.raises(EnvelopeRejected, match="was not valid at the signing time"):
        verify(envelope)


def test_a_tampered_payload_is_refused() -> None:
    with pytest.raises(EnvelopeRejected, match="does not verify with the leaf"):
        verify(sign_envelope(DEMO_CHAIN, DIGEST, VERSION, tamper_payload=True))


def test_a_signature_by_a_key_other_than_the_leaf_is_refused() -> None:
    with pytest.raises(EnvelopeRejected, match="does not verify with the leaf"):
        verify(sign_envelope(DEMO_CHAIN, DIGEST, VERSION, other_key=True))


def test_a_payload_swapped_for_another_digest_is_refused() -> None:
    envelope = sign_envelope(DEMO_CHAIN, DIGEST, VERSION)
    other = json.loads(sign_envelope(DEMO_CHAIN, OTHER, VERSION))
    with pytest.raises(EnvelopeRejected, match="does not verify"):
        verify(_edit(envelope, payload=other["payload"]))


@pytest.mark.parametrize("alg", ["none", "HS256", "ES256", "RS256", None])
def test_any_alg_but_es384_is_refused_before_anything_else(alg: Any) -> None:
    envelope = sign_envelope(DEMO_CHAIN, DIGEST, VERSION)
    jws = json.loads(envelope)
    header = json.loads(base64.urlsafe_b64decode(jws["protected"] + "=="))
    header["alg"] = alg
    with pytest.raises(EnvelopeRejected, match="alg is"):
        verify(_edit(envelope, protected=_b64url(json.dumps(header).encode()), signature=""))


def test_an_hs256_envelope_keyed_with_the_leaf_is_refused() -> None:
    envelope = sign_envelope(DEMO_CHAIN, DIGEST, VERSION, alg="HS256")
    with pytest.raises(EnvelopeRejected, match="alg is 'HS256'"):
        verify(envelope)


def test_a_broken_chain_is_refused() -> None:
    envelope = json.loads(sign_envelope(DEMO_CHAIN, DIGEST, VERSION))
    # Drop the regional CA: the leaf is not issued by the intermediate.
    del envelope["header"]["x5c"][1]
    with pytest.raises(EnvelopeRejected, match="is not issued by"):
        verify(json.dumps(envelope).encode())


def test_a_chain_of_the_root_alone_is_refused() -> None:
    envelope = json.loads(sign_envelope(DEMO_CHAIN, DIGEST, VERSION))
    envelope["header"]["x5c"] = envelope["header"]["x5c"][-1:]
    with pytest.raises(EnvelopeRejected):
        verify(json.dumps(envelope).encode())


def test_an_intermediate_that_is_not_a_ca_is_refused() -> None:
    # A leaf issued by another leaf certificate (CA false) that chains to the root.
    leafish_key = ec.generate_private_key(ec.SECP384R1())
    leafish = make_cert(
        "not a CA",
        leafish_key,
        (DEMO_CHAIN.intermediate.subject, DEMO_CHAIN.int_key),
        ca=False,
        serial=9,
    )
    chain = SignerChain()
    chain.regional, chain.ca_key = leafish, leafish_key
    with pytest.raises(EnvelopeRejected, match="is not a CA"):
        verify(sign_envelope(chain, DIGEST, VERSION))


def test_a_missing_signing_time_is_refused() -> None:
    envelope = sign_envelope(
        DEMO_CHAIN, DIGEST, VERSION, extra_headers={"io.cncf.notary.authenticSigningTime": None}
    )
    with pytest.raises(EnvelopeRejected, match="authenticSigningTime is missing"):
        verify(envelope)


def test_a_header_not_marked_critical_is_refused() -> None:
    envelope = json.loads(sign_envelope(DEMO_CHAIN, DIGEST, VERSION))
    header = json.loads(base64.urlsafe_b64decode(envelope["protected"] + "=="))
    assert "com.amazonaws.signer.signingProfileVersion" in header["crit"]
    # Re-sign with the profile header left out of crit: still signed, but not as AWS Signer.
    crit = [c for c in header["crit"] if c != "com.amazonaws.signer.signingProfileVersion"]
    resigned = sign_envelope(DEMO_CHAIN, DIGEST, VERSION, extra_headers={"crit": crit})
    with pytest.raises(EnvelopeRejected, match="signingProfileVersion is not marked critical"):
        verify(resigned)


def test_a_duplicated_member_is_refused() -> None:
    envelope = sign_envelope(DEMO_CHAIN, DIGEST, VERSION).decode()
    doubled = envelope[:-1] + ', "payload": "e30"}'
    with pytest.raises(EnvelopeRejected, match="repeats a member"):
        verify(doubled.encode())


@pytest.mark.parametrize("junk", [b"", b"[]", b"not json", b'{"payload": 1}'])
def test_junk_is_refused(junk: bytes) -> None:
    with pytest.raises(EnvelopeRejected):
        verify(junk)


def test_certificate_hashes_pair_each_certificate_with_its_issuer() -> None:
    chain = [DEMO_CHAIN.regional, DEMO_CHAIN.intermediate, DEMO_CHAIN.root]
    hashes = certificate_hashes(chain)
    tbs = [c.tbs_certificate_bytes for c in chain]
    assert hashes == (
        hashlib.sha384(tbs[0] + tbs[1]).hexdigest(),
        hashlib.sha384(tbs[1] + tbs[2]).hexdigest(),
        hashlib.sha384(tbs[2] + tbs[2]).hexdigest(),
    )


def test_the_demo_root_is_deterministic() -> None:
    assert SignerChain().root.public_bytes(Encoding.DER) == DEMO_CHAIN.root.public_bytes(
        Encoding.DER
    )


@pytest.mark.parametrize(
    ("usage", "words"),
    [
        ("none", "has no KeyUsage"),
        ("no-digital-signature", "does not allow digitalSignature"),
        ("cert-sign", "allows certificate signing"),
        ("server-auth", "does not name code signing"),
    ],
)
def test_a_leaf_that_is_not_a_code_signing_certificate_is_refused(usage: str, words: str) -> None:
    """The Notary Project's signing-certificate requirements, as notation enforces them."""
    with pytest.raises(EnvelopeRejected, match=words):
        verify(sign_envelope(DEMO_CHAIN, DIGEST, VERSION, leaf_usage=usage))


def test_a_ca_whose_key_usage_forbids_certificate_signing_is_refused() -> None:
    chain = SignerChain()
    # The same regional CA, re-issued with a KeyUsage that allows signatures, not certificates.
    chain.regional = make_cert(
        "soc2gate demo Signer us-east-1 Code Signing CA G1",
        chain.ca_key,
        (chain.intermediate.subject, chain.int_key),
        ca=True,
        serial=3,
        usage="no-cert-sign",
    )
    with pytest.raises(EnvelopeRejected, match="KeyUsage does not allow certificate signing"):
        verify(sign_envelope(chain, DIGEST, VERSION))
