"""The domain model: immutable, ordered, pure. No I/O, no templates, no Graphviz.

Validation builds an ``Organisation`` from the manifests; graphs and the site only read it.
"""

from __future__ import annotations

import bisect
import enum
import operator
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

from reportgen.diagnostics import Location
from reportgen.spec import LATEST, FormatError, parse_ref

_NOWHERE = Location("<none>")


def frozen_mapping(data: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    """Return a read-only copy of ``data`` (an empty one for None), nested values included."""
    return MappingProxyType({k: _frozen(v) for k, v in (data or {}).items()})


def _frozen(value: Any) -> Any:
    if isinstance(value, Mapping):
        return frozen_mapping(value)
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    return value


# The order of ArtifactRef (its fields'), as a sort key: sorting by it compares tuples in C, where the
# dataclass's __lt__ is a Python call per comparison (380,000 of them to make the model of L).
_REF_ORDER = operator.attrgetter("name", "version")


@dataclass(frozen=True, slots=True, order=True)
class ArtifactRef:
    """A pinned artifact version, written `name:vN`."""

    name: str
    version: int

    def __str__(self) -> str:
        return f"{self.name}:v{self.version}"

    @classmethod
    def parse(cls, text: str) -> ArtifactRef:
        """Return the ref written as `name:vN`; raise ``FormatError`` otherwise."""
        name, version = parse_ref(text)
        return cls(name, version)


@dataclass(frozen=True, slots=True)
class Registry:
    """A registry: a named group of collections, with its protected aliases."""

    name: str
    description: str = ""
    protected_aliases: tuple[str, ...] = ()
    declared: bool = True
    location: Location = _NOWHERE


@dataclass(frozen=True, slots=True)
class Collection:
    """A registry collection that accepts artifact versions of one type."""

    registry: str
    name: str
    type: str
    description: str = ""
    tags: tuple[str, ...] = ()
    created_at: datetime | None = None
    location: Location = _NOWHERE

    @property
    def full_name(self) -> str:
        """Return `registry/name`."""
        return f"{self.registry}/{self.name}"


@dataclass(frozen=True, slots=True)
class ArtifactVersion:
    """One version of a logged artifact (dataset, model, ...)."""

    name: str
    version: int
    type: str
    project: str = ""
    digest: str = ""
    size: int | None = None
    file_count: int | None = None
    aliases: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    description: str = ""
    metadata: Mapping[str, Any] = field(default_factory=frozen_mapping)
    created_at: datetime | None = None
    state: str = "committed"
    ttl_days: int | None = None
    logged_by: str | None = None
    url: str | None = None
    location: Location = _NOWHERE

    @property
    def ref(self) -> ArtifactRef:
        """Return the `name:vN` ref of this version."""
        return ArtifactRef(self.name, self.version)

    @property
    def is_deleted(self) -> bool:
        """Return whether the version was deleted."""
        return self.state == "deleted"

    @property
    def expires_at(self) -> datetime | None:
        """Return when the time to live runs out, if both are known."""
        if self.ttl_days is None or self.created_at is None:
            return None
        try:
            return self.created_at + timedelta(days=self.ttl_days)
        except (OverflowError, ValueError):  # past year 9999: it never expires as far as we can say
            return None


@dataclass(frozen=True, slots=True)
class Run:
    """A run of an ML job: it used some artifact versions and logged others."""

    id: str
    name: str
    project: str = ""
    group: str = ""
    notes: str = ""
    job_type: str = ""
    state: str = ""
    user: str = ""
    created_at: datetime | None = None
    finished_at: datetime | None = None
    tags: tuple[str, ...] = ()
    config: Mapping[str, Any] = field(default_factory=frozen_mapping)
    summary: Mapping[str, Any] = field(default_factory=frozen_mapping)
    inputs: tuple[ArtifactRef, ...] = ()
    outputs: tuple[ArtifactRef, ...] = ()
    url: str | None = None
    location: Location = _NOWHERE

    @property
    def duration(self) -> timedelta | None:
        """Return how long the run took, if both ends are known."""
        if self.created_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.created_at


class ActionKind(enum.StrEnum):
    """What a registry action written in the manifests does."""

    LINK = "link"
    UNLINK = "unlink"
    ADD_ALIAS = "add_alias"
    REMOVE_ALIAS = "remove_alias"


@dataclass(frozen=True, slots=True)
class Action:
    """A registry action as written in the audit log of the manifests."""

    at: datetime
    user: str
    kind: ActionKind
    collection: str
    artifact: ArtifactRef | None = None
    version: int | None = None
    alias: str | None = None
    reason: str = ""
    location: Location = _NOWHERE
    field_locations: Mapping[str, Location] = field(default_factory=frozen_mapping)

    def where(self, name: str) -> Location:
        """Return where field ``name`` was written, or the action's own place."""
        return self.field_locations.get(name, self.location)


class EventKind(enum.StrEnum):
    """What happened to a collection, as its Action History shows it."""

    LINKED = "linked"
    UNLINKED = "unlinked"
    ALIAS_ADDED = "alias_added"
    ALIAS_REMOVED = "alias_removed"
    ALIAS_MOVED = "alias_moved"

    @property
    def label(self) -> str:
        """Return the words shown for this kind, e.g. "alias moved"."""
        return self.value.replace("_", " ")


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One entry of a collection's Action History.

    ``automatic`` events were not written by a user but follow from an action: `latest` moving on a link
    or unlink, and aliases dropped with an unlinked version. ``cause`` names that action's kind.
    """

    seq: int
    at: datetime
    user: str
    kind: EventKind
    collection: str
    version: int
    artifact: ArtifactRef
    alias: str | None = None
    previous_version: int | None = None
    reason: str = ""
    automatic: bool = False
    cause: ActionKind = ActionKind.LINK
    location: Location = _NOWHERE

    @property
    def version_label(self) -> str:
        """Return `vK`."""
        return f"v{self.version}"


@dataclass(frozen=True, slots=True)
class CollectionVersion:
    """A version of a collection: a link to a source artifact version."""

    collection: str
    version: int
    artifact: ArtifactRef
    linked_at: datetime
    linked_by: str
    unlinked_at: datetime | None = None
    unlinked_by: str | None = None

    @property
    def label(self) -> str:
        """Return `vK`."""
        return f"v{self.version}"

    @property
    def full_name(self) -> str:
        """Return `registry/collection:vK`."""
        return f"{self.collection}:v{self.version}"

    def is_linked_at(self, at: datetime | None = None) -> bool:
        """Return whether the version was linked at time ``at`` (now when None)."""
        if at is None:
            return self.unlinked_at is None
        return self.linked_at <= at and (self.unlinked_at is None or at < self.unlinked_at)


@dataclass(frozen=True, slots=True)
class CollectionState:
    """What a collection held at one moment: its linked versions and who held each alias."""

    at: datetime | None
    linked: tuple[int, ...]
    aliases: Mapping[str, int]

    def aliases_of(self, version: int) -> tuple[str, ...]:
        """Return the aliases ``version`` held, `latest` first, the rest sorted."""
        held = sorted(a for a, v in self.aliases.items() if v == version)
        return tuple(sorted(held, key=lambda a: a != LATEST))

    def holder(self, alias: str) -> int | None:
        """Return the version holding ``alias``, if any."""
        return self.aliases.get(alias)


@dataclass(frozen=True, slots=True)
class CollectionHistory:
    """A collection with every version it ever had and the events that made its state."""

    collection: Collection
    versions: tuple[CollectionVersion, ...]
    events: tuple[AuditEvent, ...]
    final: CollectionState | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        # The state after the whole log is asked for on every page: replay it once.
        if self.final is None:
            object.__setattr__(self, "final", self._replay(None))

    @property
    def full_name(self) -> str:
        """Return `registry/name`."""
        return self.collection.full_name

    def version(self, number: int) -> CollectionVersion | None:
        """Return collection version ``vK``, if it was ever linked."""
        if 0 <= number < len(self.versions):
            return self.versions[number]
        return None

    def state_at(self, at: datetime | None = None) -> CollectionState:
        """Return the collection's state at time ``at`` (after every event, when None)."""
        if at is None and self.final is not None:
            return self.final
        return self._replay(at)

    def _replay(self, at: datetime | None) -> CollectionState:
        events = self.events
        if at is not None:
            events = events[: bisect.bisect_right([e.at for e in events], at)]
        linked: dict[int, None] = {}
        aliases: dict[str, int] = {}
        for event in events:
            if event.kind is EventKind.LINKED:
                linked[event.version] = None
            elif event.kind is EventKind.UNLINKED:
                linked.pop(event.version, None)
            elif event.kind is EventKind.ALIAS_REMOVED and event.alias is not None:
                aliases.pop(event.alias, None)
            elif event.alias is not None:
                aliases[event.alias] = event.version
        return CollectionState(at, tuple(sorted(linked)), frozen_mapping(aliases))

    @property
    def current(self) -> CollectionState:
        """Return the state after the whole action log."""
        return self.state_at(None)

    def holder_of(self, alias: str, at: datetime | None = None) -> CollectionVersion | None:
        """Return the version that held ``alias`` at time ``at`` ("what was in production then?")."""
        number = self.state_at(at).holder(alias)
        return None if number is None else self.versions[number]

    @property
    def last_event(self) -> AuditEvent | None:
        """Return the most recent event, if any."""
        return self.events[-1] if self.events else None


@dataclass(frozen=True)
class Organisation:
    """Everything the manifests declare, validated and cross-linked; sorted for reproducible output."""

    registries: Mapping[str, Registry]
    collections: Mapping[str, CollectionHistory]
    artifacts: Mapping[ArtifactRef, ArtifactVersion]
    runs: Mapping[str, Run]
    actions: tuple[Action, ...]  # in replay order; without their fields' places (see validate)
    _producers: Mapping[ArtifactRef, tuple[str, ...]] = field(repr=False)
    _consumers: Mapping[ArtifactRef, tuple[str, ...]] = field(repr=False)
    _links: Mapping[ArtifactRef, tuple[CollectionVersion, ...]] = field(repr=False)
    _by_name: Mapping[str, tuple[ArtifactVersion, ...]] = field(repr=False)
    _aliases: Mapping[ArtifactRef, tuple[str, ...]] = field(repr=False)

    @classmethod
    def assemble(
        cls,
        registries: Mapping[str, Registry],
        collections: Mapping[str, CollectionHistory],
        artifacts: Mapping[ArtifactRef, ArtifactVersion],
        runs: Mapping[str, Run],
        actions: tuple[Action, ...] = (),
    ) -> Organisation:
        """Return an organisation with its lookup indexes built, every mapping sorted by key."""
        producers: dict[ArtifactRef, list[str]] = {}
        consumers: dict[ArtifactRef, list[str]] = {}
        for run_id in sorted(runs):
            run = runs[run_id]
            for ref in dict.fromkeys(run.outputs):
                producers.setdefault(ref, []).append(run_id)
            for ref in dict.fromkeys(run.inputs):
                consumers.setdefault(ref, []).append(run_id)
        links: dict[ArtifactRef, list[CollectionVersion]] = {}
        aliases: dict[ArtifactRef, dict[str, None]] = {
            ref: dict.fromkeys(a.aliases) for ref, a in artifacts.items() if a.aliases
        }
        for name in sorted(collections):
            history = collections[name]
            current = history.current
            for cv in history.versions:
                links.setdefault(cv.artifact, []).append(cv)
                for alias in current.aliases_of(cv.version):
                    aliases.setdefault(cv.artifact, {})[alias] = None

        by_name: dict[str, list[ArtifactVersion]] = {}
        for ref in sorted(artifacts, key=_REF_ORDER):
            by_name.setdefault(ref.name, []).append(artifacts[ref])

        def freeze(data: Mapping[Any, Any]) -> Mapping[Any, Any]:
            keys = list(data)
            keys.sort(key=_REF_ORDER if keys and type(keys[0]) is ArtifactRef else None)
            return MappingProxyType({k: data[k] for k in keys})

        return cls(
            registries=freeze(registries),
            collections=freeze(collections),
            artifacts=freeze(artifacts),
            runs=freeze(runs),
            actions=actions,
            _producers=freeze({k: tuple(v) for k, v in producers.items()}),
            _consumers=freeze({k: tuple(v) for k, v in consumers.items()}),
            _links=freeze({k: tuple(v) for k, v in links.items()}),
            _by_name=freeze({k: tuple(v) for k, v in by_name.items()}),
            _aliases=freeze({k: tuple(v) for k, v in aliases.items()}),
        )

    def runs_logging(self, ref: ArtifactRef) -> tuple[Run, ...]:
        """Return the runs that list ``ref`` among their outputs, by id."""
        return tuple(self.runs[r] for r in self._producers.get(ref, ()))

    def runs_near(self, ref: ArtifactRef) -> tuple[str, ...]:
        """Return the ids of the runs that logged ``ref``, then of those that used it."""
        return self._producers.get(ref, ()) + self._consumers.get(ref, ())

    def runs_using(self, ref: ArtifactRef) -> tuple[Run, ...]:
        """Return the runs that list ``ref`` among their inputs, by id."""
        return tuple(self.runs[r] for r in self._consumers.get(ref, ()))

    def links_of(self, ref: ArtifactRef) -> tuple[CollectionVersion, ...]:
        """Return every collection version ever linked to ``ref``."""
        return self._links.get(ref, ())

    def aliases_of(self, ref: ArtifactRef) -> tuple[str, ...]:
        """Return the aliases ``ref`` holds now: its own, then those of the collections it is in."""
        return self._aliases.get(ref, ())

    def unlinked_artifacts(self) -> tuple[ArtifactVersion, ...]:
        """Return the artifact versions that were never linked into any collection."""
        return tuple(a for ref, a in self.artifacts.items() if ref not in self._links)

    def collections_in(self, registry: str) -> tuple[CollectionHistory, ...]:
        """Return the collections of ``registry``, by name."""
        return tuple(h for h in self.collections.values() if h.collection.registry == registry)

    def events(self) -> Iterator[AuditEvent]:
        """Yield every collection's events, oldest first (ties by collection, then replay order)."""
        merged = [e for h in self.collections.values() for e in h.events]
        yield from sorted(merged, key=lambda e: (e.at, e.collection, e.seq))

    def versions_of(self, name: str) -> tuple[ArtifactVersion, ...]:
        """Return every version of the artifact called ``name``, oldest first."""
        return self._by_name.get(name, ())

    def resolve(self, text: str) -> ArtifactVersion | Run | CollectionVersion | None:
        """Return what ``text`` names: `name:vN`, a run id, or `registry/collection:vK`."""
        if text in self.runs:
            return self.runs[text]
        try:
            ref = ArtifactRef.parse(text)
        except FormatError:
            return None
        if ref in self.artifacts:
            return self.artifacts[ref]
        history = self.collections.get(ref.name)
        return history.version(ref.version) if history else None


def _plain_reprs() -> None:
    """Spell the model's objects through repr without the cycle guard dataclasses wrap each generated
    ``__repr__`` in (a set of (id, thread) added to and taken from on every call), and its enums' members
    through a repr made once: a rebuild digests the whole model through repr (``incremental``), and at L
    these were a fifth of that. The text is the same; the model has no cycles (its objects are frozen,
    made from the leaves up; mappings and lists of values keep the guard of Python's own containers).
    """
    for cls in (
        ArtifactRef,
        Registry,
        Collection,
        ArtifactVersion,
        Run,
        Action,
        AuditEvent,
        CollectionVersion,
        CollectionState,
        CollectionHistory,
        Location,
    ):
        cls.__repr__ = getattr(cls.__repr__, "__wrapped__", cls.__repr__)  # type: ignore[method-assign]
    for kinds in (ActionKind, EventKind):
        spelled = {member: enum.Enum.__repr__(member) for member in kinds}
        kinds.__repr__ = lambda self, spelled=spelled: spelled[self]  # type: ignore[method-assign, misc]


_plain_reprs()
