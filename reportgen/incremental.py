"""Which pages a rebuild can take from the last build instead of rendering them again.

Every unit of pages (see ``site.units``) gets a fingerprint: a digest of everything its pages are made
from. A page shows its own entity, the lineage around it and the collections its artifacts are linked
in, so the fingerprint covers:

- the build's settings: reportgen's version and source code, every template and asset, the site's
  title, address and date, the graph options, the renderer and its Graphviz, and the registries
  (protected aliases lock badges anywhere);
- for an artifact or a run, its whole *lineage component* (every run and artifact connected to it
  through inputs and outputs, with each artifact's links and aliases): a graph never reaches beyond it;
- for a collection, its history and the components of every artifact linked in it;
- for a block of a long collection's version pages (``site.VERSION_WINDOW``), the collection, the block's
  versions, the events on them and their artifacts' components, and whether a block follows it.

That is the *wide* fingerprint (``Fingerprints.of``). A component can be most of an organisation (one
dataset version every nightly run reads), so when the wide one changed, an artifact's, a run's or a
collection's unit is checked by its *exact* one (``Fingerprints.exact``): the same, but with what its
pages show of the lineage (``GraphDigests``: each graph's nodes, clusters, edges and cuts, and the runs
an artifact's page names) in place of whole components. The build records the exact fingerprints of
the units it renders from the graphs its workers drew; a rebuild works them out for the units whose
wide one changed alone. Graphs of whole lineages have none (``checks_exact``).

Entities are digested through their ``repr``, which dataclasses give field by field, including the
location they were declared at: anything a page could show changes the digest. The index and
audit.html show the whole organisation and always change with it; a month's page of a long audit log
covers that month's events and its neighbouring months.

The last build's units are kept in the cache beside the site with the files they wrote and each
file's inode, size and modification time. A unit is reused when its fingerprint is the same and its
files are still in the site untouched; its files are then hard-linked into the new site, which costs
a fraction of writing them (and keeps the swap atomic: the old site's files are never changed).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, TypeAlias

from reportgen import __version__, source_digest
from reportgen.lineage import GraphOptions, LineageGraph, NodeKey
from reportgen.model import ArtifactRef, AuditEvent, CollectionHistory, Organisation
from reportgen.paths import UNIT_FOLDERS
from reportgen.site import Unit, events_by_block, log_by_month, unit_focuses, unit_versions
from reportgen.write import Staged, WriteError, link_file, put_file, staged_paths

log = logging.getLogger(__name__)

FORMAT = "3"

_EXACT = frozenset({"artifact", "run", "collection", "versions"})  # units with an exact fingerprint


class StoredFile(NamedTuple):
    """A file of the site as the build that wrote it left it (a tuple: 32,000 of them at L are read,
    sent between processes and written on every rebuild)."""

    path: str
    digest: str
    page: bool
    inode: int
    size: int
    mtime_ns: int


class StoredUnit(NamedTuple):
    """What the last build wrote for one unit of pages."""

    fingerprint: str  # the wide one (``Fingerprints.of``)
    files: tuple[StoredFile, ...]
    graph_key: str  # the graph cache key of the unit's own graph, kept while the unit is reused
    pieces: tuple[tuple[str, int, int], ...] = ()  # (file, offset, length) of its pieces (see assembled)
    exact: str = ""  # the exact one (``Fingerprints.exact``), if it has one

    def same_row(self, other: StoredUnit) -> bool:
        """Return whether the record's row of this unit would be ``other``'s (pieces are kept apart)."""
        return (self.fingerprint, self.exact, self.files, self.graph_key) == (
            other.fingerprint,
            other.exact,
            other.files,
            other.graph_key,
        )


# The record of the files the build assembled from units' pieces (see ``assembled``), among the units'.
ASSEMBLED = "\0assembled"


@dataclass(frozen=True, slots=True)
class Reuse:
    """What a rebuild takes from the last build: the units it does not render again (by their place in
    the site's units), from the ``previous`` site, and the files it assembled (see ``assembled``)."""

    units: Mapping[int, StoredUnit]
    previous: Path
    linked: bool  # the units' files are in the new site already (``link_ahead``)
    assembled: Mapping[str, StoredFile]  # by path, as the last build recorded them
    recorded: Mapping[str, StoredUnit]  # units as the record holds them: only the others are written


def _digest(*parts: str) -> str:
    """Return the digest of ``parts``, each ended by a NUL: one text, encoded and hashed at once."""
    text = "\0".join((*parts, ""))  # no parts: no NUL
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=20).hexdigest()


def settings_digest(org: Organisation, parts: Iterable[str], template_folders: Sequence[Path]) -> str:
    """Return the digest of what every page depends on besides its own inputs.

    reportgen's own source counts too, not only its version: a development checkout changes code
    without changing the version, and a page must never be kept from code that would write it otherwise.
    """
    files = hashlib.blake2b(digest_size=20)
    for folder in template_folders:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            files.update(path.relative_to(folder).as_posix().encode("utf-8", "surrogateescape") + b"\0")
            files.update(path.read_bytes() + b"\0")
    registries = repr(sorted(org.registries.items()))
    return _digest(__version__, FORMAT, source_digest(), files.hexdigest(), registries, *parts)


# Each node's ``node_digest``, by artifact version (its ref) or run (its id).
NodeDigests: TypeAlias = dict[ArtifactRef | str, str]


def node_digest(org: Organisation, key: ArtifactRef | str) -> str:
    """Return the digest of a run (by id) or an artifact version (by ref) as far as a page can show it:
    the entity, and an artifact's links and aliases."""
    if isinstance(key, str):
        return _digest("run", key, repr(org.runs.get(key)))
    return _digest(
        "artifact", str(key), repr(org.artifacts.get(key)), repr(org.links_of(key)), repr(org.aliases_of(key))
    )


def checks_exact(options: GraphOptions) -> bool:
    """Return whether builds with these graph options have exact fingerprints (see ``Fingerprints``).

    Not when graphs are of a whole lineage (``--full``, or no limit of depth): the graph around one node
    is then found by walking its whole component, which a rebuild would do once more for each unit of a
    changed component, on one process, before the workers do it again. With 1,000 nightly runs of one
    dataset version, that took 77 s, where the rebuild that rendered every page took 71 s. Such a graph
    changes with its component anyway.
    """
    return not options.full and options.upstream is not None and options.downstream is not None


class GraphDigests:
    """The digest of what a page shows of the lineage around one node: its graph (which nodes and
    clusters, the edges, what was cut) with every node it draws, and the runs an artifact version's
    page names besides (those that logged and used it, drawn or not).

    A page's graph is laid out from its DOT, which is made from the same vertices: two equal digests
    draw the same graph. Each node's digest is made once (``node_digest``); ``nodes`` may hold some.
    Made for every graph a build draws: about 25 µs each at L, a node's digest looked up by its key.
    """

    def __init__(self, org: Organisation, nodes: NodeDigests | None = None) -> None:
        self.org = org
        self.nodes = nodes if nodes is not None else {}
        self._keys: dict[NodeKey, str] = {}  # the same by NodeKey, which hashes faster than a ref

    def _node(self, key: NodeKey) -> str:
        found = self._keys.get(key)
        if found is None:
            found = self._keys[key] = self._plain(key.artifact if key.artifact is not None else str(key.run))
        return found

    def _plain(self, key: ArtifactRef | str) -> str:
        found = self.nodes.get(key)
        if found is None:
            found = self.nodes[key] = node_digest(self.org, key)
        return found

    def of(self, graph: LineageGraph) -> str:
        """Return the digest of what a page shows of ``graph`` (see the class)."""
        known, node = self._keys, self._node
        nodes, distance = graph.nodes, graph.distance
        parts = [node(graph.focus), *[known.get(k) or node(k) for k in nodes]]
        parts.append(repr([distance.get(k) for k in nodes]))
        for c in graph.clusters:
            parts.append(repr((c.kind.value, c.category, c.distance, len(c.members))))
            parts += [known.get(m) or node(m) for m in c.members]
        place = {v: n for n, v in enumerate(graph.vertices)}
        parts.append(repr([(place[a], place[b]) for a, b in graph.edges]))
        parts.append(
            repr(
                (
                    graph.upstream,
                    graph.downstream,
                    graph.more_upstream,
                    graph.more_downstream,
                    graph.radius,
                    graph.omitted,
                    graph.notes,
                )
            )
        )
        focus = graph.focus.artifact
        if focus is not None:
            org = self.org
            parts += [self._plain(r.id) for r in (*org.runs_logging(focus), *org.runs_using(focus))]
        return hashlib.blake2b("\n".join(parts).encode("utf-8", "surrogatepass"), digest_size=20).hexdigest()


class Fingerprints:
    """The fingerprints of every unit of pages: a wide one, from lineage components and collection
    histories (``of``), and an exact one, from the graphs the unit's pages show (``exact``).

    The wide one costs a digest of each node of the organisation, once, and is the same as long as
    nothing in a unit's components changes. When it differs, the exact one tells whether what the
    unit's pages show changed: one more nightly run changes its month's component, and the graphs of
    the few pages around it.
    """

    def __init__(self, org: Organisation, settings: str) -> None:
        self.org = org
        self.settings = settings
        # Components by plain key, an artifact's ref or a run's id (never equal: a ref is not a str),
        # not by NodeKey: making a NodeKey per lookup was most of the time.
        self._component: dict[ArtifactRef | str, int] = {}
        self._component_digest: list[str] = []
        self.nodes: NodeDigests = {}  # each node's digest (``node_digest``), by plain key
        self._months: dict[str, tuple[str, ...]] | None = None
        self._events: dict[int, str] = {}  # an event's repr, by its id (the model outlives this)
        self._blocks: dict[str, dict[int, list[AuditEvent]]] = {}  # see _block_events
        self._own: dict[str, str] = {}  # a collection's or a block's own inputs, digested (``_inputs``)
        self._build_components()

    def _build_components(self) -> None:
        org = self.org
        # Union-find over numbers: each artifact version and run is numbered once (one hash of its key),
        # and the steps compare numbers. Hashing an ArtifactRef (a dataclass) per step was most of the time.
        number: dict[ArtifactRef | str, int] = {ref: n for n, ref in enumerate(org.artifacts)}
        parent = list(range(len(number)))

        def numbered(key: ArtifactRef | str) -> int:
            n = number.get(key)
            if n is None:
                n = number[key] = len(parent)
                parent.append(n)
            return n

        def find(x: int) -> int:
            root = parent[x]
            while (up := parent[root]) != root:
                root = up
            while (up := parent[x]) != root:  # path compression
                parent[x], x = root, up
            return root

        for run_id, run in org.runs.items():
            r = numbered(run_id)
            for ref in (*run.inputs, *run.outputs):
                a, b = find(r), find(numbered(ref))
                if a != b:
                    parent[a] = b
        members: dict[int, list[str]] = {}
        index: dict[int, int] = {}
        nodes = self.nodes
        for key, n in number.items():
            root = find(n)
            if root not in index:
                index[root] = len(index)
                members[root] = []
            self._component[key] = index[root]
            nodes[key] = digest = node_digest(org, key)
            members[root].append(digest)
        self._component_digest = [_digest(*sorted(m)) for m in members.values()]

    def of(self, unit: Unit) -> str:
        """Return the wide fingerprint of a unit (see ``site.Unit``); "" for one that always changes."""
        inputs = self._inputs(unit)
        if inputs is None:
            return ""
        components = self._component_digest
        found = sorted({components[self._component[key]] for key in inputs[1]})
        return _digest(self.settings, inputs[0], *found)

    def every(self, units: Sequence[Unit]) -> list[str]:
        """Return the wide fingerprint of each of ``units``, then let go of the events spelled out for
        them: the exact fingerprints take the digests of the collections' own inputs, kept meanwhile (an
        XL organisation's events spelled out are tens of megabytes, and this lasts the whole build)."""
        prints = [self.of(u) for u in units]
        self._events, self._blocks, self._months = {}, {}, None
        return prints

    def exact(self, unit: Unit, shown: Callable[[NodeKey], str]) -> str:
        """Return the exact fingerprint of an artifact's, a run's or a collection's unit: its own
        inputs as ``of`` has them, the nodes it names, and what its pages show of each graph
        (``shown``: the ``GraphDigests`` of the graph around a node); "" for any other unit."""
        if unit.kind not in _EXACT:
            return ""
        inputs = self._inputs(unit)
        assert inputs is not None
        nodes = self.nodes
        return _digest(
            self.settings,
            "exact",
            inputs[0],
            *(nodes[key] for key in inputs[1]),
            *(shown(focus) for focus in unit_focuses(self.org, unit)),
        )

    def _inputs(self, unit: Unit) -> tuple[str, Sequence[ArtifactRef | str]] | None:
        """Return the digest of a unit's own inputs, and the nodes whose lineage its pages show (by plain
        key); None for a unit that always changes. A collection's and a block's are kept: spelling out
        their events is most of the work."""
        kind, key = unit.kind, unit.key
        if kind == "artifact":
            assert unit.ref is not None
            return _digest(kind, str(unit.ref)), (unit.ref,)
        if kind == "run":
            return _digest(kind, key), (key,)
        if kind == "audit-month":
            return _digest(kind, key, *self._audit_months()[key]), ()
        if kind not in ("collection", "versions"):
            return None
        history = self.org.collections[key]
        # a collection's page lists every version; a block's pages list the block's (``unit_versions``)
        listed = unit_versions(self.org, unit) if kind == "versions" else range(len(history.versions))
        own = self._own.get(unit.id)
        if own is None:
            own = self._own[unit.id] = _digest(*self._spelled_collection(unit, history, listed))
        return own, [history.versions[n].artifact for n in listed]

    def _spelled_collection(self, unit: Unit, history: CollectionHistory, listed: range) -> list[str]:
        """Return a collection's or a block's own inputs spelled out, with the versions it lists."""
        kind, key = unit.kind, unit.key
        versions = history.versions[listed.start : listed.stop]
        if kind == "collection":
            return [kind, key, repr(history.collection), repr(versions), *self._spelled(history.events)]
        # A block's pages show its versions (their rows, aliases, actions and lineage), the collection, and
        # whether a block follows: nothing of the versions after it.
        return [
            kind,
            key,
            str(unit.block),
            repr(history.collection),
            repr(versions),
            str(listed.stop < len(history.versions)),
            *self._spelled(self._block_events(history).get(unit.block, ())),
        ]

    def _block_events(self, history: CollectionHistory) -> dict[int, list[AuditEvent]]:
        """Return ``site.events_by_block`` of a long collection, kept for one collection at a time."""
        key = history.full_name
        found = self._blocks.get(key)
        if found is None:
            found = events_by_block(history)
            self._blocks = {key: found}
        return found

    def _audit_months(self) -> dict[str, tuple[str, ...]]:
        """Return what each month's page of the audit log shows: its events (a collection's registry and
        name are in its full name, a protected alias is in the settings), and the months before and after
        it, which it links to."""
        if self._months is None:
            by_month = log_by_month(self.org)  # what the pages are made from (not sorted by time)
            order = ["", *sorted(by_month), ""]
            self._months = {
                month: (order[n], order[n + 2], *self._spelled(by_month[month]))
                for n, month in enumerate(order[1:-1])
            }
        return self._months

    def _spelled(self, events: Iterable[AuditEvent]) -> list[str]:
        """Return each event's repr: made once, for its collection's fingerprint and its month's."""
        known = self._events
        spelled = []
        for e in events:
            text = known.get(id(e))
            if text is None:
                text = known[id(e)] = repr(e)
            spelled.append(text)
        return spelled


class PageCache:
    """The last build's units, in one SQLite file beside the site (next to the graph cache).

    A unit's row holds its fingerprint, its files and its graph's key; the pieces of every unit are one
    JSON document beside them (``pieces``), for a changed unit shifts the offsets of those after it. So
    a rebuild writes the rows of the units it rendered (and deletes those gone), and the pieces: at L,
    writing all 17,000 rows had been a tenth of a rebuild.
    """

    FILE = "pages.sqlite"
    _UNITS = "units (unit TEXT PRIMARY KEY, fingerprint TEXT, exact TEXT, files TEXT, graph_key TEXT)"
    _PIECES = "pieces (data TEXT)"

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder

    def exists(self) -> bool:
        """Return whether there is a record (usable or not)."""
        return self.folder is not None and (self.folder / self.FILE).is_file()

    def load(self) -> dict[str, StoredUnit]:
        """Return the units the last build recorded, by unit id; nothing if there is no usable cache."""
        return stored_units(self.rows())

    def rows(self) -> list[tuple[object, ...]]:
        """Return the record's rows as they are kept, each with its unit's pieces (None if the record has
        none, or they cannot be read): (unit, fingerprint, exact fingerprint, files, graph key, pieces)."""
        if not self.exists():
            return []
        assert self.folder is not None
        try:
            with contextlib.closing(sqlite3.connect(self.folder / self.FILE, timeout=30)) as db:
                rows = db.execute("SELECT unit, fingerprint, exact, files, graph_key FROM units").fetchall()
                found = db.execute("SELECT data FROM pieces").fetchall()
        except sqlite3.Error as exc:
            log.debug("page cache unusable: %s", exc)
            return []
        try:
            pieces = json.loads(found[0][0]) if len(found) == 1 and type(found[0][0]) is str else {}
        except (ValueError, RecursionError):
            pieces = {}
        if type(pieces) is not dict:
            pieces = {}
        return [(*row, pieces.get(row[0]) if type(row[0]) is str else None) for row in rows]

    def save(self, units: Mapping[str, StoredUnit], recorded: Mapping[str, StoredUnit] | None = None) -> None:
        """Make ``units`` the record; ``recorded``: the units as the record holds them now, whose rows
        need not be written again where they are the same (None: write every row). A damaged file is
        started again."""
        if self.folder is None:
            return
        placed = json.dumps({unit: u.pieces for unit, u in sorted(units.items()) if u.pieces})

        def rows(ids: Iterable[str]) -> list[tuple[str, str, str, str, str]]:
            return [
                (unit, u.fingerprint, u.exact, json.dumps(u.files), u.graph_key)
                for unit, u in ((unit, units[unit]) for unit in ids)
            ]

        def replace(db: sqlite3.Connection) -> None:
            for table in (self._UNITS, self._PIECES):
                db.execute(f"DROP TABLE IF EXISTS {table.split(' ', 1)[0]}")
                db.execute(f"CREATE TABLE {table}")
            db.executemany("INSERT INTO units VALUES (?, ?, ?, ?, ?)", rows(sorted(units)))
            db.execute("INSERT INTO pieces VALUES (?)", (placed,))

        def update(db: sqlite3.Connection) -> None:
            assert recorded is not None
            there = {unit for (unit,) in db.execute("SELECT unit FROM units")}
            db.executemany("DELETE FROM units WHERE unit = ?", [(u,) for u in there if u not in units])
            changed = sorted(
                unit
                for unit, u in units.items()
                if unit not in there or unit not in recorded or not recorded[unit].same_row(u)
            )
            db.executemany("INSERT OR REPLACE INTO units VALUES (?, ?, ?, ?, ?)", rows(changed))
            db.execute("DELETE FROM pieces")
            db.execute("INSERT INTO pieces VALUES (?)", (placed,))

        if recorded is None or not update_database(self.folder / self.FILE, update, fresh=False):
            update_database(self.folder / self.FILE, replace)

    def forget(self) -> None:
        """Drop the record, if there is one."""
        if self.folder is not None:
            with contextlib.suppress(OSError):
                (self.folder / self.FILE).unlink()


def stored_units(rows: Iterable[Sequence[object]]) -> dict[str, StoredUnit]:
    """Return the units of a record's rows (``PageCache.rows``), by unit id, leaving out a row that is not
    one (a damaged cache is only slower). A unit without pieces has them made again (see ``emit``)."""
    units: dict[str, StoredUnit] = {}
    for row in rows:
        try:
            unit, fingerprint, exact, files, graph_key, pieces = row
            if type(unit) is not str or type(fingerprint) is not str or type(graph_key) is not str:
                continue
            if type(exact) is not str:
                exact = ""
            if type(files) is str:  # as the record keeps them
                files = json.loads(files)
            stored = tuple(_file(*f) for f in files)  # type: ignore[attr-defined]
            placed = tuple(_piece(*p) for p in pieces) if pieces is not None else ()  # type: ignore[attr-defined]
        except (TypeError, ValueError, RecursionError):
            continue
        if unit != ASSEMBLED:  # a unit's files are in its kind's folder: never the index, an asset...
            folder = UNIT_FOLDERS.get(unit.split("\0", 1)[0])
            if folder is None or not all(f.path.startswith(folder) for f in stored):
                continue
        units[unit] = StoredUnit(fingerprint, stored, graph_key, placed, exact)
    return units


Linked = tuple[dict[str, StoredUnit], list[str]]  # what ``link_ahead`` returns


def link_ahead(folder: Path, site: Path, staging: Path) -> Linked:
    """Hard-link into ``staging`` the files of every unit the last build recorded (in ``folder``) that
    are still in ``site`` as it left them; return those units, and the assembled files' record, with the
    ids of those whose files were copied (where links fail: their files' record is new).

    This runs in a forked process while the build loads and validates the manifests (see
    ``build``): which units are unchanged is known only then, which files are intact at once.
    """
    units: dict[str, StoredUnit] = {}
    copied: list[str] = []
    old_site, new_site = staged_paths(site), staged_paths(staging)
    for unit, stored in stored_units(PageCache(folder).rows()).items():
        if unit != ASSEMBLED:
            if not intact(old_site, stored.files):
                continue
            files = link_files(old_site, new_site, stored.files)
            if files is not stored.files:
                copied.append(unit)
                stored = stored._replace(files=files)
        units[unit] = stored
    return units, copied


def linked_ahead(linked: object) -> tuple[dict[str, StoredUnit], frozenset[str]]:
    """Return the units ``link_ahead`` linked (and the assembled files' record), by unit id, and those
    whose files it copied, from what it returned; raise ValueError if ``linked`` is not that.

    It comes from a process this one forked, never from a file: it is as trusted as this process.
    """
    try:
        units: object
        copied: object
        units, copied = linked  # type: ignore[misc]
        if type(units) is not dict or not all(type(u) is StoredUnit for u in units.values()):
            raise ValueError("not units")
        return units, frozenset(copied)  # type: ignore[call-overload]
    except TypeError as exc:  # not a pair, or ids that cannot be a set
        raise ValueError(f"not units: {exc!r}") from None


def link_files(old_site: Staged, new_site: Staged, files: tuple[StoredFile, ...]) -> tuple[StoredFile, ...]:
    """Hard-link a unit's files from the previous site into the new one (copy them where links fail),
    each folder as ``write.staged_paths`` has it; return their record: ``files`` itself where every one
    is linked.

    A link is the file itself, so its record (inode, size, time) stands as ``intact`` checked it.
    """
    out = []
    for f in files:
        path, name = new_site(f.path)
        source = old_site(name)[0]
        try:
            link_file(source, path)
        except OSError:  # no hard links here (another file system, too many links): copy it
            with open(source, "rb") as old:
                digest, st = put_file(path, old.read())
            f = StoredFile(name, digest, f.page, st.st_ino, st.st_size, st.st_mtime_ns)
        out.append(f if f.path == name else f._replace(path=name))
    return files if all(a is b for a, b in zip(out, files, strict=True)) else tuple(out)


def update_database(path: Path, work: Callable[[sqlite3.Connection], None], fresh: bool = True) -> bool:
    """Run ``work`` in one transaction on the SQLite file ``path``; return whether it was done.

    A cache that cannot be written only makes the next build slower: it is logged, not raised. A file
    that is not a database any more is started again, if ``fresh`` (else the caller starts it again).
    """
    for attempt in (1, 2):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.closing(sqlite3.connect(path, timeout=30)) as db, db:
                work(db)
            return True
        except (OSError, sqlite3.Error) as exc:
            log.debug("%s not written: %s", path.name, exc)
            if attempt == 2 or not fresh or not isinstance(exc, sqlite3.DatabaseError):
                return False
            with contextlib.suppress(OSError):
                path.unlink()  # not a database any more: start it again
    return False


def replace_table(path: Path, table: str, rows: Sequence[tuple[object, ...]]) -> None:
    """Make ``rows`` the only rows of ``table`` ("name (columns)") in the SQLite file ``path``, at once
    (see ``update_database``)."""
    name = table.split(" ", 1)[0]
    marks = ", ".join("?" * len(rows[0])) if rows else ""

    def replace(db: sqlite3.Connection) -> None:
        db.execute(f"CREATE TABLE IF NOT EXISTS {table}")
        db.execute(f"DELETE FROM {name}")
        if rows:
            db.executemany(f"INSERT INTO {name} VALUES ({marks})", rows)

    update_database(path, replace)


def _file(
    path: object, digest: object, page: object, inode: object, size: object, mtime_ns: object
) -> StoredFile:
    if (
        type(path) is not str
        or type(digest) is not str
        or type(page) is not bool
        or type(inode) is not int
        or type(size) is not int
        or type(mtime_ns) is not int
    ):
        raise ValueError("not a file")
    return StoredFile(path, digest, page, inode, size, mtime_ns)


def _piece(file: object, offset: object, length: object) -> tuple[str, int, int]:
    if (
        type(file) is not str
        or type(offset) is not int
        or type(length) is not int
        or offset < 0
        or length < 0
    ):
        raise ValueError("not a piece")
    return file, offset, length


def intact(site: Staged, files: Sequence[StoredFile]) -> bool:
    """Return whether every file is still in the site (as ``write.staged_paths`` has it) as the build that
    wrote it left it."""
    for f in files:
        try:
            path, _ = site(f.path)  # a damaged cache cannot lead outside the site
            st = os.stat(path, follow_symlinks=False)
        except (OSError, WriteError):
            return False
        if (st.st_ino, st.st_size, st.st_mtime_ns) != (f.inode, f.size, f.mtime_ns):
            return False
    return True
