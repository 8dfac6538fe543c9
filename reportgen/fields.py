"""Structural validation: check each manifest entry against the field table of spec.py.

Every problem is reported; what is valid is kept, so later checks see as much of the manifests as they can.
An entry whose required fields are all valid is kept even when an optional field is not.
"""

from __future__ import annotations

import difflib
import json
import re
import zlib
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from reportgen.diagnostics import Diagnostic, Location, Reporter
from reportgen.load import Document, Node
from reportgen.model import ArtifactRef
from reportgen.spec import (
    ENTITIES,
    TOP_LEVEL_KEYS,
    Field,
    FormatError,
    Kind,
    check_alias,
    check_name,
    check_segment,
    check_url,
    parse_collection_path,
    parse_timestamp,
    parse_version,
)

_REQUIRED = {entity: frozenset(f.name for f in specs if f.required) for entity, specs in ENTITIES.items()}


@dataclass(slots=True)
class Entry:
    """One manifest entry (a run, an artifact version, ...) with its parsed fields and their places."""

    entity: str
    loc: Location
    order: int
    values: dict[str, Any] = field(default_factory=dict)
    locs: Mapping[str, Location] = field(default_factory=dict)  # where each field's value was written
    item_locs: Mapping[str, tuple[Location, ...]] = field(default_factory=dict)  # of a list's items
    invalid: set[str] = field(default_factory=set)  # fields written but rejected (already reported)

    @property
    def complete(self) -> bool:
        """Return whether every required field is present and valid."""
        return _REQUIRED[self.entity] <= self.values.keys()

    def get(self, name: str, default: Any = None) -> Any:
        """Return a field's parsed value, or ``default`` when absent or invalid."""
        return self.values.get(name, default)

    def where(self, name: str) -> Location:
        """Return where a field was written, or the entry's own place when it was not."""
        return self.locs.get(name, self.loc)


def describe(value: object) -> str:
    """Return a short description of a value's YAML type for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the number {value}"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "a mapping"


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return a " (did you mean 'x'?)" hint for a near miss, or nothing."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def near_versions(ref: ArtifactRef, artifacts: Iterable[ArtifactRef]) -> str:
    """Return a " (declared versions of x: v0, v1)" hint for a ref to an undeclared version."""
    versions = sorted(r.version for r in artifacts if r.name == ref.name)
    if not versions:
        return ""
    shown = ", ".join(f"v{v}" for v in versions[:8]) + (", ..." if len(versions) > 8 else "")
    return f" (declared versions of {ref.name}: {shown})"


class _Invalid(Exception):
    """Raised inside a field parser; carries the code and message to report."""

    def __init__(self, code: str, message: str, loc: Location) -> None:
        super().__init__(message)
        self.code = code
        self.loc = loc


def _string(node: Node, what: str = "a string") -> str:
    if not isinstance(node.value, str):
        hint = " (quote it to make it text)" if isinstance(node.value, int | float | bool) else ""
        raise _Invalid("RG103", f"expected {what}, got {describe(node.value)}{hint}", node.loc)
    return node.value


def _checked(check: Callable[[str], Any], what: str = "a string") -> Callable[[Node], Any]:
    def parse(node: Node) -> Any:
        text = _string(node, what)
        try:
            return check(text)
        except FormatError as exc:
            raise _Invalid(exc.code, str(exc), node.loc) from None

    return parse


def _integer(minimum: int) -> Callable[[Node], int]:
    def parse(node: Node) -> int:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Invalid("RG103", f"expected an integer, got {describe(value)}", node.loc)
        if value < minimum:
            raise _Invalid("RG110", f"must be at least {minimum}, not {value}", node.loc)
        return value

    return parse


def _version(node: Node) -> int:
    try:
        return parse_version(node.value)
    except FormatError as exc:
        raise _Invalid(exc.code, str(exc), node.loc) from None


def _mapping(node: Node) -> dict[str, Any]:
    if not isinstance(node.value, dict):
        raise _Invalid("RG103", f"expected a mapping, got {describe(node.value)}", node.loc)
    plain: dict[str, Any] = node.plain()
    return plain


# The kinds of text checked by a function of the text alone (raising FormatError), and what a manifest's
# value of another type is told it should have been.
_CHECKS: dict[Kind, tuple[Callable[[str], Any], str]] = {
    Kind.NAME: (check_name, "a string"),
    Kind.SEGMENT: (check_segment, "a string"),
    Kind.ALIAS: (check_alias, "an alias"),
    Kind.TIMESTAMP: (parse_timestamp, "a timestamp"),
    Kind.URL: (check_url, "a URL"),
    Kind.REF: (ArtifactRef.parse, "a ref name:vN"),
    Kind.COLLECTION_PATH: (lambda s: (parse_collection_path(s), s)[1], "a string"),
}
_PARSERS: dict[Kind, Callable[[Node], Any]] = {
    Kind.TEXT: _string,
    **{kind: _checked(check, what) for kind, (check, what) in _CHECKS.items()},
    Kind.COUNT: _integer(0),
    Kind.POSITIVE: _integer(1),
    Kind.MAPPING: _mapping,
    Kind.VERSION: _version,
}
SINGULAR = {
    "registries": "registry",
    "collections": "collection",
    "artifacts": "artifact",
    "runs": "run",
    "actions": "action",
}
_LIST_ITEM: dict[Kind, Kind] = {
    Kind.TEXT_LIST: Kind.TEXT,
    Kind.ALIAS_LIST: Kind.ALIAS,
    Kind.REF_LIST: Kind.REF,
}


@dataclass(slots=True)
class CheckedFile:
    """The entries of one file's documents, checked where the file was parsed (a worker of the load).

    The parent takes these instead of the documents: a file's entries are a fraction of its located
    values, and the checking is done on every core. Entries count from ``first`` within the file (0
    as checked): ``check_documents`` numbers them on from the files before, in place, so they sort as
    if checked with them.
    """

    entries: dict[str, list[Entry]]
    items: int  # entries counted, valid or not: the next file's count from here
    diagnostics: list[Diagnostic]
    first: int = 0  # the number of the file's first entry


def check_file(documents: Iterable[Document]) -> CheckedFile:
    """Return the entries of one file's documents, checked, with the problems found."""
    reporter = Reporter()
    entries = _no_entries()
    items = 0
    for doc in documents:
        items = _check_document(doc, items, entries, reporter)
    return CheckedFile(entries, items, reporter.diagnostics)


# A file's entries as kept by the parse cache are at most this, uncompressed: bigger ones are not kept
# (the file is parsed each time), and a kept body that would inflate past it is refused.
MAX_KEPT_BYTES = 256 * 1024 * 1024


def encode_entries(documents: Sequence[Document], checked: CheckedFile) -> bytes:
    """Return a file's checked entries as the parse cache keeps them, to be restored by ``decode_entries``.

    Only a file checked without a problem is kept (raise ValueError otherwise, or for what JSON or UTF-8
    cannot hold). Each field is kept as it was written, with its place, so that restoring it runs the
    very parser that checked it: what a restored entry holds is what a parse would have given.
    Compressed compact JSON: ``[values, [[entity, fields, places, value, ...], ...]]``, where ``values``
    is the documents' count of YAML values (for the set's budget), ``entity`` the entity's index in the
    table (``spec.ENTITIES``), ``fields`` a bit per field of its table written (in the table's order, as
    the values), a list's value the list of its items' values, and ``places`` the lines and columns of
    the entry, then of each field written, each followed by those of its items if it is a list, as
    decimal numbers separated by spaces: one text, not thousands of small objects to make and free.
    """
    if checked.diagnostics:
        raise ValueError("a file with a problem is not kept")
    rows: list[list[Any]] = []
    for doc in documents:
        assert isinstance(doc.root.value, dict)
        for entity, section in doc.root.value.items():
            assert section.value is None or isinstance(section.value, list), "checked without a problem"
            for item in section.value or ():
                assert isinstance(item.value, dict), "checked without a problem: every item is a mapping"
                rows.append(_written(entity, item))
    if len(rows) != checked.items:
        raise ValueError("the entries are not those of the documents")
    data = [sum(doc.values for doc in documents), rows]
    try:
        text = json.dumps(data, ensure_ascii=False, allow_nan=True, separators=(",", ":")).encode("utf-8")
    except (TypeError, RecursionError, UnicodeEncodeError) as exc:  # a lone surrogate, by escape
        raise ValueError(f"entries cannot be written as JSON: {exc}") from None
    if len(text) > MAX_KEPT_BYTES:
        raise ValueError("entries too big to keep")
    return zlib.compress(text, 1)


def _inflated(body: bytes) -> bytes:
    """Return a kept body decompressed; raise ValueError if it is cut short or would grow past
    ``MAX_KEPT_BYTES`` (zlib packs a run of one byte a thousandfold: a forged body of a few hundred
    kilobytes would take gigabytes)."""
    inflate = zlib.decompressobj()
    text = inflate.decompress(body, MAX_KEPT_BYTES)
    if inflate.unconsumed_tail:
        raise ValueError(f"more than {MAX_KEPT_BYTES} bytes")
    if not inflate.eof:
        raise ValueError("cut short")
    return text


def _written(entity: str, item: Node) -> list[Any]:
    """Return an entry as the parse cache keeps it (see ``encode_entries``)."""
    fields = item.value
    assert isinstance(fields, dict), "checked without a problem: every item is a mapping"
    mask, values = 0, []
    places = [item.loc.line, item.loc.column]
    for bit, spec in enumerate(ENTITIES[entity]):
        child = fields.get(spec.name)
        if child is None or child.value is None:
            continue
        mask |= 1 << bit
        places += (child.loc.line, child.loc.column)
        value: Any = child.value
        if spec.kind is Kind.MAPPING:
            value = child.plain()
        elif isinstance(value, list):
            for node in value:
                places += (node.loc.line, node.loc.column)
            value = [node.value for node in value]
        values.append(value)
    return [_ENTITY_INDEX[entity], mask, " ".join(map(str, places)), *values]


def decode_entries(file: str, body: bytes) -> tuple[CheckedFile, int]:
    """Return the entries ``encode_entries`` kept of ``file``, and its count of values; raise ValueError
    on anything else.

    Every field goes through the parser that checks it in a manifest (a cache is as untrusted as a
    manifest): a value no manifest could hold, an unknown entity or field, a required field missing, or
    places that are not as many numbers as the entry needs are refused. What was written is parsed once
    per field it is met in (a text, or a list's items): a parser's result depends on it alone. The
    places of fields and of list items are made from the kept row when a diagnostic asks for one.
    """
    entries = _no_entries()
    reporter = Reporter()
    parsed: list[dict[Any, Any]] = [{} for _ in range(_SLOTS)]  # slot -> what was written -> its value
    somewhere = Location(file)  # what a field's value is parsed at: its parser says where only on failing
    try:
        values, rows = json.loads(_inflated(body).decode("utf-8"))
        if type(values) is not int or values < 0 or type(rows) is not list:
            raise ValueError("not entries")
        for order, row in enumerate(rows):
            index, mask, places = row[0], row[1], row[2]
            if type(index) is not int or not 0 <= index < len(_ENTITY_NAMES):
                raise ValueError("not an entity")
            entity = _ENTITY_NAMES[index]
            table = _ROWS[entity]
            if type(mask) is not int or not 0 <= mask < 1 << len(table) or type(places) is not str:
                raise ValueError("not an entry")
            got: dict[str, Any] = {}
            at, items = 3, 0
            for bit, name, restore, slot in table:
                if not mask & bit:
                    continue
                value = row[at]
                at += 1
                kind = type(value)
                if kind is dict:  # a mapping's value, as written (kept as such, never parsed: plain data)
                    got[name] = restore(value, somewhere, reporter)
                    continue
                if kind is list:
                    items += len(value)
                    key: Any = tuple(value)  # a list's items (unhashable ones are refused)
                else:  # a text, or another scalar with its type (True and 1 are equal keys otherwise)
                    key = value if kind is str else (kind, value)
                known = parsed[slot]
                result = known.get(key, _UNKNOWN)
                if result is _UNKNOWN:
                    result = known[key] = restore(value, somewhere, reporter)
                got[name] = result
            if at != len(row):
                raise ValueError("values the fields do not account for")
            if _NUMBERS.fullmatch(places) is None or places.count(" ") != 1 + 2 * (at - 3 + items):
                raise ValueError("not the entry's places")
            if not _REQUIRED[entity] <= got.keys():
                raise ValueError("a required field is missing")
            line, column = places.split(" ", 2)[:2]
            entries[entity].append(
                _placed(entity, Location(file, int(line), int(column)), order, got, mask, places, set())
            )
    except (TypeError, ValueError, KeyError, IndexError, RecursionError, zlib.error, _Invalid) as exc:
        raise ValueError(f"not entries: {exc!r}") from None
    if reporter.diagnostics:  # a bad item of a list: reported, not raised, as in a manifest
        raise ValueError("not entries: an item a manifest could not hold")
    return CheckedFile(entries, len(rows), []), values


def _fields_table() -> tuple[dict[str, dict[str, tuple[int, Field, int]]], int]:
    """Return entity -> field name -> (its place in the entity's table, the field, a slot of its own
    among every entity's fields), and the number of slots."""
    table, slots = {}, 0
    for entity, specs in ENTITIES.items():
        table[entity] = {f.name: (i, f, slots + i) for i, f in enumerate(specs)}
        slots += len(specs)
    return table, slots


_TABLE, _SLOTS = _fields_table()
_UNKNOWN = object()
_ENTITY_NAMES = tuple(ENTITIES)
_ENTITY_INDEX = {name: n for n, name in enumerate(_ENTITY_NAMES)}


def _restorer(spec: Field) -> Callable[[Any, Location, Reporter], Any]:
    """Return how a kept value of ``spec`` is restored: as its parser makes it from a manifest's value,
    raising _Invalid or ValueError on anything no manifest's value could be.

    Chosen once for each field, not for each value: most fields hold a text or a number, which goes
    straight to its kind's parser. A text checked by a function of the text alone (``_CHECKS``) goes
    to that function, without the ``Node`` a parser takes to say where a manifest's value failed: a
    kept value that fails is refused, wherever it was (restoring L's kept files: 0.72 s → 0.60 s).
    """
    if spec.kind is Kind.MAPPING:

        def mapping(value: Any, loc: Location, reporter: Reporter) -> Any:
            if type(value) is not dict:
                raise ValueError("not a mapping")
            return value  # plain data already: JSON holds nothing else

        return mapping
    if spec.kind is Kind.ENUM or spec.kind in _LIST_ITEM:

        def parsed(value: Any, loc: Location, reporter: Reporter) -> Any:
            if type(value) is dict:
                raise ValueError("a mapping where a manifest holds none")
            if type(value) is list:
                value = [Node(item, loc) for item in value]
            return _parse_field(spec, Node(value, loc), None, reporter)

        return parsed
    if spec.kind is Kind.TEXT:

        def text(value: Any, loc: Location, reporter: Reporter) -> Any:
            if type(value) is not str:
                raise ValueError("not a text")
            return value

        return text
    if spec.kind in _CHECKS:
        check = _CHECKS[spec.kind][0]

        def checked(value: Any, loc: Location, reporter: Reporter) -> Any:
            if type(value) is not str:
                raise ValueError("not a text")
            return check(value)  # a FormatError is a ValueError: refused, like the parser's _Invalid

        return checked
    parse = _PARSERS[spec.kind]

    def scalar(value: Any, loc: Location, reporter: Reporter) -> Any:
        if type(value) is dict or type(value) is list:
            raise ValueError("a mapping or a list where the field holds one value")
        return parse(Node(value, loc))

    return scalar


# entity -> (its bit in a kept entry's fields, name, how a kept value is restored, slot), in the table's
# order (see ``_restorer``)
_Row: TypeAlias = tuple[int, str, Callable[[Any, Location, Reporter], Any], int]
_ROWS: dict[str, tuple[_Row, ...]] = {
    entity: tuple((1 << place, name, _restorer(spec), slot) for name, (place, spec, slot) in fields.items())
    for entity, fields in _TABLE.items()
}
# entity -> field name -> its bit in a kept entry's fields (see ``encode_entries``)
_BITS: dict[str, dict[str, int]] = {
    entity: {name: bit for bit, name, _, _ in rows} for entity, rows in _ROWS.items()
}
# entity -> the names of its fields that hold lists, whose items have places of their own
_LISTS: dict[str, frozenset[str]] = {
    entity: frozenset(f.name for f in specs if f.kind in _LIST_ITEM) for entity, specs in ENTITIES.items()
}
_PLACE = "I"  # an array's type for places as numbers: unsigned, 4 bytes where Python runs
_NUMBERS = re.compile(r"[0-9]{1,9}(?: [0-9]{1,9})*")  # lines and columns: no file has a billion


class _Places(Mapping[str, Location]):
    """The places of an entry's fields, made from numbers kept in one object the first time a diagnostic
    asks for one: the entry's line and column, then each field's (a bit of ``mask`` each, in the table's
    order), each followed by those of its items if it is a list (as many as its value holds). The
    numbers are decimal, separated by spaces, in a text, or machine integers (``_PLACE``) in bytes.

    Only diagnostics ask, and a set that builds is mostly valid. A restored entry has its places so
    (``encode_entries``: the text was checked as it was restored): at L, making every place had been a
    third of restoring the entries (325,000 of them), and freeing them most of what follows validation.
    An entry a parsing worker checked crosses to the build process so too (``reduce_entry``).
    """

    __slots__ = ("_entity", "_file", "_kept", "_made", "_mask", "_values")

    def __init__(
        self, file: str, entity: str, mask: int, kept: str | bytes, values: Mapping[str, Any]
    ) -> None:
        self._file, self._entity, self._mask, self._kept, self._values = file, entity, mask, kept, values
        self._made: tuple[dict[str, Location], dict[str, tuple[Location, ...]]] | None = None

    def made(self) -> tuple[dict[str, Location], dict[str, tuple[Location, ...]]]:
        """Return the places of the fields, and of the items of those that are lists."""
        if self._made is None:
            file, mask, lists, kept = self._file, self._mask, _LISTS[self._entity], self._kept
            numbers: Sequence[int] = (
                [int(n) for n in kept.split(" ")] if isinstance(kept, str) else array(_PLACE, kept)
            )
            fields: dict[str, Location] = {}
            items: dict[str, tuple[Location, ...]] = {}
            k = 2
            for bit, name, _, _ in _ROWS[self._entity]:
                if not mask & bit:
                    continue
                fields[name] = Location(file, numbers[k], numbers[k + 1])
                k += 2
                if name in lists:
                    n = len(self._values[name])
                    items[name] = tuple(
                        Location(file, numbers[j], numbers[j + 1]) for j in range(k, k + 2 * n, 2)
                    )
                    k += 2 * n
            self._made = fields, items
        return self._made

    def __getitem__(self, name: str) -> Location:
        return self.made()[0][name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.made()[0])

    def __len__(self) -> int:
        return len(self.made()[0])

    def __repr__(self) -> str:  # spelled as the dict of a checked entry
        return repr(self.made()[0])


class _ItemPlaces(Mapping[str, tuple[Location, ...]]):
    """The places of a restored entry's list items, by field (see ``_Places``)."""

    __slots__ = ("_places",)

    def __init__(self, places: _Places) -> None:
        self._places = places

    def __getitem__(self, name: str) -> tuple[Location, ...]:
        return self._places.made()[1][name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._places.made()[1])

    def __len__(self) -> int:
        return len(self._places.made()[1])

    def __repr__(self) -> str:
        return repr(self._places.made()[1])


def reduce_entry(entry: Entry) -> tuple[Callable[..., Entry], tuple[Any, ...]]:
    """Return how an entry is pickled to cross from a parsing worker to the build process: with its
    fields' places as numbers in one ``bytes`` (see ``_Places``), not a ``Location`` each. At L those
    were 300,000 objects for the workers to pickle and the build process to unpickle and keep.

    An entry whose places cannot be kept so (never expected of an entry checked from a document)
    is pickled as its fields.
    """
    locs = entry.locs
    if isinstance(locs, _Places):
        packed: tuple[int, str | bytes] | None = locs._mask, locs._kept
    else:
        packed = _packed(entry)
    if packed is None:
        fields = (dict(entry.locs), {name: tuple(places) for name, places in entry.item_locs.items()})
        return Entry, (entry.entity, entry.loc, entry.order, entry.values, *fields, entry.invalid)
    return _placed, (entry.entity, entry.loc, entry.order, entry.values, *packed, entry.invalid)


def _packed(entry: Entry) -> tuple[int, bytes] | None:
    """Return the bits of the fields an entry has places for, and those places as ``_Places`` keeps
    them; None if they cannot be kept so."""
    file, values, item_locs = entry.loc.file, entry.values, entry.item_locs
    bits, lists = _BITS[entry.entity], _LISTS[entry.entity]
    mask = last = listed = 0
    numbers = [entry.loc.line, entry.loc.column]
    for name, loc in entry.locs.items():  # checked in the table's order
        bit = bits.get(name, 0)
        if bit <= last or loc.file != file:
            return None  # a field the table does not have, out of its order, or a place elsewhere
        mask |= bit
        last = bit
        numbers += (loc.line, loc.column)
        if name in lists:
            items = item_locs.get(name)
            if items is None or name not in values or len(items) != len(values[name]):
                return None  # the places of a list's items are told apart by its length
            listed += 1
            for item in items:
                if item.file != file:
                    return None
                numbers += (item.line, item.column)
    if listed != len(item_locs):
        return None  # places of items of no list
    try:
        return mask, array(_PLACE, numbers).tobytes()
    except (TypeError, OverflowError):  # a line that is not a number, or a negative one
        return None


def _placed(
    entity: str,
    loc: Location,
    order: int,
    values: dict[str, Any],
    mask: int,
    kept: str | bytes,
    invalid: set[str],
) -> Entry:
    """Return an entry with its places as numbers (see ``_Places``): one restored, or one
    ``reduce_entry`` pickled."""
    places = _Places(loc.file, entity, mask, kept, values)
    return Entry(entity, loc, order, values, places, _ItemPlaces(places), invalid)


def check_documents(
    documents: Iterable[Document | CheckedFile], reporter: Reporter
) -> dict[str, list[Entry]]:
    """Return every entry of the documents, grouped by entity, in file order.

    An entry whose required fields are not all valid is returned too (``complete`` is False), so later
    checks can tell "declared but invalid" from "not declared" and not report one mistake twice.
    Files checked where they were parsed (``check_file``) take their place in the order.
    """
    entries = _no_entries()
    order = 0
    for doc in documents:
        if isinstance(doc, CheckedFile):
            if doc.first != order:  # numbered on from the files before, in place (not copied)
                for found in doc.entries.values():
                    for e in found:
                        e.order += order - doc.first
                doc.first = order
            for entity, found in doc.entries.items():
                entries[entity].extend(found)
            order += doc.items
            reporter.extend(doc.diagnostics)
        else:
            order = _check_document(doc, order, entries, reporter)
    return entries


def _no_entries() -> dict[str, list[Entry]]:
    return {name: [] for name in TOP_LEVEL_KEYS}


def _check_document(doc: Document, order: int, entries: dict[str, list[Entry]], reporter: Reporter) -> int:
    """Check a document's entries into ``entries``, numbered from ``order``; return the next number."""
    assert isinstance(doc.root.value, dict)
    for key, section in doc.root.value.items():
        if key not in ENTITIES:
            reporter.report(
                "RG101",
                f"unknown top-level key {key!r}{did_you_mean(key, TOP_LEVEL_KEYS)}; "
                f"expected {', '.join(TOP_LEVEL_KEYS)}",
                doc.root.key_locs[key],
            )
            continue
        if section.value is None:
            continue
        if not isinstance(section.value, list):
            reporter.report("RG103", f"{key} must be a list, got {describe(section.value)}", section.loc)
            continue
        for item in section.value:
            entry = _check_entry(key, item, order, reporter)
            order += 1
            if entry is not None:
                entries[key].append(entry)
    return order


def _check_entry(entity: str, node: Node, order: int, reporter: Reporter) -> Entry | None:
    singular = SINGULAR[entity]
    if not isinstance(node.value, dict):
        reporter.report("RG103", f"each of {entity} must be a mapping, got {describe(node.value)}", node.loc)
        return None
    fields = {f.name: f for f in ENTITIES[entity]}
    locs: dict[str, Location] = {}
    entry = Entry(entity, node.loc, order, locs=locs)
    for key in node.value:
        if key not in fields:
            reporter.report(
                "RG101",
                f"unknown key {key!r} in {singular}{did_you_mean(key, fields)}",
                node.key_locs[key],
            )
    for spec in fields.values():
        child = node.value.get(spec.name)
        if child is None and spec.name in node.key_locs:  # written, but its value was rejected
            entry.invalid.add(spec.name)
            continue
        if child is None or child.value is None:
            if spec.required:
                if child is None:
                    reporter.report("RG102", f"{singular} is missing required field {spec.name!r}", node.loc)
                else:
                    reporter.report("RG103", f"{spec.name!r} must not be null", child.loc)
            continue
        try:
            entry.values[spec.name] = _parse_field(spec, child, entry, reporter)
            locs[spec.name] = child.loc
        except _Invalid as exc:
            reporter.report(exc.code, f"{spec.name}: {exc}", exc.loc)
            entry.invalid.add(spec.name)
    return entry


def _parse_field(spec: Field, node: Node, entry: Entry | None, reporter: Reporter) -> Any:
    """Return a field's value parsed, noting its list items' places in ``entry`` (None: not noted)."""
    if spec.kind is Kind.ENUM:
        text = _string(node)
        if text not in spec.choices:
            raise _Invalid(
                "RG104",
                f"{text!r} is not one of {', '.join(spec.choices)}{did_you_mean(text, spec.choices)}",
                node.loc,
            )
        return text
    item_kind = _LIST_ITEM.get(spec.kind)
    if item_kind is None:
        return _PARSERS[spec.kind](node)
    if not isinstance(node.value, list):
        raise _Invalid("RG103", f"expected a list, got {describe(node.value)}", node.loc)
    parse = _PARSERS[item_kind]
    items, locs = [], []
    for child in node.value:  # report every bad item, keep the good ones
        try:
            items.append(parse(child))
            locs.append(child.loc)
        except _Invalid as exc:
            reporter.report(exc.code, f"{spec.name}: {exc}", exc.loc)
    if entry is not None:
        entry.item_locs[spec.name] = tuple(locs)  # type: ignore[index]  # a checked entry's is a dict
    return tuple(items)
