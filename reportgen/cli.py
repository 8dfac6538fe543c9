"""The command line. Only this module imports click: commands parse options and call the core."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from reportgen import FORMAT_VERSION, __version__
from reportgen.build import BuildOptions, BuildResult, build
from reportgen.diagnostics import (
    Diagnostic,
    Severity,
    count_summary,
    format_github,
    format_json,
    format_text,
)
from reportgen.draw import DEFAULT_TIMEOUT, drawing
from reportgen.launch import EXIT_INTERRUPTED, by_interrupt
from reportgen.layout import GraphFailure
from reportgen.lineage import (
    DEFAULT_CLUSTER_THRESHOLD,
    DEFAULT_DEPTH,
    DEFAULT_NODE_BUDGET,
    GraphOptions,
)
from reportgen.load import load_paths
from reportgen.render import DEFAULT_RENDERER, RENDERER_NAMES, RenderError, get_renderer, standalone_svg
from reportgen.schema import schema_json
from reportgen.spec import FormatError, check_url
from reportgen.templating import TemplateError, template_problem
from reportgen.validate import Validation, check_where_parsed, validate
from reportgen.workers import collector_paused, cpu_count
from reportgen.write import WriteError

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2
F = TypeVar("F", bound=Callable[..., Any])

_PATHS = click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))


def _GRAPH_OPTIONS(func: F) -> F:
    """Add the options that shape lineage graphs."""
    for option in reversed(
        [
            click.option(
                "--depth",
                type=click.IntRange(min=0),
                default=DEFAULT_DEPTH,
                show_default=True,
                help="Hops upstream and downstream (a hop: artifact to artifact through a run).",
            ),
            click.option("--upstream", type=click.IntRange(min=0), help="Hops upstream (overrides --depth)."),
            click.option(
                "--downstream", type=click.IntRange(min=0), help="Hops downstream (overrides --depth)."
            ),
            click.option("--full", is_flag=True, help="Draw the whole connected lineage."),
            click.option(
                "--cluster-threshold",
                type=click.IntRange(min=2),
                default=DEFAULT_CLUSTER_THRESHOLD,
                show_default=True,
                help="Siblings of one kind that collapse into a cluster.",
            ),
            click.option("--no-clusters", is_flag=True, help="Never collapse siblings."),
            click.option(
                "--node-budget",
                type=click.IntRange(min=1),
                default=DEFAULT_NODE_BUDGET,
                show_default=True,
                help="Most vertices sent to layout; bigger graphs are cut.",
            ),
            click.option(
                "--renderer",
                type=click.Choice(RENDERER_NAMES),
                default=DEFAULT_RENDERER,
                show_default=True,
                help="Graphviz compiled to WebAssembly, or the system's dot.",
            ),
            click.option(
                "--timeout",
                type=click.FloatRange(min=0, min_open=True),
                default=DEFAULT_TIMEOUT,
                show_default=True,
                help="Seconds one graph's layout may take.",
            ),
        ]
    ):
        func = option(func)
    return func


def _quiet_option(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        ctx.ensure_object(dict)["quiet"] = True


_QUIET = click.option(
    "-q",
    "--quiet",
    is_flag=True,
    expose_value=False,
    callback=_quiet_option,
    help="Print only problems (also accepted before the command).",
)


def _print_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """Print reportgen's version and the Graphviz each renderer would use, then exit."""
    if not value or ctx.resilient_parsing:
        return
    click.echo(f"reportgen {__version__} (manifest format {FORMAT_VERSION})")
    for name in RENDERER_NAMES:
        try:
            graphviz = f"Graphviz {get_renderer(name).version()}"
        except RenderError as exc:
            graphviz = f"unavailable ({exc.message})"
        click.echo(f"renderer {name}: {graphviz}")
    ctx.exit()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the version, and the Graphviz version of each renderer, and exit.",
)
@click.option("-v", "--verbose", count=True, help="Say more (repeat for debug output).")
@click.option("-q", "--quiet", is_flag=True, help="Print only problems.")
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: bool) -> None:
    """Static, reproducible lineage and registry-audit reports for ML runs and artifacts."""
    level = logging.WARNING - 10 * verbose if not quiet else logging.ERROR
    logging.basicConfig(level=max(level, logging.DEBUG), format="%(levelname)s: %(message)s")
    ctx.ensure_object(dict)["quiet"] = quiet


def load_and_validate(paths: tuple[Path, ...]) -> Validation:
    """Load and validate the manifests under ``paths``."""
    with collector_paused():
        return validate(load_paths(list(paths), jobs=cpu_count(), check=check_where_parsed))


def failed(diagnostics: list[Diagnostic], strict: bool) -> bool:
    """Return whether the diagnostics fail the command (warnings only under --strict)."""
    return any(d.severity is Severity.ERROR or strict for d in diagnostics)


@cli.command("validate")
@_PATHS
@_QUIET
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


@cli.command("graph")
@click.argument("ref")
@_PATHS
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to FILE instead of standard output.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["svg", "dot", "mermaid"]),
    default="svg",
    show_default=True,
    help="SVG (laid out by Graphviz), DOT source, or Mermaid.",
)
@_GRAPH_OPTIONS
@click.pass_context
def graph_command(
    ctx: click.Context,
    ref: str,
    paths: tuple[Path, ...],
    output: Path | None,
    fmt: str,
    depth: int,
    upstream: int | None,
    downstream: int | None,
    full: bool,
    cluster_threshold: int,
    no_clusters: bool,
    node_budget: int,
    renderer: str,
    timeout: float,
) -> None:
    """Draw the lineage of REF: an artifact version `name:vN`, a run id, or `registry/collection:vK`.

    Links point where `reportgen build` puts each node's page.
    """
    result = load_and_validate(paths)
    if not result.ok:
        click.echo(format_text(result.diagnostics), err=True, nl=False)
        click.echo("error: the manifests have errors; fix them first", err=True)
        ctx.exit(EXIT_PROBLEMS)
    options = _graph_options(depth, upstream, downstream, full, cluster_threshold, no_clusters, node_budget)
    try:
        graph, text = drawing(result.organisation, ref, options, fmt=fmt, renderer=renderer, timeout=timeout)
    except KeyError:
        raise click.BadParameter(
            f"{ref!r} names no artifact version, run or collection version in the manifests", param_hint="REF"
        ) from None
    except RenderError as exc:
        click.echo(f"error: {exc}", err=True)
        ctx.exit(EXIT_PROBLEMS)
    if fmt == "svg":
        text = standalone_svg(text)
    for note in graph.notes:
        click.echo(f"note: {note}", err=True)
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        click.echo(f"error: cannot write {output}: {exc.strerror or exc}", err=True)
        ctx.exit(EXIT_PROBLEMS)


def _graph_options(
    depth: int,
    upstream: int | None,
    downstream: int | None,
    full: bool,
    cluster_threshold: int,
    no_clusters: bool,
    node_budget: int,
) -> GraphOptions:
    return GraphOptions(
        upstream=depth if upstream is None else upstream,
        downstream=depth if downstream is None else downstream,
        full=full,
        cluster_threshold=None if no_clusters else cluster_threshold,
        node_budget=node_budget,
    )


def _http_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str:
    if not value:
        return ""
    try:
        return check_url(value)
    except FormatError as exc:
        raise click.BadParameter(str(exc)) from None


@cli.command("build")
@_PATHS
@_QUIET
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write the site to (replaced whole; never a folder reportgen did not make).",
)
@click.option("--title", default="Lineage and registry audit", show_default=True, help="Site title.")
@click.option(
    "--base-url",
    callback=_http_url,
    help="Public http(s) address of the site, for canonical links and sitemap.xml.",
)
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
@click.option("--keep-going", is_flag=True, help="Record a graph that cannot be drawn on its page and go on.")
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=0),
    default=0,
    help="Processes parsing manifests, laying out graphs and rendering pages (default 0: every core).",
)
@click.option(
    "--no-cache",
    is_flag=True,
    help="Lay out every graph again instead of reusing those kept beside the site by the last build.",
)
@click.option(
    "--templates",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder of templates that override the built-in ones by name.",
)
@click.option(
    "--profile",
    is_flag=True,
    help="Print the time each stage of the build took (load, validate, graphs, pages, commit).",
)
@_GRAPH_OPTIONS
@click.pass_context
def build_command(
    ctx: click.Context,
    paths: tuple[Path, ...],
    output: Path,
    title: str,
    base_url: str,
    strict: bool,
    keep_going: bool,
    jobs: int,
    no_cache: bool,
    templates: Path | None,
    profile: bool,
    depth: int,
    upstream: int | None,
    downstream: int | None,
    full: bool,
    cluster_threshold: int,
    no_clusters: bool,
    node_budget: int,
    renderer: str,
    timeout: float,
) -> None:
    """Validate the manifests under PATHS and write the static site to OUTPUT."""
    options = BuildOptions(
        output=output,
        title=title,
        base_url=base_url,
        graph=_graph_options(depth, upstream, downstream, full, cluster_threshold, no_clusters, node_budget),
        renderer=renderer,
        timeout=timeout,
        templates=templates,
        strict=strict,
        keep_going=keep_going,
        jobs=jobs,
        cache=not no_cache,
    )
    quiet = ctx.obj["quiet"]
    show_bar = not quiet and sys.stderr.isatty() and not os.environ.get("CI")
    bar = click.progressbar(length=1, label="Drawing graphs and pages", file=sys.stderr) if show_bar else None

    def progress(done: int, total: int) -> None:  # called once per batch of units: ``done`` so far
        if bar is not None:
            bar.length = total
            bar.update(done - bar.pos)

    try:
        result = build(paths, options, progress)
    except (GraphFailure, WriteError, RenderError) as exc:
        click.echo(f"error: {exc}", err=True)
        ctx.exit(EXIT_PROBLEMS)
    except TemplateError as exc:  # one of --templates that does not compile, or fails on a page
        click.echo(f"error: {template_problem(exc)}", err=True)
        ctx.exit(EXIT_PROBLEMS)
    except OSError as exc:  # a read-only or full disk, a folder that vanished: say so, no traceback
        where = f" {exc.filename}" if exc.filename else ""
        click.echo(f"error: cannot write the site{where}: {exc.strerror or exc}", err=True)
        ctx.exit(EXIT_PROBLEMS)
    finally:
        if bar is not None:
            bar.render_finish()
    diagnostics = result.validation.diagnostics
    if diagnostics:
        click.echo(format_text(diagnostics), err=True, nl=False)
    if not result.written:
        click.echo(
            f"error: build stopped: {count_summary(diagnostics, len(result.validation.files))}", err=True
        )
        ctx.exit(EXIT_PROBLEMS)
    for message in result.graph_errors:
        click.echo(f"warning: {message}", err=True)
    if profile:
        click.echo(profile_text(result), err=True, nl=False)
    if not quiet:
        unchanged = f" ({result.reused_pages} unchanged)" if result.reused_pages else ""
        reused = f", {result.cached_graphs} laid out before" if result.cached_graphs else ""
        processes = f"{result.jobs} process{'es' if result.jobs > 1 else ''}"
        click.echo(
            f"Built {result.pages} pages{unchanged} and {result.graphs} graphs{reused} "
            f"({result.files} files) in {result.seconds:.1f}s on {processes} into {output}"
        )


def profile_text(result: BuildResult) -> str:
    """Return the stage breakdown of a build, as ``--profile`` prints it."""
    total = result.seconds or 1.0
    lines = ["stage        wall s  share"]
    lines += [f"{stage:<12} {seconds:6.2f}  {seconds / total:5.0%}" for stage, seconds in result.stages]
    lines.append(f"{'total':<12} {result.seconds:6.2f}")
    processes = f"{result.jobs} process{'es' if result.jobs > 1 else ''}"
    lines.append(f"render stage, summed over {processes}:")
    lines += [f"  {part:<10} {seconds:6.2f}" for part, seconds in result.work]
    return "\n".join(lines) + "\n"


@cli.command("schema")
def schema_command() -> None:
    """Print the JSON Schema (draft 2020-12) of the manifest format."""
    click.echo(schema_json(), nl=False)


def main() -> None:
    """Run the command line: usage errors exit 2, Ctrl-C exits 130 (a build leaves the old site)."""
    try:
        code = cli.main(prog_name="reportgen", standalone_mode=False)
    except (KeyboardInterrupt, click.exceptions.Abort):
        click.echo("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except Exception as exc:  # a Ctrl-C in a module imported on the way (see by_interrupt)
        if not by_interrupt(exc):
            raise
        click.echo("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    sys.exit(code if isinstance(code, int) else EXIT_OK)
