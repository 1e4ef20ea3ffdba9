"""Configuration: every bad input is one ConfigError line naming the problem; flags win."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from moto import mock_aws

from soc2gate.cli import known_check_ids, main
from soc2gate.config import GateConfig, action_inputs, build_config, load_yaml, parse_mapping
from soc2gate.durations import format_duration, parse_duration
from soc2gate.errors import ConfigError
from soc2gate.exitcodes import ExitCode
from soc2gate.models import Severity


def config_from(tmp_path: Path, text: str | bytes, flags: dict | None = None) -> GateConfig:
    path = tmp_path / "soc2gate.yml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return build_config(load_yaml(str(path)), flags, known_check_ids())


R = "repository: defender-image-analyzer-soc2\n"

# (case, YAML file, words the one-line message must contain)
BAD_FILE_CASES = [
    ("malformed-yaml", R + "require_tags: [unclosed\n", "line 3"),
    ("malformed-yaml-indent", "repository: a\n  endpoint: b\n", "config file"),
    ("not-a-mapping", "- repository\n- endpoint\n", "expected a mapping of keys, got list"),
    ("unknown-key-typo", "repositry: x\n", "unknown key 'repositry' (did you mean 'repository'?)"),
    ("unknown-key-kebab", R + "fail-on: HIGH\n", "unknown key 'fail-on' (did you mean 'fail_on'?)"),
    ("unknown-key-no-hint", R + "zzz: 1\n", "unknown key 'zzz'"),
    ("non-string-key", R + "1: x\n", "unknown key 1"),
    ("repository-list", "repository: [a, b]\n", "repository: expected a string, got list"),
    ("repository-bool", "repository: true\n", "repository: expected a string, got bool"),
    ("empty-repository", "repository: ''\n", "repository: must not be empty"),
    ("blank-repository", "repository: '   '\n", "repository: must not be empty"),
    ("null-repository", "repository:\n", "repository has no value"),
    ("bool-not-bool", R + "wait_for_scan: maybe\n", "wait_for_scan: expected true or false"),
    ("bool-as-number", R + "fail_on_untriaged: 1\n", "fail_on_untriaged: expected true or false"),
    ("int-not-int", R + "concurrency: many\n", "concurrency: expected an integer, got 'many'"),
    ("int-zero", R + "concurrency: 0\n", "concurrency: must be at least 1, got 0"),
    ("int-bool", R + "max_findings_shown: true\n", "max_findings_shown: expected an integer"),
    ("env-not-pair", R + "require_env: [SOC2_COMPLIANT]\n", "expected KEY=VALUE"),
    ("env-list-value", R + "require_env: {A: [1]}\n", "value of A must be a string, got list"),
    ("env-empty-key", R + "require_env: ['=true']\n", "require_env: empty environment key"),
    ("list-of-maps", R + "only: [{a: b}]\n", "only: expected a string, got dict"),
    ("duration-word", R + "timeout: soon\n", "timeout: bad duration 'soon'"),
    ("duration-unit", R + "timeout: 5x\n", "timeout: bad duration '5x'"),
    ("duration-trailing-number", R + "poll_max: 1m30\n", "poll_max: bad duration '1m30'"),
    ("duration-bool", R + "poll_min: yes\n", "poll_min: bad duration True"),
    ("duration-nan", R + "timeout: nan\n", "timeout: bad duration nan: must be a finite"),
    ("duration-yaml-nan", R + "timeout: .nan\n", "timeout: bad duration nan"),
    ("duration-inf", R + "poll_max: .inf\n", "poll_max: bad duration inf"),
    ("negative-timeout", R + "timeout: -5\n", "timeout: bad duration -5: must not be negative"),
    ("negative-timeout-text", R + "timeout: -30s\n", "must not be negative"),
    ("zero-timeout", R + "timeout: 0\n", "timeout: must be greater than 0"),
    ("zero-poll-min", R + "poll_min: 0s\n", "poll_min: must be greater than 0"),
    (
        "poll-min-above-max",
        R + "poll_min: 10s\npoll_max: 5s\n",
        "poll_min (10s) is greater than poll_max (5s)",
    ),
    ("bad-severity", R + "fail_on: SEVERE\n", "fail_on: unknown severity 'SEVERE'"),
    ("unranked-severity", R + "fail_on: UNDEFINED\n", "fail_on: UNDEFINED has no rank"),
    ("untriaged-severity", R + "fail_on: untriaged\n", "UNTRIAGED has no rank"),
    ("bad-encryption", R + "encryption: [AES128]\n", "encryption: unknown type 'AES128'"),
    ("unknown-check", R + "only: [ecr-image-tag]\n", "(did you mean 'ecr-image-tags'?)"),
    (
        "only-and-skip",
        R + "only: [ecr-image-tags]\nskip: [ecr-image-tags, ecr-scan-findings]\n",
        "--only and --skip both name ecr-image-tags",
    ),
    (
        "tags-without-repository",
        "endpoint: ep\nrequire_tags: [soc2-dev-latest]\n",
        "--require-tag/--scan-tag need --repository",
    ),
    ("scan-tag-without-repository", "endpoint: ep\nscan_tag: x\n", "need --repository"),
    (
        "immutable-without-repository",
        "endpoint: ep\nrequire_immutable_tags: true\n",
        "--require-immutable-tags needs --repository",
    ),
    ("nothing-to-check", "region: us-east-1\n", "nothing to check"),
    ("empty-file", "", "nothing to check"),
    ("not-utf8", b"repository: caf\xe9\n", "not UTF-8"),
    ("control-character", "repository: a\x07b\n", "config file"),
]


@pytest.mark.parametrize(
    ("text", "words"), [c[1:] for c in BAD_FILE_CASES], ids=[c[0] for c in BAD_FILE_CASES]
)
def test_bad_config_file_is_one_line_naming_the_problem(tmp_path: Path, text, words) -> None:
    with pytest.raises(ConfigError) as info:
        config_from(tmp_path, text)
    message = str(info.value)
    assert words in message
    assert "\n" not in message and "\r" not in message


@pytest.mark.parametrize(
    ("name", "words"),
    [("missing.yml", "cannot read config file"), (".", "cannot read config file")],
    ids=["missing-file", "directory"],
)
def test_unreadable_config_file(tmp_path: Path, name, words) -> None:
    with pytest.raises(ConfigError, match=words):
        load_yaml(str(tmp_path / name))


def test_flags_win_over_the_file(tmp_path: Path) -> None:
    config = config_from(
        tmp_path,
        R + "timeout: 10m\nfail_on: MEDIUM\nendpoint: from-file\n",
        parse_mapping({"repository": "from-flag", "fail_on": "critical"}, "flags"),
    )
    assert config.repository == "from-flag"
    assert config.fail_on is Severity.CRITICAL
    assert config.timeout == 600.0  # from the file
    assert config.endpoint == "from-file"
    assert config.poll_min == GateConfig().poll_min  # default


# (case, YAML, field, expected value)
GOOD_FILE_CASES = [
    (
        "yaml-bool-env-value",
        R + "require_env: {SOC2_COMPLIANT: true}\n",
        "require_env",
        {"SOC2_COMPLIANT": "true"},
    ),
    ("env-pairs", R + "require_env: [A=1, B=x=y]\n", "require_env", {"A": "1", "B": "x=y"}),
    ("comma-list", R + "require_tags: 'a, b,,c'\n", "require_tags", ("a", "b", "c")),
    (
        "newline-list",
        R + 'instance_types: "ml.c5.large\\nml.m5.large"\n',
        "instance_types",
        (
            "ml.c5.large",
            "ml.m5.large",
        ),
    ),
    ("duplicates-dropped", R + "require_tags: [a, b, a]\n", "require_tags", ("a", "b")),
    ("severity-lowercase", R + "fail_on: medium\n", "fail_on", Severity.MEDIUM),
    ("bool-text", R + "wait_for_scan: 'true'\n", "wait_for_scan", True),
    ("duration-number", R + "timeout: 90\n", "timeout", 90.0),
    ("duration-text", R + "endpoint_grace: 1h30m\n", "endpoint_grace", 5400.0),
    ("numeric-repository", "repository: 12345\n", "repository", "12345"),
]


@pytest.mark.parametrize(
    ("text", "field", "value"),
    [c[1:] for c in GOOD_FILE_CASES],
    ids=[c[0] for c in GOOD_FILE_CASES],
)
def test_good_config_file_values(tmp_path: Path, text, field, value) -> None:
    assert getattr(config_from(tmp_path, text), field) == value


# (case, input, seconds)
DURATION_CASES = [
    ("seconds", "90s", 90.0),
    ("minutes", "20m", 1200.0),
    ("hours", "1h", 3600.0),
    ("combined", "1h30m", 5400.0),
    ("all-units", "1h2m3s", 3723.0),
    ("milliseconds", "250ms", 0.25),
    ("fraction", "0.5s", 0.5),
    ("bare-number-text", "45", 45.0),
    ("bare-float-text", "2.5", 2.5),
    ("int", 30, 30.0),
    ("float", 1.5, 1.5),
    ("zero", "0", 0.0),
    ("upper-case", "2M", 120.0),
    ("padded", "  10s ", 10.0),
]


@pytest.mark.parametrize(
    ("text", "seconds"), [c[1:] for c in DURATION_CASES], ids=[c[0] for c in DURATION_CASES]
)
def test_parse_duration(text, seconds) -> None:
    assert parse_duration(text) == seconds


# (case, input)
BAD_DURATION_CASES = [
    ("empty", ""),
    ("word", "soon"),
    ("unit-only", "m"),
    ("unit-first", "s5"),
    ("space-inside", "1h 30m"),
    ("unknown-unit", "5d"),
    ("negative-int", -1),
    ("negative-text", "-1s"),
    ("bool", True),
    ("nan-text", "nan"),
    ("inf-text", "inf"),
    ("nan-float", float("nan")),
    ("inf-float", float("inf")),
    ("two-dots", "1.2.3s"),
]


@pytest.mark.parametrize(
    "text", [c[1] for c in BAD_DURATION_CASES], ids=[c[0] for c in BAD_DURATION_CASES]
)
def test_bad_duration(text) -> None:
    with pytest.raises(ValueError, match="bad duration"):
        parse_duration(text)


# (case, seconds, text)
FORMAT_CASES = [
    ("sub-10s", 2.345, "2.3s"),
    ("seconds", 45.4, "45s"),
    ("minutes", 185, "3m05s"),
    ("hours", 3720, "1h02m"),
]


@pytest.mark.parametrize(
    ("seconds", "text"), [c[1:] for c in FORMAT_CASES], ids=[c[0] for c in FORMAT_CASES]
)
def test_format_duration(seconds, text) -> None:
    assert format_duration(seconds) == text


# ---- through the CLI -------------------------------------------------------------------------


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):
    """Run soc2gate.cli.main under moto (so nothing can reach AWS); give (code, stdout, stderr)."""
    sigterm = signal.getsignal(signal.SIGTERM)  # main() installs its own handler

    def run(*argv: str) -> tuple[int, str, str]:
        with mock_aws():
            code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    yield run
    signal.signal(signal.SIGTERM, sigterm)


REPO_FLAG = ("--repository", "defender-image-analyzer-soc2")

# (case, argv, words on the one stderr line)
CLI_CASES = [
    ("bad-duration", ("run", *REPO_FLAG, "--timeout", "5x"), "--timeout: bad duration '5x'"),
    ("nan-duration", ("run", *REPO_FLAG, "--poll-max", "nan"), "--poll-max: bad duration"),
    ("nothing-to-check", ("run",), "nothing to check"),
    (
        "unknown-flag",
        ("run", "--repositry", "x"),
        "unrecognized arguments: --repositry x (did you mean --repository?)",
    ),
    ("missing-value", ("run", "--timeout"), "argument --timeout: expected one argument"),
    ("unknown-command", ("gate",), "invalid choice: 'gate'"),
    ("bad-severity", ("run", *REPO_FLAG, "--fail-on", "severe"), "unknown severity 'severe'"),
    ("strict-bool", ("run", *REPO_FLAG, "--wait-for-scan", "yes"), "expected true or false"),
    ("env-pair", ("run", "--endpoint", "e", "--require-env", "SOC2"), "expected KEY=VALUE"),
    (
        "only-and-skip",
        ("run", *REPO_FLAG, "--only", "ecr-image-tags", "--skip", "ecr-image-tags"),
        "--only and --skip both name ecr-image-tags",
    ),
    (
        "unknown-check",
        ("run", *REPO_FLAG, "--only", "ecr-scan"),
        "unknown check id 'ecr-scan'",
    ),
    (
        "tag-without-repository",
        ("run", "--endpoint", "e", "--require-tag", "latest"),
        "need --repository",
    ),
    (
        "sha-tag-without-sha",
        ("run", *REPO_FLAG, "--require-tag", "soc2-dev-{sha}"),
        "needs a commit SHA",
    ),
    ("poll-order", ("run", *REPO_FLAG, "--poll-min", "9s", "--poll-max", "3s"), "poll_min (9s)"),
    ("missing-config-file", ("run", "--config", "/nonexistent/soc2gate.yml"), "cannot read"),
]


@pytest.mark.parametrize(
    ("argv", "words"), [c[1:] for c in CLI_CASES], ids=[c[0] for c in CLI_CASES]
)
def test_cli_config_errors_exit_2_with_one_line(cli, argv, words) -> None:
    code, out, err = cli(*argv)
    assert code == ExitCode.USAGE
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("soc2gate: error: ")
    assert words in lines[0]
    assert "Traceback" not in err
    assert out == ""


# (case, config file contents, words on the one stderr line; None: the file's path)
CLI_FILE_CASES = [
    ("malformed-yaml", R + "require_tags: [unclosed\n", None),
    ("unknown-key", R + "endpiont: x\n", "(did you mean 'endpoint'?)"),
    ("not-utf8", b"repository: caf\xe9\n", "not UTF-8"),
    # Value errors name the snake_case key (a flag error names the --flag instead).
    ("nan-timeout", R + "timeout: .nan\n", "error: timeout: bad duration nan"),
]


@pytest.mark.parametrize(
    ("text", "words"), [c[1:] for c in CLI_FILE_CASES], ids=[c[0] for c in CLI_FILE_CASES]
)
def test_cli_bad_config_file_exits_2_with_one_line(cli, tmp_path: Path, text, words) -> None:
    path = tmp_path / "gate.yml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    code, _out, err = cli("run", "--config", str(path))
    assert code == ExitCode.USAGE
    assert len(err.splitlines()) == 1, err
    assert (words or str(path)) in err
    assert "Traceback" not in err


def test_cli_flag_beats_file(cli, tmp_path: Path) -> None:
    # The file's poll_min alone would be valid; the flag's poll_max makes the pair invalid,
    # which can only happen if the flag value replaced the default.
    path = tmp_path / "gate.yml"
    path.write_text(R + "poll_min: 5s\npoll_max: 60s\n", encoding="utf-8")
    code, _out, err = cli("run", "--config", str(path), "--poll-max", "4s")
    assert code == ExitCode.USAGE
    assert "poll_min (5s) is greater than poll_max (4s)" in err


# ---- GitHub Action inputs (INPUT_<NAME> with the hyphens kept) -------------------------------

# (case, environment, expected option values or ConfigError words, expected config file)
ACTION_CASES = [
    ("nothing-set", {}, {"junit": "soc2gate-junit.xml"}, None),
    (
        "strings-and-severity",
        {"INPUT_REPOSITORY": " r1 ", "INPUT_FAIL-ON": "critical", "INPUT_ENDPOINT": ""},
        {"repository": "r1", "fail_on": Severity.CRITICAL, "junit": "soc2gate-junit.xml"},
        None,
    ),
    (
        "lists-by-newline-or-comma",
        {"INPUT_REQUIRE-TAG": "soc2-dev-latest\nsoc2-dev-{sha}", "INPUT_ONLY": "a-b, c-d"},
        {
            "require_tags": ("soc2-dev-latest", "soc2-dev-{sha}"),
            "only": ("a-b", "c-d"),
            "junit": "soc2gate-junit.xml",
        },
        None,
    ),
    (
        "env-markers",
        {"INPUT_REQUIRE-ENV": "SOC2_COMPLIANT=true\nTEAM=ml"},
        {"require_env": {"SOC2_COMPLIANT": "true", "TEAM": "ml"}, "junit": "soc2gate-junit.xml"},
        None,
    ),
    (
        "booleans",
        {"INPUT_REQUIRE-IMMUTABLE-TAGS": "true", "INPUT_WAIT-FOR-SCAN": "false"},
        {"require_immutable_tags": True, "wait_for_scan": False, "junit": "soc2gate-junit.xml"},
        None,
    ),
    (
        "config-file-and-junit-path",
        {"INPUT_CONFIG": "gate.yml", "INPUT_JUNIT": "out/j.xml"},
        {"junit": "out/j.xml"},
        "gate.yml",
    ),
    ("profile-is-not-an-input", {"INPUT_PROFILE": "prod"}, {"junit": "soc2gate-junit.xml"}, None),
    ("switch-not-strict", {"INPUT_REQUIRE-IMMUTABLE-TAGS": "yes"}, "expected true or false", None),
    ("bool-case-matters", {"INPUT_WAIT-FOR-SCAN": "True"}, "expected true or false", None),
    ("bad-duration", {"INPUT_TIMEOUT": "20 minutes"}, "input timeout: bad duration", None),
]


@pytest.mark.parametrize(
    ("environ", "expected", "config_file"),
    [c[1:] for c in ACTION_CASES],
    ids=[c[0] for c in ACTION_CASES],
)
def test_action_inputs(environ, expected, config_file) -> None:
    if isinstance(expected, str):
        with pytest.raises(ConfigError, match=expected) as info:
            action_inputs(environ)
        assert "\n" not in str(info.value)
        return
    values, path = action_inputs(environ)
    assert values == expected
    assert path == config_file
