"""KMS signatures of evidence records, and their verification (offline or through KMS).

Signing (``--sign-kms-key``): ``kms:GetPublicKey`` names the key's ARN, spec and signing
algorithms; ``kms:Sign`` signs ``evidence.signed_message(record)`` (MessageType RAW: KMS hashes
the short message with SHA-256 and signs that). The record gains::

    "signature": {"key_arn", "key_spec", "algorithm", "public_key_sha256", "signed_digest",
                  "value"}

``public_key_sha256`` is the SHA-256 of the key's DER SubjectPublicKeyInfo (the bytes
``aws kms get-public-key`` returns), so a verifier can tell at once whether the public key in
hand is the one that signed. The signature is checked against that public key before it is
written, so a record never carries a signature that does not verify.

Verification (``soc2gate verify-evidence``): the checksum first, then the signature, offline
with ``--public-key FILE`` (PEM, DER, or the base64 of DER the AWS CLI prints) through the
``cryptography`` library, or online with ``--kms`` (``kms:Verify``). Exit codes: 0 intact and
signed by the expected key, 1 modified, signed by another key or bad signature (or unsigned
under ``--require-signature``), 3 the signature could not be checked (KMS unreachable).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
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
    spec = answer.get("KeySpec") or answer.get("CustomerMasterKeySpec") or ""
    return SigningKey(key_id, arn, str(spec), usable[0], der)


def sign(document: Mapping[str, Any], kms: Any, key: SigningKey) -> dict[str, Any]:
    """``document`` with a ``signature`` block from ``kms:Sign`` (and its checksum updated)."""
    import botocore.exceptions

    message = evidence.signed_message(document)
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
    if not _valid(load_public_key(key.public_key_der), key.algorithm, value, message):
        raise SigningError(
            f"KMS key {key.key_arn}: the signature KMS returned does not verify with the "
            "key's public key"
        )
    # Sign answers with the key's ARN (GetPublicKey does too on AWS; some emulators give the id).
    signer = answer.get("KeyId")
    block = {
        "key_arn": signer if isinstance(signer, str) and signer.startswith("arn:") else key.key_arn,
        "key_spec": key.key_spec,
        "algorithm": key.algorithm,
        "public_key_sha256": key.fingerprint,
        "signed_digest": evidence.signed_digest(document),
        "value": base64.b64encode(value).decode("ascii"),
    }
    return evidence.with_signature(document, block)


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
    #: verified | unchecked (signed, no key given) | unsigned | modified | bad-signature |
    #: wrong-key | unverifiable
    status: str = ""


def _block(document: Mapping[str, Any]) -> tuple[dict[str, str] | None, str]:
    """(signature block, problem): the block when it is well formed."""
    block = document.get("signature")
    if block is None:
        return None, ""
    fields = ("key_arn", "algorithm", "public_key_sha256", "signed_digest", "value")
    if not isinstance(block, Mapping) or not all(isinstance(block.get(f), str) for f in fields):
        return None, "its signature block is malformed"
    if block["algorithm"] not in ALGORITHMS:
        return None, f"its signature algorithm {block['algorithm']!r} is not one soc2gate writes"
    return {k: str(v) for k, v in block.items()}, ""


def verify_record(
    path: str,
    *,
    public_key: bytes | None = None,
    kms: Any = None,
    kms_key: str | None = None,
    require_signature: bool = False,
) -> Verdict:
    """Check the record at ``path``: checksum, then signature (with ``public_key`` bytes, or
    through the ``kms`` client, with ``kms_key`` or else the key the record names).

    Raises OSError/ValueError when the file cannot be read or the key file is not a key.
    """
    key = load_public_key(public_key) if public_key is not None else None
    return verify_document(
        evidence.load(path),
        path,
        public_key=key,
        kms=kms,
        kms_key=kms_key,
        require_signature=require_signature,
    )


def verify_document(
    document: Any,
    path: str,
    *,
    public_key: Any = None,
    kms: Any = None,
    kms_key: str | None = None,
    require_signature: bool = False,
) -> Verdict:
    """``verify_record`` for a record already read (``public_key`` a loaded key)."""
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
                f"{path}: BAD SIGNATURE: it does not verify with the public key of {who}; the "
                "record was changed or the signature forged",
                "bad-signature",
            )
        return Verdict(
            ExitCode.PASSED,
            f"{path} is intact and its signature verifies with the public key of {who}, "
            f"public key sha256 {actual}",
            "verified",
        )
    if kms is not None:
        return _verify_with_kms(path, kms, kms_key or block["key_arn"], block, signature, signed)
    return Verdict(
        ExitCode.PASSED,
        f"{path} is intact as far as its integrity checksum can tell (sha256 "
        f"{document.get('sha256')}). It is signed by {who}, but the signature was NOT checked: "
        "pass --public-key FILE or --kms to check it.",
        "unchecked",
    )


def _verify_with_kms(
    path: str, kms: Any, key_id: str, block: Mapping[str, str], signature: bytes, signed: bytes
) -> Verdict:
    import botocore.exceptions

    try:
        answer = kms.verify(
            KeyId=key_id,
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
                f"{path}: BAD SIGNATURE: KMS key {key_id} says the signature is not valid; "
                "the record was changed, or it was signed by another key",
                "bad-signature",
            )
        return Verdict(
            ExitCode.ERROR,
            f"{path}: could not check the signature with KMS key {key_id} (kms:Verify): "
            f"{_aws_problem(exc)}",
            "unverifiable",
        )
    except botocore.exceptions.BotoCoreError as exc:
        return Verdict(
            ExitCode.ERROR,
            f"{path}: could not check the signature with KMS key {key_id} (kms:Verify): {exc}",
            "unverifiable",
        )
    if answer.get("SignatureValid") is not True:
        return Verdict(
            ExitCode.FAILED,
            f"{path}: BAD SIGNATURE: KMS key {key_id} did not accept it",
            "bad-signature",
        )
    return Verdict(
        ExitCode.PASSED,
        f"{path} is intact and KMS key {answer.get('KeyId', key_id)} verified its signature "
        f"({block['algorithm']})",
        "verified",
    )


class KmsByRegion:
    """A stand-in for a KMS client whose ``verify`` goes to the region of the key it names
    (records of a fleet may be signed by keys in several regions)."""

    def __init__(self, factory: Any, default: str | None = None) -> None:
        self._factory = factory  # region or None -> a boto3 KMS client
        self._default = default
        self._clients: dict[str | None, Any] = {}

    def verify(self, **kwargs: Any) -> Any:
        region = region_of(str(kwargs.get("KeyId", ""))) or self._default
        if region not in self._clients:
            self._clients[region] = self._factory(region)
        return self._clients[region].verify(**kwargs)


def region_of(arn: str) -> str | None:
    """The region of a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID), else None."""
    parts = arn.split(":")
    return parts[3] if len(parts) > 5 and parts[2] == "kms" and parts[3] else None
