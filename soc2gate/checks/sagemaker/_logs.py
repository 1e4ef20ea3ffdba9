"""The last lines of an endpoint's CloudWatch logs, redacted, for a failing check's details.

This is the guide's manual troubleshooting step (read ``/aws/sagemaker/Endpoints/<endpoint>``)
done by the gate. It is best effort by design: the excerpt only explains a verdict that was
already reached, so a log that cannot be read becomes one line saying why, never an error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from soc2gate.aws import describe_error, error_code
from soc2gate.report.text import clean

LOG_GROUP_PREFIX = "/aws/sagemaker/Endpoints/"
#: Streams read at most (one per instance; the newest first).
MAX_STREAMS = 5
#: GetLogEvents pages read at most per stream (AWS may answer a page with no events).
MAX_PAGES = 3
#: Characters kept of one log line.
LINE_LIMIT = 500
#: Model environment values shorter than this are not treated as secrets: redacting "2" or
#: "true" everywhere would destroy the log without protecting anything.
MIN_SECRET_LENGTH = 8
REDACTED = "***"

_SECRET_WORD = r"(?:PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|CREDENTIAL|SIGNATURE|KEY)"
# KEY=value, KEY: value, "key": "value". The key is any identifier containing a secret word;
# names ending in Error/Exception/Warning are Python exception names, not keys ("KeyError: x").
_KEY_VALUE = re.compile(
    r"(?P<key>[\"']?\b[A-Za-z0-9_.-]*" + _SECRET_WORD + r"[A-Za-z0-9_.-]*\b[\"']?)"
    r"(?P<sep>\s*[=:]\s*)"
    r"(?:(?P<quote>[\"'])[^\"'\n]*(?P=quote)?|[^\s\"',;&}]+)",
    re.IGNORECASE,
)
_NOT_A_KEY = re.compile(r"(?:Error|Exception|Warning)[\"']?$", re.IGNORECASE)
_AWS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA|AROA|AIDA|AGPA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b")
_BEARER = re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE)
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^/\s:@]+:)[^/\s@]+(?=@)", re.IGNORECASE)
_PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*", re.IGNORECASE)


def log_group(endpoint: str) -> str:
    return f"{LOG_GROUP_PREFIX}{endpoint}"


def redact(line: str, secrets: Iterable[str] = ()) -> str:
    """``line`` with known secret values and anything that looks like a secret replaced."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if len(secret) >= MIN_SECRET_LENGTH:
            line = line.replace(secret, REDACTED)

    def key_value(match: re.Match[str]) -> str:
        if _NOT_A_KEY.search(match["key"]):
            return match[0]
        quote = match["quote"] or ""
        return f"{match['key']}{match['sep']}{quote}{REDACTED}{quote}"

    line = _KEY_VALUE.sub(key_value, line)
    line = _AWS_KEY_ID.sub(REDACTED, line)
    line = _BEARER.sub(lambda m: f"{m[1]} {REDACTED}", line)
    line = _URL_PASSWORD.sub(lambda m: f"{m['head']}{REDACTED}", line)
    return _PRIVATE_KEY.sub(f"-----BEGIN PRIVATE KEY----- {REDACTED}", line)


def model_secrets(environments: Iterable[dict[str, str]], required: Iterable[str]) -> set[str]:
    """Every model environment value except the required markers: each may be a secret."""
    keep = set(required)
    values: set[str] = set()
    for environment in environments:
        for key, value in environment.items():
            value = str(value)
            if key in keep or len(value) < MIN_SECRET_LENGTH:
                continue
            if value.lower() in ("true", "false") or value.isdigit():
                continue
            values.add(value)
    return values


def excerpt(logs: Any, endpoint: str, lines: int, secrets: Iterable[str] = ()) -> list[str]:
    """Detail lines: a header and the last ``lines`` log lines, or one line saying why not.

    Never raises for an AWS error: the caller's verdict must not depend on the logs.
    """
    if lines <= 0:
        return []
    group = log_group(endpoint)
    try:
        collected, streams = _read(logs, group, lines)
    except Exception as exc:
        return [_unreadable(group, exc)]
    if not streams:
        return [f"no CloudWatch log streams in {group} yet: the container may never have started"]
    if not collected:
        return [f"no CloudWatch log events in {group} ({len(streams)} stream(s))"]
    collected.sort(key=lambda item: (item[0], item[1], item[2]))
    shown = collected[-lines:]
    several = len({stream for _, stream, _, _ in shown}) > 1
    secret_values = tuple(secrets)
    out = [f"last {len(shown)} CloudWatch log lines ({group}):"]
    for _, stream, _, text in shown:
        text = redact(clean(text, LINE_LIMIT).replace("\t", " ").rstrip(), secret_values)
        out.append(f"  [{stream}] {text}" if several else f"  {text}")
    return out


def _read(logs: Any, group: str, lines: int) -> tuple[list[tuple[int, str, int, str]], list[str]]:
    """(timestamp, stream, order, line) of at least the newest ``lines`` lines, and the streams."""
    response = logs.describe_log_streams(
        logGroupName=group, orderBy="LastEventTime", descending=True, limit=MAX_STREAMS
    )
    streams = [str(s.get("logStreamName", "")) for s in response.get("logStreams") or []]
    streams = [s for s in streams if s][:MAX_STREAMS]
    collected: list[tuple[int, str, int, str]] = []
    for stream in streams:
        if len(collected) >= lines:
            break
        token: str | None = None
        for _ in range(MAX_PAGES):
            kwargs: dict[str, Any] = {
                "logGroupName": group,
                "logStreamName": stream,
                "startFromHead": False,
                "limit": min(max(lines - len(collected), 1), 10_000),
            }
            if token:
                kwargs["nextToken"] = token
            page = logs.get_log_events(**kwargs)
            events = page.get("events") or []
            for event in events:
                timestamp = int(event.get("timestamp") or 0)
                for text in str(event.get("message", "")).splitlines() or [""]:
                    collected.append((timestamp, stream, len(collected), text))
            next_token = page.get("nextBackwardToken")
            # An empty page with a new token means "older events may exist": read on.
            if events or not next_token or next_token == token:
                break
            token = next_token
    return collected, streams


def _unreadable(group: str, exc: BaseException) -> str:
    if error_code(exc) == "ResourceNotFoundException":
        why = (
            "the log group does not exist (the container never started, or the execution "
            "role cannot write logs)"
        )
    else:
        why = describe_error(exc)
    return f"CloudWatch logs not attached: could not read {group}: {why}"
