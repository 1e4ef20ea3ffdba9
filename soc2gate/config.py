"""One configuration object, built from defaults < YAML file < command-line flags (or action inputs).

Every option is declared once in ``OPTIONS``; the CLI flags, the YAML keys, the GitHub Action
inputs and the validation all derive from that table.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from soc2gate.custom_spec import CustomCheckSpec, check_clashes
from soc2gate.custom_spec import parse as parse_custom_checks
from soc2gate.durations import parse_duration
from soc2gate.errors import ConfigError
from soc2gate.models import Severity

DEFAULT_ENCRYPTION = ("AES256", "KMS", "KMS_DSSE")
DEFAULT_REQUIRE_ENV = {"SOC2_COMPLIANT": "true", "SECURITY_HARDENED": "true"}
DEFAULT_INSTANCE_TYPES = ("ml.c5.large",)
#: --preset: baseline (the checks on by default) or strict (plus every check marked strict).
PRESETS = ("baseline", "strict")
#: ImageConfig.RepositoryAccessMode values (ECR, or a private Docker registry in your VPC).
REPOSITORY_ACCESS_MODES = ("Platform", "Vpc")


@dataclass(frozen=True)
class GateConfig:
    """Everything a run needs. Build it with ``GateConfig(...)`` or ``load_config``."""

    region: str | None = None
    profile: str | None = None
    repository: str | None = None
    #: The account that owns the gated repository (a central registry); None: the caller's.
    registry_id: str | None = None
    #: The region of the gated repository's registry; None: the run's region.
    registry_region: str | None = None
    #: A role in the registry's account for its ECR and Inspector reads; None: the gate's own.
    registry_role_arn: str | None = None
    require_tags: tuple[str, ...] = ()
    scan_tag: str | None = None
    fail_on: Severity = Severity.HIGH
    fail_on_untriaged: bool = True
    wait_for_scan: bool = False
    encryption: tuple[str, ...] = DEFAULT_ENCRYPTION
    require_immutable_tags: bool = False
    model_name_contains: str | None = None
    require_env: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_REQUIRE_ENV))
    endpoint: str | None = None
    instance_types: tuple[str, ...] = DEFAULT_INSTANCE_TYPES
    #: ecr-image-user: the os/architecture to read ("linux/arm64"); None: from the endpoint.
    platform: str | None = None
    #: Models from the Model Registry must have ModelApprovalStatus Approved.
    require_model_approval: bool = False
    commit_sha: str | None = None
    #: deployed-image-signed: AWS Signer signing profile ARNs trusted to sign what serves.
    signing_profile: tuple[str, ...] = ()
    #: deployed-image-signed: SHA-256 of the DER of the AWS Signer roots to trust; empty: the
    #: vendored commercial-region root (checks._notation.AWS_SIGNER_ROOTS).
    signer_root_sha256: tuple[str, ...] = ()
    #: deployed-image-signed: Sigstore certificate identities (SAN) trusted to sign or attest
    #: what serves (cosign, GitHub artifact attestations); exact strings.
    attestation_identity: tuple[str, ...] = ()
    #: The OIDC issuer those identities must come from.
    attestation_issuer: str = "https://token.actions.githubusercontent.com"
    #: The Sigstore trusted root to verify bundles with; None: the one shipped with sigstore.
    sigstore_trusted_root: str | None = None
    #: OWNER/REPO a build provenance must name; None: GITHUB_REPOSITORY.
    attestation_repository: str | None = None
    timeout: float = 1800.0
    poll_min: float = 2.0
    poll_max: float = 6.0
    endpoint_grace: float = 600.0
    junit: str | None = None
    summary: str | None = None
    evidence: str | None = None
    #: SARIF 2.1.0 report for GitHub code scanning (soc2gate.report.sarif).
    sarif: str | None = None
    #: The repository file every SARIF result points at; None: Dockerfile, the config file or
    #: the workflow (cli.sarif_location).
    sarif_location: str | None = None
    #: Also report findings that do not block (waived, VEX'd, below the threshold) as warnings.
    sarif_all: bool = False
    sign_kms_key: str | None = None
    evidence_s3: str | None = None
    evidence_kms_key: str | None = None
    #: Object Lock retention of uploaded evidence, in days (0: none).
    evidence_retention: int = 0
    evidence_retention_mode: str = "COMPLIANCE"
    waivers: str | None = None
    #: OpenVEX 0.2.0 documents (soc2gate.vex).
    vex: tuple[str, ...] = ()
    #: Seconds after which a VEX statement no longer applies (0: any age applies).
    vex_max_age: float = 0.0
    fail_only_fixable: bool = False
    #: Seconds after which a completed scan is stale and fails (0: any age passes).
    max_scan_age: float = 0.0
    #: Findings with a known exploit (enhanced exploitAvailable YES) at or above this fail,
    #: even below --fail-on; None: off.
    fail_on_exploitable: Severity | None = None
    #: Findings Amazon Inspector marks SUPPRESSED do not count (recorded in the evidence).
    honour_inspector_suppressions: bool = False
    log_lines: int = 50
    role_arn: str | None = None
    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    enable: tuple[str, ...] = ()
    concurrency: int = 8
    max_findings_shown: int = 10
    #: Fleet: one mapping of option overrides per target (``name`` plus any per-target key).
    targets: tuple[Mapping[str, Any], ...] = ()
    #: Fleet: run only the targets with these names (all when empty).
    target: tuple[str, ...] = ()
    #: Custom checks (soc2gate.custom_spec): a read-only AWS call plus a JMESPath assertion.
    custom_checks: tuple[CustomCheckSpec, ...] = ()
    #: Which checks run besides --enable/--skip/--only: "baseline" or "strict"; None: baseline.
    preset: str | None = None
    #: Deployment safety checks (issue 21).
    allowed_kms_keys: tuple[str, ...] = ()
    allowed_subnets: tuple[str, ...] = ()
    allowed_security_groups: tuple[str, ...] = ()
    allowed_repository_access: tuple[str, ...] = ("Platform",)
    min_instances: int = 2
    require_autoscaling: bool = False
    #: Seconds a rollback alarm may have been INSUFFICIENT_DATA.
    max_insufficient_data: float = 3600.0
    min_capture_percent: int = 100
    capture_buckets: tuple[str, ...] = ()
    model_card: str | None = None

    # ---- derived values -------------------------------------------------------------------
    @property
    def names_a_registry(self) -> bool:
        """The gated repository is read in a registry of its own (a central or cross-account
        one): --registry-id, --registry-region or --registry-role-arn is set."""
        return bool(self.registry_id or self.registry_region or self.registry_role_arn)

    def resolved_sha(self, environ: Mapping[str, str] | None = None) -> str | None:
        """--commit-sha, else GITHUB_SHA, else CODEBUILD_RESOLVED_SOURCE_VERSION."""
        env = os.environ if environ is None else environ
        for value in (
            self.commit_sha,
            env.get("GITHUB_SHA"),
            env.get("CODEBUILD_RESOLVED_SOURCE_VERSION"),
        ):
            if value and value.strip():
                return value.strip()
        return None

    def resolved_repository(self, environ: Mapping[str, str] | None = None) -> str | None:
        """--attestation-repository, else GITHUB_REPOSITORY."""
        env = os.environ if environ is None else environ
        value = self.attestation_repository or env.get("GITHUB_REPOSITORY") or ""
        return value.strip() or None

    def expanded_tags(self, environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
        """Required tags with ``{sha}`` / ``{short_sha}`` filled in; ConfigError if no SHA is known."""
        return tuple(self._expand(tag, environ) for tag in self.require_tags)

    def gated_tag(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The tag whose scan findings gate the build: --scan-tag, else the first required tag."""
        tag = self.scan_tag or (self.require_tags[0] if self.require_tags else None)
        return self._expand(tag, environ) if tag else None

    def _expand(self, tag: str, environ: Mapping[str, str] | None) -> str:
        if "{sha}" not in tag and "{short_sha}" not in tag:
            return tag
        sha = self.resolved_sha(environ)
        if not sha:
            raise ConfigError(
                f"tag {tag!r} needs a commit SHA: pass --commit-sha or set GITHUB_SHA "
                "or CODEBUILD_RESOLVED_SOURCE_VERSION"
            )
        return tag.replace("{short_sha}", sha[:7]).replace("{sha}", sha)


# ---- the option table ----------------------------------------------------------------------


def _str(name: str, value: Any) -> str:
    if isinstance(value, (bool, list, dict)) or value is None:
        raise ConfigError(f"{name}: expected a string, got {_type(value)}")
    text = str(value).strip()
    if not text:
        raise ConfigError(f"{name}: must not be empty")
    return text


def _account_id(name: str, value: Any) -> str:
    number = isinstance(value, int) and not isinstance(value, bool)
    if number and len(str(value)) != 12:
        # YAML reads an unquoted 012345678901 as a number: the leading zero is gone (or it is
        # read as octal), so the account is not the one written.
        raise ConfigError(
            f"{name}: quote the account id (YAML read it as the number {value}); "
            'write it as a string, e.g. "012345678901"'
        )
    text = _str(name, str(value) if number else value)
    if not re.fullmatch(r"\d{12}", text):
        raise ConfigError(f"{name}: expected a 12-digit AWS account id, got {text!r}")
    return text


def _region(name: str, value: Any) -> str:
    text = _str(name, value)
    if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d+", text):
        raise ConfigError(f"{name}: expected an AWS region such as eu-west-1, got {text!r}")
    return text


#: Region prefixes of the AWS partitions other than ``aws``.
_PARTITIONS = (
    ("cn-", "aws-cn"),
    ("us-gov-", "aws-us-gov"),
    ("us-isob-", "aws-iso-b"),
    ("us-iso-", "aws-iso"),
)


def partition(region: str) -> str:
    """The ARN partition of ``region`` (``aws`` for the commercial regions and for ``*``)."""
    return next((p for prefix, p in _PARTITIONS if region.startswith(prefix)), "aws")


def _role_arn(name: str, value: Any) -> str:
    text = _str(name, value)
    if not re.fullmatch(r"arn:aws[a-z-]*:iam::\d{12}:role/\S+", text):
        raise ConfigError(
            f"{name}: expected an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME), got {text!r}"
        )
    return text


def _str_list(name: str, value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, (list, tuple)) else [value]
    out: list[str] = []
    for item in items:
        if isinstance(item, str) and ("\n" in item or "," in item):
            out.extend(p.strip() for p in item.replace("\n", ",").split(",") if p.strip())
        else:
            out.append(_str(name, item))
    return tuple(dict.fromkeys(out))


_SIGNING_PROFILE = re.compile(
    r"^arn:aws(-[a-z]+)*:signer:[a-z0-9-]+:[0-9]{12}:/signing-profiles/[a-zA-Z0-9_]{2,}$"
)


def _signing_profiles(name: str, value: Any) -> tuple[str, ...]:
    """AWS Signer signing profile ARNs: a profile, not a profile version, no wildcards."""
    arns = _str_list(name, value)
    for arn in arns:
        if not _SIGNING_PROFILE.match(arn):
            raise ConfigError(
                f"{name}: {arn!r} is not a signing profile ARN "
                "(arn:aws:signer:REGION:ACCOUNT:/signing-profiles/NAME, without a version and "
                "without wildcards)"
            )
    return arns


def _identities(name: str, value: Any) -> tuple[str, ...]:
    """Sigstore certificate identities: exact SANs (a URI or an email), never patterns."""
    identities = _str_list(name, value)
    for identity in identities:
        if any(c in identity for c in "*?[]^$") or not (
            identity.startswith("https://") or re.fullmatch(r"[^@\s]+@[^@\s]+", identity)
        ):
            raise ConfigError(
                f"{name}: {identity!r} is not an exact certificate identity: give the SAN the "
                "signing certificate must carry, e.g. https://github.com/OWNER/REPO/.github/"
                "workflows/release.yml@refs/heads/main (no wildcards or patterns)"
            )
    return identities


def _https_url(name: str, value: Any) -> str:
    text = _str(name, value)
    if not text.startswith("https://"):
        raise ConfigError(f"{name}: {text!r} is not an https:// URL")
    return text


def _trusted_root_file(name: str, value: Any) -> str:
    """A Sigstore trusted_root.json that exists and says it is one (the library reads it all
    when a bundle is verified)."""
    path = _str(name, value)
    try:
        doc = json.loads(Path(path).read_bytes())
    except OSError as exc:
        raise ConfigError(f"{name}: cannot read {path}: {exc.strerror}") from None
    except ValueError:
        raise ConfigError(f"{name}: {path} is not JSON") from None
    media_type = doc.get("mediaType") if isinstance(doc, dict) else None
    if not str(media_type or "").startswith("application/vnd.dev.sigstore.trustedroot+json"):
        raise ConfigError(
            f"{name}: {path} is not a Sigstore trusted root (mediaType {media_type!r}): pin the "
            "trusted_root.json of your Sigstore instance (public-good: targets/trusted_root.json "
            "of github.com/sigstore/root-signing)"
        )
    return path


def _owner_repo(name: str, value: Any) -> str:
    text = _str(name, value)
    if not re.fullmatch(r"[A-Za-z0-9-]+/[A-Za-z0-9._-]+", text):
        raise ConfigError(f"{name}: {text!r} is not OWNER/REPO")
    return text


def _sha256_list(name: str, value: Any) -> tuple[str, ...]:
    hashes = tuple(h.lower() for h in _str_list(name, value))
    for h in hashes:
        if not re.fullmatch(r"[0-9a-f]{64}", h):
            raise ConfigError(f"{name}: {h!r} is not a SHA-256 in hex (64 characters)")
    return hashes


def _bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip() in ("true", "false"):
        return value.strip() == "true"
    raise ConfigError(f"{name}: expected true or false, got {value!r}")


def _platform(name: str, value: Any) -> str:
    text = _str(name, value)
    parts = text.split("/")
    if len(parts) not in (2, 3) or not all(p.strip() for p in parts):
        raise ConfigError(f"{name}: expected OS/ARCHITECTURE such as linux/arm64, got {text!r}")
    return text


def _duration(name: str, value: Any) -> float:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise ConfigError(f"{name}: {exc}") from None


def _severity(name: str, value: Any) -> Severity:
    try:
        sev = Severity.parse(_str(name, value))
    except ValueError as exc:
        raise ConfigError(f"{name}: {exc}") from None
    if not sev.ranked:
        raise ConfigError(f"{name}: {sev.name} has no rank; use --fail-on-untriaged for it")
    return sev


def _scan_age(name: str, value: Any) -> float:
    """A scan age: ``7d``, ``36h``, ``90m`` (durations, plus whole days); more than zero."""
    raw = value.strip().lower() if isinstance(value, str) else value
    if isinstance(raw, str) and raw.endswith("d") and raw[:-1].isdigit():
        seconds = float(int(raw[:-1]) * 86400)
    else:
        seconds = _duration(name, value)
    if seconds <= 0:
        raise ConfigError(f"{name}: must be more than zero (e.g. 7d, 36h), got {value!r}")
    return seconds


def _sarif_location(name: str, value: Any) -> str:
    """A file of the repository, relative to its root: what code scanning shows results on."""
    text = _str(name, value).replace("\\", "/")
    parts = text.split("/")
    if text.startswith("/") or "://" in text or ".." in parts:
        raise ConfigError(
            f"{name}: expected a path relative to the repository root (e.g. Dockerfile or "
            f"deploy/Dockerfile), got {text!r}"
        )
    path = "/".join(p for p in parts if p not in ("", "."))
    if not path:
        raise ConfigError(f"{name}: expected the path of a file of the repository, got {text!r}")
    return path


def _whole(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool):
        raise ConfigError(f"{name}: expected an integer, got {value!r}")
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ConfigError(f"{name}: expected an integer, got {value!r}") from None
    if number < minimum:
        raise ConfigError(f"{name}: must be at least {minimum}, got {number}")
    return number


def _int(name: str, value: Any) -> int:
    return _whole(name, value, 1)


def _count(name: str, value: Any) -> int:
    return _whole(name, value, 0)


def _targets(name: str, value: Any) -> tuple[dict[str, Any], ...]:
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{name}: expected a non-empty list of target mappings")
    out = []
    for i, item in enumerate(value):
        where = f"{name}[{i}]"
        if not isinstance(item, Mapping):
            raise ConfigError(f"{where}: expected a mapping, got {_type(item)}")
        entry = dict(item)
        label = entry.pop("name", None)
        bad = sorted(k for k in entry if k in RUN_LEVEL_KEYS)
        if bad:
            raise ConfigError(f"{where}: {bad[0]} applies to the whole run, not to one target")
        parsed = parse_mapping(entry, where)
        if label is not None:
            parsed["name"] = _str(f"{where}.name", label)
        out.append(parsed)
    return tuple(out)


def _s3_url(name: str, value: Any) -> str:
    text = _str(name, value)
    bucket = text[len("s3://") :].split("/", 1)[0] if text.startswith("s3://") else ""
    if not bucket or any(c.isspace() for c in text):
        raise ConfigError(f"{name}: expected s3://bucket/prefix, got {text!r}")
    return text.rstrip("/")


def _days(name: str, value: Any) -> int:
    """Whole days: ``400d`` or ``400``."""
    raw = str(value).strip().lower() if isinstance(value, (str, int)) else ""
    number = raw[:-1] if raw.endswith("d") else raw
    if isinstance(value, bool) or not number.isdigit() or int(number) < 1:
        raise ConfigError(f"{name}: expected a number of days such as 400d, got {value!r}")
    return int(number)


def _lock_mode(name: str, value: Any) -> str:
    mode = _str(name, value).upper()
    if mode not in ("COMPLIANCE", "GOVERNANCE"):
        raise ConfigError(f"{name}: expected COMPLIANCE or GOVERNANCE, got {value!r}")
    return mode


def _env(name: str, value: Any) -> dict[str, str]:
    pairs: dict[str, str] = {}
    if isinstance(value, Mapping):
        items = list(value.items())
    else:
        items = []
        for entry in _str_list(name, value):
            key, sep, val = entry.partition("=")
            if not sep:
                raise ConfigError(f"{name}: expected KEY=VALUE, got {entry!r}")
            items.append((key, val))
    for key, val in items:
        key = str(key).strip()
        if not key:
            raise ConfigError(f"{name}: empty environment key")
        if isinstance(val, bool):
            val = "true" if val else "false"  # YAML reads `true` as a boolean
        if val is None or isinstance(val, (list, dict)):
            raise ConfigError(f"{name}: value of {key} must be a string, got {_type(val)}")
        pairs[key] = str(val)
    return pairs


def _preset(name: str, value: Any) -> str:
    text = _str(name, value).lower()
    if text not in PRESETS:
        raise ConfigError(f"{name}: expected one of {', '.join(PRESETS)}, got {value!r}")
    return text


def _access_modes(name: str, value: Any) -> tuple[str, ...]:
    modes = _str_list(name, value)
    for mode in modes:
        if mode not in REPOSITORY_ACCESS_MODES:
            raise ConfigError(
                f"{name}: expected {' or '.join(REPOSITORY_ACCESS_MODES)}, got {mode!r}"
            )
    return modes


def _percent(name: str, value: Any) -> int:
    number = _whole(name, value, 1)
    if number > 100:
        raise ConfigError(f"{name}: must be at most 100, got {number}")
    return number


def _bucket_names(name: str, value: Any) -> tuple[str, ...]:
    buckets = _str_list(name, value)
    for bucket in buckets:
        if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", bucket):
            raise ConfigError(f"{name}: expected an S3 bucket name (no s3://), got {bucket!r}")
    return buckets


def _custom_checks(name: str, value: Any) -> tuple[CustomCheckSpec, ...]:
    return parse_custom_checks(name, value)


def _type(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__


@dataclass(frozen=True)
class Option:
    """One setting: its config key, CLI flag, parser and help text."""

    key: str
    parse: Callable[[str, Any], Any]
    help: str
    repeat: bool = False  # flag may be given several times (list-valued)
    flag_bool: bool = False  # a CLI switch without a value
    metavar: str | None = None
    cli: bool = True  # also a flag and an action input (False: config file only)

    @property
    def flag(self) -> str:
        return "--" + _FLAG_NAMES.get(self.key, self.key.replace("_", "-"))


# Flags whose names are singular while the config key is a list.
_FLAG_NAMES = {
    "require_tags": "require-tag",
    "instance_types": "instance-type",
    "allowed_kms_keys": "allowed-kms-key",
    "allowed_subnets": "allowed-subnet",
    "allowed_security_groups": "allowed-security-group",
    "capture_buckets": "capture-bucket",
}

OPTIONS: tuple[Option, ...] = (
    Option("region", _str, "AWS region (default: AWS_REGION / AWS_DEFAULT_REGION / profile)"),
    Option("profile", _str, "AWS named profile (default: AWS_PROFILE / the credential chain)"),
    Option(
        "repository",
        _str,
        "ECR repository to gate: its name, or its URI "
        "(ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME sets --registry-id and --registry-region)",
    ),
    Option(
        "registry_id",
        _account_id,
        "account that owns the gated repository, for a central or cross-account registry "
        "(default: the caller's)",
        metavar="ACCOUNT",
    ),
    Option(
        "registry_region",
        _region,
        "region of the gated repository's registry (default: --region)",
        metavar="REGION",
    ),
    Option(
        "registry_role_arn",
        _role_arn,
        "role in the registry's account the gate assumes for its ECR and Inspector reads "
        "(needed to read that registry's scanning configuration and Inspector coverage)",
        metavar="ARN",
    ),
    Option(
        "require_tags",
        _str_list,
        "image tag that must exist; {sha} and {short_sha} expand to the commit SHA (repeatable)",
        repeat=True,
        metavar="TAG",
    ),
    Option(
        "scan_tag", _str, "tag whose scan findings gate the build (default: first --require-tag)"
    ),
    Option(
        "fail_on",
        _severity,
        "fail on findings at or above this severity: INFORMATIONAL, LOW, "
        "MEDIUM, HIGH, CRITICAL (default HIGH)",
        metavar="SEVERITY",
    ),
    Option(
        "fail_on_untriaged",
        _bool,
        "fail on UNDEFINED/UNTRIAGED findings (default true: an unrated finding could be critical)",
        metavar="true|false",
    ),
    Option(
        "wait_for_scan",
        _bool,
        "when no scan exists yet, wait for one instead of failing (default false)",
        metavar="true|false",
    ),
    Option(
        "encryption",
        _str_list,
        "allowed repository encryption type: AES256, KMS, KMS_DSSE (repeatable; default all three)",
        repeat=True,
        metavar="TYPE",
    ),
    Option("require_immutable_tags", _bool, "require IMMUTABLE image tags", flag_bool=True),
    Option(
        "model_name_contains",
        _str,
        "also check the newest model whose name contains this (with --endpoint, the "
        "endpoint's own models are always checked too)",
        metavar="TEXT",
    ),
    Option(
        "require_env",
        _env,
        "model environment marker KEY=VALUE (repeatable; default "
        "SOC2_COMPLIANT=true SECURITY_HARDENED=true)",
        repeat=True,
        metavar="KEY=VALUE",
    ),
    Option("endpoint", _str, "SageMaker endpoint name to gate"),
    Option(
        "instance_types",
        _str_list,
        "allowed instance type for every production variant (repeatable; default ml.c5.large)",
        repeat=True,
        metavar="TYPE",
    ),
    Option(
        "platform",
        _platform,
        "platform of a multi-platform image ecr-image-user reads, e.g. linux/arm64 (default: "
        "from the endpoint's instance types, Graviton ml.*g* is linux/arm64, else linux/amd64)",
        metavar="OS/ARCH",
    ),
    Option(
        "require_model_approval",
        _bool,
        "Model Registry models (ModelPackageName) must have ModelApprovalStatus Approved and "
        "ModelPackageStatus Completed",
        flag_bool=True,
    ),
    Option(
        "commit_sha",
        _str,
        "commit SHA for {sha} tags (default: GITHUB_SHA, CODEBUILD_RESOLVED_SOURCE_VERSION)",
        metavar="SHA",
    ),
    Option(
        "signing_profile",
        _signing_profiles,
        "deployed-image-signed: AWS Signer signing profile ARN trusted to sign the images that "
        "serve traffic (ECR managed signing or notation; repeatable)",
        repeat=True,
        metavar="ARN",
    ),
    Option(
        "signer_root_sha256",
        _sha256_list,
        "deployed-image-signed: SHA-256 of an AWS Signer root certificate to trust instead of "
        "the built-in commercial root (GovCloud; repeatable)",
        repeat=True,
        metavar="HEX",
    ),
    Option(
        "attestation_identity",
        _identities,
        "deployed-image-signed: Sigstore certificate identity (exact SAN, e.g. "
        "https://github.com/OWNER/REPO/.github/workflows/release.yml@refs/heads/main) trusted to "
        "sign or attest the images that serve traffic (cosign, GitHub artifact attestations; "
        "repeatable)",
        repeat=True,
        metavar="IDENTITY",
    ),
    Option(
        "attestation_issuer",
        _https_url,
        "deployed-image-signed: the OIDC issuer of --attestation-identity (default "
        "https://token.actions.githubusercontent.com, GitHub Actions)",
        metavar="URL",
    ),
    Option(
        "sigstore_trusted_root",
        _trusted_root_file,
        "deployed-image-signed: Sigstore trusted_root.json to verify bundles with (default: "
        "the production root shipped with the sigstore library; pin your own copy)",
        metavar="FILE",
    ),
    Option(
        "attestation_repository",
        _owner_repo,
        "deployed-image-signed: OWNER/REPO a SLSA build provenance must name (default: "
        "GITHUB_REPOSITORY); the commit is --commit-sha's",
        metavar="OWNER/REPO",
    ),
    Option(
        "timeout",
        _duration,
        "deadline for the whole run, e.g. 90s, 20m (default 30m)",
        metavar="DURATION",
    ),
    Option("poll_min", _duration, "shortest wait between polls (default 2s)", metavar="DURATION"),
    Option("poll_max", _duration, "longest wait between polls (default 6s)", metavar="DURATION"),
    Option(
        "endpoint_grace",
        _duration,
        "how long a missing endpoint is waited for before it fails (default 10m)",
        metavar="DURATION",
    ),
    Option("junit", _str, "write a JUnit XML report to this path", metavar="PATH"),
    Option(
        "summary",
        _str,
        "write the markdown summary (as in the GitHub step summary) to this path",
        metavar="PATH",
    ),
    Option(
        "evidence",
        _str,
        "write the SOC 2 evidence record (JSON with its SHA-256) to this path",
        metavar="PATH",
    ),
    Option(
        "sarif",
        _str,
        "write a SARIF 2.1.0 report for GitHub code scanning to this path (never changes the "
        "exit code)",
        metavar="PATH",
    ),
    Option(
        "sarif_location",
        _sarif_location,
        "repository file every SARIF result points at (default: Dockerfile if it exists, else "
        "the config file, else the workflow file of GITHUB_WORKFLOW_REF)",
        metavar="PATH",
    ),
    Option(
        "sarif_all",
        _bool,
        "also put findings that do not block (waived, VEX'd, below the threshold) in the SARIF "
        "report, as warnings",
        flag_bool=True,
    ),
    Option(
        "sign_kms_key",
        _str,
        "sign the evidence record with this asymmetric KMS key (id, ARN or alias; ECC_NIST_P256 "
        "or RSA; kms:GetPublicKey, kms:Sign)",
        metavar="KEY",
    ),
    Option(
        "evidence_s3",
        _s3_url,
        "upload the evidence record (and the JUnit report) under this s3://bucket/prefix",
        metavar="S3_URL",
    ),
    Option(
        "evidence_kms_key",
        _str,
        "encrypt uploaded evidence with this KMS key (SSE-KMS; default: the bucket's encryption)",
        metavar="KEY",
    ),
    Option(
        "evidence_retention",
        _days,
        "Object Lock retention of uploaded evidence, e.g. 400d (the bucket must have Object Lock)",
        metavar="DAYS",
    ),
    Option(
        "evidence_retention_mode",
        _lock_mode,
        "Object Lock mode of the retention: COMPLIANCE (default) or GOVERNANCE",
        metavar="MODE",
    ),
    Option(
        "waivers",
        _str,
        "waivers file of accepted findings, each with reason and expiry "
        "(default: .soc2gate-waivers.yml when it exists)",
        metavar="PATH",
    ),
    Option(
        "vex",
        _str_list,
        "OpenVEX 0.2.0 document: a not_affected or fixed statement naming the gated image's "
        "digest stops a finding from blocking (repeatable)",
        repeat=True,
        metavar="FILE",
    ),
    Option(
        "vex_max_age",
        _scan_age,
        "a VEX statement older than this no longer applies, e.g. 90d (default: any age)",
        metavar="DURATION",
    ),
    Option(
        "fail_only_fixable",
        _bool,
        "only findings with a fix available fail (enhanced scanning's fixAvailable; basic "
        "findings always count)",
        metavar="true|false",
    ),
    Option(
        "max_scan_age",
        _scan_age,
        "fail a scan completed longer ago than this, e.g. 7d, 36h (default: any age)",
        metavar="DURATION",
    ),
    Option(
        "fail_on_exploitable",
        _severity,
        "also fail findings with a known exploit (enhanced exploitAvailable YES) at or above this "
        "severity, even below --fail-on (default: off)",
        metavar="SEVERITY",
    ),
    Option(
        "honour_inspector_suppressions",
        _bool,
        "findings Amazon Inspector marks SUPPRESSED do not fail (default false: they count)",
        metavar="true|false",
    ),
    Option(
        "log_lines",
        _count,
        "CloudWatch log lines attached when the endpoint fails (default 50; 0 turns it off)",
        metavar="N",
    ),
    Option(
        "role_arn",
        _str,
        "assume this IAM role before checking (per target in a fleet)",
        metavar="ARN",
    ),
    Option("only", _str_list, "run only this check id (repeatable)", repeat=True, metavar="CHECK"),
    Option("skip", _str_list, "skip this check id (repeatable)", repeat=True, metavar="CHECK"),
    Option(
        "enable",
        _str_list,
        "turn on a check that is off by default (repeatable)",
        repeat=True,
        metavar="CHECK",
    ),
    Option(
        "preset",
        _preset,
        "which checks run: baseline (the checks on by default) or strict (baseline plus "
        "ecr-image-user and the deployment safety checks); --enable/--skip still apply by id",
        metavar="baseline|strict",
    ),
    Option(
        "allowed_kms_keys",
        _str_list,
        "KMS key (id, ARN, alias or alias ARN) the endpoint's storage and captured data may be "
        "encrypted with (repeatable; default: any key of yours; kms:DescribeKey)",
        repeat=True,
        metavar="KEY",
    ),
    Option(
        "allowed_subnets",
        _str_list,
        "subnet the models' VpcConfig may use (repeatable; default: any)",
        repeat=True,
        metavar="SUBNET",
    ),
    Option(
        "allowed_security_groups",
        _str_list,
        "security group the models' VpcConfig may use (repeatable; default: any)",
        repeat=True,
        metavar="GROUP",
    ),
    Option(
        "allowed_repository_access",
        _access_modes,
        "RepositoryAccessMode a model container may pull its image with: Platform (ECR) or Vpc "
        "(a private registry in your VPC) (repeatable; default Platform)",
        repeat=True,
        metavar="MODE",
    ),
    Option(
        "min_instances",
        _int,
        "instances every production variant must run, current and desired (default 2)",
        metavar="N",
    ),
    Option(
        "require_autoscaling",
        _bool,
        "every production variant must have an Application Auto Scaling target with "
        "MinCapacity at least --min-instances",
        flag_bool=True,
    ),
    Option(
        "max_insufficient_data",
        _duration,
        "how long a rollback alarm may have been INSUFFICIENT_DATA (default 1h)",
        metavar="DURATION",
    ),
    Option(
        "min_capture_percent",
        _percent,
        "lowest data capture sampling percentage allowed (default 100)",
        metavar="PERCENT",
    ),
    Option(
        "capture_buckets",
        _bucket_names,
        "S3 bucket data capture may write to (repeatable; default: any, named in the report)",
        repeat=True,
        metavar="BUCKET",
    ),
    Option(
        "model_card",
        _str,
        "the model card (name or ARN) that documents the deployed Model Registry package "
        "(default: the card registered with the package version)",
        metavar="NAME",
    ),
    Option(
        "targets",
        _targets,
        "fleet: list of targets, each a mapping of per-target keys (config file only)",
        cli=False,
    ),
    Option(
        "target",
        _str_list,
        "fleet: run only the target with this name (repeatable; see soc2gate list-targets)",
        repeat=True,
        metavar="NAME",
    ),
    Option(
        "custom_checks",
        _custom_checks,
        "checks of your own: a read-only AWS call plus a JMESPath assertion (config file only)",
        cli=False,
    ),
    Option("concurrency", _int, "checks run at once (default 8)", metavar="N"),
    Option(
        "max_findings_shown", _int, "worst findings listed in a failure (default 10)", metavar="N"
    ),
)
OPTION_BY_KEY = {opt.key: opt for opt in OPTIONS}
#: Keys that apply to a whole run; every other key may be set per fleet target.
RUN_LEVEL_KEYS = frozenset(
    {
        "timeout", "junit", "summary", "evidence", "waivers", "only", "skip", "enable",
        "concurrency", "max_findings_shown", "targets", "poll_min", "poll_max", "custom_checks",
        "sign_kms_key", "evidence_s3", "evidence_kms_key", "evidence_retention",
        "evidence_retention_mode", "target", "preset", "sarif", "sarif_location", "sarif_all",
        "vex", "vex_max_age",
    }
)  # fmt: skip


def parse_mapping(raw: Mapping[str, Any], source: str) -> dict[str, Any]:
    """Validate raw key/values (from YAML or flags) into GateConfig field values."""
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if not isinstance(key, str) or key not in OPTION_BY_KEY:
            close = difflib.get_close_matches(str(key), list(OPTION_BY_KEY), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"{source}: unknown key {key!r}{hint}")
        if value is None:
            raise ConfigError(f"{source}: {key} has no value")
        values[key] = OPTION_BY_KEY[key].parse(key, value)
    return values


def load_yaml(path: str) -> dict[str, Any]:
    """Read a config file: a YAML mapping of option keys. ConfigError on any problem."""
    import yaml

    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {path}: not UTF-8 text (byte {exc.start})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "malformed YAML"
        raise ConfigError(f"config file {path}{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path}: expected a mapping of keys, got {_type(data)}")
    return parse_mapping(data, f"config file {path}")


def build_config(
    file_values: Mapping[str, Any] | None = None,
    flag_values: Mapping[str, Any] | None = None,
    known_checks: Iterable[str] | None = None,
) -> GateConfig:
    """Defaults < file < flags, then cross-field validation."""
    merged: dict[str, Any] = {}
    merged.update(file_values or {})
    merged.update(flag_values or {})
    config = replace(GateConfig(), **merged)
    validate(config, known_checks)
    return config if config.targets else registry_of(config, "")


def validate_check_ids(config: GateConfig, known_checks: Iterable[str]) -> None:
    """--only / --skip / --enable name checks that exist. The registry's ids are handed in
    (by the CLI and by ``run_gate``): config sits below the checks and never imports them."""
    known = set(known_checks)
    check_clashes(config.custom_checks, known)
    known.update(spec.id for spec in config.custom_checks)
    for key in ("only", "skip", "enable"):
        for check_id in getattr(config, key):
            if check_id not in known:
                close = difflib.get_close_matches(check_id, sorted(known), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ConfigError(f"--{key}: unknown check id {check_id!r}{hint}")


def validate(config: GateConfig, known_checks: Iterable[str] | None = None) -> None:
    """Cross-field rules. Raises ConfigError with one line naming the problem."""
    if known_checks is not None:
        validate_check_ids(config, known_checks)
    both = set(config.only) & set(config.skip)
    if both:
        raise ConfigError(f"--only and --skip both name {', '.join(sorted(both))}")
    clash = set(config.enable) & set(config.skip)
    if clash:
        raise ConfigError(f"--enable and --skip both name {', '.join(sorted(clash))}")
    if config.preset and config.only:
        raise ConfigError(
            f"--preset {config.preset} and --only both choose which checks run: give one "
            "(with a preset, turn single checks off with --skip and on with --enable)"
        )
    if config.poll_min <= 0:
        raise ConfigError("poll_min: must be greater than 0")
    if config.poll_min > config.poll_max:
        raise ConfigError(
            f"poll_min ({config.poll_min:g}s) is greater than poll_max ({config.poll_max:g}s)"
        )
    if config.timeout <= 0:
        raise ConfigError("timeout: must be greater than 0")
    for enc in config.encryption:
        if enc not in DEFAULT_ENCRYPTION:
            raise ConfigError(
                f"encryption: unknown type {enc!r} (expected one of {', '.join(DEFAULT_ENCRYPTION)})"
            )
    validate_evidence(config)
    if config.targets:
        names = [name for name, _ in expand_targets(config, selected=False)]  # validates each
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ConfigError(f"targets: two targets are named {dupes[0]!r}; give each a name")
        unknown = [t for t in config.target if t not in names]
        if unknown:
            close = difflib.get_close_matches(unknown[0], names, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"--target: no target is named {unknown[0]!r}{hint}")
        return
    if config.target:
        raise ConfigError("--target needs a fleet: a config file with targets")
    validate_target(config, "")
    registry_of(config, "")


def validate_evidence(config: GateConfig) -> None:
    """Signing and upload options need somewhere to put the record."""
    if config.sign_kms_key and not (config.evidence or config.evidence_s3):
        raise ConfigError("--sign-kms-key needs --evidence or --evidence-s3: nothing to sign")
    if not config.evidence_s3:
        for key in ("evidence_kms_key", "evidence_retention"):
            if getattr(config, key):
                raise ConfigError(f"--{key.replace('_', '-')} needs --evidence-s3")


SIGNED_CHECK = "deployed-image-signed"


def validate_signing(config: GateConfig, prefix: str = "") -> None:
    """deployed-image-signed needs a trusted signer: turned on without one is a usage error,
    never a skip."""
    enabled = SIGNED_CHECK in config.enable or SIGNED_CHECK in config.only
    trusted = config.signing_profile or config.attestation_identity
    if enabled and SIGNED_CHECK not in config.skip and not trusted:
        raise ConfigError(
            f"{prefix}{SIGNED_CHECK} needs --signing-profile ARN (the AWS Signer profiles "
            "trusted to sign the images that serve traffic) and/or --attestation-identity "
            "(the Sigstore identities trusted to sign or attest them)"
        )
    sigstore_options = ("sigstore_trusted_root", "attestation_repository")
    for key in sigstore_options:
        if getattr(config, key) and not config.attestation_identity:
            raise ConfigError(
                f"{prefix}--{key.replace('_', '-')} needs --attestation-identity: without a "
                "trusted identity no Sigstore bundle is verified"
            )


def validate_target(config: GateConfig, where: str) -> None:
    """Rules for one target (the whole config when there is no fleet)."""
    prefix = f"{where}: " if where else ""
    if not config.repository and (config.require_tags or config.scan_tag):
        raise ConfigError(f"{prefix}--require-tag/--scan-tag need --repository")
    if config.require_immutable_tags and not config.repository:
        raise ConfigError(f"{prefix}--require-immutable-tags needs --repository")
    validate_signing(config, prefix)
    if not config.repository and not config.endpoint and not config.model_name_contains:
        raise ConfigError(
            f"{prefix}nothing to check: give --repository, --endpoint and/or --model-name-contains"
        )


#: An ECR registry host: ACCOUNT.dkr.ecr.REGION.amazonaws.com, its FIPS and China forms, and the
#: dual-stack ACCOUNT.dkr-ecr.REGION.on.aws: different host names for the same registry.
ECR_HOST = (
    r"(?P<account>\d{12})\.dkr[.-]ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)"
    r"\.(?:amazonaws\.com(?:\.cn)?|on\.aws)"
)
_REPOSITORY_URI = re.compile(rf"^{ECR_HOST}/(?P<name>[^:@\s]+)$")


def registry_of(config: GateConfig, where: str) -> GateConfig:
    """The config with ``repository`` as a bare name: a repository URI sets ``registry_id`` and
    ``registry_region`` (a clash with them set otherwise is a ConfigError); a registry role
    names the account; registry settings need a repository."""
    prefix = f"{where}: " if where else ""
    config = _split_uri(config, where)
    if config.names_a_registry and not config.repository:
        raise ConfigError(
            f"{prefix}--registry-id/--registry-region/--registry-role-arn need --repository"
        )
    role = config.registry_role_arn
    if role and config.registry_id and role.split(":")[4] != config.registry_id:
        raise ConfigError(
            f"{prefix}--registry-role-arn {role} is not in the registry's account "
            f"{config.registry_id}: the role must be one the registry's account owns"
        )
    region = config.registry_region or config.region
    if role and region and role.split(":")[1] != partition(region):
        raise ConfigError(
            f"{prefix}--registry-role-arn {role} is in partition {role.split(':')[1]}, but the "
            f"registry's region {region} is in {partition(region)}"
        )
    if role and not config.registry_id:
        config = replace(config, registry_id=role.split(":")[4])
    if config.registry_region == config.region and not config.registry_id:
        # The gate's own region: without an account or role that is the caller's registry, as
        # without --registry-region (a repository URI in another account keeps its id).
        config = replace(config, registry_region=None)
    return config


def _split_uri(config: GateConfig, where: str) -> GateConfig:
    """A repository URI becomes its name, ``registry_id`` and ``registry_region``."""
    prefix = f"{where}: " if where else ""
    repository = config.repository or ""
    if "://" in repository:
        raise ConfigError(
            f"{prefix}--repository {repository!r}: give the repository URI without a scheme "
            "(ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME) or the repository name"
        )
    # A name may hold dots and slashes (ml.team/model); a registry host starts ACCOUNT.dkr.
    if re.match(r"\d{12}\.dkr[.-]", repository):
        match = _REPOSITORY_URI.match(repository)
        if match is None:
            raise ConfigError(
                f"{prefix}--repository {repository!r}: expected an ECR repository URI "
                "ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME (no tag or digest) or a repository name"
            )
        for key, value in (("registry_id", match["account"]), ("registry_region", match["region"])):
            given = getattr(config, key)
            if given and given != value:
                raise ConfigError(
                    f"{prefix}--{key.replace('_', '-')} {given} contradicts --repository "
                    f"{repository}, which is in {value}"
                )
        config = replace(
            config,
            repository=match["name"],
            registry_id=match["account"],
            registry_region=match["region"],
        )
    return config


def target_name(config: GateConfig, overrides: Mapping[str, Any]) -> str:
    """A target's name: its ``name``, else region/endpoint-or-repository (+ role account)."""
    if overrides.get("name"):
        return str(overrides["name"])
    what = config.endpoint or config.repository or config.model_name_contains or "?"
    name = f"{config.region}/{what}" if config.region else what
    if config.role_arn and config.role_arn.count(":") >= 4:
        name = f"{config.role_arn.split(':')[4]}/{name}"
    return name


def expand_targets(config: GateConfig, selected: bool = True) -> list[tuple[str, GateConfig]]:
    """(name, config) per target; one unnamed target when the run is not a fleet. With
    ``--target`` only the targets it names (``selected=False``: every target)."""
    if not config.targets:
        return [("", registry_of(config, ""))]
    out = []
    # A run-wide repository URI names the registry every target inherits (as registry_id and
    # registry_region given run-wide do); a target's own URI names its own.
    base = _split_uri(config, "") if config.repository else config
    for i, overrides in enumerate(config.targets):
        values = {k: v for k, v in overrides.items() if k != "name"}
        own_uri = _REPOSITORY_URI.match(str(values.get("repository", "")))
        if own_uri and not {"registry_id", "registry_region"} & set(values):
            values.update(registry_id=None, registry_region=None)
        target = replace(base, targets=(), target=(), **values)
        name = target_name(target, overrides)
        validate_target(target, f"targets[{i}] ({name})")
        out.append((name, registry_of(target, f"targets[{i}] ({name})")))
    if selected and config.target:
        out = [(name, target) for name, target in out if name in config.target]
    return out


def config_keys() -> list[str]:
    return [f.name for f in fields(GateConfig)]


#: Action inputs that are not gate options.
ACTION_EXTRA_INPUTS = {
    "config": ("Path of a soc2gate YAML config file (inputs win over its keys)", ""),
}
#: Options that make no sense in a GitHub container action (credentials come from the env).
ACTION_EXCLUDED = {"profile"}
#: Defaults that differ in the action: the JUnit report is always written there.
ACTION_DEFAULTS = {"junit": "soc2gate-junit.xml"}


def action_input_names() -> list[str]:
    """Input names of action.yml, in order: one per option (its flag name), plus extras."""
    names = [opt.flag[2:] for opt in OPTIONS if opt.cli and opt.key not in ACTION_EXCLUDED]
    return names + list(ACTION_EXTRA_INPUTS)


def action_inputs(environ: Mapping[str, str]) -> tuple[dict[str, Any], str | None]:
    """(option values, config file) from INPUT_<NAME> variables; an empty input means unset.

    GitHub upper-cases the input name and keeps its hyphens: ``fail-on`` -> ``INPUT_FAIL-ON``.
    Booleans must be exactly true or false; list inputs take newlines or commas.
    """
    values: dict[str, Any] = {}
    for opt in OPTIONS:
        if opt.key in ACTION_EXCLUDED or not opt.cli:
            continue
        name = opt.flag[2:]
        raw = environ.get(f"INPUT_{name.upper()}", "").strip()
        if not raw and opt.key in ACTION_DEFAULTS:
            raw = ACTION_DEFAULTS[opt.key]
        if not raw:
            continue
        label = f"input {name}"
        if opt.flag_bool:
            if raw not in ("true", "false"):
                raise ConfigError(f"{label}: expected true or false, got {raw!r}")
            values[opt.key] = raw == "true"
        else:
            values[opt.key] = opt.parse(label, raw)
    config_file = environ.get("INPUT_CONFIG", "").strip() or None
    return values, config_file
