"""Action History views: events as page entries grouped by day, and as CSV and JSON downloads."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import cache, lru_cache

from reportgen.model import ArtifactRef, AuditEvent, EventKind, Organisation
from reportgen.paths import artifact_page, collection_page, collection_version_page
from reportgen.spec import format_utc
from reportgen.views import Badge, DayGroup, EventView, Link, Timeline

CSV_FIELDS = (
    "at",
    "collection",
    "action",
    "version",
    "artifact",
    "alias",
    "previous_version",
    "user",
    "reason",
    "automatic",
)
# Spreadsheets run a cell that starts with one of these as a formula (CSV injection): defuse it.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def time_text(at: datetime) -> str:
    """Return a moment as shown on pages: `2026-03-02 10:00 UTC`."""
    return _time_text(format_utc(at))


def _time_text(utc: str) -> str:
    """Return ``time_text`` of a moment already formatted by ``format_utc``."""
    return f"{utc[:10]} {utc[11:16]} UTC"


def newest_first(events: Iterable[AuditEvent]) -> list[AuditEvent]:
    """Return events newest first; simultaneous ones in reverse replay order."""
    return sorted(events, key=lambda e: (e.at, e.collection, e.seq), reverse=True)


def _summary(event: AuditEvent) -> str:
    where = f"{event.collection}:v{event.version}"
    if event.kind is EventKind.LINKED:
        text = f"{event.artifact} linked as {where}"
    elif event.kind is EventKind.UNLINKED:
        text = f"{where} ({event.artifact}) unlinked"
    elif event.kind is EventKind.ALIAS_MOVED:
        text = f"alias {event.alias} moved from v{event.previous_version} to {where}"
    elif event.kind is EventKind.ALIAS_ADDED:
        text = f"alias {event.alias} added to {where}"
    else:
        text = f"alias {event.alias} removed from {where}"
    return text + (" (automatic)" if event.automatic else f" by {event.user}")


# The links and badges of events recur from event to event (and page to page): make each once. Unbounded:
# one per collection, version or artifact version, so they grow with the organisation (sized for L, they
# thrashed at XL, where 50,000 versions made every lookup a miss that also evicted).
@cache
def _collection_link(full_name: str, registry: str, name: str) -> Link:
    return Link(full_name, collection_page(registry, name))


@cache
def _version_link(registry: str, name: str, number: int) -> Link:
    return Link(f"v{number}", collection_version_page(registry, name, number))


@cache
def artifact_link(ref: ArtifactRef) -> Link:
    """Return the link to an artifact version's page (one per version: events and pages share it)."""
    return Link(str(ref), artifact_page(ref))


@lru_cache(maxsize=1 << 12)
def _alias_badge(alias: str, locked: bool) -> Badge:
    return Badge(alias, "alias", locked=locked)


def event_view(org: Organisation, event: AuditEvent) -> EventView:
    """Return how one event is shown in an Action History."""
    collection = org.collections[event.collection].collection
    registry = org.registries[collection.registry]

    def version_link(number: int) -> Link:
        return _version_link(collection.registry, collection.name, number)

    alias = None
    if event.alias is not None:
        alias = _alias_badge(event.alias, event.alias in registry.protected_aliases)
    at = format_utc(event.at)
    return EventView(
        at=at,
        at_text=_time_text(at),
        day=at[:10],
        kind=event.kind.value,
        kind_label=event.kind.label,
        collection=_collection_link(event.collection, collection.registry, collection.name),
        version=version_link(event.version),
        artifact=artifact_link(event.artifact),
        alias=alias,
        previous_version=(None if event.previous_version is None else version_link(event.previous_version)),
        user=event.user,
        reason=event.reason,
        automatic=event.automatic,
        summary=_summary(event),
    )


def timeline(
    org: Organisation,
    events: Iterable[AuditEvent],
    csv_path: str,
    json_path: str,
    *,
    show_collection: bool = False,
) -> Timeline:
    """Return an Action History of ``events``: newest first, grouped by UTC day."""
    views = [event_view(org, e) for e in newest_first(events)]
    return timeline_of(views, csv_path, json_path, show_collection=show_collection)


def timeline_of(
    views: Sequence[EventView], csv_path: str, json_path: str, *, show_collection: bool = False
) -> Timeline:
    """Return an Action History of event views already in order, newest first."""
    days: dict[str, list[EventView]] = {}
    for view in views:
        days.setdefault(view.day, []).append(view)
    kinds = sorted({v.kind for v in views}, key=lambda k: list(EventKind).index(EventKind(k)))
    return Timeline(
        days=tuple(DayGroup(day, tuple(group)) for day, group in days.items()),
        kinds=tuple((k, EventKind(k).label) for k in kinds),
        users=tuple(sorted({v.user for v in views})),
        csv=csv_path,
        json=json_path,
        count=len(views),
        show_collection=show_collection,
    )


def event_record(event: AuditEvent) -> dict[str, str | int | bool | None]:
    """Return one event as a flat record for the CSV and JSON downloads."""
    return {
        "at": format_utc(event.at),
        "collection": event.collection,
        "action": event.kind.value,
        "version": f"v{event.version}",
        "artifact": str(event.artifact),
        "alias": event.alias,
        "previous_version": None if event.previous_version is None else f"v{event.previous_version}",
        "user": event.user,
        "reason": event.reason,
        "automatic": event.automatic,
    }


def _cell(value: str | int | bool | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


Record = Mapping[str, str | int | bool | None]  # an event as ``event_record`` spells it


def records_csv(records: Iterable[Record]) -> str:
    """Return events' records as CSV rows, with formula-like cells defused for spreadsheets."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows([_cell(r[f]) for f in CSV_FIELDS] for r in records)
    return out.getvalue()


# ``json.dumps`` with any option makes an encoder for each call: one made once writes the same text, a
# fifth faster (9 µs a record against 11; each event of L is written three times).
_record_json = json.JSONEncoder(ensure_ascii=False).encode


def records_json(records: Iterable[Record]) -> str:
    """Return events' records as the lines of a JSON array, one a line (without the brackets)."""
    return ",\n".join(map(_record_json, records))


CSV_HEADER = ",".join(CSV_FIELDS) + "\r\n"  # the field names need no quoting


def events_csv(events: Sequence[AuditEvent]) -> bytes:
    """Return events as CSV (newest first), with formula-like cells defused for spreadsheets."""
    return (CSV_HEADER + records_csv(event_record(e) for e in newest_first(events))).encode("utf-8")


def events_json(events: Sequence[AuditEvent]) -> bytes:
    """Return events as a JSON array (newest first), one event per line.

    One line per record keeps a download diff-friendly, and lets the C encoder write it: an indented
    document goes through the pure-Python encoder, several times slower on an organisation's log.
    """
    lines = records_json(event_record(e) for e in newest_first(events))
    return ("[\n" + lines + "\n]\n" if lines else "[]\n").encode("utf-8")
