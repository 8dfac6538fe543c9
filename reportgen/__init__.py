"""reportgen: static, reproducible lineage and registry-audit reports for ML runs and artifacts."""

from __future__ import annotations

__version__ = "0.1.0"
FORMAT_VERSION = 1
