"""reportgen: static, reproducible lineage and registry-audit reports for ML runs and artifacts."""

# Nothing is imported here, not even ``typing``: the command's entry point imports this package before
# it can catch a Ctrl-C (see ``launch``), so importing the package must take next to no time.

__version__ = "0.1.0"
FORMAT_VERSION = 1

_DIGESTS: dict[str, str] = {}  # source_digest's results, by the package's ``__file__``


def source_digest() -> str:
    """Return a digest of reportgen's own source code.

    What the caches beside a site keep is salted with it, not only with the version: a development
    checkout changes code without changing the version, and must never reuse what other code made.
    """
    digest = _DIGESTS.get(__file__)
    if digest is None:
        import hashlib
        from pathlib import Path

        files = hashlib.blake2b(digest_size=20)
        for source in sorted(Path(__file__).parent.glob("*.py")):
            files.update(source.name.encode() + b"\0" + source.read_bytes() + b"\0")
        digest = _DIGESTS[__file__] = files.hexdigest()
    return digest
