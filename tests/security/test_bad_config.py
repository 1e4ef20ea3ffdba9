"""Bad configuration, table-driven through the installed CLI: exit 2, one stderr line, no traceback.

Flags, YAML config files and GitHub Action inputs (``soc2gate action`` reads INPUT_*). AWS is a
closed local port: a case that slipped through validation would end in an AWS error (exit 3),
never reach anything off the box, and fail here.
"""

from __future__ import annotations

import concurrent.futures as cf
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from faults.harness import CliRun, run_cli

BASE = ("run", "--region", "us-east-1", "--repository", "repo", "--require-tag", "latest")


@dataclass(frozen=True)
class Bad:
    id: str
    args: tuple[str, ...]
    #: Substring of the one stderr line that names the problem.
    expect: str
    #: YAML written to config.yml in the run's directory ({config} in args is its path).
    config: str | bytes | None = None
    env: Mapping[str, str | None] = field(default_factory=dict)
    known_bug: str | None = None


CASES = [
    # ---- YAML files
    Bad(
        "malformed-yaml",
        (*BASE, "--config", "{config}"),
        "config.yml line 3: expected ',' or ']'",
        "repository: x\ntimeout: [1s\n",
    ),
    Bad("yaml-not-a-mapping", (*BASE, "--config", "{config}"), "expected a mapping", "- a\n- b\n"),
    Bad(
        "unknown-key",
        (*BASE, "--config", "{config}"),
        "unknown key 'repositry' (did you mean 'repository'?)",
        "repositry: x\n",
    ),
    Bad(
        "wrong-type-list",
        ("run", "--region", "us-east-1", "--config", "{config}"),
        "repository: expected a string, got list",
        "repository: [a, b]\n",
    ),
    Bad(
        "wrong-type-bool",
        (*BASE, "--config", "{config}"),
        "fail_on_untriaged: expected true or false",
        "fail_on_untriaged: maybe\n",
    ),
    Bad(
        "wrong-type-mapping",
        (*BASE, "--config", "{config}"),
        "timeout",
        "timeout: {minutes: 5}\n",
    ),
    Bad(
        "empty-repository-yaml",
        ("run", "--region", "us-east-1", "--config", "{config}"),
        "repository: must not be empty",
        'repository: ""\n',
    ),
    Bad(
        "key-without-value", (*BASE, "--config", "{config}"), "endpoint has no value", "endpoint:\n"
    ),
    Bad("config-not-found", (*BASE, "--config", "/nonexistent/soc2gate.yml"), "cannot read config"),
    Bad("config-not-utf8", (*BASE, "--config", "{config}"), "not UTF-8", b"repository: \xff\xfe\n"),
    # ---- flags
    Bad("unknown-flag", (*BASE, "--repositry", "x"), "did you mean --repository?"),
    Bad("wrong-type-int", (*BASE, "--concurrency", "many"), "expected an integer"),
    Bad("zero-concurrency", (*BASE, "--concurrency", "0"), "must be at least 1"),
    Bad("bad-duration", (*BASE, "--timeout", "10x"), "timeout"),
    Bad("nan-duration", (*BASE, "--poll-max", "nan"), "--poll-max: bad duration nan"),
    Bad("negative-timeout", (*BASE, "--timeout", "-5s"), "timeout"),
    Bad("zero-timeout", (*BASE, "--timeout", "0s"), "timeout"),
    Bad("bad-severity", (*BASE, "--fail-on", "SEVERE"), "unknown severity 'SEVERE'"),
    Bad("unranked-severity", (*BASE, "--fail-on", "UNDEFINED"), "UNDEFINED has no rank"),
    Bad("bad-boolean-flag", (*BASE, "--fail-on-untriaged", "yes"), "expected true or false"),
    Bad(
        "empty-repository",
        ("run", "--region", "us-east-1", "--repository", ""),
        "must not be empty",
    ),
    Bad("unknown-encryption", (*BASE, "--encryption", "DES"), "unknown type 'DES'"),
    Bad("env-without-value", (*BASE, "--require-env", "SOC2_COMPLIANT"), "expected KEY=VALUE"),
    Bad(
        "only-and-skip",
        (*BASE, "--only", "ecr-image-tags", "--skip", "ecr-image-tags"),
        "--only and --skip both name ecr-image-tags",
    ),
    Bad("poll-min-above-max", (*BASE, "--poll-min", "10s", "--poll-max", "1s"), "poll_min"),
    Bad("unknown-check", (*BASE, "--only", "ecr-image-tag"), "did you mean 'ecr-image-tags'?"),
    Bad(
        "tag-without-repository",
        ("run", "--region", "us-east-1", "--require-tag", "latest", "--endpoint", "e"),
        "need --repository",
    ),
    Bad("nothing-to-check", ("run", "--region", "us-east-1"), "nothing to check"),
    Bad(
        "sha-tag-without-sha",
        ("run", "--region", "us-east-1", "--repository", "r", "--require-tag", "x-{sha}"),
        "needs a commit SHA",
    ),
    Bad("unknown-profile", (*BASE, "--profile", "nope"), "AWS profile not found: nope"),
    Bad(
        "no-region",
        ("run", "--repository", "r", "--require-tag", "t"),
        "no AWS region",
        env={"AWS_REGION": None, "AWS_DEFAULT_REGION": None},
    ),
    Bad("waivers-not-found", (*BASE, "--waivers", "/nonexistent/waivers.yml"), "waivers"),
    # ---- report paths that cannot be written (a directory that is a regular file)
    *(
        Bad(
            f"unwritable-{flag}",
            (*BASE, "--poll-min", "0.05s", "--poll-max", "0.1s", f"--{flag}", "{file}/report"),
            f"--{flag}",
        )
        for flag in ("junit", "evidence", "summary")
    ),
    # ---- GitHub Action inputs
    Bad(
        "action-bad-boolean",
        ("action",),
        "input fail-on-untriaged: expected true or false, got 'yes'",
        env={"INPUT_REPOSITORY": "repo", "INPUT_FAIL-ON-UNTRIAGED": "yes"},
    ),
    Bad(
        "action-bad-duration",
        ("action",),
        "input timeout",
        env={"INPUT_REPOSITORY": "repo", "INPUT_TIMEOUT": "forever"},
    ),
    Bad(
        "action-bad-severity",
        ("action",),
        "input fail-on",
        env={"INPUT_REPOSITORY": "repo", "INPUT_FAIL-ON": "urgent"},
    ),
]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(case: Bad, tmp: Path, endpoint: str) -> CliRun:
    config = tmp / "config.yml"
    if isinstance(case.config, bytes):
        config.write_bytes(case.config)
    elif case.config is not None:
        config.write_text(case.config, encoding="utf-8")
    regular_file = tmp / "a-file"
    regular_file.write_text("not a directory\n", encoding="utf-8")
    args = [
        a.replace("{config}", str(config)).replace("{file}", str(regular_file)) for a in case.args
    ]
    env = {"GITHUB_ACTIONS": None, "GITHUB_SHA": None, **case.env}
    # The harness adds its own --junit (which would win): not for the case about --junit itself.
    own_junit = "--junit" not in case.args
    return run_cli(args, tmp, endpoint_url=endpoint, extra_env=env, timeout=60, junit=own_junit)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CliRun]:
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    with cf.ThreadPoolExecutor(max_workers=6) as pool:
        futures = {
            case.id: pool.submit(_run, case, tmp_path_factory.mktemp(case.id), endpoint)
            for case in CASES
        }
        return {name: future.result() for name, future in futures.items()}


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(
            case,
            id=case.id,
            marks=[pytest.mark.xfail(strict=True, reason=case.known_bug)] if case.known_bug else [],
        )
        for case in CASES
    ],
)
def test_bad_configuration_is_one_line_and_exit_2(case: Bad, outcomes: dict[str, CliRun]) -> None:
    run = outcomes[case.id]
    assert "Traceback" not in run.stderr, run.stderr
    lines = run.stderr.splitlines()
    assert run.code == 2, f"exit {run.code}:\n{run.output}"
    assert len(lines) == 1, f"expected one stderr line, got {len(lines)}:\n{run.stderr}"
    assert lines[0].startswith("soc2gate: error: "), lines[0]
    assert case.expect in lines[0], lines[0]
    assert run.stdout == "", run.stdout
    assert not run.junit.exists(), "a JUnit file was written for a run that never started"
