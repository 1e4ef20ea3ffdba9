"""Evidence out of the run: built once, signed with KMS, written locally, uploaded to S3.

``EvidenceOutput.prepare(config)`` runs before any check: it reads the signing key
(``kms:GetPublicKey``) and, when retention is asked for, the bucket's Object Lock configuration
(``s3:GetBucketObjectLockConfiguration``); either problem is a ConfigError (exit 2), so a run
never finishes with evidence it cannot sign or retain. After the run ``build`` makes the record
(signed when ``--sign-kms-key`` is set), ``write`` saves it locally and ``upload`` puts it, and
a copy of the JUnit report, under a time-sortable key computed from the record itself
(``object_name``). A record that cannot be signed is still written, unsigned; a record upload
that fails is said on stderr. Either makes a passing run exit 3, and the caller writes its
local reports again with that code, so no report says pass while the process exits non-zero.
"""

from __future__ import annotations

import hashlib
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
    """``prefix/`` + ``object_name`` of the record this run would write (finishing ``when``)."""
    document = {
        "run": {
            "commit_sha": config.resolved_sha(environ) or "",
            "repository": evidence.source_repository(config, environ),
            "ci": evidence.ci_run(environ),
        },
        "config": {"target": list(config.target)},
        "timing": {"finished_at": when.isoformat()},
    }
    head = f"{prefix}/" if prefix else ""
    return head + object_name(document)


def object_name(document: Mapping[str, Any]) -> str:
    """``YYYY/MM/DD/<UTC time>_<repository>_<commit>_<run>[_<targets>]/``, from the record alone:
    the upload puts a record there, and the audit report checks that a record was found where
    its own content (time, repository, commit, CI run and attempt, fleet targets) says.

    ValueError when the record has no readable finish time."""
    run = _mapping(document.get("run"))
    ci = _mapping(run.get("ci"))
    config = _mapping(document.get("config"))
    when = datetime.fromisoformat(str(_mapping(document.get("timing")).get("finished_at")))
    when = (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
    repository = str(run["repository"]) if "repository" in run else _older_repository(document)
    run_id = str(ci.get("run_id") or "")
    if ci.get("system") == "codebuild":
        run_id = run_id.rpartition(":")[2]
    elif ci.get("system") == "github-actions" and ci.get("run_attempt"):
        run_id += f"-{ci['run_attempt']}"
    parts = [
        when.strftime("%Y%m%dT%H%M%SZ"),
        _part(repository.replace("/", "."), "norepo"),
        _part(str(run.get("commit_sha") or "")[:12], "nosha"),
        _part(run_id, "local"),
    ]
    # Matrix jobs of one run share its id and attempt: the fleet targets a run gated (--target)
    # keep their keys apart.
    targets = config.get("target")
    if isinstance(targets, list) and targets:
        joined = "+".join(str(t) for t in targets)
        cleaned = _part(joined, "target")
        if len(cleaned) > 40:
            cleaned = cleaned[:31] + "-" + hashlib.sha256(joined.encode()).hexdigest()[:8]
        parts.append(cleaned)
    return f"{when:%Y/%m/%d}/{'_'.join(parts)}/"


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _older_repository(document: Mapping[str, Any]) -> str:
    """The key's repository for a record written before ``run.repository``: the source
    repository of a GitHub run's URL, the CodeBuild project, else the gated repository or
    endpoint (what the uploader read from the environment then)."""
    run = _mapping(document.get("run"))
    ci = _mapping(run.get("ci"))
    config = _mapping(document.get("config"))
    if ci.get("system") == "github-actions":
        match = re.match(r"https?://[^/]+/([^/]+/[^/]+)/actions/runs/", str(ci.get("url") or ""))
        if match:
            return match.group(1)
    if ci.get("system") == "codebuild":
        return str(ci.get("run_id") or "").split(":", 1)[0]
    return str(config.get("repository") or config.get("endpoint") or "")


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

    def upload(self, code: int, junit_file: str | None, when: datetime | None = None) -> int:
        """Put the record in S3, then a copy of the JUnit file; returns the exit code (3 when
        a passing run's record could not be uploaded). ``when`` is not used: the key comes from
        the record itself (``object_name``).

        Every report states the process's exit code, so the order matters. The record goes
        first, with the code the run ends with: nothing after it can change that code. A
        record that is not uploaded makes a passing run exit 3, and the JUnit copy is then not
        uploaded either, so S3 holds nothing that says pass. The JUnit copy is a convenience
        beside the record (the record is the evidence): a copy that fails is a warning and
        changes no exit code. The record is written with ``If-None-Match: *``: a key that is
        already taken is never overwritten (Object Lock would keep the first as an older
        version, which the audit report flags)."""
        import botocore.exceptions

        del when
        if not self.config.evidence_s3:
            return code
        record = self.current(code)
        bucket, prefix = split_s3_url(self.config.evidence_s3)
        head = f"{prefix}/" if prefix else ""
        base = head + object_name(record)
        extra: dict[str, Any] = {}
        if self.config.evidence_kms_key:
            extra.update(ServerSideEncryption="aws:kms", SSEKMSKeyId=self.config.evidence_kms_key)
        if self.config.evidence_retention:
            extra.update(
                ObjectLockMode=self.config.evidence_retention_mode,
                ObjectLockRetainUntilDate=datetime.now(timezone.utc)
                + timedelta(days=self.config.evidence_retention),
            )
        final = ExitCode.ERROR if code == ExitCode.PASSED else code
        try:
            s3 = self.clients("s3", None)
            s3.put_object(
                Bucket=bucket,
                Key=base + EVIDENCE_NAME,
                Body=evidence.dumps(record).encode("utf-8"),
                ContentType="application/json",
                IfNoneMatch="*",
                **extra,
            )
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            taken = ""
            if _error_code(exc) in ("PreconditionFailed", "ConditionalRequestConflict"):
                taken = (
                    " (an object already exists at that key: another run wrote the same time, "
                    "repository, commit, run attempt and targets; nothing was overwritten)"
                )
            print(
                f"soc2gate: error: evidence NOT uploaded to s3://{bucket}/{base}{EVIDENCE_NAME} "
                f"(s3:PutObject): {_problem(exc)}{taken}; the gate's verdict stands, the run "
                f"exits {final}, and every report says so",
                file=self.err,
                flush=True,
            )
            return final
        self.uploaded.append(f"s3://{bucket}/{base}{EVIDENCE_NAME}")
        if junit_file:
            self._upload_junit(s3, bucket, base + JUNIT_NAME, junit_file, extra)
        return code

    def _upload_junit(
        self, s3: Any, bucket: str, key: str, junit_file: str, extra: Mapping[str, Any]
    ) -> None:
        import botocore.exceptions

        try:
            with open(junit_file, "rb") as handle:
                body = handle.read()
            s3.put_object(
                Bucket=bucket,
                Key=key,
                Body=body,
                ContentType="application/xml",
                IfNoneMatch="*",
                **extra,
            )
        except OSError as exc:
            problem = str(exc)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            problem = f"(s3:PutObject) {_problem(exc)}"
        else:
            self.uploaded.append(f"s3://{bucket}/{key}")
            return
        print(
            f"soc2gate: warning: the JUnit copy s3://{bucket}/{key} was not uploaded: {problem}; "
            "the evidence record beside it was, and states the run's exit code",
            file=self.err,
            flush=True,
        )


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    error = response.get("Error") if isinstance(response, Mapping) else None
    return str(error.get("Code", "")) if isinstance(error, Mapping) else ""
