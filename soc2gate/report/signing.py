"""KMS signatures of evidence records, and their verification (offline or through KMS).

Signing (``--sign-kms-key``): ``kms:GetPublicKey`` names the key's ARN, spec and signing
algorithms; ``kms:Sign`` signs ``evidence.signed_message(record)`` (MessageType RAW: KMS hashes
the short message with SHA-256 and signs that). The record gains::

    "signature": {"format", "key_arn", "key_spec", "algorithm", "public_key_sha256",
                  "signed_digest", "value"}

The message covers the record and every member of that block but ``signed_digest`` and
``value`` (format ``soc2gate-signature/2``), so the key ARN and algorithm a verifier prints are
signed too. ``public_key_sha256`` is the SHA-256 of the key's DER SubjectPublicKeyInfo (the
bytes ``aws kms get-public-key`` returns), so a verifier can tell at once whether the public key
in hand is the one that signed. The signature is checked against that public key before it is
written, so a record never carries a signature that does not verify.

Verification (``soc2gate verify-evidence``, ``audit-report``): the checksum first, then the
signature, offline with ``--public-key FILE`` (PEM, DER, or the base64 of DER the AWS CLI
prints) through the ``cryptography`` library, or online with ``--kms --kms-key ARN``
(``kms:Verify``). The verifier trusts only the key it was given: with ``--kms`` the record must
name one of the pinned key ARNs, and kms:Verify is asked of that pinned key in the region of its
ARN, never of a key or region the record names. A record signed before the message covered the
metadata (no ``signature.format``) verifies with a caveat, and fails under
``--require-signature``. Exit codes: 0 intact and signed by the expected key, 1 modified, signed
by another key or bad signature (or unsigned or an old-format signature under
``--require-signature``), 3 the signature could not be checked (KMS unreachable, or an answer
that cannot be read).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from soc2gate.exitcodes import ExitCode
from soc2gate.report import evidence

#: KMS signing algorithms the record may carry, in order of preference: each hashes with SHA-256.
ALGORITHMS = ("ECDSA_SHA_256", "RSASSA_PSS_SHA_256", "RSASSA_PKCS1_V1_5_SHA_256")


class SigningError(Exception):
    """The record could not be signed (key unusable or KMS unreachable)."""


@dataclass(frozen=True)
class SigningKey:
    """What ``kms:GetPublicKey`` says about the key that will sign."""

    key_id: str
    key_arn: str
    key_spec: str
    algorithm: str
    public_key_der: bytes

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(self.public_key_der).hexdigest()


def _aws_problem(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, Mapping):
        error = response.get("Error") or {}
        code, message = error.get("Code", ""), error.get("Message", "")
        return f"{code}: {message}".strip(": ") or str(exc)
    return str(exc) or type(exc).__name__


def describe_key(kms: Any, key_id: str) -> SigningKey:
    """The signing key, from ``kms:GetPublicKey``. SigningError if it cannot sign a record."""
    import botocore.exceptions

    try:
        answer = kms.get_public_key(KeyId=key_id)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        raise SigningError(
            f"cannot read KMS key {key_id} (kms:GetPublicKey): {_aws_problem(exc)}"
        ) from None
    usage = answer.get("KeyUsage")
    if usage != "SIGN_VERIFY":
        raise SigningError(
            f"KMS key {key_id} has KeyUsage {usage}: evidence needs an asymmetric "
            "SIGN_VERIFY key (ECC_NIST_P256 or RSA)"
        )
    offered = list(answer.get("SigningAlgorithms") or [])
    usable = [a for a in ALGORITHMS if a in offered]
    if not usable:
        raise SigningError(
            f"KMS key {key_id} signs with {', '.join(offered) or 'nothing'}; evidence needs "
            f"one of {', '.join(ALGORITHMS)} (an ECC_NIST_P256 or RSA key)"
        )
    der = answer.get("PublicKey")
    arn = answer.get("KeyId")
    if not isinstance(der, bytes) or not isinstance(arn, str):
        raise SigningError(f"KMS key {key_id}: GetPublicKey answered without a key")
    if key_arn_problem(arn):
        # The signature covers the key ARN, so it must be known before signing; AWS answers
        # GetPublicKey with the key's ARN.
        raise SigningError(f"KMS key {key_id}: GetPublicKey answered KeyId {arn!r}, not a key ARN")
    spec = answer.get("KeySpec") or answer.get("CustomerMasterKeySpec") or ""
    return SigningKey(key_id, arn, str(spec), usable[0], der)


def sign(document: Mapping[str, Any], kms: Any, key: SigningKey) -> dict[str, Any]:
    """``document`` with a ``signature`` block from ``kms:Sign`` (and its checksum updated).

    The signed message covers the block's metadata (format 2), so the block is filled in
    before KMS signs, with the key ARN GetPublicKey answered."""
    import botocore.exceptions

    unsigned = {k: v for k, v in document.items() if k not in ("sha256", "signature")}
    unsigned["signature"] = {
        "format": evidence.SIGNATURE_FORMAT,
        "key_arn": key.key_arn,
        "key_spec": key.key_spec,
        "algorithm": key.algorithm,
        "public_key_sha256": key.fingerprint,
    }
    message = evidence.signed_message(unsigned)
    try:
        answer = kms.sign(
            KeyId=key.key_arn,
            Message=message,
            MessageType="RAW",
            SigningAlgorithm=key.algorithm,
        )
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        raise SigningError(
            f"cannot sign with KMS key {key.key_arn} (kms:Sign): {_aws_problem(exc)}"
        ) from None
    value = answer.get("Signature")
    if not isinstance(value, bytes) or not value:
        raise SigningError(f"KMS key {key.key_arn}: Sign answered without a signature")
    signer = answer.get("KeyId")
    if signer != key.key_arn:
        raise SigningError(
            f"KMS key {key.key_arn}: Sign answered for key {signer!r}, not the key asked"
        )
    if not _valid(load_public_key(key.public_key_der), key.algorithm, value, message):
        raise SigningError(
            f"KMS key {key.key_arn}: the signature KMS returned does not verify with the "
            "key's public key"
        )
    block = {
        **unsigned["signature"],
        "signed_digest": evidence.signed_digest(unsigned),
        "value": base64.b64encode(value).decode("ascii"),
    }
    return evidence.with_signature(document, block)


def key_arn_problem(arn: str) -> str:
    """Why ``arn`` is not a KMS key ARN (``arn:PARTITION:kms:REGION:ACCOUNT:key/ID``), or ""."""
    parts = arn.split(":")
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "kms":
        return "not a KMS key ARN"
    if not parts[3] or not parts[4].isdigit():
        return "a KMS key ARN names its region and account"
    if not parts[5].startswith("key/") or len(parts[5]) <= len("key/"):
        return (
            "an alias ARN, not a key ARN"
            if parts[5].startswith("alias/")
            else ("not a KMS key ARN")
        )
    return ""


def pinned_key(value: str, flag: str = "--kms-key") -> str:
    """``value`` when it is a KMS key ARN; ValueError saying how to get one otherwise.

    Aliases and bare key ids are refused rather than resolved: an alias can be pointed at
    another key by whoever may update it, and the region kms:Verify is asked in comes from the
    ARN. The verifier trusts exactly the key it was given."""
    problem = key_arn_problem(value)
    if problem:
        raise ValueError(
            f"{flag} {value}: {problem}; pin the key by its ARN "
            "(arn:aws:kms:REGION:ACCOUNT:key/ID), not an alias or key id. Get it with "
            f"`aws kms describe-key --key-id {value} --query KeyMetadata.Arn --output text`"
        )
    return value


# ---- verification ------------------------------------------------------------------------------


def load_public_key(data: bytes) -> Any:
    """A public key from PEM, DER (SubjectPublicKeyInfo) or base64 of DER. ValueError if none."""
    from cryptography.hazmat.primitives import serialization

    text = data.strip()
    if text.startswith(b"-----BEGIN"):
        return serialization.load_pem_public_key(text)
    try:
        return serialization.load_der_public_key(data)
    except ValueError:
        pass
    try:
        der = base64.b64decode(b"".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not a PEM, DER or base64 DER public key") from None
    return serialization.load_der_public_key(der)


def fingerprint(public_key: Any) -> str:
    """SHA-256 of the key's DER SubjectPublicKeyInfo, as the record's ``public_key_sha256``."""
    from cryptography.hazmat.primitives import serialization

    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def _valid(public_key: Any, algorithm: str, signature: bytes, message: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

    try:
        if algorithm == "ECDSA_SHA_256" and isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
            return True
        if algorithm.startswith("RSASSA_") and isinstance(public_key, rsa.RSAPublicKey):
            pad: Any = (
                padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)
                if algorithm == "RSASSA_PSS_SHA_256"
                else padding.PKCS1v15()
            )
            public_key.verify(signature, message, pad, hashes.SHA256())
            return True
    except InvalidSignature:
        return False
    return False


@dataclass(frozen=True)
class Verdict:
    code: int
    message: str
    #: verified | legacy (verified, signed before the metadata was covered) | unchecked
    #: (signed, no key given) | unsigned | modified | bad-signature | wrong-key | unverifiable
    status: str = ""


_FIELDS = ("key_arn", "algorithm", "public_key_sha256", "signed_digest", "value")
_FORMATS = (evidence.SIGNATURE_FORMAT, evidence.LEGACY_SIGNATURE_FORMAT)


def _block(document: Mapping[str, Any]) -> tuple[dict[str, str] | None, str]:
    """(signature block, problem): the block when it is well formed."""
    block = document.get("signature")
    if block is None:
        return None, ""
    if not isinstance(block, Mapping) or not all(isinstance(block.get(f), str) for f in _FIELDS):
        return None, "its signature block is malformed"
    if not all(isinstance(v, str) for v in block.values()):
        return None, "its signature block is malformed"
    if "format" in block and block["format"] == evidence.LEGACY_SIGNATURE_FORMAT:
        # Format 1 never wrote the member: a block naming it was edited.
        return None, "its signature block names format 1, which never named itself"
    if evidence.signature_format(block) not in _FORMATS:
        return None, (
            f"its signature format {str(block['format'])[:80]!r} is not one this soc2gate knows "
            f"({evidence.SIGNATURE_FORMAT})"
        )
    if block["algorithm"] not in ALGORITHMS:
        return None, f"its signature algorithm {block['algorithm']!r} is not one soc2gate writes"
    return {k: str(v) for k, v in block.items()}, ""


def verify_record(
    path: str,
    *,
    public_key: bytes | None = None,
    kms: Any = None,
    kms_keys: Sequence[str] = (),
    require_signature: bool = False,
) -> Verdict:
    """Check the record at ``path``: checksum, then signature (with ``public_key`` bytes, or
    through the ``kms`` client with one of the pinned key ARNs ``kms_keys``).

    Raises OSError/ValueError when the file cannot be read or the key file is not a key.
    """
    key = load_public_key(public_key) if public_key is not None else None
    return verify_document(
        evidence.load(path),
        path,
        public_key=key,
        kms=kms,
        kms_keys=kms_keys,
        require_signature=require_signature,
    )


LEGACY_CAVEAT = (
    "It was signed before soc2gate's signatures covered their own metadata (no "
    "signature.format): the signature covers the record's content, not the key ARN and "
    "algorithm the record names. --require-signature fails such a record."
)


def verify_document(
    document: Any,
    path: str,
    *,
    public_key: Any = None,
    kms: Any = None,
    kms_keys: Sequence[str] = (),
    require_signature: bool = False,
) -> Verdict:
    """``verify_record`` for a record already read (``public_key`` a loaded key).

    With ``kms``, ``kms_keys`` are the key ARNs the verifier pinned (ValueError without one):
    the record must name one of them, and kms:Verify is asked of that key."""
    if kms is not None and not kms_keys:
        raise ValueError("verification through KMS needs the pinned key ARNs (--kms-key)")
    key = public_key
    intact, message = evidence.check(document, path)
    if not intact:
        return Verdict(ExitCode.FAILED, message, "modified")
    block, problem = _block(document)
    if problem:
        return Verdict(ExitCode.FAILED, f"{path}: {problem}", "modified")
    if block is None:
        if require_signature:
            return Verdict(
                ExitCode.FAILED,
                f"{path} is not signed (--require-signature): it has no KMS signature, and "
                "its checksum alone cannot show that nobody edited it",
                "unsigned",
            )
        if key is not None or kms is not None:
            message += (
                " It is not signed, so no signature was checked (--require-signature fails it)."
            )
        return Verdict(ExitCode.PASSED, message, "unsigned")
    if block["signed_digest"] != evidence.signed_digest(document):
        return Verdict(
            ExitCode.FAILED,
            f"{path} was modified after it was signed: the signature covers sha256 "
            f"{block['signed_digest']}, the content hashes to {evidence.signed_digest(document)}",
            "modified",
        )
    try:
        signature = base64.b64decode(block["value"], validate=True)
    except (binascii.Error, ValueError):
        return Verdict(ExitCode.FAILED, f"{path}: its signature value is not base64", "modified")
    signed = evidence.signed_message(document)
    legacy = evidence.signature_format(block) == evidence.LEGACY_SIGNATURE_FORMAT
    who = f"KMS key {block['key_arn']} ({block['algorithm']})"
    if key is not None:
        actual = fingerprint(key)
        if actual != block["public_key_sha256"]:
            return Verdict(
                ExitCode.FAILED,
                f"{path} was not signed by the given public key: the record names {who} with "
                f"public key sha256 {block['public_key_sha256']}, the given key is {actual}",
                "wrong-key",
            )
        if not _valid(key, block["algorithm"], signature, signed):
            return Verdict(
                ExitCode.FAILED,
                f"{path}: BAD SIGNATURE: it does not verify with the given public key "
                f"(sha256 {actual}); the record was changed or the signature forged",
                "bad-signature",
            )
        if legacy:
            return _legacy(
                path, f"its content verifies with the given public key (sha256 {actual})",
                require_signature,
            )  # fmt: skip
        return Verdict(
            ExitCode.PASSED,
            f"{path} is intact and its signature verifies with the public key of {who}, "
            f"public key sha256 {actual}",
            "verified",
        )
    if kms is not None:
        if block["key_arn"] not in kms_keys:
            return Verdict(
                ExitCode.FAILED,
                f"{path} names signing key {block['key_arn']}, which is not a pinned key "
                f"(--kms-key {', '.join(kms_keys)}): it was signed by another key, or its "
                "signature block was edited",
                "wrong-key",
            )
        verdict = _verify_with_kms(path, kms, block["key_arn"], block, signature, signed)
        if legacy and verdict.status == "verified":
            return _legacy(
                path, f"KMS key {block['key_arn']} (pinned) verified its content",
                require_signature,
            )  # fmt: skip
        return verdict
    return Verdict(
        ExitCode.PASSED,
        f"{path} is intact as far as its integrity checksum can tell (sha256 "
        f"{document.get('sha256')}). It is signed by {who}, but the signature was NOT checked: "
        "pass --public-key FILE or --kms --kms-key ARN to check it.",
        "unchecked",
    )


def _legacy(path: str, what: str, require_signature: bool) -> Verdict:
    if require_signature:
        return Verdict(
            ExitCode.FAILED,
            f"{path}: OLD SIGNATURE FORMAT (--require-signature): {what}, but its signature "
            f"does not cover the key ARN and algorithm the record names. {LEGACY_CAVEAT}",
            "legacy",
        )
    return Verdict(ExitCode.PASSED, f"{path} is intact and {what}. {LEGACY_CAVEAT}", "legacy")


def _verify_with_kms(
    path: str, kms: Any, key_arn: str, block: Mapping[str, str], signature: bytes, signed: bytes
) -> Verdict:
    """kms:Verify with the pinned ``key_arn``. Its answer must say SignatureValid true (a
    boolean) for that key and the algorithm asked; anything else is not a verification."""
    import botocore.exceptions

    asked = f"KMS key {key_arn} (kms:Verify)"
    try:
        answer = kms.verify(
            KeyId=key_arn,
            Message=signed,
            MessageType="RAW",
            Signature=signature,
            SigningAlgorithm=block["algorithm"],
        )
    except botocore.exceptions.ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "KMSInvalidSignatureException":
            return Verdict(
                ExitCode.FAILED,
                f"{path}: BAD SIGNATURE: KMS key {key_arn} says the signature is not valid; "
                "the record was changed, or it was signed by another key",
                "bad-signature",
            )
        return Verdict(
            ExitCode.ERROR,
            f"{path}: could not check the signature with {asked}: {_aws_problem(exc)}",
            "unverifiable",
        )
    except botocore.exceptions.BotoCoreError as exc:
        return Verdict(
            ExitCode.ERROR,
            f"{path}: could not check the signature with {asked}: {exc}",
            "unverifiable",
        )
    valid = answer.get("SignatureValid") if isinstance(answer, Mapping) else None
    if valid is False:
        return Verdict(
            ExitCode.FAILED,
            f"{path}: BAD SIGNATURE: KMS key {key_arn} did not accept it",
            "bad-signature",
        )
    problem = ""
    if valid is not True:
        problem = f"SignatureValid is {valid!r}, not true or false"
    elif answer.get("KeyId") != key_arn:
        problem = f"it answered for key {answer.get('KeyId')!r}, not the pinned key asked"
    elif answer.get("SigningAlgorithm") != block["algorithm"]:
        problem = (
            f"it answered for algorithm {answer.get('SigningAlgorithm')!r}, not "
            f"{block['algorithm']}"
        )
    if problem:
        return Verdict(
            ExitCode.ERROR,
            f"{path}: could not check the signature: the answer of {asked} cannot be read: "
            f"{problem}",
            "unverifiable",
        )
    return Verdict(
        ExitCode.PASSED,
        f"{path} is intact and pinned KMS key {key_arn} verified its signature "
        f"({block['algorithm']})",
        "verified",
    )


class KmsByRegion:
    """A stand-in for a KMS client whose ``verify`` goes to the region of the pinned key ARN it
    is asked about (records of a fleet may be signed by keys in several regions)."""

    def __init__(self, factory: Any) -> None:
        self._factory = factory  # region -> a boto3 KMS client
        self._clients: dict[str | None, Any] = {}

    def verify(self, **kwargs: Any) -> Any:
        region = region_of(str(kwargs.get("KeyId", "")))
        if region not in self._clients:
            self._clients[region] = self._factory(region)
        return self._clients[region].verify(**kwargs)


def region_of(arn: str) -> str | None:
    """The region of a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID), else None."""
    parts = arn.split(":")
    return parts[3] if len(parts) > 5 and parts[2] == "kms" and parts[3] else None
