"""``soc2gate audit-report``: every evidence record of an audit period, verified and summed up.

Records come from an S3 prefix written by ``--evidence-s3`` (keys ``prefix/YYYY/MM/DD/...``)
or from a local folder (every ``*.json`` under it). Each is checked like ``verify-evidence``
(checksum, then signature with ``--public-key`` or ``--kms --kms-key ARN``).

From S3 the report reads every *version* of every key (``s3:ListBucketVersions``,
``s3:GetObjectVersion``), not only the current ones: Object Lock keeps an overwritten record as
an older version, and a delete marker hides a record from a current listing without removing
it. It flags (as failed verification) a key whose versions hold different records, a key with
a delete marker, a record found at a key other than the one its own time, repository, commit,
CI run and targets give (``evidence_store.object_name``), and one record found at two keys. The
replaced and deleted records are in the report, with their verdicts. The report (``audit_render``)
lists per deployment its time, repository, commit, image digest, endpoint, verdict, waivers in
force and CI run, with the integrity of its record; totals per SOC 2 criterion; every failed
or unverifiable run; every record whose signature failed; and gap days (deployments but no
passing gate whose record verified).
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from typing import Any

from soc2gate.exitcodes import ExitCode
from soc2gate.report import evidence, signing

#: Integrity states, worst first.
BROKEN = ("bad-signature", "wrong-key", "modified", "deleted")
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
    "legacy": "signature verified (old format)",
    "deleted": "DELETED",
}
#: Integrity states that fail under --require-signature, and what the report calls them then.
REFUSED = {
    "unsigned": "UNSIGNED (signature required)",
    "legacy": "OLD SIGNATURE FORMAT (signature required)",
}


@dataclass
class Entry:
    """One record of the period, with what its verification said."""

    source: str
    document: dict[str, Any] | None
    integrity: str
    message: str
    when: datetime | None = None
    #: The verification's exit code (None: from ``integrity``): an unsigned record is 1 under
    #: --require-signature.
    verdict_code: int | None = None
    #: What is wrong with where the record was found (S3): replaced, deleted, misplaced, copied.
    flags: list[str] = field(default_factory=list)
    #: The S3 key (below the prefix) and version it was read from; None for a local file.
    key: str | None = None
    version: str | None = None

    @property
    def code(self) -> int:
        """0 verified (as far as asked), 1 failed verification, 3 could not be verified."""
        if self.flags:
            return ExitCode.FAILED
        if self.verdict_code is not None:
            return self.verdict_code
        if self.integrity in BROKEN:
            return ExitCode.FAILED
        if self.integrity in UNVERIFIABLE:
            return ExitCode.ERROR
        return ExitCode.PASSED

    @property
    def integrity_text(self) -> str:
        text = INTEGRITY_TEXT.get(self.integrity, self.integrity)
        if self.verdict_code == ExitCode.FAILED and self.integrity in REFUSED:
            text = REFUSED[self.integrity]
        return "; ".join([text, *(flag.split(":", 1)[0] for flag in self.flags)])

    @property
    def explanation(self) -> str:
        """The verification's message, then every flag."""
        return " ".join([self.message, *self.flags])

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

    def _signed_images(self) -> list[Mapping[str, Any]]:
        """deployed-image-signed's per-digest entries (empty when it did not run)."""
        out: list[Mapping[str, Any]] = []
        for check in self.checks():
            ev = check.get("evidence")
            if check.get("id") != "deployed-image-signed" or not isinstance(ev, Mapping):
                continue
            digests = ev.get("digests")
            out += (
                [d for d in digests if isinstance(d, Mapping)] if isinstance(digests, list) else []
            )
        return out

    @property
    def image_signers(self) -> list[str]:
        """Who signed each digest that served traffic: "<digest> <signer> (<source>)", with
        "; built from <repository>@<commit>" for a verified build provenance, or
        "<digest> UNSIGNED"; empty when deployed-image-signed did not run."""
        out = []
        for d in self._signed_images():
            digest = str(d.get("digest") or "?")
            if d.get("status") == "PASS" and d.get("signer"):
                provenance = d.get("provenance")
                built = ""
                if isinstance(provenance, dict) and provenance.get("commit"):
                    built = (
                        f"; built from {provenance.get('sourceRepository')}@"
                        f"{str(provenance['commit'])[:12]}"
                    )
                out.append(f"{digest} {d.get('signer')} ({d.get('source')}{built})")
            else:
                out.append(f"{digest} UNSIGNED")
        return out

    @property
    def unsigned_images(self) -> int:
        """Digests deployed-image-signed judged that no trusted signer vouched for."""
        return sum(1 for d in self._signed_images() if d.get("status") != "PASS")


@dataclass
class AuditReport:
    start: date
    end: date
    source: str
    entries: list[Entry] = field(default_factory=list)
    generated_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    #: What limits what the report can prove about the source (an S3 bucket without Object
    #: Lock), shown in its headline.
    warnings: list[str] = field(default_factory=list)

    @property
    def readable(self) -> list[Entry]:
        return [e for e in self.entries if e.document is not None]

    @property
    def broken(self) -> list[Entry]:
        return [e for e in self.entries if e.code == ExitCode.FAILED]

    @property
    def unverifiable(self) -> list[Entry]:
        return [e for e in self.entries if e.code == ExitCode.ERROR]

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

    def criteria_controls(self) -> dict[str, list[str]]:
        """SOC 2 criterion -> the Security Hub controls and AWS Config rules of the checks counted
        under it (from each record's ``controls``; records before it carry none)."""
        out: dict[str, set[str]] = defaultdict(set)
        for entry in self.readable:
            for check in entry.checks():
                controls = check.get("controls")
                if not isinstance(controls, dict):
                    continue
                ids = [
                    str(i)
                    for key in ("security_hub", "aws_config")
                    for i in controls.get(key) or []
                ]
                for criterion in check.get("soc2_criteria") or []:
                    out[str(criterion)].update(ids)
        return {c: sorted(ids) for c, ids in sorted(out.items())}

    def gap_days(self) -> list[tuple[date, int]]:
        """(day, deployments) for days with deployments but no passing gate whose record
        verified: an unsigned pass under --require-signature, a forged, replaced, misplaced or
        unverifiable one does not close a day."""
        days: dict[date, list[Entry]] = defaultdict(list)
        for entry in self.entries:
            if entry.when is not None:
                days[entry.when.date()].append(entry)
        return [
            (day, len(entries))
            for day, entries in sorted(days.items())
            if not any(e.result == "pass" and e.code == ExitCode.PASSED for e in entries)
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


@dataclass(frozen=True)
class Found:
    """One object an audit reads: its bytes (None: not fetched, ``problem`` says why), and for
    S3 the key below the prefix, the version, whether S3 calls it the latest, and whether it is
    a delete marker."""

    source: str
    raw: bytes | None
    problem: str = ""
    key_day: date | None = None
    key: str | None = None
    version: str | None = None
    latest: bool = True
    delete_marker: bool = False


class ListingError(Exception):
    """The listing cannot be read whole: the report cannot say it saw every record."""


def examine(
    source: str,
    raw: bytes | None,
    problem: str = "",
    *,
    public_key: Any = None,
    kms: Any = None,
    kms_keys: Sequence[str] = (),
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
        document,
        source,
        public_key=public_key,
        kms=kms,
        kms_keys=kms_keys,
        require_signature=require_signature,
    )
    status = verdict.status or ("modified" if verdict.code else "unsigned")
    return Entry(
        source, document, status, verdict.message, _when(document), verdict_code=verdict.code
    )


def in_period(entry: Entry, start: date, end: date, key_day: date | None = None) -> bool:
    """A record of an S3 key dated in the period is in it (whatever the record says: a record
    whose own time is elsewhere is flagged as misplaced); otherwise the record's own day."""
    if key_day is not None:
        return start <= key_day <= end
    day = entry.when.date() if entry.when is not None else None
    return day is None or start <= day <= end


def from_folder(folder: str) -> Iterable[Found]:
    """Every ``*.json`` under ``folder``."""
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            if not name.endswith(".json"):
                continue
            path = os.path.join(root, name)
            try:
                with open(path, "rb") as handle:
                    yield Found(path, handle.read())
            except OSError as exc:
                yield Found(path, None, f"cannot read: {exc.strerror or exc}")


def _text(item: Mapping[str, Any], name: str, what: str) -> str:
    value = item.get(name)
    if not isinstance(value, str) or not value:
        raise ListingError(f"s3:ListObjectVersions answered a {what} without a {name}: {value!r}")
    return value


def list_versions(s3: Any, bucket: str, prefix: str) -> list[dict[str, Any]]:
    """Every version and delete marker under ``prefix``: dicts with Key, VersionId, IsLatest
    and ``marker`` (True for a delete marker). Pages are followed by hand, strictly: a page
    that says it is truncated must name both markers to go on from, and a marker seen before is
    a loop. ListingError when an answer cannot be read; AWS errors propagate."""
    params: dict[str, Any] = {"Bucket": bucket, "Prefix": f"{prefix}/" if prefix else ""}
    seen: set[tuple[str, str]] = set()
    out: list[dict[str, Any]] = []
    while True:
        page = s3.list_object_versions(**params)
        if not isinstance(page, Mapping):
            raise ListingError("s3:ListObjectVersions answered no page")
        truncated = page.get("IsTruncated")
        if not isinstance(truncated, bool):
            raise ListingError(f"s3:ListObjectVersions: IsTruncated is {truncated!r}")
        for member, marker in (("Versions", False), ("DeleteMarkers", True)):
            # S3 leaves the member out when there is none (an empty list, never null).
            items = page.get(member, [])
            if not isinstance(items, list):
                raise ListingError(f"s3:ListObjectVersions: {member} is {type(items).__name__}")
            for item in items:
                if not isinstance(item, Mapping):
                    raise ListingError(f"s3:ListObjectVersions: a member of {member} is {item!r}")
                latest = item.get("IsLatest")
                if not isinstance(latest, bool):
                    raise ListingError(f"s3:ListObjectVersions: IsLatest is {latest!r}")
                key = _text(item, "Key", member[:-1].lower())
                if not key.startswith(params["Prefix"]):
                    raise ListingError(
                        f"s3:ListObjectVersions answered key {key!r} outside the prefix asked"
                    )
                version = _text(item, "VersionId", member[:-1].lower())
                out.append({"Key": key, "VersionId": version, "IsLatest": latest, "marker": marker})
        if not truncated:
            return out
        next_key = page.get("NextKeyMarker")
        next_version = page.get("NextVersionIdMarker")
        if not isinstance(next_key, str) or not next_key or not isinstance(next_version, str):
            raise ListingError(
                "s3:ListObjectVersions says the listing is truncated but names no "
                "NextKeyMarker and NextVersionIdMarker to go on from"
            )
        if (next_key, next_version) in seen:
            raise ListingError(f"s3:ListObjectVersions loops back to {next_key} {next_version}")
        seen.add((next_key, next_version))
        params.update(KeyMarker=next_key, VersionIdMarker=next_version)


def bucket_protection(s3: Any, url: str) -> list[str]:
    """Whether the evidence bucket keeps what was written: [] when it is versioned and under
    Object Lock; a warning when it is versioned without Object Lock (a version can then be
    deleted by whoever may s3:DeleteObjectVersion); ``ListingError`` when it is not versioned:
    a record put over a FAIL (or a delete) then leaves no older version, so no report read
    from it can say that it saw every FAIL."""
    import botocore.exceptions

    from soc2gate.aws import error_code
    from soc2gate.report.evidence_store import split_s3_url

    bucket, _prefix = split_s3_url(url)
    try:
        status = s3.get_bucket_versioning(Bucket=bucket).get("Status")
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        raise ListingError(
            f"s3:GetBucketVersioning on {bucket} failed ({exc}): cannot tell whether a record "
            "could have been replaced without a trace"
        ) from None
    if status != "Enabled":
        raise ListingError(
            f"bucket {bucket} is not versioned (versioning {status or 'never enabled'}): a record "
            "put over a FAIL, or deleted, leaves no older version, so the audit cannot say it "
            "saw every record; store evidence in a bucket with versioning and Object Lock "
            "(soc2gate run --evidence-retention requires them) and audit that"
        )
    try:
        lock = s3.get_object_lock_configuration(Bucket=bucket).get("ObjectLockConfiguration")
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        if error_code(exc) != "ObjectLockConfigurationNotFoundError":
            raise ListingError(
                f"s3:GetObjectLockConfiguration on {bucket} failed ({exc}): cannot tell "
                "whether a version could have been deleted"
            ) from None
        lock = None
    if isinstance(lock, Mapping) and lock.get("ObjectLockEnabled") == "Enabled":
        return []
    return [
        f"bucket {bucket} is versioned but has no Object Lock: a version, a FAIL's included, "
        "can be deleted without a trace by anyone allowed s3:DeleteObjectVersion; this report "
        "shows what is there, not that nothing was removed"
    ]


def from_s3(s3: Any, url: str, start: date, end: date) -> Iterable[Found]:
    """Every version (and delete marker) of every evidence.json of the period.

    A listing that fails raises (the report cannot say it saw every record)."""
    import botocore.exceptions

    from soc2gate.report.evidence_store import EVIDENCE_NAME, split_s3_url

    bucket, prefix = split_s3_url(url)
    head = f"{prefix}/" if prefix else ""
    for item in list_versions(s3, bucket, prefix):
        key, version = item["Key"], item["VersionId"]
        if not key.endswith("/" + EVIDENCE_NAME) and key != EVIDENCE_NAME:
            continue
        relative = key[len(head) :]
        day = _key_date(relative)
        if day is not None and not (start <= day <= end):
            continue
        where = f"s3://{bucket}/{key}"
        if not item["IsLatest"]:
            where += f"?versionId={version}"
        found = Found(where, None, "", day, relative, version, item["IsLatest"], item["marker"])
        if item["marker"]:
            yield found
            continue
        unversioned = version == "null"  # a bucket that never had versioning
        try:
            answer = s3.get_object(
                Bucket=bucket, Key=key, **({} if unversioned else {"VersionId": version})
            )
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            yield replace(found, problem=f"s3:GetObject failed: {exc}")
            continue
        problem = ""
        answered = answer.get("VersionId") if isinstance(answer, Mapping) else None
        body = answer.get("Body") if isinstance(answer, Mapping) else None
        if answered != version and not (unversioned and answered in (None, "null")):
            problem = f"s3:GetObject answered version {answered!r}, not the version {version} asked"
        elif not hasattr(body, "read"):
            problem = "s3:GetObject answered without a body"
        if problem:
            yield replace(found, problem=problem)
            continue
        try:
            raw = body.read()  # type: ignore[union-attr]
        except (botocore.exceptions.BotoCoreError, OSError) as exc:
            yield replace(found, problem=f"s3:GetObject body could not be read: {exc}")
            continue
        if not isinstance(raw, bytes):
            yield replace(found, problem="s3:GetObject answered a body that is not bytes")
            continue
        yield replace(found, raw=raw)


def collect(
    records: Iterable[Found],
    start: date,
    end: date,
    source: str,
    *,
    public_key: Any = None,
    kms: Any = None,
    kms_keys: Sequence[str] = (),
    require_signature: bool = False,
) -> AuditReport:
    report = AuditReport(start, end, source)
    found = list(records)
    markers: dict[str, list[Found]] = defaultdict(list)
    versions: dict[str, list[tuple[Found, Entry]]] = defaultdict(list)
    for item in found:
        if item.delete_marker and item.key is not None:
            markers[item.key].append(item)
            continue
        entry = examine(
            item.source,
            item.raw,
            item.problem,
            public_key=public_key,
            kms=kms,
            kms_keys=kms_keys,
            require_signature=require_signature,
        )
        entry.key, entry.version = item.key, item.version
        if not in_period(entry, start, end, item.key_day):
            continue
        if item.key is None:
            report.entries.append(entry)
        else:
            versions[item.key].append((item, entry))
    for key in sorted(set(versions) | set(markers)):
        report.entries += _judge_key(key, versions.get(key, []), markers.get(key, []))
    _flag_copies(report.entries)
    report.entries.sort(
        key=lambda e: (e.when or datetime.min.replace(tzinfo=timezone.utc), e.source)
    )
    return report


def _judge_key(key: str, versions: list[tuple[Found, Entry]], markers: list[Found]) -> list[Entry]:
    """The entries of one S3 key, each version's, with what is wrong with the key flagged."""
    from soc2gate.report.evidence_store import EVIDENCE_NAME, object_name

    flags: list[str] = []
    # Identical bytes stored twice are one record (the latest copy shown); different ones mean
    # the key was overwritten. A version that could not be fetched is shown on its own.
    shown: dict[bytes | str, tuple[Found, Entry]] = {}
    for item, entry in versions:
        ident: bytes | str = item.raw if item.raw is not None else item.source
        if ident not in shown or item.latest:
            shown[ident] = (item, entry)
    bodies = {item.raw for item, _ in versions if item.raw is not None}
    if len(bodies) > 1:
        ids = ", ".join(str(item.version) for item, _ in versions)
        flags.append(
            f"REPLACED: key {key} holds {len(bodies)} different records (versions {ids}): a "
            "record was overwritten; S3 kept the replaced one, shown beside it"
        )
    if markers:
        flags.append(
            f"DELETED: key {key} has a delete marker, which hides its record from a listing of "
            "current objects; the record is still there and shown here"
        )
    if (
        versions
        and not any(item.latest for item, _ in versions)
        and not any(m.latest for m in markers)
    ):
        flags.append(
            f"NO CURRENT VERSION: the listing names no latest version or delete marker of key "
            f"{key}: what replaced or hid its record is missing from the listing"
        )
    entries = [entry for _item, entry in shown.values()]
    if not entries:
        source = markers[0].source.split("?", 1)[0]
        entries = [Entry(source, None, "deleted", "only a delete marker is left", key=key)]
    for entry in entries:
        entry.flags += flags
        if entry.document is None:
            continue
        try:
            expected = object_name(entry.document) + EVIDENCE_NAME
        except (ValueError, TypeError):
            expected = ""
        if expected != key:
            where = expected or "(its finish time cannot be read)"
            entry.flags.append(
                f"MISPLACED: found at key {key}, but its own time, repository, commit, run and "
                f"targets give key {where}: it was copied or moved there"
            )
    return entries


def _flag_copies(entries: list[Entry]) -> None:
    """Flag one record (the same checksum) found at two S3 keys."""
    keys: dict[str, set[str]] = defaultdict(set)
    for entry in entries:
        if entry.document is not None and entry.key is not None:
            keys[str(entry.document.get("sha256"))].add(entry.key)
    for entry in entries:
        if entry.document is None or entry.key is None:
            continue
        others = sorted(keys[str(entry.document.get("sha256"))] - {entry.key})
        if others:
            entry.flags.append(
                f"COPIED: the same record is also at key {', '.join(others)}: one record "
                "stands for two deployments"
            )
