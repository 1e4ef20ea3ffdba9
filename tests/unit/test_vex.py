"""OpenVEX 0.2.0 (--vex): reading documents, matching statements to findings, and the verdict.

The spec's own examples (tests/fixtures/openvex, copied from OPENVEX-SPEC.md) are read as the spec
means them; a bad document is exit 2 naming the file and the JSON path; a statement applies only
to the digest it names (fail closed), and only while it is the newest word on that finding.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from test_ecr_real_answers import BASE, COMPLETED, run, scan
from unit_fakes import DIGEST, OTHER_DIGEST, REPO

from soc2gate import vex
from soc2gate.checks.ecr.ecr_scan_findings import EcrScanFindings, evaluate, parse_enhanced
from soc2gate.config import GateConfig, parse_mapping
from soc2gate.errors import ConfigError
from soc2gate.models import Finding, Severity, Status
from soc2gate.waivers import Waiver
from soc2gate.waivers import apply as apply_waivers

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "openvex"
SCHEMA = Path(__file__).resolve().parents[1] / "schemas" / "openvex-schema-0.2.0.json"
NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.timezone.utc)
IMAGE = vex.Image(REPO, DIGEST)
IMAGE_PURL = f"pkg:oci/{REPO}@{DIGEST.replace(':', '%3A')}"
CVE = "CVE-2024-5535"
OPENSSL = Finding(CVE, Severity.CRITICAL, package="openssl", version="3.0.2")
NCURSES = Finding("CVE-2023-50495", Severity.MEDIUM, package="ncurses", version="6.3-2ubuntu0.1")
DOC_ID = "https://example.com/vex/defender-2026-11"
AUTHOR = "Platform Security <psec@example.com>"


def statement(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "vulnerability": {"name": CVE},
        "products": [{"@id": IMAGE_PURL}],
        "status": "not_affected",
        "justification": "vulnerable_code_not_in_execute_path",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def document(*statements: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "@context": vex.CONTEXT,
        "@id": DOC_ID,
        "author": AUTHOR,
        "timestamp": "2026-11-20T10:00:00Z",
        "version": 1,
        "statements": list(statements) or [statement()],
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def read(body: Any, path: str = "vex.json", index: int = 0) -> vex.Document:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return vex.parse(data, path, index)


def covered(
    *docs: dict[str, Any], findings: tuple[Finding, ...] = (OPENSSL,), **kw: Any
) -> vex.Applied:
    parsed = [read(d, f"vex-{i}.json", i) for i, d in enumerate(docs)]
    return vex.apply(findings, parsed, kw.pop("image", IMAGE), kw.pop("now", NOW), **kw)


# ---- the spec's own examples ----------------------------------------------------------------


def test_the_spec_minimal_document_is_read_as_written() -> None:
    doc = vex.load(str(FIXTURES / "spec-minimal.json"))
    assert (doc.id, doc.author, doc.version) == (
        "https://openvex.dev/docs/example/vex-9fb3463de1b57",
        "Wolfi J Inkinson",
        1,
    )
    # Nanoseconds and a -06:00 offset: read to the microsecond, in UTC.
    assert doc.timestamp == dt.datetime(2023, 1, 9, 0, 2, 3, 647787, tzinfo=dt.timezone.utc)
    (s,) = doc.statements
    assert (s.vulnerability, s.status, s.justification) == ("CVE-2023-12345", "fixed", "")
    assert [p.purls[0].qualifiers["arch"] for p in s.products] == ["armv7", "x86_64"]
    assert {(p.purls[0].type, p.purls[0].namespace, p.purls[0].name) for p in s.products} == {
        ("apk", "wolfi", "git")
    }
    assert s.timestamp == doc.timestamp  # inherited from the document
    assert (
        s.reason
        == "VEX fixed by Wolfi J Inkinson, https://openvex.dev/docs/example/vex-9fb3463de1b57"
    )
    assert (
        doc.sha256
        == __import__("hashlib").sha256((FIXTURES / "spec-minimal.json").read_bytes()).hexdigest()
    )


def test_the_spec_inheritance_example_keeps_each_statement_its_timestamp() -> None:
    first = vex.load(str(FIXTURES / "spec-inheritance-1.json"))
    assert first.statements[0].status == "under_investigation"
    assert first.statements[0].timestamp == first.timestamp
    second = vex.load(str(FIXTURES / "spec-inheritance-2.corrected.json"))
    old, new = second.statements
    assert second.version == 2
    assert old.timestamp == dt.datetime.fromisoformat("2023-01-08T18:02:03-06:00")
    assert new.timestamp == dt.datetime.fromisoformat("2023-01-09T09:08:42-06:00")
    assert (old.status, new.status) == ("under_investigation", "fixed")


def test_the_spec_spring_boot_example_reads_its_aliases_justification_and_impact() -> None:
    doc = vex.load(str(FIXTURES / "spec-spring-boot.corrected.json"))
    (s,) = doc.statements
    assert s.ids == {"CVE-2021-44228", "GHSA-JFH8-C2JP-5V3Q"}
    assert s.justification == "vulnerable_code_not_in_execute_path"
    assert s.impact_statement.startswith("Spring Boot users are only affected")
    (product,) = s.products
    # @id and identifiers.purl name the same package: both are read.
    assert [(p.type, p.namespace, p.name, p.version) for p in product.purls] == [
        ("maven", "org.springframework.boot", "spring-boot", "2.6.0-M3")
    ] * 2
    assert s.reason == (
        "VEX not_affected (vulnerable_code_not_in_execute_path) by Spring Builds "
        "<spring-builds@users.noreply.github.com>, https://openvex.dev/docs/public/"
        "vex-2e67563e128250cbcb3e98930df948dd053e43271d70dc50cfa22d57e03fe96f"
    )


@pytest.mark.parametrize(
    "name",
    [
        "spec-minimal.json",
        "spec-inheritance-1.json",
        "spec-inheritance-2.corrected.json",
        "spec-spring-boot.corrected.json",
    ],
)
def test_the_spec_examples_validate_against_the_official_schema(name: str) -> None:
    import jsonschema

    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator(schema).validate(json.loads((FIXTURES / name).read_text()))
    vex.load(str(FIXTURES / name))  # and the gate reads them


@pytest.mark.parametrize(
    ("name", "where"),
    [
        ("spec-inheritance-2.json", "line 16 column 7"),
        ("spec-spring-boot.json", "line 23 column 11"),
    ],
)
def test_the_spec_examples_that_are_not_json_are_refused_with_line_and_column(
    name: str, where: str
) -> None:
    with pytest.raises(ConfigError) as err:
        vex.load(str(FIXTURES / name))
    assert str(err.value).startswith(f"VEX document {FIXTURES / name}: not JSON ({where}: ")


def test_the_spec_examples_name_packages_not_the_image_so_they_never_apply() -> None:
    git = Finding("CVE-2023-12345", Severity.HIGH, package="git", version="2.39.0-r1")
    docs = [
        vex.load(str(FIXTURES / n))
        for n in ("spec-minimal.json", "spec-spring-boot.corrected.json")
    ]
    assert vex.apply([git], docs, IMAGE, NOW) == vex.Applied()


# ---- bad documents: exit 2, the file and the JSON path ---------------------------------------


BAD = [
    (b"{not json", "not JSON (line 1 column 2: "),
    (b"\xff\xfe{}", "not UTF-8 text"),
    (b'{"@id": "a", "@id": "b"}', "duplicate key '@id'"),
    (b"[]", "$: expected an OpenVEX document (an object), got a list"),
    (
        document(**{"@context": "https://openvex.dev/ns/v0.0.1"}),
        '$["@context"]: not an OpenVEX 0.2.0 document',
    ),
    (
        {"bomFormat": "CycloneDX", "specVersion": "1.5"},
        '$["@context"]: not an OpenVEX 0.2.0 document: @context must be '
        "'https://openvex.dev/ns/v0.2.0', got nothing",
    ),
    (document(author=None), "$.author: missing"),
    (document(version="1"), "$.version: expected an integer of at least 1"),
    (document(timestamp="2026-11-20 10:00"), "$.timestamp: expected an RFC 3339 date-time"),
    (document(statements=[]), "$.statements: a document without statements"),
    (
        document(statement(vulnerability=None)),
        "$.statements[0]: a statement without a vulnerability",
    ),
    (
        document(statement(vulnerability={"@id": "x"})),
        "$.statements[0].vulnerability.name: missing",
    ),
    (
        document(statement(), statement(products=None)),
        "$.statements[1].products: a statement without a product (missing)",
    ),
    (document(statement(products=[])), "$.statements[0].products: a statement without a product"),
    (
        document(statement(products=[{"hashes": {"sha-256": "00"}}])),
        "$.statements[0].products[0]: a product or subcomponent needs an @id or identifiers",
    ),
    (
        document(statement(products=[{"@id": IMAGE_PURL, "subcomponents": [{}]}])),
        "$.statements[0].products[0].subcomponents[0]: a product or subcomponent needs",
    ),
    (
        document(statement(justification=None)),
        "$.statements[0]: not_affected without a justification or impact_statement",
    ),
    (document(statement(status="exploitable")), "$.statements[0].status: 'exploitable' is not"),
    (
        document(statement(justification="not_reachable")),
        "$.statements[0].justification: 'not_reachable' is not an OpenVEX justification",
    ),
    (
        document(statement(timestamp="2026-11-20T10:00:00")),
        "$.statements[0].timestamp: expected an RFC 3339 date-time with a time zone",
    ),
    (
        document(statement(**{"@id": 7})),
        '$.statements[0]["@id"]',
    ),
]


@pytest.mark.parametrize(("body", "problem"), BAD, ids=[p[:40] for _, p in BAD])
def test_a_bad_document_is_a_usage_error_naming_the_file_and_the_json_path(
    body: Any, problem: str, tmp_path: Path
) -> None:
    path = tmp_path / "bad.vex.json"
    path.write_bytes(body if isinstance(body, bytes) else json.dumps(body).encode())
    with pytest.raises(ConfigError) as err:
        vex.load_all([str(path)])
    message = str(err.value)
    assert message.startswith(f"VEX document {path}: "), message
    assert problem in message, message
    assert "\n" not in message


def test_a_missing_document_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot read VEX document .*missing\.json"):
        vex.load_all([str(tmp_path / "missing.json")])


def test_statement_17_of_a_long_document_is_named_by_its_index() -> None:
    statements = [statement() for _ in range(17)] + [statement(status=None)]
    with pytest.raises(ConfigError, match=r"\$\.statements\[17\]\.status: missing"):
        read(document(*statements))


# ---- matching: the digest judged, the package, the newest statement ------------------------


def test_not_affected_naming_the_judged_digest_covers_the_finding() -> None:
    applied = covered(document())
    ((finding, s),) = applied.covered
    assert finding is OPENSSL
    assert s.reason == (
        f"VEX not_affected (vulnerable_code_not_in_execute_path) by {AUTHOR}, {DOC_ID}"
    )


def test_a_statement_for_another_digest_never_applies() -> None:
    other = f"pkg:oci/{REPO}@{OTHER_DIGEST}"
    assert covered(document(statement(products=[{"@id": other}]))) == vex.Applied()
    # Nor the same statement when the scan judged another digest.
    assert covered(document(), image=vex.Image(REPO, OTHER_DIGEST)) == vex.Applied()


@pytest.mark.parametrize(
    ("product", "applies"),
    [
        ({"@id": IMAGE_PURL}, True),
        ({"identifiers": {"purl": IMAGE_PURL}}, True),
        ({"@id": "https://example.com/images/1", "identifiers": {"purl": IMAGE_PURL}}, True),
        ({"@id": f"pkg:oci/{REPO.upper()}@{DIGEST}"}, True),  # purl names are lowercase
        (
            {
                "@id": f"pkg:oci/{REPO}@{DIGEST}?repository_url=123456789012.dkr.ecr.us-east-1.amazonaws.com/{REPO}&tag=x"
            },
            True,
        ),
        (
            {
                "@id": f"pkg:oci/{REPO}@{DIGEST}?repository_url=123456789012.dkr.ecr.us-east-1.amazonaws.com/other/{REPO}"
            },
            False,
        ),
        ({"@id": f"pkg:oci/another-image@{DIGEST}"}, False),
        ({"@id": f"pkg:oci/{REPO}"}, False),  # no digest: names no image
        ({"@id": f"pkg:oci/{REPO}@soc2-latest"}, False),  # a tag is not the digest
        ({"@id": f"pkg:docker/{REPO}@{DIGEST}"}, False),
        ({"@id": DIGEST}, False),  # not a purl
        ({"@id": IMAGE_PURL, "subcomponents": [{"@id": "pkg:deb/ubuntu/openssl@3.0.2"}]}, True),
        ({"@id": IMAGE_PURL, "subcomponents": [{"@id": "pkg:deb/ubuntu/openssl"}]}, True),
        ({"@id": IMAGE_PURL, "subcomponents": [{"@id": "pkg:rpm/amzn/OpenSSL@3.0.2"}]}, True),
        ({"@id": IMAGE_PURL, "subcomponents": [{"@id": "pkg:deb/ubuntu/openssl@3.0.7"}]}, False),
        ({"@id": IMAGE_PURL, "subcomponents": [{"@id": "pkg:deb/ubuntu/libssl3@3.0.2"}]}, False),
        # Basic scanning reports operating-system packages only: a PyPI package is not it.
        ({"@id": IMAGE_PURL, "subcomponents": [{"@id": "pkg:pypi/openssl@3.0.2"}]}, False),
        # The other form: the package as the product, the image as its subcomponent.
        ({"@id": "pkg:deb/ubuntu/openssl@3.0.2", "subcomponents": [{"@id": IMAGE_PURL}]}, True),
        ({"@id": "pkg:deb/ubuntu/openssl@3.0.2"}, False),  # no image: applies to nothing here
        ({"@id": "pkg:deb/ubuntu/ncurses", "subcomponents": [{"@id": IMAGE_PURL}]}, False),
    ],
)
def test_which_products_name_the_finding_in_the_judged_image(
    product: dict[str, Any], applies: bool
) -> None:
    applied = covered(document(statement(products=[product])))
    assert bool(applied.covered) is applies


def test_a_subcomponent_narrows_the_statement_to_that_package() -> None:
    product = {"@id": IMAGE_PURL, "subcomponents": [{"@id": "pkg:deb/ubuntu/openssl"}]}
    both = (OPENSSL, Finding(CVE, Severity.CRITICAL, package="libssl3", version="3.0.2"))
    applied = covered(document(statement(products=[product])), findings=both)
    assert [f.package for f, _ in applied.covered] == ["openssl"]


@pytest.mark.parametrize(
    ("manager", "purl", "applies"),
    [
        ("PIP", "pkg:pypi/Flask@2.0.0", True),
        ("PYTHONPKG", "pkg:pypi/flask", True),
        ("NPM", "pkg:pypi/flask@2.0.0", False),
        ("PIP", "pkg:npm/flask@2.0.0", False),
        ("?", "pkg:pypi/flask@2.0.0", False),  # a manager AWS did not name: no purl type fits
    ],
)
def test_an_enhanced_finding_matches_purls_of_its_package_manager(
    manager: str, purl: str, applies: bool
) -> None:
    flask = Finding("CVE-2023-30861", Severity.HIGH, package="flask", version="2.0.0",
                    package_manager=manager)  # fmt: skip
    product = {"@id": IMAGE_PURL, "subcomponents": [{"@id": purl}]}
    body = statement(vulnerability={"name": "CVE-2023-30861"}, products=[product])
    assert bool(covered(document(body), findings=(flask,)).covered) is applies


def test_an_os_package_version_matches_with_its_release_and_epoch() -> None:
    # As Amazon Inspector reports it (a recorded DescribeImageScanFindings answer's shape).
    item = {
        "packageVulnerabilityDetails": {
            "vulnerabilityId": "CVE-2022-49043",
            "vulnerablePackages": [
                {"name": "libxml2", "version": "2.9.14+dfsg", "release": "1.3~deb12u1",
                 "epoch": 1, "packageManager": "OS", "fixedInVersion": "NotAvailable"}
            ],
        },
        "severity": "HIGH",
    }  # fmt: skip
    finding = parse_enhanced(item)
    assert (finding.full_version, finding.package_manager, finding.fixed_in) == (
        "1:2.9.14+dfsg-1.3~deb12u1",
        "OS",
        "",  # NotAvailable is no version
    )
    for version, applies in [
        ("1:2.9.14+dfsg-1.3~deb12u1", True),
        ("2.9.14+dfsg-1.3~deb12u1", True),
        ("2.9.14+dfsg", True),
        ("2.9.14+dfsg-1.3~deb12u2", False),
    ]:
        sub = f"pkg:deb/debian/libxml2@{version.replace('+', '%2B')}"
        product = {"@id": IMAGE_PURL, "subcomponents": [{"@id": sub}]}
        body = statement(vulnerability={"name": "CVE-2022-49043"}, products=[product])
        assert bool(covered(document(body), findings=(finding,)).covered) is applies, version


def test_an_alias_names_the_finding() -> None:
    body = statement(vulnerability={"name": "GHSA-xxxx-yyyy-zzzz", "aliases": [CVE.lower()]})
    assert covered(document(body)).covered


@pytest.mark.parametrize(
    ("status", "blocks"),
    [("not_affected", False), ("fixed", False), ("affected", True), ("under_investigation", True)],
)
def test_only_not_affected_and_fixed_stop_a_finding(status: str, blocks: bool) -> None:
    body = statement(
        status=status, justification=None if status != "not_affected" else "component_not_present"
    )
    assert bool(covered(document(body)).covered) is not blocks


def test_the_newest_statement_decides() -> None:
    earlier = statement(timestamp="2026-11-01T00:00:00Z")
    later = statement(timestamp="2026-11-10T00:00:00Z", status="affected", justification=None,
                      action_statement="upgrade openssl")  # fmt: skip
    assert not covered(document(earlier, later)).covered  # a later "affected" takes it back
    assert not covered(document(later), document(earlier)).covered  # across documents too
    again = statement(last_updated="2026-11-15T00:00:00Z")
    assert covered(document(earlier, later, again)).covered


def test_vex_max_age_expires_old_statements_and_refuses_future_ones() -> None:
    week = 7 * 86400.0
    fresh = covered(document(statement(timestamp="2026-11-24T12:00:00Z")), max_age=week)
    assert fresh.covered and not fresh.refused
    old = covered(document(statement(timestamp="2026-11-01T12:00:00Z")), max_age=week)
    assert not old.covered
    ((finding, _s, why),) = old.refused
    assert finding is OPENSSL
    assert "statement #1 of " + DOC_ID in why
    assert "25.0 days old, older than --vex-max-age 7.0 days: it no longer applies" in why
    # The document's timestamp counts when the statement has none.
    assert not covered(document(timestamp="2026-10-01T00:00:00Z"), max_age=week).covered
    future = covered(document(statement(timestamp="2027-01-01T00:00:00Z")), max_age=week)
    assert not future.covered and "in the future" in future.refused[0][2]
    # Without --vex-max-age any age applies.
    assert covered(document(statement(timestamp="2020-01-01T00:00:00Z"))).covered


def test_a_statement_dated_in_the_future_never_applies_even_without_max_age() -> None:
    # An attacker's future date would also outrank the vendor's later "affected".
    affected = statement(timestamp="2026-11-25T00:00:00Z", status="affected", justification=None,
                         action_statement="upgrade openssl")  # fmt: skip
    ahead = statement(timestamp="2030-01-01T00:00:00Z")
    applied = covered(document(affected, ahead))
    assert not applied.covered
    assert "in the future" in applied.refused[0][2]
    assert not covered(document(ahead)).covered


@pytest.mark.parametrize(
    "product_id",
    [
        f"pkg:oci/{REPO}@{DIGEST}0",  # the digest with a suffix
        f"pkg:oci/{REPO}@{DIGEST[:-1]}",  # a prefix of the digest
        f"pkg:oci/{REPO}@sha256:{DIGEST[7:][:12]}",  # a short digest
        f"pkg:oci/x{REPO}@{DIGEST}",  # another name ending in ours
        f"pkg:oci/{REPO}x@{DIGEST}",
        f"{IMAGE_PURL}/extra",
        f"prefix-{IMAGE_PURL}",
        f"pkg:oci/{REPO}@{OTHER_DIGEST}?digest={DIGEST}",
    ],
)
def test_a_product_that_only_contains_the_digest_never_applies(product_id: str) -> None:
    assert not covered(document(statement(products=[{"@id": product_id}]))).covered


# ---- the verdict: evaluate() with VEX beside waivers -----------------------------------------


def judge(
    findings: tuple[Finding, ...],
    *,
    vexed: vex.Applied | None = None,
    waivers: tuple[Waiver, ...] = (),
    **config: Any,
) -> Any:
    cfg = GateConfig(repository=REPO, require_tags=("t",), **config)
    applied = apply_waivers(findings, waivers, REPO, NOW.date())
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.severity.name] = counts.get(f.severity.name, 0) + 1
    return evaluate(
        findings, counts, cfg, EcrScanFindings(), f"{REPO}@{DIGEST}",
        {"imageDigest": DIGEST}, 1, applied, "", vexed,
    )  # fmt: skip


def test_a_vex_not_affected_finding_passes_and_says_who_said_so() -> None:
    findings = (OPENSSL, NCURSES)
    blocked = judge(findings)
    assert blocked.status is Status.FAIL
    result = judge(findings, vexed=vex.apply(findings, [read(document())], IMAGE, NOW))
    assert result.status is Status.PASS, result.reason
    assert "(1 VEX not_affected)" in result.reason
    reason = f"VEX not_affected (vulnerable_code_not_in_execute_path) by {AUTHOR}, {DOC_ID}"
    verdicts = {f.id: f.verdict for f in result.all_findings}
    assert verdicts == {CVE: reason, "CVE-2023-50495": "below HIGH"}
    assert all(f.digest == DIGEST for f in result.all_findings)
    assert f"VEX CRITICAL {CVE} in openssl: {reason} (statement #1 of {DOC_ID} (vex.json))" in (
        result.details
    )
    (record,) = result.evidence["vex"]
    assert record["status"] == "not_affected" and record["document"] == DOC_ID
    assert record["justification"] == "vulnerable_code_not_in_execute_path"


def test_a_finding_both_waived_and_vexed_says_both() -> None:
    waiver = Waiver(0, CVE, "accepted until the rebuild", dt.date(2027, 1, 1), package="openssl")
    findings = (OPENSSL,)
    result = judge(
        findings, waivers=(waiver,), vexed=vex.apply(findings, [read(document())], IMAGE, NOW)
    )
    assert result.status is Status.PASS
    (finding,) = result.all_findings
    assert finding.verdict.startswith("waived; VEX not_affected (")
    assert result.evidence["waived"] and result.evidence["vex"]
    assert "(1 waived) (1 VEX not_affected)" in result.reason


def test_an_expired_statement_lets_the_finding_block_and_says_why() -> None:
    findings = (OPENSSL,)
    old = document(statement(timestamp="2026-01-01T00:00:00Z"))
    applied = vex.apply(findings, [read(old)], IMAGE, NOW, max_age=90 * 86400.0)
    result = judge(findings, vexed=applied)
    assert result.status is Status.FAIL
    assert "the VEX statement for 1 of them no longer applies: statement #1" in result.reason
    assert result.evidence["vexNoLongerApplies"][0]["why"].endswith("it no longer applies")


def test_vex_options_parse_from_yaml_keys() -> None:
    values = parse_mapping({"vex": ["a.json", "b.json"], "vex_max_age": "90d"}, "config")
    assert values == {"vex": ("a.json", "b.json"), "vex_max_age": 90 * 86400.0}
    with pytest.raises(ConfigError, match="vex_max_age"):
        parse_mapping({"vex_max_age": "0d"}, "config")


# ---- through the gate: the digest the scan judged --------------------------------------------


def critical_scan() -> dict[str, Any]:
    finding = {
        "name": CVE,
        "severity": "CRITICAL",
        "attributes": [
            {"key": "package_name", "value": "openssl"},
            {"key": "package_version", "value": "3.0.2"},
        ],
    }
    body = {
        "findings": [finding],
        "imageScanCompletedAt": COMPLETED,
        "findingSeverityCounts": {"CRITICAL": 1},
    }
    return {**BASE, "DescribeImageScanFindings": scan(body)}


@pytest.mark.parametrize(("digest", "status"), [(DIGEST, Status.PASS), (OTHER_DIGEST, Status.FAIL)])
def test_the_gate_applies_a_vex_file_to_the_digest_it_judged(
    digest: str, status: Status, tmp_path: Path
) -> None:
    path = tmp_path / "image.vex.json"
    purl = f"pkg:oci/{REPO}@{digest}"
    path.write_text(json.dumps(document(statement(products=[{"@id": purl}]))))
    report, result, _aws = run(critical_scan(), vex=(str(path),))
    assert result["ecr-scan-findings"].status is status, result["ecr-scan-findings"].reason
    (summary,) = report.vex_documents
    assert summary["sha256"] == __import__("hashlib").sha256(path.read_bytes()).hexdigest()
    assert summary["id"] == DOC_ID and summary["statements"] == 1


def test_a_bad_vex_file_stops_the_run_before_any_aws_call(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document(statement(products=None))))
    with pytest.raises(ConfigError, match=r"\$\.statements\[0\]\.products"):
        run(critical_scan(), vex=(str(path),))
