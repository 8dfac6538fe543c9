"""Where each page of the site lives: stable, safe, collision-free relative paths.

A name that is already a safe lowercase file name is used as it is. Any other name is folded to a safe
form and suffixed with a short hash of the original, so names that differ only in case, Unicode
normalisation or unsafe characters never share a file, also on case-insensitive file systems.
The hash depends on the name alone, so a page keeps its address from build to build.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
import unicodedata
from functools import cache

from reportgen.lineage import NodeKey
from reportgen.model import ArtifactRef

MAX_SLUG = 60
_UNSAFE = re.compile(r"[^a-z0-9._-]+")
_SAFE = re.compile(r"[a-z0-9][a-z0-9._-]*")
_HASHED = re.compile(r"-[0-9a-f]{10}$")
# Names Windows reserves whatever the extension; a site must unpack anywhere.
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}


# The folder each kind of unit of pages (``site.Unit``) writes its files in: the index, the audit log's
# first page and the organisation's other files are outside all of them.
UNIT_FOLDERS = {
    "artifact": "artifacts/",
    "run": "runs/",
    "collection": "collections/",
    "versions": "collections/",  # a block of a long collection's version pages
    "audit-month": "audit/",
}


@cache
def slug(name: str) -> str:
    """Return a file-name-safe, stable slug for ``name``.

    Kept, without bound: every page links hundreds of names, and an organisation has one slug per
    name (a bounded cache thrashed at XL: 75,000 artifact versions and runs).
    """
    if _is_plain(name):
        return name
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").lower()
    base = _UNSAFE.sub("-", folded).strip("-._")[:MAX_SLUG].strip("-._") or "x"
    if base.split(".")[0] in _RESERVED:
        base = f"x-{base}"
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{base}-{digest}"


def _is_plain(name: str) -> bool:
    """Return whether ``name`` can be its own slug: safe, short, not a device name, not hash-shaped."""
    return (
        _SAFE.fullmatch(name) is not None
        and len(name) <= MAX_SLUG
        and name.split(".")[0] not in _RESERVED
        and not name.endswith(".")
        and _HASHED.search(name) is None  # it could be the slug of another name
    )


def artifact_page(ref: ArtifactRef) -> str:
    """Return the site path of an artifact version's page."""
    return f"artifacts/{slug(ref.name)}/v{ref.version}.html"


def run_page(run_id: str) -> str:
    """Return the site path of a run's page."""
    return f"runs/{slug(run_id)}.html"


def node_page(key: NodeKey) -> str:
    """Return the site path of a lineage node's page: its artifact version's or its run's."""
    return artifact_page(key.artifact) if key.artifact is not None else run_page(str(key.run))


def collection_page(registry: str, name: str) -> str:
    """Return the site path of a collection's page."""
    return f"collections/{slug(registry)}/{slug(name)}.html"


def collection_version_page(registry: str, name: str, version: int) -> str:
    """Return the site path of one collection version's page."""
    return f"collections/{slug(registry)}/{slug(name)}/v{version}.html"


def audit_month_page(month: str) -> str:
    """Return the site path of one month's page of the audit log (``month`` is "YYYY-MM")."""
    return f"audit/{month}.html"


def relative(from_page: str, to_path: str) -> str:
    """Return the link from the page at ``from_page`` to ``to_path`` (both site-relative)."""
    start = posixpath.dirname(from_page) or "."
    return posixpath.relpath(to_path, start)
