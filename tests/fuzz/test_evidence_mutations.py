"""The evidence verifiers under mutated answers (issue 19): kms:Verify, s3:ListObjectVersions and
s3:GetObject. See ``evidence_reads`` for the baselines and the oracle.

Every mutation of every path of every answer is tried once (the answers are small), then
Hypothesis draws combinations of up to three. 0 false passes: no mutated kms:Verify answer makes
a record verify, no mutated listing or object makes an audit report with a hidden FAIL look
clean (beyond answers that only leave the records out). A verifier that crashes on an answer is
a bug too. ``python scripts/fuzz_evidence.py`` runs a longer campaign.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz.evidence_reads import KMS_VERIFY, S3_GET, S3_LIST, Campaign, Trial, combinations

NAMES = ("kms-valid", "kms-forged", "s3-replaced", "s3-deleted")
OUTCOMES: Counter[str] = Counter()


@pytest.fixture(scope="module")
def campaign() -> Iterator[Campaign]:
    with Campaign().running() as running:
        yield running
    print(f"\nevidence fuzz: {sum(OUTCOMES.values())} trials, " + ", ".join(
        f"{n} {k}" for k, n in OUTCOMES.most_common()))  # fmt: skip


def _check(trial: Trial | None) -> None:
    if trial is None:
        return
    OUTCOMES[trial.outcome] += 1
    assert trial.outcome != "false-pass", (
        f"FALSE PASS [{trial.baseline}] {trial.describe()}: {trial.why}"
    )
    assert trial.outcome != "crash", f"CRASH [{trial.baseline}] {trial.describe()}: {trial.why}"


def test_every_answer_is_walked(campaign: Campaign) -> None:
    ops = {name: {m.operation for m in campaign.mutations[name]} for name in NAMES}
    assert ops["kms-valid"] == ops["kms-forged"] == {KMS_VERIFY}
    assert ops["s3-replaced"] == ops["s3-deleted"] == {S3_LIST, S3_GET}
    patterns = {(m.operation, m.pattern) for name in NAMES for m in campaign.mutations[name]}
    for expected in (
        (KMS_VERIFY, "SignatureValid"),
        (KMS_VERIFY, "KeyId"),
        (KMS_VERIFY, "SigningAlgorithm"),
        (S3_LIST, "Versions[*].VersionId"),
        (S3_LIST, "Versions[*].IsLatest"),
        (S3_LIST, "DeleteMarkers[*].Key"),
        (S3_LIST, "IsTruncated"),
        (S3_LIST, "NextKeyMarker"),  # absent: added
        (S3_GET, "Body"),
        (S3_GET, "VersionId"),
    ):
        assert expected in patterns, expected


@pytest.mark.parametrize("name", NAMES)
def test_no_single_mutation_passes(campaign: Campaign, name: str) -> None:
    mutations = campaign.mutations[name]
    assert len(mutations) > (20 if name.startswith("kms") else 200), len(mutations)
    for mutation in mutations:
        _check(campaign.trial(name, [mutation]))


def test_a_verify_answer_saying_valid_for_another_key_does_not_verify(campaign: Campaign) -> None:
    (key_id,) = [
        m for m in campaign.mutations["kms-forged"] if m.pattern == "KeyId" and m.kind == "change"
    ]
    (valid,) = [
        m
        for m in campaign.mutations["kms-forged"]
        if m.pattern == "SignatureValid" and m.kind == "flip"
    ]
    trial = campaign.trial("kms-forged", [key_id, valid])
    assert trial is not None and not trial.passed


@settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_no_combination_passes(campaign: Campaign, data: st.DataObject) -> None:
    name, mutations = data.draw(combinations(campaign, NAMES))
    _check(campaign.trial(name, mutations))
