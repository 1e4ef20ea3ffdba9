"""Mutation fuzzing of what the evidence verifiers read: kms:Verify, s3:ListObjectVersions and
s3:GetObject (issue 19).

The gate's fuzzer (``campaign.py``) mutates the answers a *gate run* reads. This one mutates the
answers ``verify-evidence --kms`` and ``audit-report --evidence-s3`` read, with the same
mutations (``shapes.mutations_for``: every path botocore's model gives the answer, deleted,
nulled, emptied, retyped, an unknown enum value, another value, an absent member added, list
members dropped), served to the real verifier code through botocore's ``after-call`` event on
moto's own answers (moto's KMS and S3 in this process, ``mock_aws``).

Baselines and what a mutation must never do:

- ``kms-valid``: a record signed by the pinned key; kms:Verify says valid. A mutated answer must
  not leave it *verified* (every member of the answer is read: SignatureValid must be the
  boolean true, KeyId the pinned key, SigningAlgorithm the one asked).
- ``kms-forged``: a FAIL edited into a PASS, signed by another key, naming the pinned key; KMS
  says the signature is not valid. A mutated answer must not make it verify, except
  SignatureValid turned into the boolean true: that is KMS's verdict, the one thing the
  verifier trusts KMS for (``INERT``).
- ``s3-replaced``: a signed PASS put over a locked signed FAIL (Object Lock keeps the FAIL as an
  older version); ``s3-deleted``: a delete marker over the FAIL. The audit report must not look
  *clean* (exit 0, no failed run, no gap day) after a mutated listing or object, unless every
  mutation of the trial only leaves records out of the listing (``OMISSIONS``): S3 answering
  that a record is not there cannot be caught by anyone reading S3.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

from fuzz.shapes import Inapplicable, Mutation, apply, mutations_for, render

KMS_VERIFY = "kms:Verify"
S3_LIST = "s3:ListObjectVersions"
S3_GET = "s3:GetObject"
BUCKET = "soc2-evidence-fuzz"
DAY = date(2026, 3, 2)

#: (operation, path pattern, kinds, baselines, reason): a PASS after these is not a false pass.
INERT: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...], str], ...] = (
    (
        KMS_VERIFY,
        "SignatureValid",
        ("flip",),
        ("kms-forged",),
        "KMS answering the boolean true for the pinned key is the verdict the verifier asks "
        "KMS for; a KMS that lies is out of reach of any verifier that trusts it",
    ),
)
#: Mutations that only leave records (or delete markers) out of the listing, or name another
#: object in their place: S3 saying a record is not there. Read closely enough to stay
#: non-clean when only one of the hiding pieces is left out (a copy still at the FAIL's key is
#: flagged REPLACED/MISPLACED/COPIED; a FAIL version without its delete marker has NO CURRENT
#: VERSION); a trial of omissions only may be clean.
OMISSIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (S3_LIST, "Versions", ("delete", "empty", "drop-first", "drop-last")),
    (S3_LIST, "Versions[*]", ("delete",)),
    (S3_LIST, "Versions[*].Key", ("change",)),
    (S3_LIST, "DeleteMarkers", ("delete", "empty", "drop-first", "drop-last")),
    (S3_LIST, "DeleteMarkers[*]", ("delete",)),
    (S3_LIST, "DeleteMarkers[*].Key", ("change",)),
)


def _kind_matches(kind: str, kinds: Sequence[str]) -> bool:
    return kind in kinds or kind.split(":")[0] in kinds


def inert_reason(m: Mutation, baseline: str) -> str:
    for op, path, kinds, baselines, reason in INERT:
        matches = (m.operation, m.pattern) == (op, path) and _kind_matches(m.kind, kinds)
        if matches and baseline in baselines:
            return reason
    return ""


def omission(m: Mutation) -> bool:
    return any(
        (m.operation, m.pattern) == (op, path) and _kind_matches(m.kind, kinds)
        for op, path, kinds in OMISSIONS
    )


# ---- the world ---------------------------------------------------------------------------------


def request_key(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, default=str)


@dataclass
class Serving:
    """What the after-call hook serves: mutated answers per (operation, request key)."""

    overrides: dict[tuple[str, str], Any] = field(default_factory=dict)
    recorded: dict[tuple[str, str], Any] = field(default_factory=dict)
    recording: bool = False
    asked: set[tuple[str, str]] = field(default_factory=set)
    _params: dict[str, Any] = field(default_factory=dict)

    def hook(self, client: Any, service: str) -> None:
        def remember(params: dict[str, Any], model: Any, **_: Any) -> None:
            self._params[model.name] = dict(params)

        def serve(parsed: dict[str, Any], model: Any, **_: Any) -> None:
            op = f"{service}:{model.name}"
            key = request_key(self._params.get(model.name, {}))
            self.asked.add((op, key))
            if self.recording:
                self.recorded[(op, key)] = _plain(parsed)
                if "Body" in parsed:  # read once: serve the bytes again
                    parsed["Body"] = _stream(self.recorded[(op, key)]["Body"])
                return
            if (op, key) in self.overrides:
                metadata = parsed.get("ResponseMetadata")
                parsed.clear()
                parsed.update(self.overrides[(op, key)])
                if "Body" in parsed and isinstance(parsed["Body"], bytes):
                    parsed["Body"] = _stream(parsed["Body"])
                if metadata is not None:
                    parsed["ResponseMetadata"] = metadata

        client.meta.events.register("provide-client-params", remember)
        client.meta.events.register("after-call", serve)


def _stream(body: bytes) -> Any:
    from botocore.response import StreamingBody

    return StreamingBody(io.BytesIO(body), len(body))


def _plain(parsed: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in parsed.items() if k != "ResponseMetadata"}
    if "Body" in out and hasattr(out["Body"], "read"):
        out["Body"] = out["Body"].read()
    return json.loads(json.dumps(out, default=_json_default), object_hook=_revive)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"__datetime__": value.timestamp()}
    if isinstance(value, bytes):
        return {"__bytes__": value.decode("latin-1")}
    raise TypeError(type(value).__name__)


def _revive(value: dict[str, Any]) -> Any:
    if "__datetime__" in value:
        return datetime.fromtimestamp(value["__datetime__"], timezone.utc)
    if "__bytes__" in value:
        return value["__bytes__"].encode("latin-1")
    return value


@dataclass(frozen=True)
class Baseline:
    name: str
    #: Runs the verifier: True when it says verified (KMS) or the report is clean (S3).
    run: Callable[[], bool]
    #: What the baseline itself gives (True: verified / clean).
    expected: bool


@dataclass
class Trial:
    baseline: str
    mutations: tuple[Mutation, ...]
    passed: bool
    outcome: str = ""  # caught | inert | false-pass
    why: str = ""

    def describe(self) -> str:
        return " + ".join(m.describe() for m in self.mutations)


class Campaign:
    """The baselines in one moto account (``mock_aws``), their answers recorded once."""

    def __init__(self) -> None:
        self.serving = Serving()
        self.baselines: dict[str, Baseline] = {}
        self.mutations: dict[str, list[Mutation]] = {}
        self._answers: dict[str, dict[tuple[str, str], Any]] = {}

    @contextmanager
    def running(self) -> Iterator[Campaign]:
        import boto3
        from moto import mock_aws

        from soc2gate.demo import moto_patches

        moto_patches.install()  # GetPublicKey answers the key ARN, as AWS does
        with mock_aws():
            kms = boto3.client("kms", region_name="us-east-1")
            s3 = boto3.client("s3", region_name="us-east-1")
            self.serving.hook(kms, "kms")
            self.serving.hook(s3, "s3")
            self._build(kms, s3)
            yield self

    # ---- baselines -------------------------------------------------------------------------

    def _build(self, kms: Any, s3: Any) -> None:
        from soc2gate.report import audit, signing

        pinned = _key(kms)
        attacker = _key(kms)
        signing_key = signing.describe_key(kms, pinned)
        failing = signing.sign(_record("fail", "101"), kms, signing_key)
        passing = signing.sign(_record("pass", "100"), kms, signing_key)
        forged = _forge(failing, kms, signing.describe_key(kms, attacker), pinned)
        public = signing.load_public_key(signing_key.public_key_der)

        def verified(document: dict[str, Any]) -> Callable[[], bool]:
            def run() -> bool:
                verdict = signing.verify_document(
                    document, "r", kms=kms, kms_keys=(pinned,), require_signature=True
                )
                return verdict.code == 0

            return run

        self._add(Baseline("kms-valid", verified(passing), True))
        self._add(Baseline("kms-forged", verified(forged), False))

        s3.create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
        for prefix, hide in (("replaced", "put"), ("deleted", "delete")):
            fail_key = _upload(s3, prefix, failing)
            _upload(s3, prefix, passing)
            if hide == "put":
                s3.put_object(Bucket=BUCKET, Key=fail_key, Body=_dumps(passing))
            else:
                s3.delete_object(Bucket=BUCKET, Key=fail_key)

            def clean(prefix: str = prefix) -> bool:
                try:
                    report = audit.collect(
                        audit.from_s3(s3, f"s3://{BUCKET}/{prefix}", DAY, DAY),
                        DAY,
                        DAY,
                        prefix,
                        public_key=public,
                        require_signature=True,
                    )
                except audit.ListingError:
                    return False
                return report.exit_code == 0 and not report.failed_runs and not report.gap_days()

            self._add(Baseline(f"s3-{prefix}", clean, False))

    def _add(self, baseline: Baseline) -> None:
        self.baselines[baseline.name] = baseline
        self.serving.recorded.clear()
        self.serving.recording = True
        try:
            got = baseline.run()
        finally:
            self.serving.recording = False
        if got != baseline.expected:
            raise AssertionError(f"baseline {baseline.name} gives {got}, not {baseline.expected}")
        self.mutations[baseline.name] = [
            m
            for (op, key), body in self.serving.recorded.items()
            for m in mutations_for(op, key, body)
        ]
        self._answers[baseline.name] = dict(self.serving.recorded)

    # ---- trials ------------------------------------------------------------------------------

    def trial(self, name: str, mutations: Sequence[Mutation]) -> Trial | None:
        answers = self._answers[name]
        bodies: dict[tuple[str, str], Any] = {}
        try:
            for m in mutations:
                slot = (m.operation, m.key)
                bodies[slot] = apply(bodies.get(slot, answers[slot]), m)
        except Inapplicable:
            return None
        self.serving.overrides = bodies
        self.serving.asked = set()
        try:
            passed = self.baselines[name].run()
        except Exception as exc:  # the verifier crashed: not a pass, but a bug to report
            trial = Trial(name, tuple(mutations), False, "crash", f"{type(exc).__name__}: {exc}")
            return trial
        finally:
            self.serving.overrides = {}
        trial = Trial(name, tuple(mutations), passed)
        judge(trial, self.serving.asked)
        return trial


def judge(trial: Trial, asked: set[tuple[str, str]]) -> None:
    if not trial.passed:
        trial.outcome, trial.why = "caught", "not verified / not clean"
        return
    reasons = [
        "never asked for in this trial"
        if (m.operation, m.key) not in asked
        else inert_reason(m, trial.baseline)
        or ("an omission: S3 says the record is not there" if omission(m) else "")
        for m in trial.mutations
    ]
    if all(reasons):
        trial.outcome, trial.why = "inert", "; ".join(reasons)
        return
    trial.outcome = "false-pass"
    trial.why = ", ".join(
        m.describe() for m, r in zip(trial.mutations, reasons, strict=True) if not r
    )


def one_per_path(campaign: Campaign, name: str) -> list[Mutation]:
    """Every mutation kind of every path (the sweep): the answers are small."""
    return list(campaign.mutations[name])


def combinations(campaign: Campaign, names: Sequence[str], max_size: int = 3) -> Any:
    """Hypothesis strategy: (baseline, 1..max_size mutations, at most one per place)."""
    from hypothesis import strategies as st

    @st.composite
    def draw(draw_from: Any) -> tuple[str, list[Mutation]]:
        name = draw_from(st.sampled_from(list(names)))
        mutations = campaign.mutations[name]
        picks = draw_from(
            st.lists(st.integers(0, len(mutations) - 1), min_size=1, max_size=max_size, unique=True)
        )
        chosen: list[Mutation] = []
        for m in (mutations[i] for i in picks):
            if not any(
                (m.operation, m.key) == (o.operation, o.key)
                and m.path[: min(len(m.path), len(o.path))]
                == o.path[: min(len(m.path), len(o.path))]
                for o in chosen
            ):
                chosen.append(m)
        return name, chosen

    return draw()


# ---- the records -------------------------------------------------------------------------------


def _key(kms: Any) -> str:
    return str(
        kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
    )


def _record(result: str, run_id: str) -> dict[str, Any]:
    from soc2gate.report import evidence

    status = "PASS" if result == "pass" else "FAIL"
    document: dict[str, Any] = {
        "format": evidence.FORMAT,
        "tool": {"name": "soc2gate", "version": "0"},
        "run": {
            "result": result,
            "exit_code": 0 if result == "pass" else 1,
            "commit_sha": "ab" * 20,
            "repository": "acme/defender",
            "ci": {
                "system": "github-actions",
                "run_id": run_id,
                "run_attempt": "1",
                "url": f"https://github.com/acme/defender/actions/runs/{run_id}",
            },
        },
        "config": {"repository": "repo", "endpoint": "ep"},
        "checks": [{"id": "ecr-scan-findings", "status": status, "soc2_criteria": ["CC7.1"]}],
        "timing": {
            "started_at": f"{DAY}T10:00:{run_id[-2:]}+00:00",
            "finished_at": f"{DAY}T10:01:{run_id[-2:]}+00:00",
        },
    }
    document["sha256"] = evidence.digest(document)
    return document


def _forge(failing: dict[str, Any], kms: Any, attacker: Any, pinned: str) -> dict[str, Any]:
    """The FAIL edited into a PASS and signed by the attacker's key over a block that names the
    pinned key (signed digest and checksum computed as anyone can)."""
    import base64

    from soc2gate.report import evidence

    edited = {k: v for k, v in json.loads(json.dumps(failing)).items() if k != "sha256"}
    edited["run"]["result"], edited["run"]["exit_code"] = "pass", 0
    edited["checks"][0]["status"] = "PASS"
    edited["signature"] = {
        "format": evidence.SIGNATURE_FORMAT,
        "key_arn": pinned,
        "key_spec": "ECC_NIST_P256",
        "algorithm": "ECDSA_SHA_256",
        "public_key_sha256": attacker.fingerprint,
    }
    value = kms.sign(
        KeyId=attacker.key_arn,
        Message=evidence.signed_message(edited),
        MessageType="RAW",
        SigningAlgorithm="ECDSA_SHA_256",
    )["Signature"]
    edited["signature"]["signed_digest"] = evidence.signed_digest(edited)
    edited["signature"]["value"] = base64.b64encode(value).decode()
    edited["sha256"] = evidence.digest(edited)
    return edited


def _dumps(document: dict[str, Any]) -> bytes:
    from soc2gate.report import evidence

    return evidence.dumps(document).encode()


def _upload(s3: Any, prefix: str, document: dict[str, Any]) -> str:
    from datetime import timedelta

    from soc2gate.report.evidence_store import EVIDENCE_NAME, object_name

    key = f"{prefix}/{object_name(document)}{EVIDENCE_NAME}"
    s3.put_object(
        Bucket=BUCKET,
        Key=key,
        Body=_dumps(document),
        ObjectLockMode="GOVERNANCE",
        ObjectLockRetainUntilDate=datetime.now(timezone.utc) + timedelta(days=30),
    )
    return key


__all__ = ["Campaign", "Trial", "combinations", "one_per_path", "render"]
