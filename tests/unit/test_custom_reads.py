"""The allow-list of operations custom checks may call (issue 19, item 6).

Reads named Get/Describe/List that create state or return secrets are refused when the config
loads, naming the operation and why; every allowed operation exists, reads, streams nothing,
and its answer was reviewed for secret-looking members (a botocore upgrade that adds one fails
here until someone reviews it).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from soc2gate.custom_reads import ALLOWED, REFUSED, refusal
from soc2gate.custom_spec import READ_PREFIXES, parse, service_model
from soc2gate.errors import ConfigError

#: The issue's list, and the like: (call, params, why the refusal gives).
DANGEROUS = [
    ("cognito-identity.get_id", {"IdentityPoolId": "us-east-1:x"}, "creates an identity"),
    (
        "kms.get_parameters_for_import",
        {"KeyId": "k", "WrappingAlgorithm": "RSAES_OAEP_SHA_256", "WrappingKeySpec": "RSA_2048"},
        "creates an import token",
    ),
    ("gamelift.get_instance_access", {"FleetId": "f", "InstanceId": "i"}, "returns credentials"),
    ("ivs.get_stream_key", {"arn": "arn:aws:ivs:us-east-1:1:stream-key/x"}, "the stream key"),
    ("glue.get_connection", {"Name": "db"}, "the connection's password"),
    ("apigateway.get_api_keys", {"includeValues": True}, "the API keys' values"),
    ("apigateway.get_api_key", {"apiKey": "k"}, "the API key's value"),
    ("secretsmanager.get_secret_value", {"SecretId": "s"}, "the secret's value"),
    ("ssm.get_parameter", {"Name": "p", "WithDecryption": True}, "decrypted"),
    ("ssm.get_parameters", {"Names": ["p"]}, "decrypted"),
    ("ssm.get_parameters_by_path", {"Path": "/p"}, "decrypted"),
    ("ssm.get_parameter_history", {"Name": "p"}, "decrypted"),
    ("sts.get_session_token", {}, "credentials"),
    ("sts.get_federation_token", {"Name": "n"}, "credentials"),
    ("ecr.get_authorization_token", {}, "a registry password"),
    ("ecr.get_download_url_for_layer", {"repositoryName": "r", "layerDigest": "d"}, "URL"),
    ("s3.get_object", {"Bucket": "b", "Key": "k"}, "content"),
    ("ec2.get_password_data", {"InstanceId": "i"}, "administrator password"),
    ("ec2.describe_vpn_connections", {}, "pre-shared keys"),
    (
        "ec2.describe_instance_attribute",
        {"InstanceId": "i", "Attribute": "userData"},
        "user data",
    ),
    ("lambda.get_function_configuration", {"FunctionName": "f"}, "environment variables"),
    ("logs.get_log_events", {"logGroupName": "g", "logStreamName": "s"}, "log lines"),
    ("securityhub.get_findings", {}, "user data"),
    (
        "config.get_resource_config_history",
        {"resourceType": "AWS::Lambda::Function", "resourceId": "f"},
        "environment",
    ),
    # Not known to be dangerous, just never reviewed: refused all the same.
    ("lambda.list_functions", {}, "only the reads a deployment gate needs"),
    ("sagemaker.describe_training_job", {"TrainingJobName": "t"}, "33 sagemaker operations"),
]


def spec(call: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"id": "my-check", "call": call, "params": params, "query": "a", "expect": "not_empty"}


@pytest.mark.parametrize(("call", "params", "why"), DANGEROUS, ids=[d[0] for d in DANGEROUS])
def test_reads_that_create_state_or_return_secrets_are_refused(
    call: str, params: dict[str, Any], why: str
) -> None:
    with pytest.raises(ConfigError) as info:
        parse("custom_checks", [spec(call, params)])
    text = str(info.value)
    assert text.startswith(f"custom_checks[0] (my-check) call: {call} ("), text
    assert ") is refused: " in text and why in text, text
    assert "\n" not in text


@pytest.mark.parametrize("service", sorted(ALLOWED))
def test_every_allowed_operation_exists_reads_and_streams_nothing(service: str) -> None:
    model = service_model(service)
    for name in ALLOWED[service]:
        assert name in model.operation_names, f"{service}.{name} is not in botocore"
        assert name.startswith(READ_PREFIXES), name
        assert not model.operation_model(name).has_streaming_output, name
        assert refusal(service, name) is None


def test_refused_operations_exist_and_are_not_allowed() -> None:
    for key in REFUSED:
        service, name = key.split(".")
        assert name in service_model(service).operation_names, key
        assert name not in ALLOWED.get(service, frozenset()), key
        assert refusal(service, name), key


#: Member names that would hold a secret or a capability.
_SECRET_MEMBER = re.compile(
    r"password|passwd|secret|credential|private_?key|session_?token|access_?key|pre_?shared|"
    r"user_?data|api_?key|stream_?key|token|environment|hyper_?parameter",
    re.I,
)
_PAGING_MEMBER = re.compile(r"^(next|pagination|continuation)?_?token$", re.I)
#: Reviewed: every secret-looking member the allowed answers hold, and why it may be reported.
#: An ``Environment`` is masked by value in every report (soc2gate.redaction).
REVIEWED = {
    # ARNs of where credentials are kept, not the credentials.
    "DescribeModel.Containers[].ImageConfig.RepositoryAuthConfig.RepositoryCredentialsProviderArn",
    "DescribeModel.PrimaryContainer.ImageConfig.RepositoryAuthConfig"
    ".RepositoryCredentialsProviderArn",
    "DescribePullThroughCacheRules.pullThroughCacheRules[].credentialArn",
    # Settings, not secrets.
    "GetAccountPasswordPolicy.PasswordPolicy",
    "GetAccountPasswordPolicy.PasswordPolicy.AllowUsersToChangePassword",
    "GetAccountPasswordPolicy.PasswordPolicy.ExpirePasswords",
    "GetAccountPasswordPolicy.PasswordPolicy.MaxPasswordAge",
    "GetAccountPasswordPolicy.PasswordPolicy.MinimumPasswordLength",
    "GetAccountPasswordPolicy.PasswordPolicy.PasswordReusePrevention",
    "DescribeLogGroups.logGroups[].bearerTokenAuthenticationEnabled",
}


def _members(shape: Any, path: str, seen: frozenset[str], out: set[str]) -> None:
    if shape is None:
        return
    if shape.type_name == "structure":
        if shape.name in seen:
            return
        for name, member in shape.members.items():
            here = f"{path}.{name}"
            if _SECRET_MEMBER.search(name) and not _PAGING_MEMBER.match(name):
                out.add(here)
            _members(member, here, seen | {shape.name}, out)
    elif shape.type_name == "list":
        _members(shape.member, f"{path}[]", seen, out)
    elif shape.type_name == "map":
        _members(shape.value, f"{path}{{}}", seen, out)


def test_allowed_answers_hold_no_unreviewed_secret_looking_member() -> None:
    unreviewed = []
    for service, names in sorted(ALLOWED.items()):
        model = service_model(service)
        for name in sorted(names):
            found: set[str] = set()
            _members(model.operation_model(name).output_shape, name, frozenset(), found)
            for path in sorted(found):
                if path.endswith(".Environment") or ".Environment." in path:
                    continue  # masked by value (soc2gate.redaction)
                if path not in REVIEWED:
                    unreviewed.append(f"{service} {path}")
    assert unreviewed == [], "review these members of allowed answers:\n" + "\n".join(unreviewed)


def test_the_example_pack_and_the_tested_calls_are_allowed() -> None:
    from soc2gate.config import load_yaml

    pack = Path(__file__).resolve().parents[2] / "examples" / "custom-checks.yml"
    for check in load_yaml(str(pack))["custom_checks"]:
        assert refusal(check.service, check.operation) is None, check.call
