"""Problems as values: every check reports a located ``Diagnostic`` instead of raising."""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

_VISIBLE = {c: f"\\x{c:02x}" for c in [*range(0x20), 0x7F]} | {
    0x85: "\\x85",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


class Severity(enum.Enum):
    """How bad a problem is: errors stop a build, warnings do so only under ``--strict``."""

    ERROR = "error"
    WARNING = "warning"


class Location(NamedTuple):
    """A place in a manifest file; line and column count from 1 (0 means the whole file).

    A named tuple, not a frozen dataclass: as immutable and ordered, with the same ``repr``, and made
    in half the time (a manifest set's parser makes one for every key and value: 750,000 at L).
    """

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        # A file name may hold a newline or a control character: never let it split an output line.
        shown = self.file.translate(_VISIBLE)
        if self.line <= 0:
            return shown
        return f"{shown}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class Rule:
    """A validation rule with a stable code, listed in docs/diagnostics.md."""

    code: str
    severity: Severity
    summary: str


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem found in the manifests, at the line that causes it."""

    severity: Severity
    code: str
    message: str
    location: Location

    @property
    def sort_key(self) -> tuple[str, int, int, str, str]:
        """Order by file, line, column, then code and message, so output is stable."""
        loc = self.location
        return (loc.file, loc.line, loc.column, self.code, self.message)

    def __str__(self) -> str:
        return f"{self.location}: {self.severity.value}[{self.code}]: {self.message}"

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready mapping of this diagnostic."""
        return {
            "file": self.location.file,
            "line": self.location.line,
            "column": self.location.column,
            "severity": self.severity.value,
            "code": self.code,
            "message": self.message,
        }


class Reporter:
    """Collect diagnostics from the stages of a run; rules are looked up by code."""

    def __init__(self) -> None:
        self._items: list[Diagnostic] = []

    def report(self, code: str, message: str, location: Location) -> None:
        """Record a problem under the rule ``code`` at ``location``."""
        rule = RULES[code]
        self._items.append(Diagnostic(rule.severity, code, message, location))

    def extend(self, diagnostics: Iterable[Diagnostic]) -> None:
        """Record problems found elsewhere."""
        self._items.extend(diagnostics)

    @property
    def diagnostics(self) -> list[Diagnostic]:
        """Return every problem so far, sorted by file, line and column, each reported once.

        A value shared through YAML aliases or merge keys is checked once per use; the same problem
        at the same place is one problem.
        """
        return sorted(set(self._items), key=lambda d: d.sort_key)

    @property
    def has_errors(self) -> bool:
        """Return whether any error (not warning) was recorded."""
        return any(d.severity is Severity.ERROR for d in self._items)


def _rules(*rows: tuple[str, Severity, str]) -> dict[str, Rule]:
    return {code: Rule(code, severity, summary) for code, severity, summary in rows}


E, W = Severity.ERROR, Severity.WARNING

# The catalogue of rules. Codes are stable: never renumber, only add.
RULES: dict[str, Rule] = _rules(
    # RG0xx: reading files
    ("RG001", E, "a manifest file cannot be read"),
    ("RG002", E, "a manifest file is not valid UTF-8"),
    ("RG003", E, "YAML syntax error"),
    ("RG004", E, "a key appears twice in one mapping"),
    ("RG005", E, "a YAML tag reportgen does not accept (e.g. !!python/object)"),
    ("RG006", E, "a YAML document is too large once its aliases are expanded, or nested too deep"),
    ("RG007", E, "a manifest file holds no document"),
    ("RG008", E, "a manifest document is not a mapping"),
    ("RG009", E, "a mapping key is not a string"),
    ("RG010", E, "no manifest files found under the paths given"),
    # RG1xx: the shape of each entry
    ("RG101", E, "unknown key"),
    ("RG102", E, "a required field is missing"),
    ("RG103", E, "a field has the wrong type"),
    ("RG104", E, "a value is not one of those allowed"),
    ("RG105", E, "a timestamp is not ISO 8601"),
    ("RG106", E, "a timestamp has no timezone"),
    ("RG107", E, "a ref is not of the form name:vN"),
    ("RG108", E, "a URL is not http(s)"),
    ("RG109", E, "a version is not of the form vN"),
    ("RG110", E, "a number is out of range"),
    ("RG111", E, "a collection path is not of the form registry/name"),
    ("RG112", E, "a name or alias is empty or holds characters it may not"),
    # RG2xx: references across entries and files
    ("RG201", E, "an artifact version is declared twice"),
    ("RG202", E, "a run id is declared twice"),
    ("RG203", E, "a collection is declared twice"),
    ("RG204", E, "a registry is declared twice, differently"),
    ("RG205", E, "a ref names an artifact version that is not declared"),
    ("RG206", E, "logged_by names a run that is not declared"),
    ("RG207", E, "logged_by names a run that does not list the version in its outputs"),
    ("RG208", E, "an action names a collection that is not declared"),
    ("RG209", E, "the lineage has a cycle"),
    ("RG210", E, "a run finishes before it starts"),
    ("RG211", W, "a ref is listed twice in one run's inputs or outputs"),
    # RG3xx: replaying the action log
    ("RG301", E, "a link's artifact type differs from the collection's type"),
    ("RG302", E, "a link of an artifact version already linked to the collection"),
    ("RG303", E, "a link without an artifact"),
    ("RG304", E, "a link gives a version that is not the next one"),
    ("RG305", E, "an unlink of a version that is not linked"),
    ("RG306", E, "an alias action on a version that is not linked"),
    ("RG307", E, "a remove_alias of an alias the version does not hold"),
    ("RG308", E, "an add_alias of an alias the version already holds"),
    ("RG309", E, "the `latest` alias set or removed by hand"),
    ("RG310", E, "an alias action without an alias, or an alias on a link or unlink"),
    ("RG311", E, "an action that names neither an artifact nor a version"),
    ("RG312", E, "an action whose artifact and version name different versions"),
    ("RG313", W, "a protected alias changed without a reason"),
    ("RG314", W, "a deleted artifact version is linked"),
    ("RG315", W, "an action dated before the artifact version was created"),
)


def plural(count: int, word: str) -> str:
    """Return e.g. "1 file" or "3 files"."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def count_summary(diagnostics: Sequence[Diagnostic], files: int) -> str:
    """Return the one-line summary printed after the diagnostics."""
    errors = sum(d.severity is Severity.ERROR for d in diagnostics)
    warnings = len(diagnostics) - errors
    if not diagnostics:
        return f"{plural(files, 'file')} checked: no problems"
    return f"{plural(files, 'file')} checked: {plural(errors, 'error')}, {plural(warnings, 'warning')}"


def format_text(diagnostics: Sequence[Diagnostic]) -> str:
    """Return diagnostics as compiler-style lines, one per problem."""
    return "".join(f"{d}\n" for d in diagnostics)


def format_json(diagnostics: Sequence[Diagnostic], files: int) -> str:
    """Return diagnostics as a JSON document with a summary."""
    errors = sum(d.severity is Severity.ERROR for d in diagnostics)
    doc = {
        "files": files,
        "errors": errors,
        "warnings": len(diagnostics) - errors,
        "diagnostics": [d.to_dict() for d in diagnostics],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _escape_github(text: str, *, property_value: bool) -> str:
    # GitHub's workflow-command escaping (actions/toolkit command.ts).
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def format_github(diagnostics: Sequence[Diagnostic]) -> str:
    """Return diagnostics as GitHub Actions workflow annotations."""
    lines = []
    for d in diagnostics:
        loc = d.location
        props = [f"file={_escape_github(loc.file, property_value=True)}"]
        if loc.line > 0:
            props += [f"line={loc.line}", f"col={loc.column}"]
        props.append(f"title={_escape_github(d.code, property_value=True)}")
        kind = "error" if d.severity is Severity.ERROR else "warning"
        lines.append(f"::{kind} {','.join(props)}::{_escape_github(d.message, property_value=False)}\n")
    return "".join(lines)
