"""The fields a custom check's JMESPath names are checked against the operation's output shape
when the config loads (review finding F2: a misspelt field read as null, so
``!repositories[0].imageTagMutabilty`` or ``x != 'MUTABLE'`` passed every repository)."""

from __future__ import annotations

import pytest

from soc2gate.custom_spec import parse
from soc2gate.errors import ConfigError


def load(call: str, params: dict[str, object], **fields: object) -> None:
    parse("custom_checks", [{"id": "my-check", "call": call, "params": params, **fields}])


REPOSITORIES = ("ecr.describe_repositories", {"repositoryNames": ["{repository}"]})
MODEL = ("sagemaker.describe_model", {"ModelName": "{model}"})

# (case, call, fields, words in the error or None when it loads)
CASES = [
    ("typo-in-jmespath", REPOSITORIES,
     {"expect": {"jmespath": "repositories[0].imageTagMutabilty != 'MUTABLE'"}},
     "Repository has no field 'imageTagMutabilty' (did you mean 'imageTagMutability'?)"),
    ("typo-in-query", REPOSITORIES,
     {"query": "repositories[0].imageScanningConfiguration.scanOnPsh", "expect": {"equals": True}},
     "ImageScanningConfiguration has no field 'scanOnPsh' (did you mean 'scanOnPush'?)"),
    ("field-of-a-list", REPOSITORIES,
     {"query": "repositories.repositoryName", "expect": "not_empty"},
     "'repositoryName' is asked of a list (RepositoryList)"),
    ("field-of-a-string", MODEL,
     {"query": "ModelName.Arn", "expect": "not_empty"}, "is asked of a string"),
    ("typo-in-pending-when", REPOSITORIES,
     {"query": "repositories[0].imageTagMutability", "expect": {"equals": "IMMUTABLE"},
      "wait": {"pending_when": "repositories[0].status == 'CREATING'"}},
     "Repository has no field 'status'"),
    ("typo-in-a-filter", REPOSITORIES,
     {"query": "repositories[?imageTagMutabilty=='MUTABLE'].repositoryName", "expect": "not_empty"},
     "Repository has no field 'imageTagMutabilty'"),
    ("typo-after-sort-by", REPOSITORIES,
     {"query": "sort_by(repositories, &createAt)[0].repositoryName", "expect": "not_empty"},
     "Repository has no field 'createAt' (did you mean 'createdAt'?)"),
    # Sound expressions load: map keys (an Environment), projections, filters, functions, pipes.
    ("map-key", MODEL,
     {"query": "PrimaryContainer.Environment.SOC2_COMPLIANT", "expect": {"equals": "true"}}, None),
    ("projection", MODEL, {"query": "Containers[].Image", "expect": "not_empty"}, None),
    ("filter-and-pipe", REPOSITORIES,
     {"query": "repositories[?imageScanningConfiguration.scanOnPush].repositoryName | [0]",
      "expect": "not_empty"}, None),
    ("functions", REPOSITORIES,
     {"expect": {"jmespath": "length(repositories[?imageTagMutability=='MUTABLE']) == `0`"}},
     None),
    ("whole-answer", MODEL, {"query": "@", "expect": "not_empty"}, None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("call", "fields", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_fields_are_checked_against_the_answer_shape(
    call: tuple[str, dict[str, object]], fields: dict[str, object], words: str | None
) -> None:
    if words is None:
        load(*call, **fields)
        return
    with pytest.raises(ConfigError) as raised:
        load(*call, **fields)
    assert words in str(raised.value)
    assert "reads as null" in str(raised.value)
