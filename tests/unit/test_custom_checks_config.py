"""Custom checks (issue 14): parsing and validation against botocore's service model.

Every problem is a ConfigError of one line naming the check and the field, raised while the
config loads, before any AWS call.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from soc2gate.cli import known_check_ids
from soc2gate.config import build_config, load_yaml, parse_mapping
from soc2gate.custom_spec import PLACEHOLDERS, parse
from soc2gate.errors import ConfigError

GOOD: dict[str, Any] = {
    "id": "endpoint-storage-encrypted",
    "title": "Endpoint config encrypts its storage with KMS",
    "call": "sagemaker.describe_endpoint_config",
    "params": {"EndpointConfigName": "{endpoint_config}"},
    "query": "KmsKeyId",
    "expect": "not_empty",
    "soc2": ["CC6.1"],
    "remediation": "Create an endpoint config with KmsKeyId and update the endpoint to it.",
}


def spec_of(**changes: Any) -> dict[str, Any]:
    out = dict(GOOD, **changes)
    return {k: v for k, v in out.items() if v is not None}


def test_the_issue_examples_parse() -> None:
    first, second = parse(
        "custom_checks",
        [
            GOOD,
            {
                "id": "model-network-isolation",
                "call": "sagemaker.describe_model",
                "params": {"ModelName": "{model}"},
                "query": "EnableNetworkIsolation",
                "expect": {"equals": True},
            },
        ],
    )
    assert (first.service, first.method, first.operation) == (
        "sagemaker",
        "describe_endpoint_config",
        "DescribeEndpointConfig",
    )
    assert first.iam_prefix == "sagemaker"
    assert first.depends_on == ("sagemaker-endpoint-status",)
    assert first.soc2 == ("CC6.1",)
    assert second.expect == ("equals", True)
    assert second.placeholders == ("model",)
    assert second.title == "sagemaker.describe_model EnableNetworkIsolation"
    assert not first.paginated


@pytest.mark.parametrize(
    ("raw", "paginated"),
    [
        ({"call": "sagemaker.list_models", "params": {}}, True),
        ({"call": "ecr.describe_images", "params": {"repositoryName": "{repository}"}}, True),
        ({"call": "sagemaker.describe_model", "params": {"ModelName": "{model}"}}, False),
    ],
)
def test_paginated_operations_are_known_from_the_service_model(
    raw: dict[str, Any], paginated: bool
) -> None:
    (spec,) = parse("custom_checks", [spec_of(**raw, query="@")])
    assert spec.paginated is paginated


@pytest.mark.parametrize(
    "expect",
    [
        "not_empty",
        {"equals": "InService"},
        {"equals": [1, 2]},
        {"in": ["a", "b"]},
        {"all_in": ["ml.c5.large"]},
        {"matches": "^arn:aws:kms:.*"},
        {"at_least": 2},
        {"at_most": 0.5},
        {"jmespath": "length(ProductionVariants) > `0`"},
    ],
)
def test_every_expect_form_parses(expect: Any) -> None:
    (spec,) = parse("custom_checks", [spec_of(expect=expect)])
    assert spec.expect[0] == (expect if isinstance(expect, str) else next(iter(expect)))


BAD = [
    # (changes, substring of the one-line error)
    ({"call": "sagemaker.delete_endpoint"}, "(endpoint-storage-encrypted) call: sagemaker."),
    ({"call": "sagemaker.delete_endpoint"}, "is not read-only"),
    ({"call": "sagemaker.create_endpoint"}, "is not read-only"),
    ({"call": "sagemaker.update_endpoint"}, "is not read-only"),
    ({"call": "ecr.put_image"}, "is not read-only"),
    ({"call": "lambda_.invoke"}, "unknown AWS service"),
    ({"call": "lambda.invoke"}, "is not read-only"),
    ({"call": "secretsmanager.get_secret_value"}, "is refused: it returns the secret's value"),
    ({"call": "sts.get_session_token"}, "is refused: it returns credentials or tokens"),
    ({"call": "ecr.get_authorization_token"}, "is refused: it returns a registry password"),
    ({"call": "ssm.get_parameter"}, "is refused: it returns SecureString values decrypted"),
    ({"call": "s3.get_object"}, "is refused: it returns the object's content"),
    ({"call": "sagemaker.describe_training_job"}, "only the reads a deployment gate needs"),
    ({"call": "sagemakr.describe_model"}, "unknown AWS service 'sagemakr' (did you mean"),
    ({"call": "sagemaker.describe_modle"}, "sagemaker has no operation 'describe_modle'"),
    ({"call": "sagemaker"}, "expected service.operation"),
    ({"params": {"Name": "x"}}, "params: DescribeEndpointConfig has no parameter 'Name'"),
    ({"params": {}}, "params: DescribeEndpointConfig requires EndpointConfigName"),
    ({"params": {"EndpointConfigName": 5}}, "Invalid type for parameter EndpointConfigName"),
    ({"params": "x"}, "params: expected a mapping"),
    (
        {"params": {"EndpointConfigName": "{endpoint_conf}"}},
        "params: unknown placeholder {endpoint_conf} (did you mean {endpoint_config}?)",
    ),
    ({"params": {"EndpointConfigName": "{}"}}, "params: empty placeholder {}"),
    ({"params": {"EndpointConfigName": "{model:x}"}}, "params: unknown placeholder {model:x}"),
    ({"query": "Kms[["}, "query: invalid JMESPath 'Kms[['"),
    ({"query": ""}, "query: expected a JMESPath expression"),
    ({"query": None}, "query is required"),
    ({"expect": None}, "expect is required"),
    ({"expect": "empty"}, "expect: expected not_empty or a mapping"),
    ({"expect": {"equal": 1}}, "expect: unknown form 'equal' (did you mean 'equals'?)"),
    ({"expect": {"equals": None}}, "expect.equals: expected a value"),
    ({"expect": {"in": []}}, "expect.in: expected a non-empty list"),
    ({"expect": {"all_in": "a"}}, "expect.all_in: expected a non-empty list"),
    ({"expect": {"matches": "("}}, "expect.matches: invalid regular expression"),
    ({"expect": {"at_least": "2"}}, "expect.at_least: expected a number"),
    ({"expect": {"at_most": True}}, "expect.at_most: expected a number"),
    ({"expect": {"jmespath": "a =="}}, "expect.jmespath: invalid JMESPath"),
    ({"expect": {"equals": 1, "in": [1]}}, "expect: expected not_empty or a mapping"),
    ({"wait": {"pending_while": "a"}}, "wait: expected {pending_when: EXPR}"),
    ({"wait": {"pending_when": "a =="}}, "wait.pending_when: invalid JMESPath"),
    ({"soc2": "  "}, "soc2: expected a list of criteria"),
    ({"title": ""}, "title: expected a non-empty string"),
    ({"remediaton": "x"}, "unknown key 'remediaton' (did you mean 'remediation'?)"),
    ({"id": "Endpoint_KMS"}, "custom_checks[0].id: expected a lower-kebab-case id"),
    ({"id": None}, "custom_checks[0].id: expected a lower-kebab-case id"),
]


@pytest.mark.parametrize(("changes", "message"), BAD, ids=[m for _, m in BAD])
def test_bad_specs_are_one_line_config_errors(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse("custom_checks", [spec_of(**changes)])
    text = str(info.value)
    assert message in text
    assert "\n" not in text
    if "id" not in changes:
        assert text.startswith("custom_checks[0] (endpoint-storage-encrypted)"), text


def test_ids_are_unique() -> None:
    with pytest.raises(ConfigError, match=r"custom_checks\[1\] \(endpoint-storage-encrypted\)"):
        parse("custom_checks", [GOOD, GOOD])


@pytest.mark.parametrize("raw", [[], {}, "x", [1]])
def test_the_key_needs_a_list_of_mappings(raw: Any) -> None:
    with pytest.raises(ConfigError, match="custom_checks"):
        parse("custom_checks", raw)


def test_an_id_may_not_clash_with_a_built_in_check() -> None:
    values = parse_mapping({"custom_checks": [spec_of(id="ecr-scan-findings")]}, "file")
    with pytest.raises(ConfigError, match="clashes with the built-in check"):
        build_config(values, {"endpoint": "ep"}, known_check_ids())


def test_only_and_skip_accept_custom_ids() -> None:
    values = parse_mapping({"custom_checks": [GOOD]}, "file")
    config = build_config(
        values, {"endpoint": "ep", "only": ("endpoint-storage-encrypted",)}, known_check_ids()
    )
    assert config.only == ("endpoint-storage-encrypted",)
    with pytest.raises(ConfigError, match="unknown check id 'endpoint-storage-encrypte'"):
        build_config(
            values, {"endpoint": "ep", "skip": ("endpoint-storage-encrypte",)}, known_check_ids()
        )


def test_custom_checks_are_file_only_and_run_level(tmp_path: Path) -> None:
    from soc2gate.config import OPTION_BY_KEY, RUN_LEVEL_KEYS

    assert OPTION_BY_KEY["custom_checks"].cli is False
    assert "custom_checks" in RUN_LEVEL_KEYS
    path = tmp_path / "fleet.yml"
    path.write_text(
        "targets:\n  - name: a\n    endpoint: ep\n    custom_checks: []\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError, match="custom_checks applies to the whole run"):
        load_yaml(str(path))


def test_the_examples_pack_loads() -> None:
    pack = Path(__file__).resolve().parents[2] / "examples" / "custom-checks.yml"
    specs = load_yaml(str(pack))["custom_checks"]
    assert len(specs) >= 5
    for spec in specs:
        assert spec.soc2 and spec.remediation, spec.id
        assert set(spec.placeholders) <= set(PLACEHOLDERS)
        assert spec.operation.startswith(("Describe", "List", "Get", "BatchGet"))
