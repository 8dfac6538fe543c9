"""The checked entries of manifest files, kept beside the site so a rebuild parses only what changed.

Parsing YAML and checking its entries is most of a rebuild's load stage, and most files of a large
organisation do not change between two builds. Each file read and checked without a problem is kept
here, under its name as diagnostics show it and the SHA-256 of its bytes, as its entries in compressed
compact JSON (``fields.encode_entries``: each field as written, with its place). Restoring a file runs
each field through the parser that checked it, without the rest of the document, and makes the places
of its fields only when a diagnostic asks for one: at L, 0.45 s of CPU for the whole set against 1.8 s
to decode and check kept documents, and the build process does it while the workers parse the files
that changed.

The entries are salted with reportgen's own source (see ``source_digest``): a reportgen that reads
YAML or checks fields differently never restores what another one kept. A file that had a problem is
never kept, so its diagnostics are always those of a fresh parse. Each entry carries the checksum of
its text: a damaged one is parsed again, and anything that is not what ``encode_entries`` wrote is a
miss, never an error. The cache is as trusted as the site beside it (see docs/security.md).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import sqlite3
from pathlib import Path

from reportgen import source_digest
from reportgen.incremental import replace_table

log = logging.getLogger(__name__)

FORMAT = "4"


class ParseCache:
    """Checked manifest files by name and content, in one SQLite file in the cache folder.

    ``get`` serves what the last build kept; ``put`` notes this build's files; ``save`` (after the site
    is written) replaces the kept entries with the files this build read, so the cache follows the set.
    """

    FILE = "documents.sqlite"

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self._salt = f"{source_digest()}/{FORMAT}\0".encode()
        self._kept: dict[str, tuple[str, str, bytes]] | None = None  # name -> (key, checksum, body)
        self._now: dict[str, tuple[str, str, bytes]] = {}  # what this build read, to keep for the next

    def key(self, data: bytes) -> str:
        """Return the key of a file's bytes."""
        return hashlib.sha256(self._salt + data).hexdigest()

    def get(self, name: str, key: str) -> bytes | None:
        """Return the entries kept for the file ``name`` with this key (``encode_entries``), or None.

        Loading restores them (``decode_entries``), and parses the file again if they cannot be read.
        """
        kept = self._load().get(name)
        if kept is None or kept[0] != key:
            return None
        _, checksum, body = kept
        if _checksum(body) != checksum:
            log.debug("parse cache entry for %s is damaged; parsing it again", name)
            return None
        self._now[name] = kept
        return body

    def put(self, name: str, key: str, body: bytes) -> None:
        """Note a file checked without a problem (its entries as ``encode_entries`` wrote them)."""
        if self.folder is not None:
            self._now[name] = (key, _checksum(body), body)

    def save(self) -> None:
        """Keep this build's files, and only them; start the file again if it is damaged."""
        if self.folder is None:
            return
        rows = [(name, *entry) for name, entry in sorted(self._now.items())]
        replace_table(
            self.folder / self.FILE, "files (name TEXT PRIMARY KEY, key TEXT, sha TEXT, body BLOB)", rows
        )

    def forget(self) -> None:
        """Drop the kept files, if any."""
        if self.folder is not None:
            with contextlib.suppress(OSError):
                (self.folder / self.FILE).unlink()

    def _load(self) -> dict[str, tuple[str, str, bytes]]:
        if self._kept is None:
            self._kept = {}
            if self.folder is not None and (self.folder / self.FILE).is_file():
                try:
                    with contextlib.closing(sqlite3.connect(self.folder / self.FILE, timeout=30)) as db:
                        rows = db.execute("SELECT name, key, sha, body FROM files").fetchall()
                except sqlite3.Error as exc:
                    log.debug("parse cache unusable: %s", exc)
                    rows = []
                self._kept = {
                    name: (key, sha, body)
                    for name, key, sha, body in rows
                    if isinstance(name, str) and isinstance(key, str) and isinstance(body, bytes)
                }
        return self._kept


def _checksum(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()
