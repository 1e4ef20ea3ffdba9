"""Secrets never reach an output: model environment values and the run's AWS credentials.

Models hold ``DB_PASSWORD=<random>`` (and other secrets) next to the SOC 2 markers: in a
PrimaryContainer, in a second ``Containers`` entry, and in a model whose marker has the wrong
value (so the check fails and talks about that model). The failed endpoint's CloudWatch logs
echo the secret, bare and as ``key=value``. The gated image's config carries one too. The CLI
runs with a random AWS secret access key and session token, and in one run AWS rejects the
signature with the message AWS really sends, which quotes the canonical request and with it the
``x-amz-security-token`` header.

Afterwards no output holds any of the values: stdout, stderr, and every file written under the
run's directory (JUnit, --summary, the GitHub step summary and outputs, the evidence record).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from faults.harness import FAST, CliRun, run_cli
from faults.proxy import FaultProxy, Request, aws_error

from soc2gate.demo.scenarios import (
    COMMIT_SHA,
    CONTAINER_USER,
    INSTANCE_TYPE,
    REPOSITORY,
    SCENARIOS,
    TAG_DEV_SHA,
    TAGS,
)
from soc2gate.demo.world import MotoWorld, variant

MARKERS = {"SOC2_COMPLIANT": "true", "SECURITY_HARDENED": "true"}


def _secret() -> str:
    return "s3cr3t" + secrets.token_hex(16)


@dataclass(frozen=True)
class Secrets:
    primary: str = _secret()
    container_0: str = _secret()
    container_1: str = _secret()
    wrong_marker: str = _secret()
    image_env: str = _secret()
    #: Only in the endpoint's logs, under a secret-looking key: redacted by pattern.
    log_only: str = _secret()
    access_key: str = _secret()
    session_token: str = "IQoJb3JpZ2luX2VjE" + secrets.token_hex(40)

    def values(self) -> dict[str, str]:
        return dict(self.__dict__)


SECRETS = Secrets()


def _model(world: MotoWorld, name: str, containers: list[dict[str, str]], image: str) -> None:
    if len(containers) == 1:
        world.create_model(name, containers[0], image=image)
    else:
        world.create_model(
            name, {}, containers=[{"Image": image, "Environment": env} for env in containers]
        )
    world.create_endpoint_config(f"{name}-config", [variant(name, INSTANCE_TYPE)])


def secret_world(world: MotoWorld) -> None:
    SCENARIOS["healthy"].setup(world)
    # Re-push the gated build with a secret in its image config, then settle its scan.
    digest = world.push_image(
        REPOSITORY,
        list(TAGS),
        CONTAINER_USER,
        revision=COMMIT_SHA + "-secret",
        env={"DB_PASSWORD": SECRETS.image_env},
    )
    world.set_scan(REPOSITORY, digest, "COMPLETE")
    image = world.image_uri(REPOSITORY, tag=TAG_DEV_SHA)
    deployed = [world.deployed_image(REPOSITORY, TAG_DEV_SHA)]
    _model(world, "primary", [{**MARKERS, "DB_PASSWORD": SECRETS.primary}], image)
    _model(
        world,
        "multi",
        [
            {**MARKERS, "API_TOKEN": SECRETS.container_0},
            {**MARKERS, "DB_PASSWORD": SECRETS.container_1},
        ],
        image,
    )
    _model(
        world,
        "wrong",
        [{**MARKERS, "SOC2_COMPLIANT": "false", "DB_PASSWORD": SECRETS.wrong_marker}],
        image,
    )
    for name, status in (("primary", "InService"), ("multi", "InService"), ("wrong", "Failed")):
        world.create_endpoint(name, f"{name}-config", status=status)
        world.set_endpoint(name, status=status, deployed_images=deployed)
    world.set_endpoint("wrong", status="Failed", failure_reason="ping health check failed")
    world.put_endpoint_logs(
        "wrong",
        [
            f"connecting to postgres with {SECRETS.wrong_marker}",
            f"DB_PASSWORD={SECRETS.wrong_marker}",
            f'{{"password": "{SECRETS.wrong_marker}"}}',
            f"loaded settings: SECRET_KEY: {SECRETS.log_only}",
            f"export AWS_SESSION_TOKEN={SECRETS.log_only}",
        ],
    )


def _signature_error(request: Request) -> Any:
    """AWS's answer to a bad signature, quoting the canonical request it expected."""
    headers = {k.lower(): v for k, v in request.headers.items()}
    canonical = "\n".join(
        [
            "POST",
            "/",
            "",
            f"content-type:{headers.get('content-type', '')}",
            f"host:{headers.get('host', '')}",
            f"x-amz-date:{headers.get('x-amz-date', '')}",
            f"x-amz-security-token:{headers.get('x-amz-security-token', '')}",
            f"x-amz-target:{headers.get('x-amz-target', '')}",
            "",
            "content-type;host;x-amz-date;x-amz-security-token;x-amz-target",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ]
    )
    message = (
        "The request signature we calculated does not match the signature you provided. Check "
        "your AWS Secret Access Key and signing method. Consult the service documentation for "
        f"details.\n\nThe Canonical String for this request should have been\n'{canonical}'\n\n"
        "The String-to-Sign should have been\n'AWS4-HMAC-SHA256\n20261126T093000Z\n"
        "20261126/us-east-1/ecr/aws4_request\n0123456789abcdef'\n"
    )
    return aws_error("InvalidSignatureException", message)


def _token_in_message(request: Request) -> Any:
    headers = {k.lower(): v for k, v in request.headers.items()}
    token = headers.get("x-amz-security-token", "")
    return aws_error("UnrecognizedClientException", f"x-amz-security-token: {token} is invalid")


RUNS: dict[str, tuple[tuple[str, ...], Any, set[int]]] = {
    # (gate flags, proxy arrangement, exit codes)
    "primary-container": (("--endpoint", "primary", "--enable", "ecr-image-user"), None, {0}),
    "containers-entry": (("--endpoint", "multi"), None, {0}),
    "wrong-marker-and-logs": (("--endpoint", "wrong"), None, {1}),
    "signature-rejected": (
        ("--endpoint", "primary"),
        lambda proxy: proxy.always("*", _signature_error),
        {3},
    ),
    "token-in-error": (
        ("--endpoint", "primary"),
        lambda proxy: proxy.always("*", _token_in_message),
        {3},
    ),
}


@pytest.fixture(scope="module")
def world() -> Iterator[MotoWorld]:
    with MotoWorld() as w:
        secret_world(w)
        yield w


def _run(world: MotoWorld, name: str, tmp: Path) -> CliRun:
    flags, arrange, _ = RUNS[name]
    args = [
        "run",
        *SCENARIOS["healthy"].gate_args(world),
        *FAST,
        "--timeout",
        "30s",
        "--summary",
        str(tmp / "summary.md"),
        "--evidence",
        str(tmp / "evidence.json"),
        *flags,
    ]
    env = {
        "AWS_SECRET_ACCESS_KEY": SECRETS.access_key,
        "AWS_SESSION_TOKEN": SECRETS.session_token,
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": str(tmp / "step-summary.md"),
        "GITHUB_OUTPUT": str(tmp / "github-output.txt"),
    }
    with FaultProxy(world.endpoint_url) as proxy:
        if arrange is not None:
            arrange(proxy)
        run = run_cli(args, tmp, endpoint_url=proxy.url, extra_env=env)
        assert not proxy.errors, proxy.errors
    return run


@pytest.fixture(scope="module")
def runs(world: MotoWorld, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = {}
    for name in RUNS:
        tmp = tmp_path_factory.mktemp(name)
        out[name] = (_run(world, name, tmp), tmp)
    return out


def _leaks(run: CliRun, tmp: Path) -> list[str]:
    found = []
    texts = {"stdout": run.stdout.encode(), "stderr": run.stderr.encode()}
    for path in sorted(tmp.rglob("*")):
        if path.is_file():
            texts[str(path.relative_to(tmp))] = path.read_bytes()
    for where, data in texts.items():
        for label, value in SECRETS.values().items():
            # The whole value, and its first 12 characters (a value cut short still leaks).
            for needle in (value, value[:12]):
                if needle.encode() in data:
                    found.append(f"{label} in {where}")
                    break
    return found


@pytest.mark.parametrize("name", list(RUNS))
def test_no_output_holds_a_secret(name: str, runs: dict[str, Any]) -> None:
    run, tmp = runs[name]
    expected = RUNS[name][2]
    assert run.code in expected, run.output
    written = sorted(p.name for p in tmp.iterdir())
    assert {"junit.xml", "step-summary.md", "github-output.txt"} <= set(written), written
    leaks = _leaks(run, tmp)
    assert leaks == [], "\n".join(leaks)


def test_the_runs_really_looked_at_the_secret_bearing_data(runs: dict[str, Any]) -> None:
    """Not vacuous: each run read the models, the logs and the rejection it was meant to."""
    run, tmp = runs["primary-container"]
    junit = (tmp / "junit.xml").read_text(encoding="utf-8")
    assert "present in 1 container(s) of primary" in junit, junit[:3000]
    assert re.search(r"^PASS\s+ecr-image-user\s", run.stdout, re.M), run.stdout
    run, tmp = runs["containers-entry"]
    junit = (tmp / "junit.xml").read_text(encoding="utf-8")
    assert "present in 2 container(s) of multi" in junit, junit[:3000]
    run, tmp = runs["wrong-marker-and-logs"]
    assert "SOC2_COMPLIANT='false'" in run.stdout, run.stdout
    junit = (tmp / "junit.xml").read_text(encoding="utf-8")
    assert "connecting to postgres with ***" in junit, junit[:3000]
    assert "SECRET_KEY: ***" in junit, junit[:3000]
    run, _ = runs["signature-rejected"]
    assert "AWS credentials rejected (InvalidSignatureException)" in run.stdout
    assert "does not match the signature you provided" in run.stdout
    run, _ = runs["token-in-error"]
    assert "x-amz-security-token: <redacted>" in run.stdout, run.stdout
