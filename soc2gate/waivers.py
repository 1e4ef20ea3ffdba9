"""Waivers: accepted findings, each with a reason and an expiry date (risk acceptance).

File format (``.soc2gate-waivers.yml`` by default)::

    waivers:
      - id: CVE-2024-5535            # CVE or enhanced-scanning vulnerability id (required)
        package: openssl             # optional: only this package
        repository: my-repo          # optional: only this repository
        reason: "not reachable: ..." # required
        expires: 2026-12-31          # required, YYYY-MM-DD; the waiver ends at the end of that day (UTC)

A waived finding does not fail the gate but is listed as waived in every report. An expired
waiver fails the gate and names the entry. A waiver that matches nothing is warned about.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from soc2gate.errors import ConfigError
from soc2gate.models import Finding

DEFAULT_PATH = ".soc2gate-waivers.yml"
_KEYS = {"id", "package", "repository", "reason", "expires"}


@dataclass(frozen=True)
class Waiver:
    index: int
    id: str
    reason: str
    expires: dt.date
    package: str = ""
    repository: str = ""

    @property
    def label(self) -> str:
        scope = "".join(
            f" {k}={v}"
            for k, v in (("package", self.package), ("repository", self.repository))
            if v
        )
        return f"waiver #{self.index + 1} ({self.id}{scope}, expires {self.expires.isoformat()})"

    def expired(self, today: dt.date) -> bool:
        return today > self.expires

    def applies_to(self, repository: str) -> bool:
        return not self.repository or self.repository == repository

    def matches(self, finding: Finding, repository: str) -> bool:
        return (
            self.applies_to(repository)
            and finding.id.upper() == self.id.upper()
            and (not self.package or self.package == finding.package)
        )


def resolve_path(configured: str | None) -> str | None:
    """The configured path, else the default file when it exists in the working directory."""
    if configured:
        return configured
    return DEFAULT_PATH if os.path.isfile(DEFAULT_PATH) else None


def load(path: str) -> tuple[Waiver, ...]:
    """Parse and validate a waivers file; ConfigError (exit 2) naming the bad entry."""
    import yaml

    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read waivers file {path}: {exc.strerror}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"waivers file {path}: malformed YAML ({type(exc).__name__})") from None
    entries: Any = data.get("waivers") if isinstance(data, dict) else data
    if data is None:
        return ()
    if not isinstance(entries, list):
        raise ConfigError(f"waivers file {path}: expected a list under 'waivers:'")
    return tuple(_entry(path, i, item) for i, item in enumerate(entries))


def _entry(path: str, index: int, item: Any) -> Waiver:
    where = f"waivers file {path}: entry #{index + 1}"
    if not isinstance(item, dict):
        raise ConfigError(f"{where}: expected a mapping with id, reason and expires")
    unknown = sorted(set(map(str, item)) - _KEYS)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(_KEYS))})"
        )
    for key in ("id", "reason", "expires"):
        if item.get(key) in (None, ""):
            raise ConfigError(f"{where}: {key} is required")
    expires = item["expires"]
    if isinstance(expires, dt.datetime):
        expires = expires.date()
    if not isinstance(expires, dt.date):
        try:
            expires = dt.date.fromisoformat(str(expires).strip())
        except ValueError:
            raise ConfigError(
                f"{where}: expires must be a date YYYY-MM-DD, got {expires!r}"
            ) from None
    for key in ("id", "reason", "package", "repository"):
        if key in item and not isinstance(item[key], str):
            raise ConfigError(f"{where}: {key} must be a string")
    return Waiver(
        index=index,
        id=item["id"].strip(),
        reason=item["reason"].strip(),
        expires=expires,
        package=str(item.get("package", "")).strip(),
        repository=str(item.get("repository", "")).strip(),
    )


@dataclass(frozen=True)
class Applied:
    """The outcome of applying waivers to one image's findings."""

    waived: tuple[tuple[Finding, Waiver], ...]
    expired: tuple[Waiver, ...]
    unused: tuple[Waiver, ...]

    def is_waived(self, finding: Finding) -> bool:
        return any(f is finding for f, _ in self.waived)


def apply(
    findings: Sequence[Finding], waivers: Iterable[Waiver], repository: str, today: dt.date
) -> Applied:
    """Which findings are waived, which waivers have expired, which matched nothing.

    Expired waivers waive nothing: the finding counts again and the gate fails on the waiver.
    """
    relevant = [w for w in waivers if w.applies_to(repository)]
    waived: list[tuple[Finding, Waiver]] = []
    used: set[int] = set()
    for finding in findings:
        for waiver in relevant:
            if waiver.matches(finding, repository):
                used.add(waiver.index)
                if not waiver.expired(today):
                    waived.append((finding, waiver))
                    break
    return Applied(
        waived=tuple(waived),
        expired=tuple(w for w in relevant if w.expired(today)),
        unused=tuple(w for w in relevant if w.index not in used and not w.expired(today)),
    )
