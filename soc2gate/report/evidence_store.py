"""Evidence out of the run: built once, signed with KMS, written locally, uploaded to S3.

``EvidenceOutput.prepare(config)`` runs before any check: it reads the signing key
(``kms:GetPublicKey``) and, when retention is asked for, the bucket's Object Lock configuration
(``s3:GetBucketObjectLockConfiguration``); either problem is a ConfigError (exit 2), so a run
never finishes with evidence it cannot sign or retain. After the run ``build`` makes the record
(signed when ``--sign-kms-key`` is set), ``write`` saves it locally and ``upload`` puts it, and
the JUnit report, under a time-sortable key. A record that cannot be signed is still written,
unsigned; an upload that fails is said on stderr. Either makes a passing run exit 3.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, TextIO

from soc2gate.config import GateConfig
from soc2gate.errors import ConfigError
from soc2gate.exitcodes import ExitCode
from soc2gate.models import GateReport
from soc2gate.report import evidence, signing

EVIDENCE_NAME = "evidence.json"
JUNIT_NAME = "junit.xml"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")

ClientFactory = Callable[[str, "str | None"], Any]


def split_s3_url(url: str) -> tuple[str, str]:
    """(bucket, prefix without slashes at either end) of ``s3://bucket/prefix``."""
    rest = url[len("s3://") :] if url.startswith("s3://") else url
    bucket, _, prefix = rest.partition("/")
    return bucket, prefix.strip("/")


def _part(value: str, default: str) -> str:
    cleaned = _UNSAFE.sub("-", value.strip()).strip("-.")
    return cleaned[:80] or default


def object_prefix(
    config: GateConfig, environ: Mapping[str, str], when: datetime, prefix: str
) -> str:
    """``prefix/YYYY/MM/DD/<UTC time>_<repository>_<commit>_<run id>/``: sorts by time, and
    names the source repository, the commit and the CI run."""
    when = when.astimezone(timezone.utc)
    repository = (
        environ.get("GITHUB_REPOSITORY")
        or environ.get("CODEBUILD_BUILD_ID", "").split(":", 1)[0]
        or config.repository
        or config.endpoint
        or ""
    )
    sha = (config.resolved_sha(environ) or "")[:12]
    run = environ.get("GITHUB_RUN_ID") or environ.get("CODEBUILD_BUILD_ID", "").rpartition(":")[2]
    if environ.get("GITHUB_RUN_ID") and environ.get("GITHUB_RUN_ATTEMPT"):
        run += f"-{environ['GITHUB_RUN_ATTEMPT']}"
    name = "_".join(
        (
            when.strftime("%Y%m%dT%H%M%SZ"),
            _part(repository.replace("/", "."), "norepo"),
            _part(sha, "nosha"),
            _part(run, "local"),
        )
    )
    head = f"{prefix}/" if prefix else ""
    return f"{head}{when:%Y/%m/%d}/{name}/"


def _problem(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, Mapping):
        error = response.get("Error") or {}
        return f"{error.get('Code', '')}: {error.get('Message', '')}".strip(": ") or str(exc)
    return str(exc) or type(exc).__name__


def default_clients(config: GateConfig) -> ClientFactory:
    """boto3 clients with the run's base credentials (not a fleet target's role)."""
    from soc2gate.aws import AwsClients

    made: dict[str | None, Any] = {}

    def factory(service: str, region: str | None) -> Any:
        key = region or config.region
        if key not in made:
            made[key] = AwsClients(region=key, profile=config.profile)
        return made[key](service)

    return factory


@dataclass
class EvidenceOutput:
    config: GateConfig
    clients: ClientFactory
    environ: Mapping[str, str]
    err: TextIO = field(default_factory=lambda: sys.stderr)
    key: signing.SigningKey | None = None
    record: dict[str, Any] | None = None
    uploaded: list[str] = field(default_factory=list)
    _built: tuple[GateReport, datetime, datetime, int] | None = None

    @classmethod
    def prepare(
        cls,
        config: GateConfig,
        environ: Mapping[str, str],
        clients: ClientFactory | None = None,
    ) -> EvidenceOutput | None:
        """None when the run writes no evidence; ConfigError (exit 2) when the signing key or
        the retention cannot be had. Runs before any check."""
        if not (config.evidence or config.evidence_s3):
            return None
        out = cls(config, clients or default_clients(config), environ)
        if config.sign_kms_key:
            try:
                out.key = signing.describe_key(
                    out.clients("kms", signing.region_of(config.sign_kms_key)),
                    config.sign_kms_key,
                )
            except signing.SigningError as exc:
                raise ConfigError(f"--sign-kms-key: {exc}") from None
        if config.evidence_s3 and config.evidence_retention:
            out._check_object_lock()
        return out

    def _check_object_lock(self) -> None:
        import botocore.exceptions

        bucket, _ = split_s3_url(str(self.config.evidence_s3))
        try:
            answer = self.clients("s3", None).get_object_lock_configuration(Bucket=bucket)
        except botocore.exceptions.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "ObjectLockConfigurationNotFoundError":
                raise ConfigError(
                    f"--evidence-retention: bucket {bucket} does not have Object Lock enabled, "
                    "so the evidence cannot be retained; create the bucket with Object Lock or "
                    "drop --evidence-retention"
                ) from None
            raise ConfigError(
                f"--evidence-retention: cannot read the Object Lock configuration of bucket "
                f"{bucket} (s3:GetBucketObjectLockConfiguration): {_problem(exc)}"
            ) from None
        except botocore.exceptions.BotoCoreError as exc:
            raise ConfigError(
                f"--evidence-retention: cannot reach bucket {bucket}: {_problem(exc)}"
            ) from None
        enabled = (answer.get("ObjectLockConfiguration") or {}).get("ObjectLockEnabled")
        if enabled != "Enabled":
            raise ConfigError(
                f"--evidence-retention: bucket {bucket} does not have Object Lock enabled"
            )

    # ---- after the run ---------------------------------------------------------------------

    def build(
        self, report: GateReport, started_at: datetime, finished_at: datetime, code: int
    ) -> int:
        """Make (and sign) the record; returns the exit code (3 when signing failed)."""
        record = evidence.build(
            report, self.config, self.environ, started_at, finished_at, exit_code=code
        )
        if self.key is not None:
            try:
                kms = self.clients("kms", signing.region_of(self.key.key_arn))
                record = signing.sign(record, kms, self.key)
            except signing.SigningError as exc:
                print(
                    f"soc2gate: error: the evidence record is NOT signed: {exc}",
                    file=self.err,
                    flush=True,
                )
                if code == ExitCode.PASSED:
                    code = ExitCode.ERROR
                    record = evidence.build(
                        report, self.config, self.environ, started_at, finished_at, exit_code=code
                    )
        self.record = record
        self._built = (report, started_at, finished_at, code)
        return code

    def current(self, code: int) -> dict[str, Any]:
        """The record, built again when the exit code changed since (a report that could not
        be written makes a passing run exit 3, and the record states the process's code)."""
        if self._built is None or self.record is None:
            raise RuntimeError("build() first")
        report, started_at, finished_at, built_code = self._built
        if code != built_code:
            self.build(report, started_at, finished_at, code)
        assert self.record is not None
        return self.record

    def write(self, path: str, code: int) -> None:
        evidence.write(self.current(code), path)

    def upload(self, code: int, junit_file: str | None, when: datetime) -> int:
        """Put the record (and the JUnit file) in S3; returns the exit code (3 when a passing
        run's upload failed)."""
        import botocore.exceptions

        if not self.config.evidence_s3:
            return code
        record = self.current(code)
        bucket, prefix = split_s3_url(self.config.evidence_s3)
        base = object_prefix(self.config, self.environ, when, prefix)
        files: list[tuple[str, bytes, str]] = [
            (base + EVIDENCE_NAME, evidence.dumps(record).encode("utf-8"), "application/json")
        ]
        if junit_file:
            try:
                with open(junit_file, "rb") as handle:
                    files.append((base + JUNIT_NAME, handle.read(), "application/xml"))
            except OSError as exc:
                print(
                    f"soc2gate: warning: JUnit report {junit_file} not uploaded: {exc}",
                    file=self.err,
                )
        extra: dict[str, Any] = {}
        if self.config.evidence_kms_key:
            extra.update(ServerSideEncryption="aws:kms", SSEKMSKeyId=self.config.evidence_kms_key)
        if self.config.evidence_retention:
            extra.update(
                ObjectLockMode=self.config.evidence_retention_mode,
                ObjectLockRetainUntilDate=datetime.now(timezone.utc)
                + timedelta(days=self.config.evidence_retention),
            )
        try:
            s3 = self.clients("s3", None)
            for key, body, content_type in files:
                s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type, **extra)
                self.uploaded.append(f"s3://{bucket}/{key}")
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            print(
                f"soc2gate: error: evidence NOT uploaded to s3://{bucket}/{base} "
                f"(s3:PutObject): {_problem(exc)}; the gate's verdict stands, the run exits "
                f"{ExitCode.ERROR if code == ExitCode.PASSED else code}",
                file=self.err,
                flush=True,
            )
            if code == ExitCode.PASSED:
                code = ExitCode.ERROR
        return code
