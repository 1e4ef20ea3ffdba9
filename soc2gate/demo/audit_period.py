"""A simulated audit period: weeks of signed, retained evidence in a MotoWorld.

Three real gate runs against the world (the healthy scenario judged three ways: passing,
failing on its MEDIUM findings, and passing with those findings waived) give the reports; each
simulated deployment of the period then becomes one evidence record with its own time, commit
and CI run, signed by a KMS key and uploaded with Object Lock by the same code as
``--sign-kms-key`` / ``--evidence-s3`` (``EvidenceOutput``). One record is then edited from FAIL
to PASS with its checksum recomputed, as someone hiding a failure would, so the report has a
bad signature to show. ``soc2gate demo --audit`` and the audit-report tests use it.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import tempfile
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from soc2gate.config import GateConfig
from soc2gate.demo.scenarios import BASIC_FINDINGS, COMMIT_SHA, SCENARIOS
from soc2gate.demo.world import MotoWorld
from soc2gate.models import GateReport

BUCKET = "soc2gate-evidence-demo"
PREFIX = "soc2gate/prod"
ALIAS = "alias/soc2gate-evidence"
REPOSITORY = "acme/defender-image-analyzer"


@dataclass(frozen=True)
class Period:
    s3_url: str
    key_arn: str
    public_key_der: bytes
    start: date
    end: date
    records: int
    tampered: str


def _gate(world: MotoWorld, config: GateConfig) -> GateReport:
    from soc2gate.runner import run_gate

    return run_gate(config, clients=world.client, progress=None, environ={})


def simulate(world: MotoWorld, *, end: date, weeks: int = 12, seed: int = 13) -> Period:
    """Fill ``s3://BUCKET/PREFIX`` with ``weeks`` weeks of deployments ending on ``end``."""
    from soc2gate.config import build_config
    from soc2gate.report import evidence
    from soc2gate.report.evidence_store import EvidenceOutput, split_s3_url

    kms = world.client("kms", counted=False)
    signing_key = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    kms.create_alias(AliasName=ALIAS, TargetKeyId=signing_key["KeyId"])
    s3 = world.client("s3", counted=False)
    s3.create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
    SCENARIOS["healthy"].prepare(world)

    medium = [f for f in BASIC_FINDINGS if f["severity"] == "MEDIUM"]
    with tempfile.TemporaryDirectory() as tmp:
        waivers = os.path.join(tmp, "waivers.yml")
        with open(waivers, "w", encoding="utf-8") as handle:
            entries = [
                {
                    "id": f["id"],
                    "package": f["package"],
                    "reason": "not reachable from the inference path; fix in the next base image",
                    # The gate runs now: the waiver must be in force today.
                    "expires": str(max(end, date.today()) + timedelta(days=30)),
                }
                for f in medium
            ]
            json.dump({"waivers": entries}, handle)
        base = {
            "region": world.region,
            "repository": "defender-image-analyzer-soc2",
            "endpoint": "defenderImageAnalyzerSOC2HardenedDev",
            "require_tags": ("soc2-dev-latest",),
            "commit_sha": COMMIT_SHA,
            "poll_min": 0.05,
            "poll_max": 0.2,
            "timeout": 60.0,
            "sign_kms_key": ALIAS,
            "evidence_s3": f"s3://{BUCKET}/{PREFIX}",
            "evidence_retention": 400,
        }
        configs = {
            "pass": build_config(base),
            "fail": build_config({**base, "fail_on": _severity("MEDIUM")}),
            "waived": build_config({**base, "fail_on": _severity("MEDIUM"), "waivers": waivers}),
        }
        reports = {name: _gate(world, config) for name, config in configs.items()}

    rng = random.Random(seed)

    def waiving(week: int) -> bool:  # the middle third: the MEDIUM findings are waived
        return weeks // 3 <= week < weeks - weeks // 3

    start = end - timedelta(weeks=weeks) + timedelta(days=1)
    count = 0
    failing_keys: list[str] = []
    gap_day = start + timedelta(days=(end - start).days * 2 // 3)
    while gap_day.weekday() >= 5:
        gap_day += timedelta(days=1)
    day = start
    while day <= end:
        plan: list[str] = []
        if day.weekday() < 5:
            week = (day - start).days // 7
            for _ in range(rng.choice((0, 1, 1, 2, 2, 3))):
                roll = rng.random()
                if waiving(week):
                    plan.append("waived" if roll < 0.8 else "fail")
                else:
                    plan.append("pass" if roll < 0.8 else "fail")
            if plan and plan[-1] == "fail" and rng.random() < 0.7:
                plan.append("pass" if not waiving(week) else "waived")  # fixed the same day
        if day == gap_day:  # a day whose deployments never passed the gate
            plan = ["fail", "fail"]
        for i, outcome in enumerate(plan):
            count += 1
            started = datetime.combine(day, time(9 + 2 * i, rng.randrange(60)), timezone.utc)
            finished = started + timedelta(seconds=rng.randrange(40, 600))
            sha = hashlib.sha1(f"{day}-{i}".encode()).hexdigest()
            environ = {
                "GITHUB_REPOSITORY": REPOSITORY,
                "GITHUB_RUN_ID": str(7_000_000_000 + count),
                "GITHUB_RUN_ATTEMPT": "1",
                "GITHUB_SERVER_URL": "https://github.com",
                "GITHUB_WORKFLOW": "deploy-and-gate",
                "GITHUB_REF": "refs/heads/main",
                "GITHUB_SHA": sha,
            }
            config = replace(configs[outcome], commit_sha=sha)
            report = reports[outcome]
            out = EvidenceOutput.prepare(config, environ, clients=lambda s, r: world.client(s))
            assert out is not None
            code = out.build(report, started, finished, int(report.exit_code))
            out.upload(code, None, finished)
            if outcome == "fail":
                failing_keys.extend(u for u in out.uploaded if u.endswith(".json"))
        day += timedelta(days=1)

    # Someone hides a failure: FAIL -> PASS, checksum recomputed; the signature cannot follow.
    victim = failing_keys[len(failing_keys) // 2]
    bucket, victim_key = split_s3_url(victim)
    record = json.loads(s3.get_object(Bucket=bucket, Key=victim_key)["Body"].read())
    for check in record["checks"]:
        if check["status"] == "FAIL":
            check["status"], check["reason"] = "PASS", "no findings at or above MEDIUM"
    record["run"]["result"], record["run"]["exit_code"] = "pass", 0
    record["signature"]["signed_digest"] = evidence.signed_digest(record)
    record["sha256"] = evidence.digest(record)
    forged = victim_key.replace("/evidence.json", "-rerun/evidence.json")
    # (The original stays beside it: Object Lock keeps it.)
    s3.put_object(Bucket=bucket, Key=forged, Body=evidence.dumps(record).encode())
    public = bytes(kms.get_public_key(KeyId=signing_key["Arn"])["PublicKey"])
    return Period(
        f"s3://{BUCKET}/{PREFIX}",
        str(signing_key["Arn"]),
        public,
        start,
        end,
        count + 1,
        f"s3://{bucket}/{forged}",
    )


def _severity(name: str) -> Any:
    from soc2gate.models import Severity

    return Severity.parse(name)
