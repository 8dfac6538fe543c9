"""The organisation's files made of one piece per unit of pages: `report.json`, and a long audit log's
downloads (`audit.json`, `audit.csv`, when the log has a page a month).

These files hold the whole organisation, so a rebuild that renders a few pages had to make them whole
again: at L, 0.9 s of CPU for a one-action change, most of the work left in such a rebuild. Instead,
each unit's piece (an artifact version's, a run's or a collection's record in `report.json`; a month's
lines of `audit.json` and rows of `audit.csv`) is made with the unit's pages, by the worker that renders
them, and the build process puts the files together from the pieces, in the site's order of units. It
notes where each unit's pieces sit in each file (offset and length); a unit the next build takes from
this one gives its pieces from there, sliced out of the old site's file when that file is still as this
build wrote it (same inode, size and time, as for the pages the build reuses). A piece that cannot be
had that way is made again by the build process.

The result is byte-identical to making the file whole, in the same format as before: one record (or one
event) a line, keys sorted, written by the C encoder.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from reportgen import FORMAT_VERSION
from reportgen.model import ArtifactVersion, CollectionHistory, Organisation, Registry, Run
from reportgen.site import Planner, Unit
from reportgen.spec import format_utc
from reportgen.timeline import CSV_HEADER, event_record, newest_first, records_csv, records_json
from reportgen.views import Site

REPORT = "report.json"
AUDIT_JSON = "audit.json"
AUDIT_CSV = "audit.csv"

_dumps = json.JSONEncoder(sort_keys=True, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode


def compact_json(value: Any) -> str:
    """Return ``value`` as compact JSON with sorted keys; what JSON cannot hold (NaN, infinities, a
    value of another type) is spelled out as text.

    Plain data, the usual case, goes through the C encoder alone: an indented document goes through
    the pure-Python encoder, several times slower on an organisation's report.
    """
    try:
        return _dumps(value)
    except (TypeError, ValueError):
        return _dumps(_jsonable(value))


def _jsonable(value: Any) -> Any:
    """Return ``value`` with what JSON cannot hold (NaN, infinities, odd keys) turned into text."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


@dataclass(frozen=True, slots=True)
class Section:
    """Where the pieces of one kind of unit go in a file, in the site's order of units."""

    kind: str  # the units whose pieces fill it (see ``site.Unit``)
    open: bytes
    separator: bytes
    close: bytes
    empty: bytes  # the section when no unit has a piece


# A file: literal bytes and sections, in order.
Layout = tuple[bytes | Section, ...]


def _list(kind: str) -> Section:  # a JSON list of records, one a line (as the records' lists of report.json)
    return Section(kind, b"[\n", b",\n", b"\n]", b"[]")


def layouts(org: Organisation, site: Site, paged: bool) -> dict[str, Layout]:
    """Return how each assembled file is laid out: `report.json`, and the audit downloads when the audit
    log has a page a month (``paged``; otherwise they are made whole)."""

    def key(n: int, name: str) -> bytes:  # a key of the report, on a line of its own
        return (("\n" if n == 0 else ",\n") + compact_json(name) + ": ").encode("utf-8")

    registries = [compact_json(_registry_record(r)) for r in org.registries.values()]
    report: Layout = (
        b"{" + key(0, "artifacts"),
        _list("artifact"),
        key(1, "collections"),
        _list("collection"),
        key(2, "format_version") + compact_json(FORMAT_VERSION).encode("utf-8"),
        key(3, "generator") + compact_json(site.generator).encode("utf-8"),
        key(4, "registries")
        + (("[\n" + ",\n".join(registries) + "\n]") if registries else "[]").encode("utf-8"),
        key(5, "runs"),
        _list("run"),
        b"\n}\n",
    )
    files = {REPORT: report}
    if paged:
        files[AUDIT_JSON] = (Section("audit-month", b"[\n", b",\n", b"\n]\n", b"[]\n"),)
        files[AUDIT_CSV] = (CSV_HEADER.encode("utf-8"), Section("audit-month", b"", b"", b"", b""))
    return files


def unit_pieces(planner: Planner, unit: Unit) -> dict[str, bytes]:
    """Return a unit's pieces of the assembled files, by file."""
    org = planner.org
    if unit.kind == "artifact":
        assert unit.ref is not None
        return {REPORT: compact_json(_artifact_record(org, org.artifacts[unit.ref])).encode("utf-8")}
    if unit.kind == "run":
        return {REPORT: compact_json(_run_record(org.runs[unit.key])).encode("utf-8")}
    if unit.kind == "collection":
        return {REPORT: compact_json(_collection_record(org.collections[unit.key])).encode("utf-8")}
    if unit.kind == "audit-month":
        records = [event_record(e) for e in newest_first(planner.log_by_month()[unit.key])]
        return {
            AUDIT_JSON: records_json(records).encode("utf-8"),
            AUDIT_CSV: records_csv(records).encode("utf-8"),
        }
    return {}


def assemble(
    layout: Layout, units: Sequence[Unit], piece: Callable[[int], bytes]
) -> tuple[list[bytes], dict[int, tuple[int, int]]]:
    """Return a file's parts in order, with where each unit's piece sits in it (offset, length), by the
    unit's index; ``piece`` gives the piece of a unit by its index."""
    parts: list[bytes] = []
    where: dict[int, tuple[int, int]] = {}
    at = 0
    by_kind: dict[str, list[int]] = {}
    for i, unit in enumerate(units):
        by_kind.setdefault(unit.kind, []).append(i)

    for segment in layout:
        if isinstance(segment, bytes):
            parts.append(segment)
            at += len(segment)
            continue
        members = by_kind.get(segment.kind, [])
        if not members:
            parts.append(segment.empty)
            at += len(segment.empty)
            continue
        parts.append(segment.open)
        at += len(segment.open)
        separator, gap = segment.separator, len(segment.separator)
        for n, i in enumerate(members):
            if n and gap:
                parts.append(separator)
                at += gap
            data = piece(i)
            where[i] = (at, len(data))
            parts.append(data)
            at += len(data)
        parts.append(segment.close)
        at += len(segment.close)
    return parts, where


def _when(value: datetime | None) -> str | None:
    return format_utc(value) if value else None


def _registry_record(r: Registry) -> dict[str, Any]:
    return {
        "name": r.name,
        "description": r.description,
        "protected_aliases": list(r.protected_aliases),
        "declared": r.declared,
    }


def _collection_record(h: CollectionHistory) -> dict[str, Any]:
    return {
        "registry": h.collection.registry,
        "name": h.collection.name,
        "type": h.collection.type,
        "description": h.collection.description,
        "tags": list(h.collection.tags),
        "versions": [
            {
                "version": f"v{v.version}",
                "artifact": str(v.artifact),
                "linked_at": _when(v.linked_at),
                "linked_by": v.linked_by,
                "unlinked_at": _when(v.unlinked_at),
                "unlinked_by": v.unlinked_by,
                "aliases": list(h.current.aliases_of(v.version)),
            }
            for v in h.versions
        ],
        "events": [event_record(e) for e in h.events],
    }


def _artifact_record(org: Organisation, a: ArtifactVersion) -> dict[str, Any]:
    return {
        "name": a.name,
        "version": f"v{a.version}",
        "type": a.type,
        "project": a.project,
        "digest": a.digest,
        "size": a.size,
        "file_count": a.file_count,
        "aliases": list(a.aliases),
        "tags": list(a.tags),
        "description": a.description,
        "metadata": dict(a.metadata),
        "created_at": _when(a.created_at),
        "state": a.state,
        "ttl_days": a.ttl_days,
        "logged_by": a.logged_by,
        "url": a.url,
        "produced_by": [r.id for r in org.runs_logging(a.ref)],
        "used_by": [r.id for r in org.runs_using(a.ref)],
    }


def _run_record(r: Run) -> dict[str, Any]:
    return {
        "id": r.id,
        "name": r.name,
        "project": r.project,
        "group": r.group,
        "notes": r.notes,
        "job_type": r.job_type,
        "state": r.state,
        "user": r.user,
        "created_at": _when(r.created_at),
        "finished_at": _when(r.finished_at),
        "tags": list(r.tags),
        "config": dict(r.config),
        "summary": dict(r.summary),
        "inputs": [str(x) for x in r.inputs],
        "outputs": [str(x) for x in r.outputs],
        "url": r.url,
    }
