"""Stage 1, load: find manifest files and read their YAML into located nodes.

PyYAML's safe loader drops positions and silently keeps the last of duplicate keys, so we compose the
node graph ourselves (with the C-accelerated loader when present) and convert it to ``Node`` values that
remember where each was written. Anything unusual becomes a diagnostic, never an exception. A file whose
documents are all plain (``_plain_documents``) is read into the same values straight from the parser's
events, without composing it.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import pickle
import re
import sys
import unicodedata
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, TypeAlias

import yaml

from reportgen.diagnostics import Diagnostic, Location, Reporter
from reportgen.workers import Results, can_fork, fork_pool, next_meanwhile

if TYPE_CHECKING:  # fields reads documents: it imports this module
    from reportgen.fields import CheckedFile

log = logging.getLogger(__name__)

try:  # libyaml is several times faster; fall back quietly where it is not compiled in.
    from yaml import CSafeLoader as _SafeLoader

    _LIBYAML = True
except ImportError:  # pragma: no cover - depends on the PyYAML build
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]

    _LIBYAML = False


class _Loader(_SafeLoader):
    """The safe loader, with each scalar's implicit tag resolved once per distinct text.

    Manifests repeat the same keys and values thousands of times, and PyYAML resolves each one in
    Python. Without path resolvers (the safe loader has none) a scalar's tag depends only on its text
    and how it was quoted: a quoted scalar, or a plain one whose first character starts no implicit
    type (most names), is a string; the others are resolved once and kept. A list or a mapping gets
    the default tag of its kind.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._tags: dict[str, str] = {}
        self._typed_starts = frozenset(self.yaml_implicit_resolvers)
        self._plain = None not in self._typed_starts and not self.yaml_path_resolvers

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: Any) -> str:
        if not self._plain:
            return str(super().resolve(kind, value, implicit))  # type: ignore[no-untyped-call]
        # Without path resolvers, PyYAML's answer for a list, a mapping, or a quoted scalar (only
        # untagged nodes are resolved) is the default tag of its kind, whatever its text.
        if kind is not yaml.ScalarNode:
            return _MAP_TAG if kind is yaml.MappingNode else _SEQ_TAG
        if not implicit[0] or value[:1] not in self._typed_starts:
            return _STR_TAG
        tag = self._tags.get(value)
        if tag is None:
            tag = self._tags[value] = str(super().resolve(kind, value, implicit))  # type: ignore[no-untyped-call]
        return tag


_STR_TAG = "tag:yaml.org,2002:str"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"


Scalar: TypeAlias = str | int | float | bool | None

MANIFEST_SUFFIXES = (".yaml", ".yml")
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 64
# Expanded aliases may multiply a document's size by at most this factor (plus a fixed allowance):
# enough for anchors reused across thousands of entries, far below a "billion laughs" bomb.
ALIAS_EXPANSION_FACTOR = 10
ALIAS_EXPANSION_ALLOWANCE = 100_000
_BYTES_PER_UNIT = 256  # aliases of long text count by its length: 4,000 aliases of 64 KiB are 256 MiB
MAX_SET_BYTES = 256 * 1024 * 1024  # all files together: memory grows with what is read
# Values (scalars, mappings, lists) in a whole set: about 360 bytes of memory each once loaded and
# validated, so 5 million keep a build under 2 GiB whatever the bytes hold (XL, 3.75 million, fits).
MAX_SET_VALUES = 5_000_000
_COUNT_ABOVE_BYTES = 1024 * 1024  # files larger than this are counted as they are read, or composed

_TAG = "tag:yaml.org,2002:"
# Line breaks in YAML 1.1 (PyYAML) but not in YAML 1.2 or most editors: line numbers would disagree.
_ODD_BREAK = re.compile("[\x85\u2028\u2029]")
_LINE_BREAK = re.compile("\r\n|\r|\n")
_SCALAR_TAGS = {f"{_TAG}{t}" for t in ("str", "int", "float", "bool", "null", "timestamp")}
_MERGE_TAG = f"{_TAG}merge"
_TEXT_TAGS = (_STR_TAG, f"{_TAG}timestamp")  # kept as text: validation parses timestamps itself


_NO_KEYS: Mapping[str, Location] = MappingProxyType({})  # the key_locs of a Node that is not a mapping


class Node(NamedTuple):
    """A YAML value and where it was written; mappings also remember where each key was.

    A named tuple, as ``Location`` is: the parser makes one for every value (400,000 at L).
    """

    value: Scalar | dict[str, Node] | list[Node]
    loc: Location
    key_locs: Mapping[str, Location] = _NO_KEYS

    def plain(self) -> Any:
        """Return the value as plain Python data, without locations."""
        if isinstance(self.value, dict):
            return {k: v.plain() for k, v in self.value.items()}
        if isinstance(self.value, list):
            return [v.plain() for v in self.value]
        return self.value


@dataclass(frozen=True, slots=True)
class Document:
    """One YAML document of a manifest file."""

    file: str
    index: int
    root: Node
    values: int = 0  # how many YAML values it holds once aliases are expanded


@dataclass(slots=True)
class LoadResult:
    """The documents read from every manifest file, and the problems met on the way.

    A file a worker parsed and checked (see ``load_paths``) is there as its checked entries instead.
    """

    files: list[str]
    documents: list[Document | CheckedFile]
    diagnostics: list[Diagnostic]


@dataclass(frozen=True, slots=True)
class Check:
    """How a file's documents become its checked entries, where the file is parsed (see ``load_paths``).

    ``validate.check_where_parsed`` is the one a build uses; loading only calls it (``fields`` reads
    documents, so this module cannot import it).
    """

    entries: Callable[[list[Document]], CheckedFile]  # fields.check_file
    dumps: Callable[[CheckedFile], bytes]  # pickled, for a worker to send them to the parent
    encode: Callable[[Sequence[Document], CheckedFile], bytes]  # as the parse cache keeps them
    decode: Callable[[str, bytes], tuple[CheckedFile, int]]  # kept -> (entries, count of values)


def display_path(path: Path) -> str:
    """Return the path as users will see it in diagnostics: relative where possible, with '/'."""
    try:
        rel = Path(os.path.relpath(path))
        shown = rel if not rel.as_posix().startswith("../") else path
    except ValueError:  # a different drive on Windows
        shown = path
    return shown.as_posix()


def discover(paths: Iterable[Path]) -> list[Path]:
    """Return the manifest files under ``paths``: files as given, directories searched recursively."""
    found: dict[Path, Path] = {}  # resolved path -> the path as first met, so a file is read once
    for path in paths:
        for file in sorted(_walk(path)) if path.is_dir() else [path]:
            found.setdefault(_identity(file), file)
    return list(found.values())


def _identity(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a symlink loop: keep it as written, reading it will say why
        return path.absolute()


def _walk(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if name.endswith(MANIFEST_SUFFIXES) and not name.startswith("."):
                yield Path(dirpath, name)


class Kept(Protocol):
    """Files checked before, from the same bytes (see ``parsed.ParseCache``): their entries as
    ``Check.encode`` wrote them."""

    def key(self, data: bytes) -> str: ...

    def get(self, name: str, key: str) -> bytes | None: ...

    def put(self, name: str, key: str, body: bytes) -> None: ...


def load_paths(
    paths: Sequence[Path], kept: Kept | None = None, jobs: int = 1, check: Check | None = None
) -> LoadResult:
    """Read every manifest file under ``paths`` into documents and diagnostics.

    With ``check``, each file's documents are checked where they are parsed, and the file is there as
    its checked entries instead (``fields.CheckedFile``). With ``jobs`` > 1, files are parsed (and
    checked) by that many forked workers while this process takes them in file order. With ``kept``
    (which needs ``check``), a file whose bytes were checked before without a problem is restored as
    its entries, not parsed; the others are offered to ``kept`` when they had no problem. Either way
    the diagnostics are the same, and so are the entries.
    """
    if kept is not None and check is None:
        raise ValueError("a parse cache keeps checked entries: load_paths needs check to use one")
    reporter = Reporter()
    files = discover(paths)
    if not files:
        shown = ", ".join(display_path(p) for p in paths) or "."
        reporter.report("RG010", f"no *.yaml or *.yml files under {shown}", Location(shown))
    names = [display_path(path) for path in files]
    ahead = _read_ahead(files, names, kept)
    documents: list[Document | CheckedFile] = []
    values = 0
    with _Parser(ahead, names, jobs, kept is not None, check) as parser:
        for index, item in enumerate(ahead):
            name = names[index]
            reporter.extend(item.problems)
            if item.data is None:
                continue
            if item.read_so_far > MAX_SET_BYTES:
                reporter.report(
                    "RG001",
                    f"the manifests read so far hold {item.read_so_far} bytes; "
                    f"a manifest set may hold {MAX_SET_BYTES}",
                    Location(name),
                )
                break
            found, body, count = parser.take(index, reporter, budget=MAX_SET_VALUES - values)
            if kept is not None and body is not None:
                kept.put(name, item.key, body)
            values += count
            if values > MAX_SET_VALUES:
                reporter.report(
                    "RG001",
                    f"the manifests read so far hold {values} values; "
                    f"a manifest set may hold {MAX_SET_VALUES}",
                    Location(name),
                )
                break
            documents.extend(found)
    return LoadResult(names, documents, reporter.diagnostics)


@dataclass(slots=True)
class _Ahead:
    """A manifest file read before it is parsed: its bytes, or why not, and what ``kept`` had of it."""

    data: bytes | None
    problems: list[Diagnostic]
    read_so_far: int = 0  # bytes of the set up to this file, this file included
    key: str = ""
    kept: bytes | None = None  # its entries, as Check.encode wrote them


def _read_ahead(files: Sequence[Path], names: Sequence[str], kept: Kept | None) -> list[_Ahead]:
    """Read the files up to the one that passes the set's byte limit; look up those ``kept`` has."""
    ahead, total = [], 0
    for path, name in zip(files, names, strict=True):
        problems = Reporter()
        item = _Ahead(_read(path, name, problems), problems.diagnostics)
        ahead.append(item)
        if item.data is None:
            continue
        total += len(item.data)
        item.read_so_far = total
        if total > MAX_SET_BYTES:
            break  # load_paths says so at this file, and reads no further
        if kept is not None:
            item.key = kept.key(item.data)
            item.kept = kept.get(name, item.key)
    return ahead


@dataclass(frozen=True, slots=True)
class _Parsed:
    """One file parsed by a worker: its problems, and its checked entries or else its documents."""

    index: int
    values: int
    diagnostics: list[Diagnostic]
    refused: bool  # over the value budget: the parent parses it again to say so with the true budget
    checked: bytes | None = None  # its entries, checked and pickled (Check.dumps)
    kept: bytes | None = None  # its entries as the parse cache keeps them, when it had no problem
    documents: bytes | None = None  # with nothing to check: the documents as JSON, if JSON holds them


# What forked workers inherit: set by _Parser just before the pool starts.
_SHARED: tuple[Sequence[_Ahead], Sequence[str], Check | None, bool] | None = None
_PARALLEL_ABOVE_BYTES = 512 * 1024  # less is parsed sooner than workers start


def _parse_in_worker(index: int) -> _Parsed:
    assert _SHARED is not None
    ahead, names, check, keep = _SHARED
    item, name = ahead[index], names[index]
    assert item.data is not None
    reporter = Reporter()
    documents = load_bytes(item.data, name, reporter, budget=MAX_SET_VALUES)
    problems = reporter.diagnostics
    values = sum(doc.values for doc in documents)
    refused = any(d.code == "RG001" for d in problems)
    if refused:
        return _Parsed(index, values, problems, refused)
    if check is None:
        body = None
        with contextlib.suppress(ValueError):
            body = encode_documents(documents)
        return _Parsed(index, values, problems, refused, documents=body)
    checked = check.entries(documents)
    body = _keepable(check, documents, checked, problems) if keep else None
    return _Parsed(index, values, problems, refused, check.dumps(checked), body)


def _keepable(
    check: Check, documents: Sequence[Document], checked: CheckedFile, problems: Sequence[Diagnostic]
) -> bytes | None:
    """Return a file's entries as the parse cache keeps them, or None if it had a problem (a file with
    one is always parsed again, so that it says so again) or JSON cannot hold them."""
    if problems or checked.diagnostics:
        return None
    try:
        return check.encode(documents, checked)
    except ValueError:
        return None


class _Parser:
    """Parse the files ``load_paths`` will need, in forked workers when there is enough to share.

    Workers check each file's entries and send them back, pickled, or send its documents as compact
    JSON when there is nothing to check them with. The parent then rebuilds no located values (decoding
    them took most of its load, while the workers parsed) and checks no entries: it restores the files
    ``kept`` has while the workers parse the others. Results are taken in file order; while a worker's
    file is not parsed yet, the parent restores the kept files after it.

    One file is parsed here, even beside kept ones: a rebuild's linking process holds the second core
    meanwhile (``build._link_ahead``), and a worker beside it slowed this process's own restoring more
    than it took off it (measured after one more action appended to a file of L's, 378 KB).
    """

    def __init__(
        self, ahead: Sequence[_Ahead], names: Sequence[str], jobs: int, keep: bool, check: Check | None
    ) -> None:
        self.ahead, self.names, self.keep, self.check = ahead, names, keep, check
        todo = [i for i, item in enumerate(ahead) if item.data is not None and item.kept is None]
        size = sum(len(ahead[i].data or b"") for i in todo)
        # the files the parent restores meanwhile (if ``check`` can read them), in file order
        self._kept = [i for i, item in enumerate(ahead) if item.kept is not None and check is not None]
        self._parallel = jobs > 1 and len(todo) > 1 and size >= _PARALLEL_ABOVE_BYTES and can_fork()
        self._todo, self._sent = todo, set(todo) if self._parallel else set()
        self._stack = contextlib.ExitStack()
        self._results: Results[_Parsed] | None = None
        self._early: dict[int, _Parsed] = {}
        self._restored: dict[int, tuple[CheckedFile, int] | None] = {}  # kept files restored ahead
        self._kept_at = 0  # the first of ``_kept`` not restored ahead
        self._jobs = jobs

    def __enter__(self) -> _Parser:
        global _SHARED
        if self._parallel:
            _SHARED = (self.ahead, self.names, self.check, self.keep)
            self._stack.callback(_forget_shared)
            pool = self._stack.enter_context(fork_pool(min(self._jobs, len(self._todo))))
            self._results = pool.imap(_parse_in_worker, self._todo)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def take(
        self, index: int, reporter: Reporter, budget: int
    ) -> tuple[list[Document | CheckedFile], bytes | None, int]:
        """Return a file's documents (or its checked entries), what ``kept`` may keep of it when it had
        no problem, and how many values it holds."""
        name, item = self.names[index], self.ahead[index]
        assert item.data is not None
        parsed = self._from_worker(index)
        if parsed is not None and not parsed.refused and parsed.values <= budget:
            if parsed.checked is not None:
                reporter.extend(parsed.diagnostics)
                return [pickle.loads(parsed.checked)], parsed.kept, parsed.values
            if parsed.documents is not None:
                with contextlib.suppress(ValueError):  # never expected: then the file is parsed here
                    documents: list[Document | CheckedFile] = list(decode_documents(name, parsed.documents))
                    reporter.extend(parsed.diagnostics)
                    return documents, None, parsed.values
        restored = self._restore(index) if parsed is None else None
        if restored is not None and restored[1] <= budget:
            return [restored[0]], None, restored[1]
        # Parsed here: a file no worker parsed, or one over the budget, to say why as a parse does.
        file_reporter = Reporter()
        parsed_here = load_bytes(item.data, name, file_reporter, budget=budget)
        reporter.extend(file_reporter.diagnostics)
        values = sum(doc.values for doc in parsed_here)
        if self.check is None:
            return list(parsed_here), None, values
        checked = self.check.entries(parsed_here)
        body = _keepable(self.check, parsed_here, checked, file_reporter.diagnostics) if self.keep else None
        return [checked], body, values

    def _restore(self, index: int) -> tuple[CheckedFile, int] | None:
        """Return the entries ``kept`` had of a file and its count of values, or None if it had none, or
        none that can be read (the file is parsed again)."""
        if index in self._restored:
            return self._restored.pop(index)
        body, name = self.ahead[index].kept, self.names[index]
        if body is None or self.check is None:
            return None
        try:
            return self.check.decode(name, body)
        except ValueError:
            log.debug("parse cache entry for %s is not readable; parsing it again", name)
            return None

    def _from_worker(self, index: int) -> _Parsed | None:
        if index not in self._sent:
            return None
        assert self._results is not None
        while index not in self._early:
            parsed = next_meanwhile(self._results, functools.partial(self._restore_ahead, index))
            if parsed is None:
                return None
            self._early[parsed.index] = parsed
        return self._early.pop(index)

    def _restore_ahead(self, index: int) -> bool:
        """Restore the first kept file after ``index`` not restored yet; return False if none is left."""
        kept, at = self._kept, self._kept_at
        while at < len(kept) and kept[at] < index:
            at += 1  # taken already, in file order
        if at == len(kept):
            self._kept_at = at
            return False
        self._kept_at = at + 1
        self._restored[kept[at]] = self._restore(kept[at])
        return True


def _forget_shared() -> None:
    global _SHARED
    _SHARED = None


def encode_documents(documents: Sequence[Document]) -> bytes:
    """Return documents as compact JSON, zlib-compressed: a value is ``[value, line, column]``; a
    mapping adds its keys' places. Raise ValueError for what JSON or UTF-8 cannot hold.
    """
    data = [[d.index, d.values, _encoded(d.root)] for d in documents]
    try:
        text = json.dumps(data, ensure_ascii=False, allow_nan=True, separators=(",", ":"))
        return zlib.compress(text.encode("utf-8"), 1)
    except (TypeError, RecursionError, UnicodeEncodeError) as exc:  # a lone surrogate, by escape
        raise ValueError(f"documents cannot be written as JSON: {exc}") from None


# Module functions, not closures: a recursive closure is a reference cycle, which would keep every
# Location of a file alive until the (paused) cycle collector ran.
def _encoded(node: Node) -> list[Any]:
    v, loc = node.value, node.loc
    if isinstance(v, dict):
        keys = {k: [at.line, at.column] for k, at in node.key_locs.items()}
        return [{k: _encoded(child) for k, child in v.items()}, loc.line, loc.column, keys]
    if isinstance(v, list):
        return [[_encoded(child) for child in v], loc.line, loc.column]
    return [v, loc.line, loc.column]


def decode_documents(file: str, body: bytes) -> list[Document]:
    """Return the documents ``encode_documents`` wrote, in ``file``; raise ValueError on anything else.

    Only the shape it writes is accepted: mappings of text keys with integer places, lists, text,
    numbers, booleans and null.
    """
    where: dict[tuple[int, int], Location] = {}  # one Location per place: many values share one

    def at(line: Any, column: Any) -> Location:  # refers to no closure of its own: no reference cycle
        loc = where.get((line, column))
        if loc is None:
            if type(line) is not int or type(column) is not int:
                raise ValueError("not a place")
            loc = where[line, column] = Location(file, line, column)
        return loc

    documents = []
    try:
        for index, values, root in json.loads(zlib.decompress(body).decode("utf-8")):
            if type(index) is not int or type(values) is not int or type(root[0]) is not dict:
                raise ValueError("not a document")
            documents.append(Document(file, index, _decoded(root, at), values))
    except (TypeError, IndexError, KeyError, RecursionError, zlib.error) as exc:
        raise ValueError(f"not documents: {exc!r}") from None
    return documents


def _decoded(item: Any, at: Callable[[Any, Any], Location]) -> Node:
    v = item[0]
    kind = type(v)
    if kind is dict:
        locs = item[3]
        if type(locs) is not dict or locs.keys() != v.keys():
            raise ValueError("not a mapping")
        return Node(
            {k: _decoded(child, at) for k, child in v.items()},
            at(item[1], item[2]),
            {k: at(*loc) for k, loc in locs.items()},
        )
    if kind is list:
        return Node([_decoded(child, at) for child in v], at(item[1], item[2]))
    if v is not None and kind not in (str, int, float, bool):
        raise ValueError("not a value")
    return Node(v, at(item[1], item[2]))


def _read(path: Path, name: str, reporter: Reporter) -> bytes | None:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            reporter.report("RG001", f"file is {size} bytes; the limit is {MAX_FILE_BYTES}", Location(name))
            return None
        return path.read_bytes()
    except OSError as exc:
        reporter.report("RG001", f"cannot read file: {exc.strerror or exc}", Location(name))
        return None


def load_bytes(data: bytes, name: str, reporter: Reporter, budget: int | None = None) -> list[Document]:
    """Decode and parse one manifest file's bytes into its documents.

    With a ``budget`` of values, a large file is counted as it is read, or by streaming its YAML events
    before it is composed, so that a file of millions of tiny entries is refused before it is held in
    memory.
    """
    text = _decode(data, name, reporter)
    if text is None:
        return []
    plain: list[Document] | None = None
    if budget is not None and len(data) > _COUNT_ABOVE_BYTES:
        # Read as plain first, counting as it goes, and stop past the budget: a plain file (as most
        # are) is then parsed once, not counted and then read. Any other file is counted first.
        try:
            plain = _plain_documents(text, name, budget)
            count = 0 if plain is not None else _count_values(text)
        except _OverBudget:
            count = _count_values(text)
        if count > budget:
            reporter.report(
                "RG001",
                f"file holds {count} values, more than the {max(budget, 0)} a manifest set may still take "
                f"(a set may hold {MAX_SET_VALUES})",
                Location(name),
            )
            return []
    odd = _ODD_BREAK.search(text)
    if odd is not None:
        line, col = _line_col(text, odd.start())
        reporter.report(
            "RG003",
            f"U+{ord(odd.group()):04X} ({unicodedata.name(odd.group(), 'line break')}) is not allowed: "
            "YAML 1.1 reads it as a line break where editors do not; remove it, or write it as an "
            "escape in a double-quoted string",
            Location(name, line, col),
        )
        return []
    documents = plain if plain is not None else _plain_documents(text, name)
    if documents is not None:
        return documents
    try:
        roots = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if mark is not None and mark.index >= len(text) and exc.context_mark is not None:
            mark = exc.context_mark  # "found unexpected end of stream": point where the thing began
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        if mark is not None and mark.index >= len(text):  # libyaml puts the end past the last line
            line, col = _line_col(text, len(text.rstrip("\r\n")))
        problem = " ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        reporter.report("RG003", problem.replace("\n", " "), Location(name, line, col))
        return []
    except yaml.reader.ReaderError as exc:
        line, col = _line_col(text, _reader_position(text, exc.position))
        reason = (
            f"unacceptable character #x{exc.character:04x}: {exc.reason}"
            if isinstance(exc.character, int)
            else str(exc.reason)
        )
        reporter.report("RG003", reason, Location(name, line, col))
        return []
    except yaml.YAMLError as exc:  # pragma: no cover - unmarked errors are rare
        reporter.report("RG003", str(exc).replace("\n", " "), Location(name, 1, 1))
        return []
    roots = [r for r in roots if r is not None and not _is_empty_document(r)]
    if not roots:
        reporter.report("RG007", "file holds no YAML document", Location(name, 1, 1))
        return []
    documents = []
    for index, root in enumerate(roots):
        node = _Converter(name, reporter).convert_document(root, anchors="&" in text)
        if node is not None:
            documents.append(Document(name, index, node, converter_values(node)))
    return documents


class _NotPlain(Exception):
    """Raised where a document is not plain (see ``_plain_documents``): it is composed instead."""


class _OverBudget(Exception):
    """Raised where a file read as plain holds more values than its budget (see ``_plain_documents``)."""


_CONSTRUCTED_TAGS = frozenset(f"{_TAG}{t}" for t in ("int", "float", "bool", "null"))
# The events that are values (aliases are not: their node was counted where it was written)
_VALUE_EVENTS = frozenset((yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent))


def _plain_documents(text: str, name: str, budget: int | None = None) -> list[Document] | None:
    """Return the documents of ``text`` read straight from the parser's events, or None unless every
    one is plain: a mapping of mappings, lists and untagged scalars, with text keys written once,
    nesting at most ``MAX_DEPTH`` deep, without anchors, aliases, tags or merge keys, and the YAML
    valid. A document that is not plain is composed and converted (``_Converter``), which finds and
    reports anything amiss; a plain one gives the same nodes, with nothing to report.

    Manifests are plain: at L, reading them so takes four fifths of the time that composing the nodes
    and converting them does (3.4 s against 4.1 s): the composer makes a node for each value, and asks
    the resolver for each scalar's tag, through a Python call each.

    With a ``budget``, values are counted as they are read (as ``_count_values`` counts them): raise
    _OverBudget past it, having made at most that many.
    """
    loader = _Loader(text)
    try:
        if not loader._plain:  # pragma: no cover - PyYAML's safe loader has no path resolvers
            return None
        reader = _PlainReader(loader, name)
        if budget is not None:
            reader.next = _counted(loader.get_event, budget)
        return reader.documents()
    except (_NotPlain, yaml.YAMLError, RecursionError):
        return None
    finally:
        loader.dispose()


def _counted(events: Callable[[], Any], budget: int) -> Callable[[], Any]:
    """Return ``events`` counting the values among them: raise _OverBudget past ``budget``."""
    left = budget

    def counted() -> Any:
        nonlocal left
        event = events()
        if event.__class__ in _VALUE_EVENTS:
            left -= 1
            if left < 0:
                raise _OverBudget
        return event

    return counted


# Make a Node or a Location from the tuple of its fields, as its constructor would, without the constructor's
# Python call (the plain reader makes 1.1 million of them at L; a test counts the Nodes made through this).
_make = tuple.__new__


class _PlainReader:
    """Turn a plain document's events into ``Node`` values (see ``_plain_documents``)."""

    def __init__(self, loader: _Loader, file: str) -> None:
        self.next: Callable[[], Any] = loader.get_event  # events, as PyYAML's stubs type them loosely
        self.loader = loader
        self.file = file
        self.typed = loader._typed_starts  # a plain scalar starting otherwise is text
        self.constructed: dict[tuple[str, str], Any] = {}  # (tag, text) -> value; all immutable

    def documents(self) -> list[Document]:
        documents: list[Document] = []
        self.next()  # the stream's start
        while self.next().__class__ is yaml.DocumentStartEvent:
            start = self.next()
            if start.__class__ is not yaml.MappingStartEvent:
                raise _NotPlain  # a list or a value: reported when composed
            root = self._mapping(start, 0)
            documents.append(Document(self.file, len(documents), root, converter_values(root)))
            self.next()  # the document's end
        if not documents:
            raise _NotPlain  # no document: reported when composed
        return documents

    def _scalar(self, event: Any) -> Node:
        value = event.value
        mark = event.start_mark
        loc = _make(Location, (self.file, mark.line + 1, mark.column + 1))
        if not event.implicit[0] or value[:1] not in self.typed:
            return _make(Node, (value, loc, _NO_KEYS))
        tag = self.loader.resolve(yaml.ScalarNode, value, event.implicit)
        if tag in _TEXT_TAGS:  # timestamps stay text, as _Converter keeps them
            return _make(Node, (value, loc, _NO_KEYS))
        if tag not in _CONSTRUCTED_TAGS:
            raise _NotPlain  # a merge key or '=' as a value: reported when composed
        known = self.constructed.get((tag, value), self)
        if known is self:
            node = yaml.ScalarNode(tag, value, mark, event.end_mark)
            try:
                known = yaml.constructor.SafeConstructor().construct_object(node)
            except Exception:  # an integer of 5,000 digits, say: reported when composed
                raise _NotPlain from None
            self.constructed[tag, value] = known
        return _make(Node, (known, loc, _NO_KEYS))

    def _value(self, event: Any, depth: int) -> Node:
        kind = event.__class__
        if kind is yaml.AliasEvent or event.anchor is not None or event.tag is not None:
            raise _NotPlain
        if kind is yaml.ScalarEvent:
            return self._scalar(event)
        if kind is yaml.MappingStartEvent:
            return self._mapping(event, depth)
        if depth >= MAX_DEPTH:
            raise _NotPlain  # its items would nest too deep: reported when composed
        mark, items, below = event.start_mark, [], depth + 1
        while (item := self.next()).__class__ is not yaml.SequenceEndEvent:
            items.append(self._value(item, below))
        return _make(Node, (items, _make(Location, (self.file, mark.line + 1, mark.column + 1)), _NO_KEYS))

    def _mapping(self, event: Any, depth: int) -> Node:
        if event.anchor is not None or event.tag is not None:
            raise _NotPlain
        if depth >= MAX_DEPTH:
            raise _NotPlain  # its keys would nest too deep: reported when composed
        file, next_event, typed, below = self.file, self.next, self.typed, depth + 1
        scalar, make, location, node = yaml.ScalarEvent, _make, Location, Node
        values: dict[str, Node] = {}
        key_locs: dict[str, Location] = {}
        mark: Any  # a parser's mark (PyYAML's stubs allow None, which events never hold)
        while (key_event := next_event()).__class__ is not yaml.MappingEndEvent:
            if key_event.__class__ is not scalar or key_event.anchor is not None or key_event.tag is not None:
                raise _NotPlain  # a list, a mapping, an alias, a tagged or anchored key
            text = key_event.value
            if (
                key_event.implicit[0]
                and text[:1] in typed
                and self.loader.resolve(yaml.ScalarNode, text, key_event.implicit) not in _TEXT_TAGS
            ):
                raise _NotPlain  # a number, a boolean, null or a merge key: reported when composed
            key = sys.intern(text)  # thousands of "name" keys: one string, as _Converter makes them
            if key in key_locs:
                raise _NotPlain  # a duplicate: reported when composed
            mark = key_event.start_mark
            key_locs[key] = make(location, (file, mark.line + 1, mark.column + 1))
            value = next_event()
            if (  # most values: text, made here as _scalar would make it
                value.__class__ is scalar
                and value.anchor is None
                and value.tag is None
                and (not value.implicit[0] or value.value[:1] not in typed)
            ):
                mark = value.start_mark
                values[key] = make(
                    node, (value.value, make(location, (file, mark.line + 1, mark.column + 1)), _NO_KEYS)
                )
            else:
                values[key] = self._value(value, below)
        mark = event.start_mark
        return make(node, (values, make(location, (file, mark.line + 1, mark.column + 1)), key_locs))


def converter_values(node: Node) -> int:
    """Return how many values (keys included) a converted document holds, aliases as often as used."""
    count, level = 0, [node]
    while level:  # level by level
        count += len(level)
        below: list[Node] = []
        for current in level:
            value = current.value
            if isinstance(value, dict):
                count += len(value)  # the keys are values too
                below += value.values()
            elif isinstance(value, list):
                below += value
        level = below
    return count


def _count_values(text: str) -> int:
    """Return how many values a YAML text holds, streaming its events (aliases count once each)."""
    count = 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if event.__class__ in _VALUE_EVENTS:
                count += 1
    except yaml.YAMLError:
        pass  # composing it will report the error with its place
    return count


def _is_empty_document(node: yaml.Node) -> bool:
    """Return whether a document is empty: libyaml gives `---` alone as an empty plain null."""
    return (
        isinstance(node, yaml.ScalarNode)
        and node.tag == f"{_TAG}null"
        and node.value == ""
        and node.start_mark.index == node.end_mark.index
    )


def _reader_position(text: str, position: int) -> int:
    """Return the index in ``text`` of a reader error's position: libyaml counts it in bytes of the text
    encoded as UTF-8 (PyYAML hands it the text so), PyYAML's own reader in characters."""
    if not _LIBYAML:  # pragma: no cover - depends on the PyYAML build
        return position
    return len(text.encode("utf-8")[:position].decode("utf-8", "ignore"))


def _line_col(text: str, position: int) -> tuple[int, int]:
    """Return the 1-based line and column (in characters) of ``position``, as YAML counts lines.

    YAML ends a line at CR LF, LF or a lone CR, so a file with old Mac line ends is still located right.
    """
    before = text[:position]
    breaks = list(_LINE_BREAK.finditer(before))
    start = breaks[-1].end() if breaks else 0
    return len(breaks) + 1, position - start + 1


def _decode(data: bytes, name: str, reporter: Reporter) -> str | None:
    bom = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    try:
        return data[bom:].decode("utf-8")
    except UnicodeDecodeError as exc:
        start = exc.start + bom
        before = data[bom:start].decode("utf-8")  # valid up to the bad byte
        line, col = _line_col(before, len(before))  # in characters, lines counted as YAML does
        bad = data[start : exc.end + bom].hex()
        reporter.report("RG002", f"invalid UTF-8 (byte 0x{bad} at offset {start})", Location(name, line, col))
        return None


def _within_depth(root: yaml.Node, limit: int) -> bool:
    """Return whether a tree of nodes nests at most ``limit`` levels deep.

    Level by level: no depth is kept with each node (a tuple for each of a large file's values).
    """
    level = [root]
    for _ in range(limit + 1):
        below: list[yaml.Node] = []
        for node in level:
            if isinstance(node, yaml.SequenceNode):
                below += node.value
            elif isinstance(node, yaml.MappingNode):
                below += chain.from_iterable(node.value)
        if not below:
            return True
        level = below
    return False  # nodes below the limit


class _Converter:
    """Turn one composed YAML document into ``Node`` values, within size and depth bounds."""

    def __init__(self, file: str, reporter: Reporter) -> None:
        self.file = file
        self.reporter = reporter
        self._sizes: dict[int, tuple[int, int]] = {}  # node id -> (expanded size, height)
        self._distinct_weight = 0  # the document's size as written, in the same units
        self._constructor = yaml.constructor.SafeConstructor()
        self._converted: dict[int, Node | None] = {}

    def _loc(self, node: yaml.Node) -> Location:
        mark = node.start_mark
        return Location(self.file, mark.line + 1, mark.column + 1)

    def convert_document(self, root: yaml.Node, anchors: bool = True) -> Node | None:
        """Convert a document; ``anchors=False`` says its text has none (so no alias can repeat a node)."""
        # Without anchors the document is a tree: it expands to its own size, only its depth matters.
        expanded = self._size(root, 0, set()) if anchors else 0 if _within_depth(root, MAX_DEPTH) else None
        if expanded is None:
            self.reporter.report(
                "RG006",
                f"nested deeper than {MAX_DEPTH} levels (or a recursive alias)",
                self._loc(root),
            )
            return None
        limit = ALIAS_EXPANSION_FACTOR * self._distinct_weight + ALIAS_EXPANSION_ALLOWANCE
        if expanded > limit:
            self.reporter.report(
                "RG006",
                f"aliases expand this document to {expanded} units from {self._distinct_weight} "
                f"(a value, or {_BYTES_PER_UNIT} characters of text, is a unit); "
                f"the limit is {limit}",
                self._loc(root),
            )
            return None
        if not isinstance(root, yaml.MappingNode):
            kind = "a list" if isinstance(root, yaml.SequenceNode) else "a single value"
            self.reporter.report(
                "RG008",
                f"a manifest document must be a mapping of registries, collections, artifacts, "
                f"runs and actions, not {kind}",
                self._loc(root),
            )
            return None
        if not anchors:  # a tree: each node is met once, there is nothing to convert once only
            self._node = self._convert  # type: ignore[method-assign]
        return self._node(root)

    def _size(self, node: yaml.Node, depth: int, distinct: set[int]) -> int | None:
        """Return the number of values ``node`` expands to, or None if it nests too deep.

        Depth counts through aliases: an alias to a deep anchor nests as deep as the anchor.
        """
        key = id(node)
        if key in self._sizes:
            size, height = self._sizes[key]
            return size if depth + height <= MAX_DEPTH else None
        if depth > MAX_DEPTH:
            return None
        weight = 1 + (len(node.value) // _BYTES_PER_UNIT if isinstance(node, yaml.ScalarNode) else 0)
        distinct.add(key)
        self._distinct_weight += weight
        total, height = weight, 0
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = node.value
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        for child in children:
            child_size = self._size(child, depth + 1, distinct)
            if child_size is None:
                return None
            total += child_size
            height = max(height, 1 + self._sizes[id(child)][1])
        self._sizes[key] = (total, height)
        return total

    def _node(self, node: yaml.Node) -> Node | None:
        # An anchored node is converted once, so a problem inside it is reported once, not per alias.
        key = id(node)
        if key not in self._converted:
            self._converted[key] = self._convert(node)
        return self._converted[key]

    def _convert(self, node: yaml.Node) -> Node | None:
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ_TAG:
                self._bad_tag(node)
                return None
            items = [self._node(child) for child in node.value]
            return Node([n for n in items if n is not None], self._loc(node))
        return self._scalar(node)

    def _bad_tag(self, node: yaml.Node) -> None:
        self.reporter.report("RG005", f"YAML tag {node.tag!r} is not allowed in a manifest", self._loc(node))

    def _scalar(self, node: yaml.Node) -> Node | None:
        if node.tag not in _SCALAR_TAGS:
            self._bad_tag(node)
            return None
        mark = node.start_mark
        loc = Location(self.file, mark.line + 1, mark.column + 1)  # self._loc, without a call per value
        if node.tag in _TEXT_TAGS:
            # Timestamps stay text: validation parses them itself to insist on a timezone.
            return Node(str(node.value), loc)
        try:
            value = self._constructor.construct_object(node, deep=True)
        except Exception:  # PyYAML raises KeyError, IndexError, ValueError ... on odd explicit tags
            self._constructor.recursive_objects.clear()
            short = "!!" + node.tag.removeprefix(_TAG)
            self.reporter.report("RG003", f"cannot read value {node.value!r} as {short}", loc)
            return None
        return Node(value, loc)

    def _mapping(self, node: yaml.MappingNode) -> Node | None:
        if node.tag != _MAP_TAG:
            self._bad_tag(node)
            return None
        file, scalar = self.file, yaml.ScalarNode
        values: dict[str, Node] = {}
        key_locs: dict[str, Location] = {}
        seen: dict[str, Location] = {}
        merged: dict[str, Node] = {}
        merged_locs: dict[str, Location] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                if "<<" in seen:
                    first = seen["<<"]
                    self.reporter.report(
                        "RG004",
                        f"duplicate key '<<' (first at line {first.line}); merge a list instead",
                        self._loc(key_node),
                    )
                    continue
                seen["<<"] = self._loc(key_node)
                self._merge(value_node, merged, merged_locs)
                continue
            mark = key_node.start_mark
            key_loc = Location(file, mark.line + 1, mark.column + 1)  # self._loc, without a call per key
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in _TEXT_TAGS:
                if isinstance(key_node, yaml.ScalarNode):
                    message = f"mapping key {key_node.value!r} is not a string"
                else:
                    kind = "list" if isinstance(key_node, yaml.SequenceNode) else "mapping"
                    message = f"mapping key is a {kind}, not a string"
                self.reporter.report("RG009", message, key_loc)
                continue
            key = sys.intern(str(key_node.value))  # thousands of "name" keys: one string
            if key in seen:
                first = seen[key]
                self.reporter.report(
                    "RG004",
                    f"duplicate key {key!r} (first at line {first.line}); YAML would keep only the last",
                    key_loc,
                )
                continue
            seen[key] = key_loc
            key_locs[key] = key_loc  # kept even when the value is rejected, so it is not "missing"
            if value_node.__class__ is scalar and value_node.tag == _STR_TAG:  # most values: _scalar's
                mark = value_node.start_mark
                values[key] = Node(str(value_node.value), Location(file, mark.line + 1, mark.column + 1))
                continue
            value = self._node(value_node)
            if value is not None:
                values[key] = value
        for key, value in merged.items():  # explicit keys win over merged ones, as in YAML 1.1
            if key not in seen:
                values[key] = value
                key_locs[key] = merged_locs[key]
        return Node(values, self._loc(node), key_locs)

    def _merge(self, value: yaml.Node, into: dict[str, Node], locs: dict[str, Location]) -> None:
        sources = value.value if isinstance(value, yaml.SequenceNode) else [value]
        for source in sources:
            if not isinstance(source, yaml.MappingNode):
                self.reporter.report("RG003", "a merge key (<<) must name a mapping", self._loc(value))
                continue
            converted = self._node(source)
            if converted is None or not isinstance(converted.value, dict):
                continue
            for key, child in converted.value.items():
                if key not in into:  # earlier sources win, as in YAML 1.1
                    into[key] = child
                    locs[key] = converted.key_locs[key]
