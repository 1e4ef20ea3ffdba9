"""OpenVEX 0.2.0 documents (``--vex``): statements that a finding does not affect the gated image.

A statement applies to a finding of the image ``<repository>@<digest>`` the scan check judged
when all of these hold:

- its ``vulnerability`` names the finding's id (``name`` or one of ``aliases``, any case);
- one of its ``products`` names that image by its digest, ``pkg:oci/<name>@sha256:<hex>`` in
  ``@id`` or ``identifiers.purl`` (``<name>`` is the repository's last path segment; a
  ``repository_url`` qualifier, when given, must name the repository). If that product lists
  ``subcomponents``, one of them must name the finding's package. Or, the other way round: the
  product names the finding's package and one of its ``subcomponents`` names the image;
- it is the newest statement (statement ``last_updated`` / ``timestamp``, else the document's)
  that matches this finding, so a later ``affected`` takes back an earlier ``not_affected``;
- with ``--vex-max-age``, it is not older than that.

A package purl names a finding's package when its type fits the package manager Amazon Inspector
reported (``OS``: deb, rpm, apk...; ``PIP``: pypi; ``NPM``: npm; ``JAR``: maven...; basic
scanning reports operating-system packages only), its name (or ``namespace/name``,
``namespace:name``) is the package's name in any case, and its version, when it has one, is the
finding's version (``version``, ``version-release`` or ``epoch:version-release``).

``not_affected`` (which must carry a ``justification`` or an ``impact_statement``) and ``fixed``
stop the finding from blocking; ``affected`` and ``under_investigation`` change nothing. A
statement about another digest never applies: the product must name the digest that was judged.

A document that cannot be read is a ConfigError (exit 2) naming the file and the JSON path.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from soc2gate.errors import ConfigError
from soc2gate.models import Finding

#: The only @context soc2gate reads: OpenVEX 0.2.0.
CONTEXT = "https://openvex.dev/ns/v0.2.0"
NOT_AFFECTED = "not_affected"
AFFECTED = "affected"
FIXED = "fixed"
UNDER_INVESTIGATION = "under_investigation"
STATUSES = (NOT_AFFECTED, AFFECTED, FIXED, UNDER_INVESTIGATION)
#: Statuses that stop a finding from blocking.
ACCEPTING = (NOT_AFFECTED, FIXED)
JUSTIFICATIONS = (
    "component_not_present",
    "vulnerable_code_not_present",
    "vulnerable_code_not_in_execute_path",
    "vulnerable_code_cannot_be_controlled_by_adversary",
    "inline_mitigations_already_exist",
)
#: A statement dated this far after the run started is refused under --vex-max-age (clock skew
#: between the author's machine and the runner is allowed).
FUTURE_SKEW = 300.0

#: purl types that name a package of each Amazon Inspector packageManager. "" is basic scanning,
#: which reports operating-system packages only. A manager not listed matches no purl.
PURL_TYPES: Mapping[str, frozenset[str]] = {
    "": frozenset({"deb", "rpm", "apk", "alpm"}),
    "OS": frozenset({"deb", "rpm", "apk", "alpm"}),
    "PIP": frozenset({"pypi"}),
    "PIPENV": frozenset({"pypi"}),
    "POETRY": frozenset({"pypi"}),
    "PYTHONPKG": frozenset({"pypi"}),
    "NPM": frozenset({"npm"}),
    "YARN": frozenset({"npm"}),
    "NODEPKG": frozenset({"npm"}),
    "JAR": frozenset({"maven"}),
    "POM": frozenset({"maven"}),
    "GOBINARY": frozenset({"golang"}),
    "GOMOD": frozenset({"golang"}),
    "BUNDLER": frozenset({"gem"}),
    "GEMSPEC": frozenset({"gem"}),
    "CARGO": frozenset({"cargo"}),
    "COMPOSER": frozenset({"composer"}),
    "NUGET": frozenset({"nuget"}),
    "DOTNET_CORE": frozenset({"nuget"}),
}


@dataclass(frozen=True)
class Purl:
    """A package URL as read by packageurl-python (names normalised per type)."""

    type: str
    namespace: str
    name: str
    version: str
    qualifiers: Mapping[str, str]

    @classmethod
    def parse(cls, text: str) -> Purl | None:
        """The purl, or None when ``text`` is not one (an IRI that is not a purl)."""
        from packageurl import PackageURL

        if not text.startswith("pkg:"):
            return None
        try:
            purl = PackageURL.from_string(text)
        except ValueError:
            return None
        qualifiers = purl.qualifiers if isinstance(purl.qualifiers, dict) else {}
        return cls(
            type=purl.type or "",
            namespace=purl.namespace or "",
            name=purl.name or "",
            version=purl.version or "",
            qualifiers={str(k): str(v) for k, v in qualifiers.items()},
        )


@dataclass(frozen=True)
class Image:
    """The image a finding was read for: repository name and the digest the scan judged."""

    repository: str
    digest: str


def names_image(purl: Purl, image: Image) -> bool:
    """``pkg:oci/<last path segment>@<digest>``, with a repository_url (if any) naming it."""
    if purl.type != "oci" or not image.digest or purl.version.lower() != image.digest.lower():
        return False
    if purl.name != image.repository.rsplit("/", 1)[-1].lower():
        return False
    url = purl.qualifiers.get("repository_url", "")
    if not url:
        return True
    path = url.split("://", 1)[-1].split("/", 1)
    return len(path) == 2 and path[1].rstrip("/") == image.repository


def _norm(name: str, kind: str) -> str:
    name = name.casefold()
    return re.sub(r"[-_.]+", "-", name) if kind == "pypi" else name


def names_package(purl: Purl, finding: Finding) -> bool:
    """The purl is the finding's package: type, name and (when it has one) version."""
    types = PURL_TYPES.get(finding.package_manager.upper())
    if not finding.package or types is None or purl.type not in types:
        return False
    names = {purl.name}
    if purl.namespace:
        names |= {f"{purl.namespace}/{purl.name}", f"{purl.namespace}:{purl.name}"}
    if _norm(finding.package, purl.type) not in {_norm(n, purl.type) for n in names}:
        return False
    if not purl.version:
        return True
    versions = {finding.version}
    if finding.full_version:
        versions |= {finding.full_version, finding.full_version.split(":", 1)[-1]}
    return purl.version in {v for v in versions if v}


@dataclass(frozen=True)
class Product:
    """A product and its subcomponents, each as the purls that identify it."""

    purls: tuple[Purl, ...]
    subcomponents: tuple[tuple[Purl, ...], ...]

    def covers(self, image: Image, finding: Finding) -> bool:
        if any(names_image(p, image) for p in self.purls):
            return not self.subcomponents or any(
                names_package(p, finding) for sub in self.subcomponents for p in sub
            )
        return any(names_package(p, finding) for p in self.purls) and any(
            names_image(p, image) for sub in self.subcomponents for p in sub
        )


@dataclass(frozen=True)
class Statement:
    """One statement of a document, with what it inherits from the document."""

    path: str
    document_id: str
    author: str
    #: Position of its document among --vex, and its own position in the document (0-based).
    document_index: int
    index: int
    #: The statement's own @id ("" when it has none).
    statement_id: str
    vulnerability: str
    aliases: tuple[str, ...]
    products: tuple[Product, ...]
    status: str
    justification: str
    impact_statement: str
    #: When it was last known true: its last_updated or timestamp, else the document's.
    timestamp: dt.datetime

    @property
    def ids(self) -> set[str]:
        return {v.upper() for v in (self.vulnerability, *self.aliases) if v}

    @property
    def label(self) -> str:
        return f"statement #{self.index + 1} of {self.document_id} ({self.path})"

    @property
    def reason(self) -> str:
        """How every report says it: ``VEX not_affected (<justification>) by <author>, <id>``."""
        why = ""
        if self.status == NOT_AFFECTED:
            why = self.justification or f"impact: {self.impact_statement}"
            why = f" ({why})"
        return f"VEX {self.status}{why} by {self.author}, {self.document_id}"

    def applies(self, image: Image, finding: Finding) -> bool:
        return finding.id.upper() in self.ids and any(
            p.covers(image, finding) for p in self.products
        )

    def record(self, finding: Finding) -> dict[str, Any]:
        """What the evidence record keeps of a finding this statement decided."""
        return {
            "id": finding.id,
            "package": finding.package,
            "severity": finding.severity.name,
            "status": self.status,
            "justification": self.justification,
            "impact_statement": self.impact_statement,
            "author": self.author,
            "document": self.document_id,
            "path": self.path,
            "statement": self.index + 1,
            **({"statement_id": self.statement_id} if self.statement_id else {}),
            "timestamp": self.timestamp.isoformat(),
        }


@dataclass(frozen=True)
class Document:
    path: str
    id: str
    author: str
    version: int
    timestamp: dt.datetime
    sha256: str
    statements: tuple[Statement, ...]

    def summary(self) -> dict[str, Any]:
        """The evidence record's entry for this document."""
        return {
            "path": self.path,
            "id": self.id,
            "author": self.author,
            "version": self.version,
            "timestamp": self.timestamp.isoformat(),
            "statements": len(self.statements),
            "sha256": self.sha256,
        }


# ---- reading ------------------------------------------------------------------------------


class _Bad(Exception):
    def __init__(self, path: str, problem: str) -> None:
        super().__init__(path, problem)
        self.path = path
        self.problem = problem


def _key(parent: str, key: str) -> str:
    return (
        f"{parent}.{key}" if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) else f'{parent}["{key}"]'
    )


def _type(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "a number"
    )


def _text(obj: Mapping[str, Any], key: str, where: str, *, required: bool) -> str:
    """A string member; "" when absent and not required. Required ones must not be empty."""
    if key not in obj:
        if required:
            raise _Bad(_key(where, key), "missing: expected a non-empty string")
        return ""
    value = obj[key]
    if not isinstance(value, str):
        raise _Bad(_key(where, key), f"expected a string, got {_type(value)}")
    if required and not value.strip():
        raise _Bad(_key(where, key), "expected a non-empty string, got an empty one")
    return value.strip()


_RFC3339 = re.compile(r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def _time(obj: Mapping[str, Any], key: str, where: str, *, required: bool) -> dt.datetime | None:
    if key not in obj and not required:
        return None
    value = obj.get(key)
    match = _RFC3339.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        got = "missing" if key not in obj else repr(value)[:60]
        raise _Bad(
            _key(where, key),
            f"expected an RFC 3339 date-time with a time zone (2023-01-08T18:02:03Z), got {got}",
        )
    day, clock, fraction, zone = match.groups()
    micro = (fraction or ".0")[1:7].ljust(6, "0")
    zone = "+00:00" if zone in ("Z", "z") else zone
    try:
        return dt.datetime.fromisoformat(f"{day}T{clock}.{micro}{zone}")
    except ValueError:
        raise _Bad(_key(where, key), f"{value!r} is not a valid date-time") from None


def _object(value: Any, where: str, what: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise _Bad(where, f"expected {what} (an object), got {_type(value)}")
    return value


def _list(obj: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = obj.get(key)
    if not isinstance(value, list):
        got = "missing" if key not in obj else _type(value)
        raise _Bad(_key(where, key), f"expected a list, got {got}")
    return value


def _purls(component: Mapping[str, Any], where: str) -> tuple[Purl, ...]:
    """The purls that identify a component: its @id and identifiers.purl (either may be some
    other IRI or identifier, which matches nothing). It needs at least one of the two."""
    texts = []
    if "@id" in component:
        texts.append(_text(component, "@id", where, required=True))
    if "identifiers" in component:
        identifiers = _object(component["identifiers"], _key(where, "identifiers"), "identifiers")
        if "purl" in identifiers:
            texts.append(_text(identifiers, "purl", _key(where, "identifiers"), required=True))
    elif "@id" not in component:
        raise _Bad(where, "a product or subcomponent needs an @id or identifiers")
    return tuple(p for p in (Purl.parse(t) for t in texts) if p is not None)


def _product(value: Any, where: str) -> Product:
    product = _object(value, where, "a product")
    subs: list[tuple[Purl, ...]] = []
    if "subcomponents" in product:
        for i, sub in enumerate(_list(product, "subcomponents", where)):
            at = f"{_key(where, 'subcomponents')}[{i}]"
            subs.append(_purls(_object(sub, at, "a subcomponent"), at))
    return Product(purls=_purls(product, where), subcomponents=tuple(subs))


def _statement(
    value: Any, where: str, doc: dict[str, Any], doc_time: dt.datetime, index: int
) -> Statement:
    statement = _object(value, where, "a statement")
    own_id = _text(statement, "@id", where, required=False)
    if "vulnerability" not in statement:
        raise _Bad(where, "a statement without a vulnerability")
    vuln = _object(statement["vulnerability"], _key(where, "vulnerability"), "a vulnerability")
    name = _text(vuln, "name", _key(where, "vulnerability"), required=True)
    aliases: list[str] = []
    if "aliases" in vuln:
        at = _key(_key(where, "vulnerability"), "aliases")
        raw = vuln["aliases"]
        if not isinstance(raw, list) or not all(isinstance(a, str) for a in raw):
            raise _Bad(at, f"expected a list of strings, got {_type(raw)}")
        aliases = [a.strip() for a in raw if a.strip()]
    products = statement.get("products")
    if not isinstance(products, list) or not products:
        got = "missing" if "products" not in statement else f"{_type(products)}"
        if isinstance(products, list):
            got = "an empty list"
        raise _Bad(
            _key(where, "products"),
            f"a statement without a product ({got}): name the image as pkg:oci/<name>@sha256:... "
            "(products given by an encapsulating document are not read)",
        )
    parsed = tuple(_product(p, f"{_key(where, 'products')}[{i}]") for i, p in enumerate(products))
    status = _text(statement, "status", where, required=True)
    if status not in STATUSES:
        raise _Bad(
            _key(where, "status"), f"{status!r} is not an OpenVEX status ({', '.join(STATUSES)})"
        )
    justification = _text(statement, "justification", where, required=False)
    if justification and justification not in JUSTIFICATIONS:
        raise _Bad(
            _key(where, "justification"),
            f"{justification!r} is not an OpenVEX justification ({', '.join(JUSTIFICATIONS)})",
        )
    impact = _text(statement, "impact_statement", where, required=False)
    if status == NOT_AFFECTED and not (justification or impact):
        raise _Bad(
            where,
            "not_affected without a justification or impact_statement: say why the image is not "
            f"affected (justification: one of {', '.join(JUSTIFICATIONS)})",
        )
    own = _time(statement, "last_updated", where, required=False) or _time(
        statement, "timestamp", where, required=False
    )
    return Statement(
        path=doc["path"],
        document_id=doc["id"],
        author=doc["author"],
        document_index=doc["index"],
        index=index,
        statement_id=own_id,
        vulnerability=name,
        aliases=tuple(aliases),
        products=parsed,
        status=status,
        justification=justification,
        impact_statement=impact,
        timestamp=own or doc_time,
    )


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"duplicate key {key!r}")
        seen[key] = value
    return seen


def parse(data: bytes, path: str, index: int = 0) -> Document:
    """One OpenVEX 0.2.0 document; ConfigError naming ``path`` and the JSON path otherwise."""
    where = f"VEX document {path}"
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{where}: not UTF-8 text (byte {exc.start})") from None
    try:
        body = json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{where}: not JSON (line {exc.lineno} column {exc.colno}: {exc.msg})"
        ) from None
    except ValueError as exc:  # a duplicate key: readers disagree on which one counts
        raise ConfigError(f"{where}: not JSON soc2gate accepts ({exc})") from None
    try:
        doc = _object(body, "$", "an OpenVEX document")
        context = doc.get("@context")
        if context != CONTEXT:
            raise _Bad(
                '$["@context"]',
                f"not an OpenVEX 0.2.0 document: @context must be {CONTEXT!r}, got "
                f"{'nothing' if '@context' not in doc else repr(context)[:80]}",
            )
        info: dict[str, Any] = {
            "path": path,
            "index": index,
            "id": _text(doc, "@id", "$", required=True),
            "author": _text(doc, "author", "$", required=True),
        }
        version = doc.get("version")
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise _Bad("$.version", f"expected an integer of at least 1, got {version!r}")
        issued = _time(doc, "timestamp", "$", required=True)
        assert issued is not None
        _time(doc, "last_updated", "$", required=False)  # checked; statements inherit timestamp
        statements = _list(doc, "statements", "$")
        if not statements:
            raise _Bad("$.statements", "a document without statements")
        parsed = tuple(
            _statement(s, f"$.statements[{i}]", info, issued, i) for i, s in enumerate(statements)
        )
    except _Bad as bad:
        raise ConfigError(f"{where}: {bad.path}: {bad.problem}") from None
    return Document(
        path=path,
        id=info["id"],
        author=info["author"],
        version=version,
        timestamp=issued,
        sha256=hashlib.sha256(data).hexdigest(),
        statements=parsed,
    )


def load(path: str, index: int = 0) -> Document:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise ConfigError(f"cannot read VEX document {path}: {exc.strerror or exc}") from None
    return parse(data, path, index)


def load_all(paths: Iterable[str]) -> tuple[Document, ...]:
    """Every --vex document, in order, each path once."""
    return tuple(load(path, i) for i, path in enumerate(dict.fromkeys(paths)))


# ---- applying -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Applied:
    """What the VEX statements decided for one image's findings."""

    #: Findings a not_affected or fixed statement stops from blocking, with that statement.
    covered: tuple[tuple[Finding, Statement], ...] = ()
    #: Findings whose newest statement would have, but no longer applies: (finding, statement,
    #: why: older than --vex-max-age, or dated in the future).
    refused: tuple[tuple[Finding, Statement, str], ...] = ()

    def statement_for(self, finding: Finding) -> Statement | None:
        return next((s for f, s in self.covered if f is finding), None)


def _age(seconds: float) -> str:
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} days"
    return f"{seconds / 3600:.1f} hours"


def apply(
    findings: Sequence[Finding],
    documents: Sequence[Document],
    image: Image,
    now: dt.datetime,
    max_age: float = 0.0,
) -> Applied:
    """Which findings of ``image`` (the digest the scan judged) VEX stops from blocking."""
    if not documents:
        return Applied()
    by_id: dict[str, list[Statement]] = {}
    for document in documents:
        for statement in document.statements:
            for vuln in statement.ids:
                by_id.setdefault(vuln, []).append(statement)
    covered: list[tuple[Finding, Statement]] = []
    refused: list[tuple[Finding, Statement, str]] = []
    for finding in findings:
        matching = [s for s in by_id.get(finding.id.upper(), ()) if s.applies(image, finding)]
        if not matching:
            continue
        # VEX is a sequence of statements, each overriding the earlier ones (OpenVEX spec):
        # the newest decides; in a tie, the later document, then the later statement.
        newest = max(matching, key=lambda s: (s.timestamp, s.document_index, s.index))
        if newest.status not in ACCEPTING:
            continue
        age = (now - newest.timestamp).total_seconds()
        if max_age and age > max_age:
            refused.append(
                (
                    finding,
                    newest,
                    f"{newest.label} is {_age(age)} old, older than --vex-max-age "
                    f"{_age(max_age)}: it no longer applies",
                )
            )
        elif -age > FUTURE_SKEW:
            # Refused with or without --vex-max-age: a statement dated ahead would also outrank
            # every real statement ("the newest decides"), e.g. a later "affected".
            refused.append(
                (
                    finding,
                    newest,
                    f"{newest.label} is dated {newest.timestamp.isoformat()}, in the future: "
                    "a statement cannot be newer than the run, so it does not apply "
                    "(fix the document's or the statement's timestamp)",
                )
            )
        else:
            covered.append((finding, newest))
    return Applied(covered=tuple(covered), refused=tuple(refused))
