"""The SOC 2 evidence record: one JSON document per run, for auditors.

It holds the tool version, the resolved config (secrets redacted), the commit SHA, the CI run,
UTC timestamps, and per check the AWS operations called, the values the verdict used
(redacted), the verdict, the reason and the SOC 2 criteria. Everything that depends on time is
under ``timing``, so the same input gives the same document apart from that part. The document
carries the SHA-256 of its canonical form (sorted keys, no whitespace, UTF-8, without the
``sha256`` field); ``soc2gate verify-evidence`` recomputes it.

That SHA-256 is an integrity checksum, not a signature: it detects accidental corruption and
edits by someone who did not recompute it. Anyone who can edit the file can also recompute the
checksum (the recipe is above, and public), so a matching checksum does not prove that soc2gate
wrote the record or that nobody changed a verdict.

``--sign-kms-key`` adds a ``signature``: an asymmetric AWS KMS key signs the record's signed
message (``signed_message``: the format and the SHA-256 of the canonical form without
``sha256`` and ``signature``); see ``soc2gate.report.signing``. Someone who edits a signed
record cannot make a new signature without the KMS key, so ``verify-evidence --public-key`` or
``--kms`` catches the edit. The checksum then also covers the ``signature`` block.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from typing import Any

from soc2gate import __version__
from soc2gate.config import GateConfig
from soc2gate.models import GateReport
from soc2gate.report.files import write_atomically

FORMAT = "soc2gate-evidence/1"
_SECRET_KEY = re.compile(
    r"password|passwd|secret|token|credential|private[_-]?key|api[_-]?key", re.I
)
_AWS_KEY_ID = re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b")
REDACTED = "[redacted]"


def redact(value: Any) -> Any:
    """Replace values under secret-looking keys, and AWS access key ids anywhere."""
    if isinstance(value, Mapping):
        return {
            str(k): (REDACTED if _SECRET_KEY.search(str(k)) else redact(v))
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return _AWS_KEY_ID.sub(REDACTED, value)
    if isinstance(value, Enum):
        return value.name
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return str(value)


def ci_run(environ: Mapping[str, str]) -> dict[str, str]:
    """The CI run this gate ran in, when it can tell: GitHub Actions or CodeBuild."""
    if environ.get("GITHUB_RUN_ID"):
        server = environ.get("GITHUB_SERVER_URL", "https://github.com")
        repo = environ.get("GITHUB_REPOSITORY", "")
        run_id = environ["GITHUB_RUN_ID"]
        return {
            "system": "github-actions",
            "run_id": run_id,
            "run_attempt": environ.get("GITHUB_RUN_ATTEMPT", ""),
            "workflow": environ.get("GITHUB_WORKFLOW", ""),
            "ref": environ.get("GITHUB_REF", ""),
            "url": f"{server}/{repo}/actions/runs/{run_id}" if repo else "",
        }
    if environ.get("CODEBUILD_BUILD_ID"):
        build_id = environ["CODEBUILD_BUILD_ID"]
        project = build_id.split(":", 1)[0]
        region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION", "")
        url = environ.get("CODEBUILD_PUBLIC_BUILD_URL") or (
            f"https://console.aws.amazon.com/codesuite/codebuild/projects/{project}/build/"
            f"{build_id.replace(':', '%3A')}/?region={region}"
        )
        return {
            "system": "codebuild",
            "run_id": build_id,
            "arn": environ.get("CODEBUILD_BUILD_ARN", ""),
            "url": url,
        }
    return {}


def source_repository(config: GateConfig, environ: Mapping[str, str]) -> str:
    """What the S3 key names as the repository: the source repository (GitHub), the CodeBuild
    project, else the gated ECR repository or endpoint."""
    return (
        environ.get("GITHUB_REPOSITORY")
        or environ.get("CODEBUILD_BUILD_ID", "").split(":", 1)[0]
        or config.repository
        or config.endpoint
        or ""
    )


def _config(config: GateConfig) -> dict[str, Any]:
    return {f.name: redact(getattr(config, f.name)) for f in dataclasses.fields(config)}


def build(
    report: GateReport,
    config: GateConfig,
    environ: Mapping[str, str],
    started_at: datetime,
    finished_at: datetime,
    exit_code: int | None = None,
) -> dict[str, Any]:
    """The record of one run. ``exit_code`` is the process's (default: the report's): it
    differs for SIGTERM (143) and when a report could not be written (3)."""
    from soc2gate.registry import checks_for
    from soc2gate.report.github import result_for

    code = int(report.exit_code if exit_code is None else exit_code)

    # Custom checks (config custom_checks) carry their own criteria, as built-in checks do.
    soc2 = {c.id: list(c.soc2) for c in checks_for(config)}
    # The control mapping of the built-in checks (docs/security/deployment-safety.md, "Control mapping").
    controls = {
        c.id: {"security_hub": list(c.security_hub), "aws_config": list(c.aws_config)}
        for c in checks_for(config)
        if c.security_hub or c.aws_config
    }
    checks = []
    for r in report.results:
        checks.append(
            {
                "id": r.check_id,
                "target": r.target,
                "title": r.title,
                "status": r.status.value,
                "reason": r.reason,
                "soc2_criteria": soc2.get(r.check_id, []),
                **({"controls": controls[r.check_id]} if r.check_id in controls else {}),
                "remediation": r.remediation,
                "aws_operations": [
                    {"operation": op, "request": json.loads(request)} for op, request in r.calls
                ],
                "evidence": redact(dict(r.evidence)),
                "details": [str(d) for d in r.details],
            }
        )
    document: dict[str, Any] = {
        "format": FORMAT,
        "tool": {"name": "soc2gate", "version": __version__},
        "run": {
            "result": result_for(code),
            "exit_code": code,
            "commit_sha": config.resolved_sha(environ) or "",
            "repository": source_repository(config, environ),
            "ci": ci_run(environ),
        },
        "config": _config(config),
        "checks": checks,
        "timing": {
            "started_at": started_at.isoformat(),
            "finished_at": finished_at.isoformat(),
            "duration_seconds": round(report.duration, 3),
            "check_seconds": {r.name: round(r.duration, 3) for r in report.results},
        },
    }
    if report.vex_documents:
        # What the run was told about its findings (--vex): each document's SHA-256, so an
        # auditor can tell which statement text the verdicts relied on.
        document["vex_documents"] = [redact(dict(d)) for d in report.vex_documents]
    document["sha256"] = digest(document)
    return document


def with_signature(document: Mapping[str, Any], signature: Mapping[str, Any]) -> dict[str, Any]:
    """The record with its ``signature`` block, and its checksum recomputed over both."""
    signed = {k: v for k, v in document.items() if k not in ("sha256", "signature")}
    signed["signature"] = dict(signature)
    signed["sha256"] = digest(signed)
    return signed


def canonical(document: Mapping[str, Any], without: tuple[str, ...] = ("sha256",)) -> bytes:
    """The bytes the integrity checksum covers: the document without ``sha256``, as JSON with
    sorted keys, separators ``,`` and ``:``, UTF-8."""
    body = {k: v for k, v in document.items() if k not in without}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


#: The signature format soc2gate writes: the signed message covers the record AND the
#: signature's own metadata (key ARN, key spec, algorithm, public key hash, this format), so
#: editing ``key_arn`` cannot make a verifier name another signer.
SIGNATURE_FORMAT = "soc2gate-signature/2"
#: Records signed before metadata-covered signatures: no ``signature.format``; the message
#: covered the record only. Verified with a caveat; refused under --require-signature.
LEGACY_SIGNATURE_FORMAT = "soc2gate-signature/1"
#: What the message covers besides the record: every block member but these two.
_UNSIGNED_BLOCK = ("signed_digest", "value")


def signature_format(block: Mapping[str, Any]) -> str:
    """The format of a signature block (``LEGACY_SIGNATURE_FORMAT`` when it names none)."""
    return str(block.get("format", LEGACY_SIGNATURE_FORMAT))


def signed_digest(document: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of what a KMS signature covers.

    Format 2 (``signature.format`` is ``SIGNATURE_FORMAT``, or the document is about to be
    signed with ``signature`` holding the metadata): the canonical form without ``sha256``, with
    the ``signature`` block minus ``signed_digest`` and ``value``. Format 1 (a block without
    ``format``, or no block): the canonical form without ``sha256`` and ``signature``."""
    block = document.get("signature")
    if isinstance(block, Mapping) and "format" in block:
        body = {k: v for k, v in document.items() if k not in ("sha256", "signature")}
        body["signature"] = {k: v for k, v in block.items() if k not in _UNSIGNED_BLOCK}
        return hashlib.sha256(canonical(body)).hexdigest()
    return hashlib.sha256(canonical(document, ("sha256", "signature"))).hexdigest()


def signed_message(document: Mapping[str, Any]) -> bytes:
    """The bytes the KMS key signs (MessageType RAW, so KMS hashes them with SHA-256 itself):
    ``<signature format> sha256:<signed_digest>``, ASCII (format 1 wrote
    ``soc2gate-evidence/1 sha256:<digest>``). Short, so within KMS's 4 KiB limit for a RAW
    message whatever the record's size; the format prefix keeps the two kinds of message apart."""
    block = document.get("signature")
    if isinstance(block, Mapping) and "format" in block:
        return f"{signature_format(block)} sha256:{signed_digest(document)}".encode("ascii")
    return f"{FORMAT} sha256:{signed_digest(document)}".encode("ascii")


def digest(document: Mapping[str, Any]) -> str:
    """The integrity checksum (SHA-256 of ``canonical``). Not a signature: see the module."""
    return hashlib.sha256(canonical(document)).hexdigest()


def dumps(document: Mapping[str, Any]) -> str:
    """The record as written to a file (and uploaded): indented JSON, sorted keys."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write(document: Mapping[str, Any], path: str) -> None:
    write_atomically(path, dumps(document))


#: Said with every successful verification: what a matching checksum does not show.
NOT_A_SIGNATURE = (
    "The checksum detects corruption and edits that did not recompute it; it is not a "
    "signature: anyone who edits the record can recompute it."
)


def load(path: str) -> Any:
    """The JSON at ``path``; OSError/ValueError when it cannot be read."""
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def verify(path: str) -> tuple[bool, str]:
    """(checksum matches, explanation) for the record at ``path``.

    Recomputes the integrity checksum. A match means the record is intact as far as a checksum
    can tell: not corrupted, and not edited without recomputing it. It cannot tell a record
    edited by someone who recomputed the checksum (tests/security/test_evidence_integrity.py
    shows one edited FAIL -> PASS that still verifies); a KMS signature can
    (``soc2gate.report.signing``). Raises OSError/ValueError when the file cannot be read.
    """
    return check(load(path), path)


def check(document: Any, label: str) -> tuple[bool, str]:
    """``verify`` for a record already read; ``label`` names it in the message."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        return False, f"{label} is not a soc2gate evidence record ({FORMAT})"
    claimed = document.get("sha256")
    actual = digest(document)
    if claimed != actual:
        return (
            False,
            f"{label} was modified or corrupted: its integrity checksum says sha256 {claimed}, "
            f"its content hashes to {actual}",
        )
    return (
        True,
        f"{label} is intact as far as its integrity checksum can tell (sha256 {actual}). "
        + NOT_A_SIGNATURE,
    )
