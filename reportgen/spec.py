"""The manifest format, version 1, as data: every entity's fields, their kinds and their docs.

One table drives the structural checks (validate.py), the JSON Schema (schema.py) and the field reference
in docs/manifest-format.md, so the three cannot drift apart.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache


class Kind(enum.Enum):
    """What a field holds; each kind has one parser and one JSON Schema."""

    TEXT = "text"  # any string, Markdown allowed
    NAME = "name"  # a non-empty single-line string
    SEGMENT = "segment"  # a NAME without '/' (registry and collection names)
    ALIAS = "alias"
    TEXT_LIST = "text list"
    ALIAS_LIST = "alias list"
    COUNT = "count"  # int >= 0
    POSITIVE = "positive"  # int > 0
    MAPPING = "mapping"
    TIMESTAMP = "timestamp"
    URL = "url"
    REF = "ref"
    REF_LIST = "ref list"
    VERSION = "version"
    ENUM = "enum"
    COLLECTION_PATH = "collection path"


@dataclass(frozen=True, slots=True)
class Field:
    """One field of a manifest entity."""

    name: str
    kind: Kind
    doc: str
    required: bool = False
    choices: tuple[str, ...] = ()
    default: str | None = None


RUN_STATES = ("pending", "running", "finished", "failed", "crashed", "killed")
ARTIFACT_STATES = ("committed", "deleted")
ACTION_KINDS = ("link", "unlink", "add_alias", "remove_alias")

ENTITIES: dict[str, tuple[Field, ...]] = {
    "registries": (
        Field("name", Kind.SEGMENT, "Registry name, e.g. `model`, `dataset`.", required=True),
        Field("description", Kind.TEXT, "Markdown description."),
        Field(
            "protected_aliases",
            Kind.ALIAS_LIST,
            "Aliases shown with a lock everywhere, e.g. `[production, staging]`.",
        ),
    ),
    "collections": (
        Field("registry", Kind.SEGMENT, "The registry holding the collection.", required=True),
        Field(
            "name",
            Kind.SEGMENT,
            "Unique within its registry; full name `registry/name`.",
            required=True,
        ),
        Field("type", Kind.NAME, "The one artifact type this collection accepts.", required=True),
        Field("description", Kind.TEXT, "Markdown collection card (raw HTML is not rendered)."),
        Field("tags", Kind.TEXT_LIST, "Free-form tags."),
        Field("created_at", Kind.TIMESTAMP, "When the collection was created."),
    ),
    "artifacts": (
        Field("name", Kind.NAME, "Artifact name, e.g. `split_zoo_dataset`.", required=True),
        Field("version", Kind.VERSION, "`vN` or the integer N; `name:vN` is unique.", required=True),
        Field("type", Kind.NAME, "Artifact type, e.g. `dataset`, `model`.", required=True),
        Field("project", Kind.TEXT, "Project it was logged in (display only)."),
        Field("digest", Kind.NAME, "Content checksum, e.g. `sha256:…`."),
        Field("size", Kind.COUNT, "Size in bytes."),
        Field("file_count", Kind.COUNT, "Number of files."),
        Field("aliases", Kind.ALIAS_LIST, "Project-level aliases such as `best`."),
        Field("tags", Kind.TEXT_LIST, "Free-form tags."),
        Field("description", Kind.TEXT, "Markdown description."),
        Field("metadata", Kind.MAPPING, "Free-form key/value metadata, shown as a table."),
        Field("created_at", Kind.TIMESTAMP, "When the version was created."),
        Field(
            "state",
            Kind.ENUM,
            "Whether the version still exists.",
            choices=ARTIFACT_STATES,
            default="committed",
        ),
        Field("ttl_days", Kind.POSITIVE, "Time to live in days; the expiry is shown."),
        Field(
            "logged_by",
            Kind.NAME,
            "Id of the run that created it; that run must list it in its `outputs`.",
        ),
        Field("url", Kind.URL, "Link to the source system (http or https only)."),
    ),
    "runs": (
        Field("id", Kind.NAME, "Unique run id.", required=True),
        Field("name", Kind.NAME, "Display name; defaults to the id."),
        Field("project", Kind.TEXT, "Project (display only)."),
        Field("group", Kind.TEXT, "Run group."),
        Field("notes", Kind.TEXT, "Free-text notes."),
        Field("job_type", Kind.NAME, "Job type, e.g. `train`, `eval`."),
        Field("state", Kind.ENUM, "Run state.", choices=RUN_STATES),
        Field("user", Kind.NAME, "Who ran it."),
        Field("created_at", Kind.TIMESTAMP, "Start time."),
        Field("finished_at", Kind.TIMESTAMP, "End time; the duration is derived."),
        Field("tags", Kind.TEXT_LIST, "Free-form tags."),
        Field("config", Kind.MAPPING, "Hyperparameters, shown as a table."),
        Field("summary", Kind.MAPPING, "Final metrics, shown as a table."),
        Field("inputs", Kind.REF_LIST, "Artifact versions the run used (`name:vN`)."),
        Field("outputs", Kind.REF_LIST, "Artifact versions the run logged (`name:vN`)."),
        Field("url", Kind.URL, "Link to the source system (http or https only)."),
    ),
    "actions": (
        Field("at", Kind.TIMESTAMP, "When the action happened.", required=True),
        Field("user", Kind.NAME, "Who did it.", required=True),
        Field("action", Kind.ENUM, "What was done.", required=True, choices=ACTION_KINDS),
        Field("collection", Kind.COLLECTION_PATH, "Target collection, `registry/name`.", required=True),
        Field("artifact", Kind.REF, "Source artifact version (`name:vN`); required for `link`."),
        Field("version", Kind.VERSION, "Collection version `vK`; assigned on `link` when omitted."),
        Field("alias", Kind.ALIAS, "The alias, for `add_alias` and `remove_alias`."),
        Field("reason", Kind.TEXT, "Why it was done (kept for audits)."),
    ),
}

TOP_LEVEL_KEYS = tuple(ENTITIES)
LATEST = "latest"

# Patterns shared by the validator and the JSON Schema (schema.py), in the regex syntax that Python and
# ECMA-262 (the schema's dialect) read alike, so editors and `reportgen validate` agree.
CONTROL_CHARS = "\\x00-\\x1f\\x7f\\x85\\u2028\\u2029\\ufffe\\uffff"
VERSION_PATTERN = "v(0|[1-9][0-9]{0,8})"
NAME_PATTERN = f"(?=[^{CONTROL_CHARS}]*[^\\s{CONTROL_CHARS}])[^{CONTROL_CHARS}]{{1,512}}"
SEGMENT_PATTERN = f"(?=[^/{CONTROL_CHARS}]*[^/\\s{CONTROL_CHARS}])[^/{CONTROL_CHARS}]{{1,512}}"
REF_PATTERN = f"(?=[^{CONTROL_CHARS}]*[^\\s{CONTROL_CHARS}])[^{CONTROL_CHARS}]{{1,512}}:{VERSION_PATTERN}"
ALIAS_PATTERN = "(?!v[0-9]+$)[A-Za-z0-9][A-Za-z0-9._-]{0,127}"
_DATE_TIME = "\\d{4}-\\d{2}-\\d{2}[T ]\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?"
_ZONE = "(Z|[+-]\\d{2}:?\\d{2})"
TIMESTAMP_PATTERN = _DATE_TIME + _ZONE
URL_PATTERN = f"[Hh][Tt][Tt][Pp][Ss]?://[^\\s/?#{CONTROL_CHARS}]+[^\\s{CONTROL_CHARS}]*"

_VERSION_RE = re.compile(VERSION_PATTERN)
_CONTROL_RE = re.compile(f"[{CONTROL_CHARS}]")
_TIMESTAMP_RE = re.compile(TIMESTAMP_PATTERN)
_NO_ZONE_RE = re.compile(_DATE_TIME)
_URL_RE = re.compile(URL_PATTERN)


class FormatError(ValueError):
    """A value that does not fit its field; the message is user-facing."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def parse_version(value: object) -> int:
    """Return N for `vN` or the integer N."""
    if isinstance(value, bool):
        raise FormatError("RG109", f"version must be vN, not {value!r}")
    if isinstance(value, int):
        if 0 <= value < 10**9:
            return value
        raise FormatError("RG109", f"version must be vN with 0 <= N < 10^9, not {value}")
    if isinstance(value, str) and _VERSION_RE.fullmatch(value):
        return int(value[1:])
    if isinstance(value, str) and re.fullmatch(r"v[1-9][0-9]{9,}", value):
        raise FormatError("RG109", f"version must be vN with 0 <= N < 10^9, not {value!r}")
    raise FormatError("RG109", f"version must be vN (e.g. v3), not {value!r}")


def parse_ref(value: str) -> tuple[str, int]:
    """Split `name:vN` into its name and version number."""
    name, sep, version = value.rpartition(":")
    if not sep or not name or not _VERSION_RE.fullmatch(version):
        raise FormatError("RG107", f"ref must be name:vN (e.g. split_zoo_dataset:v4), not {value!r}")
    check_name(name)
    return name, int(version[1:])


def parse_collection_path(value: str) -> tuple[str, str]:
    """Split `registry/name` into its two parts."""
    registry, sep, name = value.partition("/")
    if not sep or not registry or not name or "/" in name:
        raise FormatError(
            "RG111", f"collection must be registry/name (e.g. model/zoo-classifier), not {value!r}"
        )
    check_name(registry)
    check_name(name)
    return registry, name


def parse_timestamp(value: str) -> datetime:
    """Return an aware UTC datetime from ISO 8601 text that carries a timezone."""
    if not _TIMESTAMP_RE.fullmatch(value):  # a text that matches cannot be one without a timezone
        if _NO_ZONE_RE.fullmatch(value):
            raise FormatError(
                "RG106", f"timestamp {value!r} has no timezone; add Z for UTC or an offset like +02:00"
            )
        raise FormatError("RG105", f"timestamp must be ISO 8601 (e.g. 2026-03-02T10:00:00Z), not {value!r}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise FormatError("RG105", f"timestamp {value!r} is not a valid date and time ({exc})") from None
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise FormatError("RG105", f"timestamp {value!r} is out of range") from None


def check_name(value: str) -> str:
    """Return ``value`` if it is usable as a name: non-empty, one line, no control characters."""
    if not value.strip():
        raise FormatError("RG112", "name must not be empty")
    if _CONTROL_RE.search(value):
        raise FormatError("RG112", f"name {value!r} holds control characters")
    if len(value) > 512:
        raise FormatError("RG112", f"name is {len(value)} characters long; the limit is 512")
    return value


def check_segment(value: str) -> str:
    """Return ``value`` if it is a name that may appear in a `registry/name` path."""
    check_name(value)
    if "/" in value:
        raise FormatError("RG112", f"name {value!r} must not contain '/'")
    return value


def check_alias(value: str) -> str:
    """Return ``value`` if it is a valid alias: letters, digits, '.', '_', '-', not like a version."""
    if not re.fullmatch("[A-Za-z0-9][A-Za-z0-9._-]{0,127}", value):
        raise FormatError(
            "RG112",
            f"alias {value!r} must start with a letter or digit and hold only letters, digits, "
            "'.', '_' and '-' (at most 128)",
        )
    if re.fullmatch("v[0-9]+", value):
        raise FormatError("RG112", f"alias {value!r} looks like a version; versions are not aliases")
    return value


def check_url(value: str) -> str:
    """Return ``value`` if it is an absolute http(s) URL."""
    if not _URL_RE.fullmatch(value):
        raise FormatError("RG108", f"url must be an http:// or https:// address, not {value!r}")
    return value


def version_label(number: int) -> str:
    """Return the `vN` spelling of a version number."""
    return f"v{number}"


@lru_cache(maxsize=1 << 14)
def format_utc(value: datetime) -> str:
    """Return ``value`` as ISO 8601 in UTC with a Z, to the second.

    Kept for the last 16,384 moments: an event's time is written on its collection's page, its month's
    page of the audit log, and in three downloads, one after the other (a tenth of the time a call;
    at M, two calls in three). Two equal moments, in any zones, are written alike.
    """
    v = value.astimezone(UTC)
    # Not strftime: glibc prints year 1 as "1", and ISO 8601 wants four digits.
    return f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:{v.second:02d}Z"
