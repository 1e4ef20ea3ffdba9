"""The ``soc2gate`` command. ``main(argv) -> int`` is the only place that decides the exit code."""

from __future__ import annotations

import argparse
import difflib
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn

from soc2gate import __version__
from soc2gate.errors import ConfigError, Interrupted
from soc2gate.exitcodes import EXIT_CODE_HELP, ExitCode

if TYPE_CHECKING:
    from soc2gate.config import GateConfig
    from soc2gate.models import GateReport

DESCRIPTION = (
    "Deployment gate for SOC 2 hardened containers on ECR and SageMaker: checks the live "
    "state after a deploy, waits for states still settling, writes JUnit XML, exits non-zero "
    "when anything is wrong or could not be verified."
)


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing usage, so every usage error is one line."""

    def error(self, message: str) -> NoReturn:
        if message.startswith("unrecognized arguments:"):
            flags = [a for a in message.split(":", 1)[1].split() if a.startswith("--")]
            known = _all_flags(self)
            for flag in flags:
                close = difflib.get_close_matches(flag.split("=")[0], known, n=1)
                if close:
                    message += f" (did you mean {close[0]}?)"
                    break
        raise ConfigError(
            message if self.prog == "soc2gate" else f"{self.prog.split()[-1]}: {message}"
        )


def _all_flags(parser: argparse.ArgumentParser) -> list[str]:
    """Every --flag of a parser and its subcommands (argparse reports a subcommand's unknown
    arguments from the top-level parser)."""
    flags = []
    for action in parser._actions:
        flags += [o for o in action.option_strings if o.startswith("--")]
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                flags += _all_flags(sub)
    return flags


KMS_KEY_HELP = (
    "with --kms (required): the ARN of a key allowed to have signed (repeatable: an allow-list); "
    "a record naming another key fails. kms:Verify is asked of this key, in its ARN's region. "
    "Aliases and key ids are refused: pin the key ARN"
)


def build_parser() -> argparse.ArgumentParser:

    parser = _Parser(
        prog="soc2gate",
        description=DESCRIPTION,
        epilog=EXIT_CODE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"soc2gate {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    run = sub.add_parser(
        "run",
        help="run the gate against AWS (or AWS_ENDPOINT_URL)",
        description=DESCRIPTION + " Every flag is also a key of the --config YAML file "
        "(snake_case); flags win.",
        epilog=EXIT_CODE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("--config", metavar="FILE", help="YAML file with the same keys (snake_case)")
    _add_option_flags(run)
    run.add_argument("--quiet", action="store_true", help="no progress lines on stderr")

    list_checks = sub.add_parser(
        "list-checks", help="list the checks: id, title, what each asserts"
    )
    list_checks.add_argument(
        "--config", metavar="FILE", help="also list the custom_checks of this config file"
    )
    policy = sub.add_parser(
        "iam-policy",
        help="print the least-privilege IAM policy for the checks a config runs (and custom ones)",
        description="Print the IAM policy (JSON) that grants exactly the read actions the "
        "checks this configuration runs may call, built-in and custom_checks, scoped to its "
        "repository, endpoint and log group. Takes the same --config and flags as `run`.",
    )
    policy.add_argument("--config", metavar="FILE", help="YAML file with the same keys as run")
    policy.add_argument(
        "--account",
        metavar="ID",
        help="AWS account id in resource ARNs (default: from --role-arn, else *)",
    )
    policy.add_argument(
        "--registry",
        action="store_true",
        help="print what a central registry's account grants instead: the policy of "
        "--registry-role-arn, or without it the repository policy for --principal",
    )
    policy.add_argument(
        "--principal",
        metavar="ARN",
        help="with --registry and no --registry-role-arn: who reads the repository "
        "(default: the root of --account)",
    )
    _add_option_flags(policy)
    demo = sub.add_parser(
        "demo",
        help="run the gate against a simulated AWS account on 127.0.0.1 (needs soc2gate[demo])",
    )
    from soc2gate.demo.cli import add_arguments

    add_arguments(demo)
    verify = sub.add_parser(
        "verify-evidence",
        help="recompute an evidence record's integrity checksum (SHA-256; not a signature)",
        description="Recompute the SHA-256 integrity checksum of an evidence record written by "
        "--evidence and compare it with the one the record carries (exit 0 match, 1 mismatch). "
        "A mismatch means the record was corrupted or edited without recomputing the checksum. "
        "A match does not prove that nobody edited it: the checksum is not a signature, and "
        "anyone who can edit the record can recompute it. A record signed with --sign-kms-key "
        "carries a KMS signature: --public-key FILE (offline) or --kms --kms-key ARN "
        "(kms:Verify with the key you pin) checks it too (exit 0 intact and signed by that key, "
        "1 modified, bad signature or another key, 3 the signature could not be checked); "
        "--require-signature fails an unsigned record and one signed before signatures covered "
        "their key ARN.",
    )
    verify.add_argument("path", metavar="PATH", help="evidence JSON written by --evidence")
    verify.add_argument(
        "--public-key",
        metavar="FILE",
        help="check the KMS signature offline with this public key (PEM, DER, or the base64 "
        "DER of `aws kms get-public-key`)",
    )
    verify.add_argument(
        "--kms",
        action="store_true",
        help="check the KMS signature with kms:Verify, asked of a key pinned with --kms-key",
    )
    verify.add_argument(
        "--kms-key",
        metavar="ARN",
        action="append",
        help=KMS_KEY_HELP,
    )
    verify.add_argument(
        "--require-signature",
        action="store_true",
        help="an unsigned record, or one signed before signatures covered their key ARN, fails "
        "(exit 1); needs --public-key or --kms",
    )
    audit = sub.add_parser(
        "audit-report",
        help="verify every evidence record of an audit period and write the report "
        "(HTML, Markdown, CSV)",
        description="Read every evidence record of a period from --evidence-s3 or a local "
        "folder, verify each (checksum; the KMS signature with --public-key or --kms), and "
        "write an auditor-facing report: per deployment rows, totals per SOC 2 criterion, "
        "failed or unverifiable runs, records that failed verification, gap days. Exit 0 every "
        "record verified, 1 some record was modified or badly signed, 3 some record could not "
        "be read or verified, 2 usage.",
    )
    where = audit.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--evidence-s3", metavar="S3_URL", help="s3://bucket/prefix of --evidence-s3"
    )
    where.add_argument("--evidence-dir", metavar="DIR", help="a folder of evidence records")
    audit.add_argument(
        "--from", dest="start", metavar="DATE", help="first day (default: a year ago)"
    )
    audit.add_argument("--to", dest="end", metavar="DATE", help="last day, UTC (default: today)")
    audit.add_argument("--public-key", metavar="FILE", help="check signatures with this key")
    audit.add_argument(
        "--kms",
        action="store_true",
        help="check signatures with kms:Verify, asked of a key pinned with --kms-key",
    )
    audit.add_argument("--kms-key", metavar="ARN", action="append", help=KMS_KEY_HELP)
    audit.add_argument(
        "--require-signature",
        action="store_true",
        help="an unsigned record, or one signed before signatures covered their key ARN, fails "
        "verification",
    )
    audit.add_argument("--html", metavar="FILE", help="write the report as one HTML page")
    audit.add_argument("--md", metavar="FILE", help="write the report as Markdown")
    audit.add_argument("--csv", metavar="FILE", help="write one CSV row per deployment")
    targets = sub.add_parser(
        "list-targets",
        help="print a fleet config's target names as JSON (for a strategy.matrix)",
        description="Print the names of the targets of a fleet config file as a JSON list, "
        "for a GitHub Actions strategy.matrix; run each with `soc2gate run --config FILE "
        "--target NAME`.",
    )
    targets.add_argument("--config", metavar="FILE", required=True, help="fleet config file")
    targets.add_argument(
        "--include",
        action="store_true",
        help="print objects {name, region, account} instead of names",
    )
    sub.add_parser(
        "action",
        help="GitHub Action entry point: reads INPUT_* variables, writes outputs and summary",
    )
    return parser


def _flag_values(args: argparse.Namespace) -> dict[str, Any]:
    from soc2gate.config import OPTIONS

    values: dict[str, Any] = {}
    for opt in OPTIONS:
        if not opt.cli:
            continue
        raw = getattr(args, opt.key, None)
        if raw is None:
            continue
        if isinstance(raw, list):
            raw = [r for r in raw]
            if opt.key == "require_env":
                parsed: dict[str, str] = {}
                for item in raw:
                    parsed.update(opt.parse(opt.flag, item))
                values[opt.key] = parsed
                continue
        values[opt.key] = opt.parse(opt.flag, raw)
    return values


def cmd_run(args: argparse.Namespace) -> int:
    from soc2gate.config import build_config, load_yaml

    file_values = load_yaml(args.config) if args.config else {}
    config = build_config(file_values, _flag_values(args), known_check_ids())
    return execute(config, quiet=args.quiet, config_file=args.config)


REPORT_OPTIONS = (
    ("junit", "JUnit report"),
    ("summary", "Summary"),
    ("evidence", "Evidence record"),
)


#: Set by docker/entrypoint.py, and only there, when a GitHub runner runs as root: the gate
#: (uid 1000) writes its reports into this directory, and the entrypoint, still root, copies
#: them to their paths in the root-owned workspace once the gate has exited.
STAGING_ENV = "SOC2GATE_STAGING_DIR"
#: The list of staged reports in STAGING_ENV: one JSON object per line, {"path", "staged"}.
STAGING_MANIFEST = "manifest.jsonl"


def _staging_dir() -> str:
    return os.environ.get(STAGING_ENV, "")


def _inside(path: str, directory: str) -> bool:
    real, base = os.path.realpath(path), os.path.realpath(directory)
    return os.path.commonpath([real, base]) == base


def check_report_paths(config: GateConfig) -> None:
    """Refuse, before any AWS call, a report path that cannot be written (exit 2)."""
    staging = _staging_dir()
    workspace = os.environ.get("GITHUB_WORKSPACE") or os.getcwd()
    for key, label in REPORT_OPTIONS:
        path = getattr(config, key)
        if not path:
            continue
        target = os.path.abspath(path)
        if os.path.isdir(target):
            raise ConfigError(f"--{key} {path}: is a directory, expected a file path")
        parent = os.path.dirname(target)
        probe = parent
        while not os.path.exists(probe):  # the nearest existing ancestor must be a directory
            probe = os.path.dirname(probe)
        if not os.path.isdir(probe):
            raise ConfigError(f"--{key} {path}: {probe} is not a directory")
        if staging:
            # The root entrypoint writes it, and only inside the workspace.
            if not _inside(target, workspace):
                raise ConfigError(
                    f"--{key} {path}: outside the workspace {workspace} (on a runner that runs "
                    f"as root, reports can only be written to the workspace)"
                )
            continue
        if not os.access(probe, os.W_OK | os.X_OK):
            raise ConfigError(f"--{key} {path}: {probe} is not writable ({label} cannot be saved)")


def known_check_ids() -> list[str]:
    from soc2gate.registry import all_checks

    return [check.id for check in all_checks()]


def sarif_location(config: GateConfig, config_file: str | None, environ: Mapping[str, str]) -> str:
    """The repository file every SARIF result points at: --sarif-location, else ``Dockerfile``
    when the repository has one, else the config file, else the workflow that runs the gate
    (GITHUB_WORKFLOW_REF); "" when there is none. Paths are relative to the repository root
    (GITHUB_WORKSPACE, else the working directory)."""
    from soc2gate.report.junit import annotation_file

    if config.sarif_location:
        return config.sarif_location
    root = os.path.abspath(environ.get("GITHUB_WORKSPACE") or os.getcwd())
    if os.path.isfile(os.path.join(root, "Dockerfile")):
        return "Dockerfile"
    if config_file:
        relative = os.path.relpath(os.path.abspath(config_file), root)
        if not relative.startswith(".."):
            return relative.replace(os.sep, "/")
    workflow = annotation_file(environ, "")
    return workflow


def _with_sarif_location(config: GateConfig, config_file: str | None) -> GateConfig:
    """--sarif needs a file of the repository for its results (code scanning drops results
    without a location): resolved before any AWS call, a usage error when there is none."""
    from dataclasses import replace

    if not config.sarif:
        return config
    location = sarif_location(config, config_file, os.environ)
    if not location:
        raise ConfigError(
            f"--sarif {config.sarif}: no file of the repository to put its results on (no "
            "Dockerfile here, no --config file, no GITHUB_WORKFLOW_REF): pass --sarif-location "
            "PATH, a file relative to the repository root"
        )
    return replace(config, sarif_location=location)


def execute(
    config: GateConfig,
    *,
    quiet: bool = False,
    github: bool = False,
    config_file: str | None = None,
) -> int:
    """Run the gate, write every report, print the table; return the exit code.

    The JUnit file is written whatever happens after the run starts: failure, error, interrupt.
    A report that cannot be written after all, or an evidence record that cannot be uploaded,
    makes a passing run exit 3: the run's outcome could not be recorded where the pipeline
    expects it. Every report (JUnit, summary, evidence record, local and in S3, step outputs)
    states that final exit code: the local reports are written again when it changes.
    """
    from datetime import datetime, timezone

    from soc2gate.runner import run_gate, stderr_progress

    check_report_paths(config)
    config = _with_sarif_location(config, config_file)
    from soc2gate.report.evidence_store import EvidenceOutput

    evidence_out = EvidenceOutput.prepare(config, os.environ)  # signing key, Object Lock: exit 2
    github = github or os.environ.get("GITHUB_ACTIONS") == "true"
    staging = _staging_dir()
    started_at = datetime.now(timezone.utc)
    # A signal while the checks run stops the waits (the run is reported interrupted); one
    # that arrives once the verdict is known does not cut the writing of the reports short: the
    # reports, the record and the exit code all state the verdict (a second signal still stops
    # the process at once).
    with _SIGNALS.run() as cancel:
        report = run_gate(config, progress=None if quiet else stderr_progress, cancel=cancel)
        code = _record_run(config, report, evidence_out, staging, started_at, github)
        if cancel.is_set() and not report.interrupted:
            print(
                f"soc2gate: {_SIGNALS.name or 'a signal'} arrived after the verdict: the reports "
                f"were written with it; exit {code}",
                file=sys.stderr,
            )
    return code


def _record_run(
    config: GateConfig,
    report: GateReport,
    evidence_out: Any,
    staging: str,
    started_at: Any,
    github: bool,
) -> int:
    """Write and upload every report of a finished run; print the table; the exit code."""
    from datetime import datetime, timezone

    from soc2gate.report import console, junit

    finished_at = datetime.now(timezone.utc)
    # The process's exit code, from here on the one every report states: 143 for SIGTERM
    # (the report alone says 130), and 3 once a report could not be written.
    code = int(_interrupt_code()) if report.interrupted else int(report.exit_code)
    if evidence_out is not None:  # built (and signed) once; 3 when it could not be signed
        code = evidence_out.build(report, started_at, finished_at, code)
    writers: dict[str, Callable[[str, int], object]] = {
        "junit": lambda path, code: junit.write(
            report,
            path,
            properties=_junit_properties(config),
            exit_code=code,
            # Where readers that annotate files put the results: the workflow, else the report
            # at the path the user gave (not the staging copy).
            source=junit.annotation_file(os.environ, config.junit or path),
        ),
        "evidence": lambda path, code: (
            evidence_out.write(path, code)
            if evidence_out is not None
            else _write_evidence(report, config, path, started_at, finished_at, code)
        ),
        "summary": lambda path, code: _write_summary(report, config, path, code, started_at),
    }
    staged: set[str] = set()
    written, code = _write_reports(config, writers, code, staging, staged)
    if evidence_out is not None and config.evidence_s3:
        junit_file = None
        if config.junit and ("JUnit report", config.junit) in written:
            junit_file = os.path.join(staging, "report-junit") if staging else config.junit
        # The record goes up with the code the run ends with (then the JUnit copy, which says
        # the same). When the record cannot, a passing run exits 3 and nothing else goes up,
        # and the local reports (written with 0) are written again with 3: no report says pass
        # while the process exits non-zero.
        uploaded = evidence_out.upload(code, junit_file, finished_at)
        if uploaded != code:
            code = uploaded
            written, code = _write_reports(config, writers, code, staging, staged)
        written += [("Evidence uploaded", url) for url in evidence_out.uploaded]
    # Last of the files, with the code the run ends with: it can no longer change, and the
    # SARIF writer never changes it (an unwritable SARIF file is a warning).
    if config.sarif:
        sarif_written = _write_sarif(config, report, code, staging, staged, started_at, finished_at)
        if sarif_written:
            written.append(("SARIF report", config.sarif))
    console.print_report(report, sys.stdout, exit_code=code)
    if github:
        _github_reports(report, config.junit or "", code, _gated(config, started_at))
    for label, path in written:
        print(f"{label}: {path}", file=sys.stdout)
    sys.stdout.flush()
    _warn_if_root()
    return code


def _write_reports(
    config: GateConfig,
    writers: dict[str, Callable[[str, int], object]],
    code: int,
    staging: str,
    staged: set[str],
) -> tuple[list[tuple[str, str]], int]:
    """Write every local report with the exit code ``code``; returns (written, exit code).

    A report that cannot be written makes a passing run exit 3; the reports already written
    (saying 0) are then written again with 3, so every report states the process's code.
    ``staged`` holds the paths already in the staging manifest (each is listed once)."""
    from soc2gate.report import junit

    for _attempt in range(2):
        before = code
        written: list[tuple[str, str]] = []
        for key, label in REPORT_OPTIONS:
            path = getattr(config, key)
            if not path:
                continue
            try:
                if staging:
                    target = os.path.join(staging, f"report-{key}")
                    parts = writers[key](target, code)
                    _stage_once(staging, os.path.abspath(path), target, staged)
                else:
                    parts = writers[key](path, code)
                written.append((label, path))
                # A JUnit report over 500 testcases comes in parts (junit.MAX_CASES_PER_FILE).
                if key == "junit" and isinstance(parts, list) and len(parts) > 1:
                    dests = junit.part_paths(path, len(parts))
                    for number, (part, dest) in enumerate(zip(parts, dests, strict=True), 1):
                        if number > 1:
                            if staging:
                                _stage_once(staging, os.path.abspath(dest), part, staged)
                            written.append((f"{label} part {number} of {len(parts)}", dest))
            except OSError as exc:
                print(
                    f"soc2gate: error: cannot write {label} {path}: {exc.strerror or exc}",
                    file=sys.stderr,
                )
                if code == ExitCode.PASSED:
                    code = ExitCode.ERROR
        if code == before:
            break
    return written, code


def _write_sarif(
    config: GateConfig,
    report: GateReport,
    code: int,
    staging: str,
    staged: set[str],
    started_at: Any,
    finished_at: Any,
) -> bool:
    """Write the SARIF report stating exit code ``code``; False (and a warning on stderr, the
    exit code unchanged) when it cannot be built or written."""
    from soc2gate.registry import checks_for
    from soc2gate.report import sarif

    path = config.sarif or ""
    try:
        checks = checks_for(config)
        log = sarif.build(
            report,
            config,
            config.sarif_location or "",
            exit_code=code,
            started_at=started_at,
            finished_at=finished_at,
            properties=_junit_properties(config),
            criteria={c.id: tuple(c.soc2) for c in checks},
            custom=frozenset(c.id for c in checks if getattr(c, "custom", False)),
        )
        if staging:
            if not _inside(
                os.path.abspath(path), os.environ.get("GITHUB_WORKSPACE") or os.getcwd()
            ):
                raise OSError(f"{path} is outside the workspace (reports are copied there only)")
            target = os.path.join(staging, "report-sarif")
            sarif.write(log, target)
            _stage_once(staging, os.path.abspath(path), target, staged)
        else:
            sarif.write(log, path)
    except Exception as exc:  # never let the SARIF report change the verdict's exit code
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        print(
            f"soc2gate: warning: cannot write SARIF report {path}: {why}; code scanning will "
            f"not get this run's results (exit code {code} unchanged)",
            file=sys.stderr,
            flush=True,
        )
        return False
    left_out = sarif.left_out(log)
    if left_out:
        print(
            f"soc2gate: warning: SARIF report {path}: {left_out} results left out, the lowest "
            "severities first, to stay within GitHub code scanning's limits (the run's "
            "properties say so)",
            file=sys.stderr,
            flush=True,
        )
    return True


def _stage_once(staging: str, path: str, staged_file: str, staged: set[str]) -> None:
    if path not in staged:
        _stage(staging, path, staged_file)
        staged.add(path)


def _junit_properties(config: GateConfig) -> dict[str, str]:
    """What was gated, for the <properties> CI reporters show beside the results."""
    sha = config.resolved_sha()
    run = os.environ.get("GITHUB_RUN_ID") or os.environ.get("CODEBUILD_BUILD_ID") or ""
    return {
        "region": config.region or os.environ.get("AWS_REGION") or "",
        "repository": config.repository or "",
        # A central or cross-account registry: its account ("caller" when only its region
        # differs) and region.
        "registry": (
            f"{config.registry_id or 'caller'}/"
            f"{config.registry_region or config.region or os.environ.get('AWS_REGION') or '?'}"
            if config.registry_id or config.registry_region
            else ""
        ),
        "endpoint": config.endpoint or "",
        "commit": sha or "",
        "run": run,
        "targets": str(len(config.targets)) if config.targets else "",
    }


def _stage(staging: str, path: str, staged: str) -> None:
    """Record a report written to ``staged`` for the root entrypoint to copy to ``path``."""
    line = json.dumps({"path": path, "staged": os.path.basename(staged)})
    with open(os.path.join(staging, STAGING_MANIFEST), "a", encoding="utf-8") as handle:
        handle.write(line + "\n")


ROOT_WARNING = (
    "soc2gate: warning: this run was as root (uid 0). The gate needs no privileges: run it "
    "as a non-root user. The soc2gate image's ENTRYPOINT drops root by itself, but CodeBuild "
    "ignores an image's ENTRYPOINT and runs buildspec commands as root unless the buildspec "
    "says `run-as: soc2gate` (or starts the gate through setpriv); see "
    "examples/codebuild/buildspec.yml."
)


def _warn_if_root() -> None:
    """Say loudly, as the last line of a run, that it ran as root.

    At the end rather than the start: a configuration error stays the one line on stderr.
    """
    geteuid = getattr(os, "geteuid", None)
    if geteuid is not None and geteuid() == 0:
        print(ROOT_WARNING, file=sys.stderr, flush=True)


def _write_evidence(
    report: GateReport,
    config: GateConfig,
    path: str,
    started_at: Any,
    finished_at: Any,
    code: int,
) -> None:
    from soc2gate.report import evidence

    record = evidence.build(report, config, os.environ, started_at, finished_at, exit_code=code)
    evidence.write(record, path)


def _write_summary(
    report: GateReport, config: GateConfig, path: str, code: int, started_at: Any = None
) -> None:
    from soc2gate.report import github as github_report

    gated = _gated(config, started_at)
    _write_text(path, github_report.summary(report, config.junit, exit_code=code, gated=gated))


def _gated(config: GateConfig, started_at: Any = None) -> dict[str, str]:
    """What was gated, for the step summary's header line."""
    try:
        tag = config.gated_tag(os.environ) or ""
    except ConfigError:  # no commit SHA for {sha}: the run refused it already
        tag = ""
    stamp = started_at.strftime("%Y-%m-%d %H:%M:%SZ") if started_at is not None else ""
    return {**_junit_properties(config), "tag": tag, "started": stamp}


def _write_text(path: str, text: str) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def _github_reports(
    report: GateReport, junit_path: str, code: int, gated: dict[str, str] | None = None
) -> None:
    """Annotations, the step summary and the step outputs, all stating the exit code ``code``.

    A GITHUB_STEP_SUMMARY or GITHUB_OUTPUT that cannot be written is a warning on stderr: the
    exit code stays the verdict's (the step still passes or fails on it, and a missing
    ``result`` output is never "pass").
    """
    from soc2gate.report import github

    for line in github.annotation_lines(report):
        print(line, file=sys.stdout)
    sys.stdout.flush()
    for env_name, text in (
        ("GITHUB_STEP_SUMMARY", github.summary(report, junit_path, exit_code=code, gated=gated)),
        ("GITHUB_OUTPUT", github.output_lines(github.outputs(report, junit_path, code))),
    ):
        path = os.environ.get(env_name)
        if not path:
            continue
        try:
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as exc:
            print(
                f"soc2gate: warning: cannot write {env_name} {path}: {exc.strerror or exc}; "
                f"the step will lack it (exit code {code} unchanged)",
                file=sys.stderr,
                flush=True,
            )


def cmd_action() -> int:
    """The GitHub Action entry point: inputs come from INPUT_<NAME> (hyphens kept)."""
    from soc2gate.config import action_inputs, build_config, load_yaml

    values, config_file = action_inputs(os.environ)
    file_values = load_yaml(config_file) if config_file else {}
    config = build_config(file_values, values, known_check_ids())
    return execute(config, github=True, config_file=config_file)


def _pinned_keys(command: str, args: argparse.Namespace) -> tuple[str, ...]:
    """The key ARNs of --kms-key (usage errors: --kms without one, one without --kms, an alias
    or key id instead of an ARN)."""
    from soc2gate.report import signing

    keys = tuple(args.kms_key or ())
    if keys and not args.kms:
        raise ConfigError(f"{command}: --kms-key needs --kms")
    if args.kms and not keys:
        raise ConfigError(
            f"{command}: --kms needs --kms-key ARN: the key allowed to have signed (repeatable). "
            "A record's own key_arn is not trusted: anyone who can write a record can name "
            "their own key"
        )
    try:
        return tuple(dict.fromkeys(signing.pinned_key(key) for key in keys))
    except ValueError as exc:
        raise ConfigError(f"{command}: {exc}") from None


def cmd_verify_evidence(args: argparse.Namespace) -> int:
    from soc2gate.report import signing

    path = args.path
    if args.public_key and args.kms:
        raise ConfigError("verify-evidence: give --public-key or --kms, not both")
    kms_keys = _pinned_keys("verify-evidence", args)
    if args.require_signature and not (args.public_key or args.kms):
        raise ConfigError(
            "verify-evidence: --require-signature needs --public-key FILE or --kms to check it"
        )
    public_key = None
    if args.public_key:
        try:
            with open(args.public_key, "rb") as handle:
                public_key = handle.read()
            signing.load_public_key(public_key)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read public key {args.public_key}: {exc}") from None
    kms = signing.KmsByRegion(_kms_client) if args.kms else None
    try:
        verdict = signing.verify_record(
            path,
            public_key=public_key,
            kms=kms,
            kms_keys=kms_keys,
            require_signature=args.require_signature,
        )
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read evidence record {path}: {exc}") from None
    print(verdict.message, file=sys.stdout if verdict.code == ExitCode.PASSED else sys.stderr)
    return verdict.code


def _kms_client(region: str | None) -> Any:
    from soc2gate.aws import AwsClients

    return AwsClients(region=region)("kms")


def cmd_audit_report(args: argparse.Namespace) -> int:
    from datetime import datetime, timedelta, timezone

    from soc2gate.report import audit, audit_render, signing

    try:
        end = audit_render.parse_day(args.end, "--to") if args.end else None
        end = end or datetime.now(timezone.utc).date()
        start = audit_render.parse_day(args.start, "--from") if args.start else None
        start = start or end - timedelta(days=364)
    except ValueError as exc:
        raise ConfigError(f"audit-report: {exc}") from None
    if start > end:
        raise ConfigError(f"audit-report: --from {start} is after --to {end}")
    if args.public_key and args.kms:
        raise ConfigError("audit-report: give --public-key or --kms, not both")
    kms_keys = _pinned_keys("audit-report", args)
    if args.require_signature and not (args.public_key or args.kms):
        raise ConfigError("audit-report: --require-signature needs --public-key FILE or --kms")
    public_key = None
    if args.public_key:
        try:
            with open(args.public_key, "rb") as handle:
                public_key = signing.load_public_key(handle.read())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read public key {args.public_key}: {exc}") from None
    if args.evidence_dir and not os.path.isdir(args.evidence_dir):
        raise ConfigError(f"audit-report: --evidence-dir {args.evidence_dir} is not a folder")
    kms = signing.KmsByRegion(_kms_client) if args.kms else None
    warnings: list[str] = []
    if args.evidence_s3:
        import botocore.exceptions

        from soc2gate.aws import AwsClients
        from soc2gate.config import OPTION_BY_KEY

        url = OPTION_BY_KEY["evidence_s3"].parse("--evidence-s3", args.evidence_s3)
        s3 = AwsClients()("s3")
        try:
            # An unversioned bucket keeps no trace of a record put over a FAIL: not audited.
            warnings = audit.bucket_protection(s3, url)
        except audit.ListingError as exc:
            print(f"soc2gate: error: cannot audit {url}: {exc}", file=sys.stderr)
            return ExitCode.ERROR
        records = audit.from_s3(s3, url, start, end)
        source = url
    else:
        records = audit.from_folder(args.evidence_dir)
        source = args.evidence_dir
    try:
        report = audit.collect(
            records,
            start,
            end,
            source,
            public_key=public_key,
            kms=kms,
            kms_keys=kms_keys,
            require_signature=args.require_signature,
        )
    except audit.ListingError as exc:
        print(f"soc2gate: error: cannot list {source}: {exc}", file=sys.stderr)
        return ExitCode.ERROR
    except Exception as exc:
        if args.evidence_s3 and isinstance(
            exc, (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError)
        ):
            print(
                f"soc2gate: error: cannot list {source} (s3:ListBucketVersions): {exc}",
                file=sys.stderr,
            )
            return ExitCode.ERROR
        raise
    report.warnings += warnings
    outputs = [
        (args.html, audit_render.to_html),
        (args.md, audit_render.to_markdown),
        (args.csv, audit_render.to_csv),
    ]
    if not any(path for path, _ in outputs):
        sys.stdout.write(audit_render.to_markdown(report))
    for path, render in outputs:
        if path:
            try:
                _write_text(path, render(report))
            except OSError as exc:
                print(f"soc2gate: error: cannot write {path}: {exc}", file=sys.stderr)
                return ExitCode.ERROR
            print(f"Audit report: {path}")
    for line in audit_render.headline(report):
        print(line)
    for entry in report.broken:
        print(f"soc2gate: VERIFICATION FAILED: {entry.explanation}", file=sys.stderr)
    for entry in report.unverifiable:
        print(f"soc2gate: could not verify {entry.source}: {entry.explanation}", file=sys.stderr)
    return report.exit_code


def cmd_list_targets(args: argparse.Namespace) -> int:
    from soc2gate.config import build_config, expand_targets, load_yaml

    config = build_config(load_yaml(args.config), {}, known_check_ids())
    if not config.targets:
        raise ConfigError(f"list-targets: {args.config} has no targets (not a fleet)")
    out: list[Any] = []
    for name, target in expand_targets(config):
        if args.include:
            role = target.role_arn or ""
            account = role.split(":")[4] if role.count(":") >= 4 else ""
            out.append({"name": name, "region": target.region or "", "account": account})
        else:
            out.append(name)
    print(json.dumps(out))
    return ExitCode.PASSED


def _add_option_flags(parser: argparse.ArgumentParser) -> None:
    """The option flags of ``run`` (one per config.OPTIONS entry with a flag)."""
    from soc2gate.config import OPTIONS

    for opt in OPTIONS:
        if not opt.cli:
            continue
        if opt.flag_bool:
            parser.add_argument(
                opt.flag, dest=opt.key, action="store_const", const=True, help=opt.help
            )
        else:
            parser.add_argument(
                opt.flag,
                dest=opt.key,
                action="append" if opt.repeat else "store",
                metavar=opt.metavar or opt.key.upper(),
                help=opt.help,
            )


def cmd_iam_policy(args: argparse.Namespace) -> int:
    from soc2gate.config import build_config, load_yaml
    from soc2gate.iam_policy import render

    file_values = load_yaml(args.config) if args.config else {}
    config = build_config(file_values, _flag_values(args), known_check_ids())
    notes: list[str] = []
    sys.stdout.write(render(config, args.account, args.registry, args.principal, notes))
    for note in notes:
        print(f"soc2gate: note: {note}", file=sys.stderr)
    return ExitCode.PASSED


def cmd_list_checks(config_file: str | None = None) -> int:
    from soc2gate.config import GateConfig as Config
    from soc2gate.config import load_yaml
    from soc2gate.custom_spec import check_clashes
    from soc2gate.registry import all_checks, checks_for

    checks = all_checks()
    if config_file:
        specs = tuple(load_yaml(config_file).get("custom_checks", ()))
        check_clashes(specs, {check.id for check in checks})
        checks = checks_for(Config(custom_checks=specs))
    for check in checks:
        extra = "" if check.default_enabled else " (off by default)"
        extra += " (custom)" if getattr(check, "custom", False) else ""
        print(f"{check.id}{extra}\n  {check.title}\n  asserts: {check.asserts}")
        print(f"  SOC 2: {', '.join(check.soc2)}\n")
    return ExitCode.PASSED


class _Signals:
    """SIGINT/SIGTERM handling without asynchronous exceptions while checks run.

    During a run a signal only sets ``cancel``: the runner stops waiting, marks unfinished
    checks as errors, and the reports are written. (A KeyboardInterrupt raised at an arbitrary
    point of the main thread can leave a future's lock held and hang the worker pool.) Before
    or after a run, or on a second signal, it interrupts at once.
    """

    def __init__(self) -> None:
        self.cancel = threading.Event()
        self.name = ""
        self.running = False

    def handle(self, signum: int, frame: Any) -> None:
        self.name = signal.Signals(signum).name
        if self.running and not self.cancel.is_set():
            self.cancel.set()
            return
        raise Interrupted(self.name)

    @contextmanager
    def run(self) -> Iterator[threading.Event]:
        self.running = True
        try:
            yield self.cancel
        finally:
            self.running = False


_SIGNALS = _Signals()


def _interrupt_code() -> ExitCode:
    return ExitCode.TERMINATED if _SIGNALS.name == "SIGTERM" else ExitCode.INTERRUPTED


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``soc2gate`` command; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, _SIGNALS.handle)
    try:
        return _main(argv)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _main(argv: list[str]) -> int:
    if argv == ["--version"]:  # answered before building the parser: no import it doesn't need
        print(f"soc2gate {__version__}")
        return ExitCode.PASSED
    try:
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # --help and --version
            return int(exc.code or 0)
        if args.command == "run":
            return cmd_run(args)
        if args.command == "list-checks":
            return cmd_list_checks(args.config)
        if args.command == "iam-policy":
            return cmd_iam_policy(args)
        if args.command == "action":
            return cmd_action()
        if args.command == "verify-evidence":
            return cmd_verify_evidence(args)
        if args.command == "list-targets":
            return cmd_list_targets(args)
        if args.command == "audit-report":
            return cmd_audit_report(args)
        if args.command == "demo":
            from soc2gate.demo.cli import run_demo

            return run_demo(args, main)
        parser.print_help(sys.stderr)
        return ExitCode.USAGE
    except ConfigError as exc:
        print(f"soc2gate: error: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    except (KeyboardInterrupt, Interrupted):
        print("soc2gate: interrupted", file=sys.stderr)
        return _interrupt_code()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitCode.ERROR
