"""The command line. Only this module imports click: commands parse options and call the core."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from reportgen import FORMAT_VERSION, __version__
from reportgen.diagnostics import (
    Diagnostic,
    Severity,
    count_summary,
    format_github,
    format_json,
    format_text,
)
from reportgen.load import load_paths
from reportgen.schema import schema_json
from reportgen.validate import Validation, validate

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2

_PATHS = click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))


def _version_text() -> str:
    return f"reportgen {__version__} (manifest format {FORMAT_VERSION})"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(message=_version_text(), version=__version__)
@click.option("-v", "--verbose", count=True, help="Say more (repeat for debug output).")
@click.option("-q", "--quiet", is_flag=True, help="Print only problems.")
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: bool) -> None:
    """Static, reproducible lineage and registry-audit reports for ML runs and artifacts."""
    level = logging.WARNING - 10 * verbose if not quiet else logging.ERROR
    logging.basicConfig(level=max(level, logging.DEBUG), format="%(levelname)s: %(message)s")
    ctx.obj = {"quiet": quiet}


def load_and_validate(paths: tuple[Path, ...]) -> Validation:
    """Load and validate the manifests under ``paths``."""
    return validate(load_paths(list(paths)))


def failed(diagnostics: list[Diagnostic], strict: bool) -> bool:
    """Return whether the diagnostics fail the command (warnings only under --strict)."""
    return any(d.severity is Severity.ERROR or strict for d in diagnostics)


@cli.command("validate")
@_PATHS
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    show_default=True,
    help="How to print the problems.",
)
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
@click.pass_context
def validate_command(ctx: click.Context, paths: tuple[Path, ...], fmt: str, strict: bool) -> None:
    """Check the manifests under PATHS and print every problem, compiler style.

    Exits 0 when clean, 1 when there are errors (or warnings with --strict), 2 on usage errors.
    """
    result = load_and_validate(paths)
    diagnostics = result.diagnostics
    if fmt == "json":
        click.echo(format_json(diagnostics, len(result.files)), nl=False)
    elif fmt == "github":
        click.echo(format_github(diagnostics), nl=False)
        click.echo(count_summary(diagnostics, len(result.files)), err=True)
    else:
        click.echo(format_text(diagnostics), nl=False)
        if not ctx.obj["quiet"] or diagnostics:
            click.echo(count_summary(diagnostics, len(result.files)))
    ctx.exit(EXIT_PROBLEMS if failed(diagnostics, strict) else EXIT_OK)


@cli.command("schema")
def schema_command() -> None:
    """Print the JSON Schema (draft 2020-12) of the manifest format."""
    click.echo(schema_json(), nl=False)


def main() -> None:
    """Run the command line; click maps usage errors to exit 2."""
    try:
        cli.main(prog_name="reportgen")
    except KeyboardInterrupt:  # pragma: no cover - interactive
        click.echo("interrupted", err=True)
        sys.exit(130)
