"""reportgen: static, reproducible lineage and registry-audit reports for ML runs and artifacts."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

__version__ = "0.1.0"
FORMAT_VERSION = 1


def source_digest() -> str:
    """Return a digest of reportgen's own source code.

    What the caches beside a site keep is salted with it, not only with the version: a development
    checkout changes code without changing the version, and must never reuse what other code made.
    """
    from pathlib import Path  # here, not above: the command's entry point imports this package first

    return _source_digest(Path(__file__).parent)


@functools.cache
def _source_digest(folder: Path) -> str:
    import hashlib

    files = hashlib.blake2b(digest_size=20)
    for source in sorted(folder.glob("*.py")):
        files.update(source.name.encode() + b"\0" + source.read_bytes() + b"\0")
    return files.hexdigest()
