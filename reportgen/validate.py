"""Stage 2, validate: check the loaded manifests and build the model from what is valid.

Structural checks (fields.py) come first, then references across entries and files, the lineage cycle
check, and the replay of the action log (replay.py). Every problem is collected; nothing is raised.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reportgen import diagnostics, model, pickling
from reportgen.diagnostics import Diagnostic, Location, Reporter
from reportgen.fields import (
    CheckedFile,
    Entry,
    check_documents,
    check_file,
    decode_entries,
    encode_entries,
    near_versions,
    reduce_entry,
)
from reportgen.load import Check, Document, LoadResult
from reportgen.model import (
    Action,
    ActionKind,
    ArtifactRef,
    ArtifactVersion,
    Collection,
    Organisation,
    Registry,
    Run,
    frozen_mapping,
)
from reportgen.replay import replay
from reportgen.spec import format_utc

log = logging.getLogger(__name__)

_NO_FIELDS = frozen_mapping()


@dataclass(frozen=True, slots=True)
class Validation:
    """The outcome of validation: the model built from the valid part, and every problem found."""

    organisation: Organisation
    diagnostics: list[Diagnostic]
    files: list[str]

    @property
    def ok(self) -> bool:
        """Return whether no error was found (warnings allowed)."""
        return not any(d.severity.value == "error" for d in self.diagnostics)


def validate(loaded: LoadResult) -> Validation:
    """Check the loaded documents and return the model with every problem found."""
    reporter = Reporter()
    reporter.extend(loaded.diagnostics)
    organisation = build_organisation(loaded.documents, reporter)
    return Validation(organisation, reporter.diagnostics, loaded.files)


def _pickled(checked: CheckedFile) -> bytes:
    return pickling.dumps(checked, _ENTRIES).tobytes()  # a memoryview cannot be pickled


_ENTRIES = pickling.table((model, diagnostics), also=(CheckedFile,)) | {Entry: reduce_entry}

# How loading checks each file where it parses it (``load_paths(check=...)``): a worker sends back the
# file's entries, pickled, instead of its documents, and the parse cache keeps them.
check_where_parsed = Check(check_file, _pickled, encode_entries, decode_entries)


def build_organisation(documents: Iterable[Document | CheckedFile], reporter: Reporter) -> Organisation:
    """Return the organisation described by ``documents``, reporting every problem."""
    every = check_documents(documents, reporter)
    entries = {kind: [e for e in found if e.complete] for kind, found in every.items()}
    registries = _registries(entries["registries"], reporter)
    collections = _collections(entries["collections"], registries, reporter)
    artifacts = _artifacts(entries["artifacts"], reporter)
    # Versions declared with an invalid field were reported already: refs to them are not dangling.
    broken = {
        ArtifactRef(e.get("name"), e.get("version"))
        for e in every["artifacts"]
        if not e.complete and "name" in e.values and "version" in e.values
    }
    runs = _runs(entries["runs"], artifacts, broken, reporter)
    _check_logged_by(entries["artifacts"], artifacts, runs, reporter)
    _check_cycles(runs, entries["runs"], reporter)
    # An action with any rejected field is left out of the replay: what it would do is unknown.
    actions, places = _actions([e for e in entries["actions"] if not e.invalid])
    histories = replay(actions, collections, registries, artifacts, reporter, places)
    return Organisation.assemble(registries, histories, artifacts, runs, tuple(actions))


def _first_seen(
    kind: str, key: str, entry: Entry, seen: dict[str, Entry], code: str, reporter: Reporter
) -> bool:
    """Return True for the first declaration of ``key``; report later ones."""
    first = seen.get(key)
    if first is None:
        seen[key] = entry
        return True
    if first.loc == entry.loc:  # one entry written once and repeated through a YAML alias
        reporter.report(code, f"{kind} {key!r} is declared twice: a YAML alias repeats it", entry.loc)
    else:
        reporter.report(code, f"{kind} {key!r} is declared twice (first at {first.loc})", entry.loc)
    return False


def _registries(entries: Sequence[Entry], reporter: Reporter) -> dict[str, Registry]:
    """Return the declared registries; a repeated declaration is fine only if it is identical.

    Registries belong to the whole organisation, so manifest sets of several teams may each declare
    the registries they use.
    """
    registries: dict[str, Registry] = {}
    for e in entries:
        registry = Registry(
            e.get("name"),
            e.get("description", ""),
            tuple(e.get("protected_aliases", ())),
            location=e.loc,
        )
        first = registries.get(registry.name)
        if first is None:
            registries[registry.name] = registry
        elif (first.description, first.protected_aliases) != (
            registry.description,
            registry.protected_aliases,
        ):
            reporter.report(
                "RG204",
                f"registry {registry.name!r} is declared twice, differently "
                f"(first at {first.location}); repeat it identically or declare it once",
                e.loc,
            )
    return registries


def _collections(
    entries: Sequence[Entry], registries: dict[str, Registry], reporter: Reporter
) -> dict[str, Collection]:
    seen: dict[str, Entry] = {}
    collections: dict[str, Collection] = {}
    for e in entries:
        collection = Collection(
            e.get("registry"),
            e.get("name"),
            e.get("type"),
            e.get("description", ""),
            tuple(e.get("tags", ())),
            e.get("created_at"),
            e.loc,
        )
        if _first_seen("collection", collection.full_name, e, seen, "RG203", reporter):
            collections[collection.full_name] = collection
            if collection.registry not in registries:  # named but not declared: exists implicitly
                registries[collection.registry] = Registry(collection.registry, declared=False)
    return collections


def _artifacts(entries: Sequence[Entry], reporter: Reporter) -> dict[ArtifactRef, ArtifactVersion]:
    seen: dict[str, Entry] = {}
    artifacts: dict[ArtifactRef, ArtifactVersion] = {}
    for e in entries:
        get: Callable[..., Any] = e.values.get  # Entry.get, without a call of its own for each field
        version = ArtifactVersion(
            name=get("name"),
            version=get("version"),
            type=get("type"),
            project=get("project", ""),
            digest=get("digest", ""),
            size=get("size"),
            file_count=get("file_count"),
            aliases=tuple(get("aliases", ())),
            tags=tuple(get("tags", ())),
            description=get("description", ""),
            metadata=frozen_mapping(get("metadata")),
            created_at=get("created_at"),
            state=get("state", "committed"),
            ttl_days=get("ttl_days"),
            logged_by=get("logged_by"),
            url=get("url"),
            location=e.loc,
        )
        if _first_seen("artifact version", str(version.ref), e, seen, "RG201", reporter):
            artifacts[version.ref] = version
    return artifacts


def _refs(
    e: Entry, field: str, artifacts: dict[ArtifactRef, Any], broken: set[ArtifactRef], reporter: Reporter
) -> tuple[ArtifactRef, ...]:
    """Return the declared refs of a run's list field, reporting dangling and repeated ones."""
    kept: dict[ArtifactRef, None] = {}
    for n, ref in enumerate(e.get(field, ())):
        if ref in broken:
            continue
        if ref not in artifacts:
            reporter.report(
                "RG205",
                f"{field}: {ref} is not a declared artifact version{near_versions(ref, artifacts)}",
                e.item_locs[field][n],  # made when asked for, in a restored entry
            )
        elif ref in kept:
            reporter.report("RG211", f"{field}: {ref} is listed twice", e.item_locs[field][n])
        else:
            kept[ref] = None
    return tuple(kept)


def _runs(
    entries: Sequence[Entry],
    artifacts: dict[ArtifactRef, ArtifactVersion],
    broken: set[ArtifactRef],
    reporter: Reporter,
) -> dict[str, Run]:
    seen: dict[str, Entry] = {}
    runs: dict[str, Run] = {}
    for e in entries:
        get: Callable[..., Any] = e.values.get  # Entry.get, without a call of its own for each field
        run_id = get("id")
        created, finished = get("created_at"), get("finished_at")
        if created is not None and finished is not None and finished < created:
            reporter.report(
                "RG210",
                f"run {run_id!r} finishes ({format_utc(finished)}) before it starts ({format_utc(created)})",
                e.where("finished_at"),
            )
        run = Run(
            id=run_id,
            name=get("name", run_id),
            project=get("project", ""),
            group=get("group", ""),
            notes=get("notes", ""),
            job_type=get("job_type", ""),
            state=get("state", ""),
            user=get("user", ""),
            created_at=created,
            finished_at=finished,
            tags=tuple(get("tags", ())),
            config=frozen_mapping(get("config")),
            summary=frozen_mapping(get("summary")),
            inputs=_refs(e, "inputs", artifacts, broken, reporter),
            outputs=_refs(e, "outputs", artifacts, broken, reporter),
            url=get("url"),
            location=e.loc,
        )
        if _first_seen("run", run_id, e, seen, "RG202", reporter):
            runs[run_id] = run
    return runs


def _check_logged_by(
    entries: Sequence[Entry],
    artifacts: dict[ArtifactRef, ArtifactVersion],
    runs: dict[str, Run],
    reporter: Reporter,
) -> None:
    for e in entries:
        run_id = e.get("logged_by")
        if run_id is None:
            continue
        ref = ArtifactRef(e.get("name"), e.get("version"))
        run = runs.get(run_id)
        if run is None:
            reporter.report("RG206", f"logged_by: run {run_id!r} is not declared", e.where("logged_by"))
        elif ref not in run.outputs:
            loggers = sorted(r.id for r in runs.values() if ref in r.outputs)
            hint = f"; it is in the outputs of {', '.join(map(repr, loggers))}" if loggers else ""
            reporter.report(
                "RG207",
                f"logged_by: run {run_id!r} does not list {ref} in its outputs{hint}",
                e.where("logged_by"),
            )


def _check_cycles(runs: dict[str, Run], entries: Sequence[Entry], reporter: Reporter) -> None:
    """Report each cycle in the lineage once, with its path, at the input that closes it."""
    where: dict[str, Entry] = {}
    for e in entries:
        where.setdefault(e.get("id"), e)
    consumers: dict[ArtifactRef, list[str]] = {}
    for run_id in sorted(runs):
        for ref in runs[run_id].inputs:
            consumers.setdefault(ref, []).append(run_id)
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in sorted(runs):
        if state.get(start):
            continue
        # Iterative DFS over runs; an edge run -> run goes through one of the first run's outputs.
        path: list[tuple[str, ArtifactRef | None]] = [(start, None)]
        stack = [iter([(o, c) for o in runs[start].outputs for c in consumers.get(o, ())])]
        state[start] = 1
        while stack:
            step = next(stack[-1], None)
            if step is None:
                stack.pop()
                state[path.pop()[0]] = 2
                continue
            via, nxt = step
            if state.get(nxt) == 1:
                _report_cycle(path, via, nxt, where, reporter)
            elif not state.get(nxt):
                state[nxt] = 1
                path.append((nxt, via))
                stack.append(iter([(o, c) for o in runs[nxt].outputs for c in consumers.get(o, ())]))


def _report_cycle(
    path: list[tuple[str, ArtifactRef | None]],
    via: ArtifactRef,
    closing: str,
    where: dict[str, Entry],
    reporter: Reporter,
) -> None:
    ids = [run_id for run_id, _ in path]
    start = ids.index(closing)
    hops = path[start:]
    text = f"run {closing}"
    for run_id, ref in hops[1:]:
        text += f" -> {ref} -> run {run_id}"
    text += f" -> {via} -> run {closing}"
    entry = where[closing]
    inputs = entry.get("inputs", ())
    locs = entry.item_locs.get("inputs", ())
    loc = locs[inputs.index(via)] if via in inputs else entry.loc
    reporter.report("RG209", f"the lineage has a cycle: {text}", loc)


def _actions(entries: Sequence[Entry]) -> tuple[list[Action], list[Mapping[str, Location]]]:
    """Return the actions in replay order (by time, ties in file order), and where each one's fields
    were written.

    The places of an action's fields serve the replay's diagnostics only: the model keeps each action's
    own place (at L, the fields' places were a third of the model's objects).
    """
    actions = []
    for e in entries:
        get: Callable[..., Any] = e.values.get  # Entry.get, without a call of its own for each field
        action = Action(
            at=get("at"),
            user=get("user"),
            kind=ActionKind(get("action")),
            collection=get("collection"),
            artifact=get("artifact"),
            version=get("version"),
            alias=get("alias"),
            reason=get("reason", ""),
            location=e.loc,
            field_locations=_NO_FIELDS,  # one empty mapping for all: see above
        )
        actions.append((action.at, e.order, action, e.locs))
    actions.sort(key=lambda t: (t[0], t[1]))
    return [a for _, _, a, _ in actions], [places for _, _, _, places in actions]


__all__ = ["Location", "Validation", "build_organisation", "check_where_parsed", "validate"]
