"""``soc2gate audit-report``: every evidence record of an audit period, verified and summed up.

Records come from an S3 prefix written by ``--evidence-s3`` (keys ``prefix/YYYY/MM/DD/...``)
or from a local folder (every ``*.json`` under it). Each is checked like ``verify-evidence``
(checksum, then signature with ``--public-key`` or ``--kms``). The report (``audit_render``)
lists per deployment its time, repository, commit, image digest, endpoint, verdict, waivers in
force and CI run, with the integrity of its record; totals per SOC 2 criterion; every failed
or unverifiable run; every record whose signature failed; and gap days (deployments but no
passing gate).
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from soc2gate.exitcodes import ExitCode
from soc2gate.report import evidence, signing

#: Integrity states, worst first.
BROKEN = ("bad-signature", "wrong-key", "modified")
UNVERIFIABLE = ("unverifiable", "unreadable")
_KEY_DATE = re.compile(r"(?:^|/)(\d{4})/(\d{2})/(\d{2})/")

INTEGRITY_TEXT = {
    "verified": "signature verified",
    "unchecked": "signed, signature not checked",
    "unsigned": "checksum only (unsigned)",
    "modified": "MODIFIED",
    "bad-signature": "BAD SIGNATURE",
    "wrong-key": "SIGNED BY ANOTHER KEY",
    "unverifiable": "could not verify",
    "unreadable": "unreadable",
}


@dataclass
class Entry:
    """One record of the period, with what its verification said."""

    source: str
    document: dict[str, Any] | None
    integrity: str
    message: str
    when: datetime | None = None

    # ---- what the record says (empty when unreadable) -----------------------------------
    def _get(self, *path: str) -> Any:
        value: Any = self.document or {}
        for key in path:
            value = value.get(key) if isinstance(value, Mapping) else None
        return value

    @property
    def result(self) -> str:
        return str(self._get("run", "result") or "unknown")

    @property
    def commit(self) -> str:
        return str(self._get("run", "commit_sha") or "")

    @property
    def ci_url(self) -> str:
        url = str(self._get("run", "ci", "url") or "")
        return url if url.startswith(("https://", "http://")) else ""

    @property
    def ci_run(self) -> str:
        return str(self._get("run", "ci", "run_id") or "")

    @property
    def source_repository(self) -> str:
        """The source repository, from the CI run URL (GitHub), else empty."""
        match = re.match(r"https?://[^/]+/([^/]+/[^/]+)/actions/runs/", self.ci_url)
        return match.group(1) if match else ""

    def _config_values(self, key: str) -> list[str]:
        values = []
        top = self._get("config", key)
        if top:
            values.append(str(top))
        for target in self._get("config", "targets") or []:
            if isinstance(target, Mapping) and target.get(key):
                values.append(str(target[key]))
        return list(dict.fromkeys(values))

    @property
    def repository(self) -> str:
        return ", ".join(self._config_values("repository"))

    @property
    def endpoint(self) -> str:
        return ", ".join(self._config_values("endpoint"))

    def checks(self) -> list[Mapping[str, Any]]:
        checks = self._get("checks")
        return [c for c in checks if isinstance(c, Mapping)] if isinstance(checks, list) else []

    @property
    def digests(self) -> list[str]:
        found = []
        for check in self.checks():
            ev = check.get("evidence")
            if isinstance(ev, Mapping) and isinstance(ev.get("imageDigest"), str):
                found.append(ev["imageDigest"])
        return list(dict.fromkeys(found))

    @property
    def waivers(self) -> list[dict[str, str]]:
        out = []
        for check in self.checks():
            ev = check.get("evidence")
            waived = ev.get("waived") if isinstance(ev, Mapping) else None
            for w in waived if isinstance(waived, list) else []:
                if isinstance(w, Mapping):
                    out.append(
                        {k: str(w.get(k, "")) for k in ("id", "package", "reason", "expires")}
                    )
        return out

    @property
    def signed_by(self) -> str:
        return str(self._get("signature", "key_arn") or "")


@dataclass
class AuditReport:
    start: date
    end: date
    source: str
    entries: list[Entry] = field(default_factory=list)
    generated_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @property
    def readable(self) -> list[Entry]:
        return [e for e in self.entries if e.document is not None]

    @property
    def broken(self) -> list[Entry]:
        return [e for e in self.entries if e.integrity in BROKEN]

    @property
    def unverifiable(self) -> list[Entry]:
        return [e for e in self.entries if e.integrity in UNVERIFIABLE]

    @property
    def failed_runs(self) -> list[Entry]:
        return [e for e in self.readable if e.result != "pass"]

    def verdicts(self) -> Counter[str]:
        return Counter(e.result for e in self.readable)

    def integrity(self) -> Counter[str]:
        return Counter(e.integrity for e in self.entries)

    def criteria(self) -> dict[str, Counter[str]]:
        """SOC 2 criterion -> check statuses over every readable record."""
        out: dict[str, Counter[str]] = defaultdict(Counter)
        for entry in self.readable:
            for check in entry.checks():
                for criterion in check.get("soc2_criteria") or []:
                    out[str(criterion)][str(check.get("status", "?"))] += 1
        return dict(sorted(out.items()))

    def gap_days(self) -> list[tuple[date, int]]:
        """(day, deployments) for days with deployments but no passing gate whose record is
        intact."""
        days: dict[date, list[Entry]] = defaultdict(list)
        for entry in self.entries:
            if entry.when is not None:
                days[entry.when.date()].append(entry)
        return [
            (day, len(entries))
            for day, entries in sorted(days.items())
            if not any(e.result == "pass" and e.integrity not in BROKEN for e in entries)
        ]

    def weeks(self) -> list[date]:
        """Monday of every week of the period."""
        first = self.start - timedelta(days=self.start.weekday())
        return [first + timedelta(weeks=i) for i in range((self.end - first).days // 7 + 1)]

    def per_week(self) -> dict[date, Counter[str]]:
        """Week (Monday) -> verdicts of the deployments that week."""
        out: dict[date, Counter[str]] = {week: Counter() for week in self.weeks()}
        for entry in self.readable:
            if entry.when is not None:
                day = entry.when.date()
                out.setdefault(day - timedelta(days=day.weekday()), Counter())[entry.result] += 1
        return out

    def waivers_per_week(self) -> dict[date, int]:
        """Week (Monday) -> distinct waivers in force in that week's deployments."""
        seen: dict[date, set[tuple[str, str]]] = {week: set() for week in self.weeks()}
        for entry in self.readable:
            if entry.when is not None:
                day = entry.when.date()
                week = day - timedelta(days=day.weekday())
                seen.setdefault(week, set()).update((w["id"], w["package"]) for w in entry.waivers)
        return {week: len(ids) for week, ids in seen.items()}

    def waivers(self) -> list[dict[str, str]]:
        """Every waiver in force in the period, once, with the deployments it applied to."""
        found: dict[tuple[str, str, str], dict[str, str]] = {}
        uses: Counter[tuple[str, str, str]] = Counter()
        for entry in self.readable:
            for w in entry.waivers:
                key = (w["id"], w["package"], w["expires"])
                found.setdefault(key, dict(w))
                uses[key] += 1
        return [{**found[k], "deployments": str(uses[k])} for k in sorted(found)]

    @property
    def exit_code(self) -> int:
        if self.broken:
            return ExitCode.FAILED
        if self.unverifiable:
            return ExitCode.ERROR
        return ExitCode.PASSED


# ---- reading records -----------------------------------------------------------------------


def _when(document: Any) -> datetime | None:
    timing = document.get("timing") if isinstance(document, Mapping) else None
    stamp = (
        timing.get("finished_at") or timing.get("started_at")
        if isinstance(timing, Mapping)
        else None
    )
    try:
        when = datetime.fromisoformat(str(stamp))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _key_date(key: str) -> date | None:
    match = _KEY_DATE.search(key)
    if not match:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


def examine(
    source: str,
    raw: bytes | None,
    problem: str = "",
    *,
    public_key: Any = None,
    kms: Any = None,
    require_signature: bool = False,
) -> Entry:
    """Verify one record's bytes (None: it could not be fetched, ``problem`` says why)."""
    if raw is None:
        return Entry(source, None, "unverifiable", problem or "could not be read")
    try:
        document = json.loads(raw)
    except ValueError as exc:
        return Entry(source, None, "unreadable", f"not JSON: {exc}")
    if not isinstance(document, dict) or document.get("format") != evidence.FORMAT:
        return Entry(
            source, None, "unreadable", f"not a soc2gate evidence record ({evidence.FORMAT})"
        )
    verdict = signing.verify_document(
        document, source, public_key=public_key, kms=kms, require_signature=require_signature
    )
    status = verdict.status or ("modified" if verdict.code else "unsigned")
    return Entry(source, document, status, verdict.message, _when(document))


def in_period(entry: Entry, start: date, end: date, key_day: date | None = None) -> bool:
    day = entry.when.date() if entry.when is not None else key_day
    return day is None or start <= day <= end


def from_folder(folder: str) -> Iterable[tuple[str, bytes | None, str, date | None]]:
    """(path, bytes or None, problem, None) for every ``*.json`` under ``folder``."""
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            if not name.endswith(".json"):
                continue
            path = os.path.join(root, name)
            try:
                with open(path, "rb") as handle:
                    yield path, handle.read(), "", None
            except OSError as exc:
                yield path, None, f"cannot read: {exc.strerror or exc}", None


def from_s3(
    s3: Any, url: str, start: date, end: date
) -> Iterable[tuple[str, bytes | None, str, date | None]]:
    """(s3 url, bytes or None, problem, key date) for every evidence.json of the period.

    A listing that fails raises (the report cannot say it saw every record)."""
    import botocore.exceptions

    from soc2gate.report.evidence_store import EVIDENCE_NAME, split_s3_url

    bucket, prefix = split_s3_url(url)
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=f"{prefix}/" if prefix else ""):
        for item in page.get("Contents") or []:
            key = str(item.get("Key", ""))
            if not key.endswith("/" + EVIDENCE_NAME) and key != EVIDENCE_NAME:
                continue
            day = _key_date(key[len(prefix) :] if prefix else key)
            if day is not None and not (start <= day <= end):
                continue
            where = f"s3://{bucket}/{key}"
            try:
                body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
                yield where, None, f"s3:GetObject failed: {exc}", day
                continue
            yield where, body, "", day


def collect(
    records: Iterable[tuple[str, bytes | None, str, date | None]],
    start: date,
    end: date,
    source: str,
    *,
    public_key: Any = None,
    kms: Any = None,
    require_signature: bool = False,
) -> AuditReport:
    report = AuditReport(start, end, source)
    for where, raw, problem, key_day in records:
        entry = examine(
            where,
            raw,
            problem,
            public_key=public_key,
            kms=kms,
            require_signature=require_signature,
        )
        if in_period(entry, start, end, key_day):
            report.entries.append(entry)
    report.entries.sort(
        key=lambda e: (e.when or datetime.min.replace(tzinfo=timezone.utc), e.source)
    )
    return report
