"""Lineage queries: the neighbourhood of a run or artifact version in the lineage DAG.

The lineage is bipartite: an artifact version points to the runs that used it, a run to the versions it
logged. A *hop* goes from one artifact version to the next through the run between them (or from a run to
the next run through the version between them), so depth N reaches 2N edges away: the default of two hops
shows, for a model, the run that trained it, its dataset, and the runs that made that dataset.

Pure code: no Graphviz, no I/O. Everything is sorted so graphs come out the same every time.
"""

from __future__ import annotations

import enum
import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from operator import attrgetter

from reportgen.model import ArtifactRef, CollectionVersion, Organisation, Run

DEFAULT_DEPTH = 2
DEFAULT_CLUSTER_THRESHOLD = 5
DEFAULT_NODE_BUDGET = 400


class NodeKind(enum.StrEnum):
    """The two kinds of node in a lineage graph."""

    ARTIFACT = "artifact"
    RUN = "run"


@dataclass(frozen=True, slots=True, order=True)
class NodeKey:
    """A node of the lineage: an artifact version (by ref) or a run (by id)."""

    kind: NodeKind
    artifact: ArtifactRef | None = None
    run: str | None = None
    _hash: int = field(init=False, repr=False, compare=False)
    # The fields' order as one flat tuple: what graphs sort their nodes by (``node_order``).
    _order: tuple[str, str, int, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Keys are hashed over and over (sets, dicts, edges): hash the fields once.
        object.__setattr__(self, "_hash", hash((self.kind, self.artifact, self.run)))
        ref = self.artifact
        name, version = (ref.name, ref.version) if ref is not None else ("", -1)
        object.__setattr__(self, "_order", (self.kind.value, name, version, self.run or ""))

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        # Keys are compared over and over too (each vertex with the focus, keys found in dicts): most are
        # of two nodes, which their hashes tell apart at once, or of a shared key with itself. The
        # generated method compared two tuples of the fields, an ArtifactRef's through its own method.
        if self is other:
            return True
        if other.__class__ is not NodeKey:
            return NotImplemented
        return (
            self._hash == other._hash
            and self.kind == other.kind
            and self.run == other.run
            and self.artifact == other.artifact
        )

    def __reduce__(self) -> tuple[type[NodeKey], tuple[NodeKind, ArtifactRef | None, str | None]]:
        """Pickle by the fields: the hash is recomputed (another process may hash strings otherwise)."""
        return NodeKey, (self.kind, self.artifact, self.run)

    @classmethod
    def of_artifact(cls, ref: ArtifactRef) -> NodeKey:
        """Return the key of an artifact version."""
        return cls(NodeKind.ARTIFACT, artifact=ref)

    @classmethod
    def of_run(cls, run_id: str) -> NodeKey:
        """Return the key of a run."""
        return cls(NodeKind.RUN, run=run_id)

    def __str__(self) -> str:
        return str(self.artifact) if self.artifact is not None else f"run {self.run}"


# Sorts keys as their own order does (kind, then an artifact version's name and number, or a run's id),
# without a call of the generated ``__lt__`` (two tuples made, an ArtifactRef's compared in turn) for each
# comparison: a graph's nodes are sorted for every graph drawn.
node_order: Callable[[NodeKey], tuple[str, str, int, str]] = attrgetter("_order")


@dataclass(frozen=True, slots=True, eq=False)
class Cluster:
    """Five or more siblings of one job type or artifact name, drawn as one node."""

    kind: NodeKind
    category: str  # the shared job type or artifact name
    distance: int
    members: tuple[NodeKey, ...]
    _hash: int = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # A cluster is hashed once per edge it has: hash its (maybe thousands of) members once.
        object.__setattr__(self, "_hash", hash((self.kind, self.category, self.distance, self.members)))

    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self) -> tuple[type[Cluster], tuple[NodeKind, str, int, tuple[NodeKey, ...]]]:
        """Pickle by the fields: the hash is recomputed (another process may hash strings otherwise)."""
        return Cluster, (self.kind, self.category, self.distance, self.members)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Cluster):
            return NotImplemented
        return self is other or (
            self._hash == other._hash
            and (self.kind, self.category, self.distance, self.members)
            == (other.kind, other.category, other.distance, other.members)
        )

    @property
    def label(self) -> str:
        """Return e.g. "7 runs · train" or "12 versions of sweep-model"."""
        if self.kind is NodeKind.RUN:
            return f"{len(self.members)} runs · {self.category}"
        return f"{len(self.members)} versions of {self.category}"


Vertex = NodeKey | Cluster


@dataclass(frozen=True, slots=True)
class LineageGraph:
    """A drawable neighbourhood: nodes and clusters with their distance from the focus, and edges.

    ``distance`` is signed: negative upstream, positive downstream, counted in edges.
    ``more_upstream`` and ``more_downstream`` count the neighbours just past the depth drawn.
    """

    focus: NodeKey
    nodes: tuple[NodeKey, ...]
    clusters: tuple[Cluster, ...]
    edges: tuple[tuple[Vertex, Vertex], ...]
    distance: Mapping[NodeKey, int]
    upstream: int | None
    downstream: int | None
    more_upstream: int = 0
    more_downstream: int = 0
    radius: int | None = None  # set when a whole-lineage graph was cut to steps around the focus
    omitted: int = 0
    notes: tuple[str, ...] = ()

    @property
    def vertices(self) -> tuple[Vertex, ...]:
        """Return every drawn vertex: plain nodes first, then clusters."""
        return (*self.nodes, *self.clusters)

    @property
    def size(self) -> int:
        """Return how many vertices will be drawn."""
        return len(self.nodes) + len(self.clusters)


@dataclass(frozen=True, slots=True)
class GraphOptions:
    """How much of the lineage to draw. ``None`` depth means no limit in that direction."""

    upstream: int | None = DEFAULT_DEPTH
    downstream: int | None = DEFAULT_DEPTH
    full: bool = False
    cluster_threshold: int | None = DEFAULT_CLUSTER_THRESHOLD
    node_budget: int = DEFAULT_NODE_BUDGET


@dataclass(frozen=True, slots=True)
class _Adjacency:
    up: Callable[[NodeKey], Sequence[NodeKey]]
    down: Callable[[NodeKey], Sequence[NodeKey]]


class _Steps:
    """One organisation's steps up and down its lineage, each node's found once, with one key per node.

    Every graph of a site walks the same organisation: its steps are kept while the organisation lives
    (an organisation is immutable), and sharing key objects makes the graphs' sets and dicts match keys
    by identity.
    """

    __slots__ = ("artifacts", "downs", "runs", "ups")

    def __init__(self) -> None:
        self.ups: dict[NodeKey, tuple[NodeKey, ...]] = {}
        self.downs: dict[NodeKey, tuple[NodeKey, ...]] = {}
        self.runs: dict[str, NodeKey] = {}
        self.artifacts: dict[ArtifactRef, NodeKey] = {}

    def run(self, run_id: str) -> NodeKey:
        key = self.runs.get(run_id)
        if key is None:
            key = self.runs[run_id] = NodeKey.of_run(run_id)
        return key

    def artifact(self, ref: ArtifactRef) -> NodeKey:
        key = self.artifacts.get(ref)
        if key is None:
            key = self.artifacts[ref] = NodeKey.of_artifact(ref)
        return key


# The steps of each organisation alive, by id: an entry goes when its organisation does.
_STEPS: dict[int, _Steps] = {}


def _steps_of(org: Organisation) -> _Steps:
    steps = _STEPS.get(id(org))
    if steps is None:
        steps = _STEPS[id(org)] = _Steps()
        weakref.finalize(org, _STEPS.pop, id(org), None)
    return steps


def _adjacency(org: Organisation) -> _Adjacency:
    steps = _steps_of(org)

    def step(
        known: dict[NodeKey, tuple[NodeKey, ...]], upstream: bool
    ) -> Callable[[NodeKey], Sequence[NodeKey]]:
        def neighbours(key: NodeKey) -> Sequence[NodeKey]:
            found = known.get(key)
            if found is None:
                if key.artifact is not None:
                    runs = org.runs_logging(key.artifact) if upstream else org.runs_using(key.artifact)
                    found = tuple(steps.run(r.id) for r in runs)
                else:
                    run = org.runs[str(key.run)]
                    found = tuple(
                        steps.artifact(ref) for ref in sorted(run.inputs if upstream else run.outputs)
                    )
                known[key] = found
            return found

        return neighbours

    return _Adjacency(step(steps.ups, True), step(steps.downs, False))


def focus_of(org: Organisation, target: ArtifactRef | Run | CollectionVersion | str) -> NodeKey:
    """Return the lineage node for a ref, run, collection version or run id."""
    if isinstance(target, CollectionVersion):
        return NodeKey.of_artifact(target.artifact)
    if isinstance(target, ArtifactRef):
        return NodeKey.of_artifact(target)
    if isinstance(target, Run):
        return NodeKey.of_run(target.id)
    found = org.resolve(target)
    if found is None:
        raise KeyError(target)
    if isinstance(found, Run):
        return NodeKey.of_run(found.id)
    return focus_of(org, found.artifact if isinstance(found, CollectionVersion) else found.ref)


def _walk(
    start: NodeKey,
    step: Callable[[NodeKey], Sequence[NodeKey]],
    limit: int | None,
    sign: int,
    distance: dict[NodeKey, int],
) -> int:
    """Breadth-first from ``start`` up to ``limit`` edges; return how many nodes lay beyond it."""
    frontier, depth, beyond = [start], 0, 0
    seen = {start}
    while frontier:
        if limit is not None and depth >= limit:
            beyond = len({m for n in frontier for m in step(n) if m not in seen})
            break
        depth += 1
        nxt: list[NodeKey] = []
        for node in frontier:
            for neighbour in step(node):
                if neighbour not in seen:
                    seen.add(neighbour)
                    nxt.append(neighbour)
                    distance.setdefault(neighbour, sign * depth)
        frontier = nxt
    return beyond


def _walk_both(start: NodeKey, adj: _Adjacency, distance: dict[NodeKey, int], radius: int | None) -> None:
    """Breadth-first over the connected lineage, ``radius`` edges out (all of it when None).

    A node's sign says how it was first reached: stepping upstream (to a run's input, or a version's
    logger) makes it negative.
    """
    frontier, depth = [start], 0
    while frontier and (radius is None or depth < radius):
        depth += 1
        nxt: list[NodeKey] = []
        for node in frontier:
            for sign, step in ((-1, adj.up), (1, adj.down)):
                for neighbour in step(node):
                    if neighbour not in distance:
                        distance[neighbour] = sign * depth
                        nxt.append(neighbour)
        frontier = nxt


def neighbourhood(org: Organisation, focus: NodeKey, options: GraphOptions) -> LineageGraph:
    """Return the lineage around ``focus`` within the options' depth, clustered and within budget.

    A graph over the node budget is cut until it fits: first by clustering siblings from two of a
    kind, then hop by hop on its deeper side, last by keeping the vertices closest to the focus.
    The graph's ``notes`` say what was cut and ``omitted`` counts the nodes left out.
    """
    budget = options.node_budget
    up, down, full = options.upstream, options.downstream, options.full
    threshold = options.cluster_threshold
    graph = _neighbourhood(org, focus, up, down, full, threshold)
    everything = len(graph.distance)
    notes: list[str] = []
    if graph.size > budget and threshold is not None and threshold > 2:
        threshold = 2
        graph = _neighbourhood(org, focus, up, down, full, threshold)
        notes.append("siblings are clustered from 2 of a kind to fit the node budget")
    if graph.size > budget and full:
        graph = _fit_radius(org, focus, graph, threshold, budget)
        notes.append(f"the connected lineage is shown {graph.radius} steps around the focus")
    if graph.size > budget:
        graph = _fit_depths(org, focus, graph, up, down, full, threshold, budget)
        up, down = graph.upstream or 0, graph.downstream or 0
    if (up, down) != (options.upstream, options.downstream) and not options.full:
        notes.append(f"depth reduced to {up} hops up and {down} down to fit the node budget")
    if graph.size > budget:
        graph = _truncate(graph, budget)
        notes.append(f"only the {budget} nodes closest to the focus are drawn")
    omitted = everything - len(graph.distance) + graph.omitted
    if omitted:
        notes.append(f"{omitted} nodes are left out")
    return replace(graph, omitted=omitted, notes=tuple(notes))


def _fit_radius(
    org: Organisation, focus: NodeKey, measured: LineageGraph, threshold: int | None, budget: int
) -> LineageGraph:
    """Return the widest whole-lineage neighbourhood (in steps around the focus) that fits ``budget``."""
    low, high = 1, max(abs(d) for d in measured.distance.values()) - 1
    best = _neighbourhood(org, focus, None, None, True, threshold, radius=1)
    while low <= high:
        middle = (low + high) // 2
        candidate = _neighbourhood(org, focus, None, None, True, threshold, radius=middle)
        if candidate.size <= budget:
            best, low = candidate, middle + 1
        else:
            high = middle - 1
    return best


def _hops(edges: int) -> int:
    return (edges + 1) // 2


def _growth(distance: Mapping[NodeKey, int], up_limit: int | None, down_limit: int | None) -> list[int]:
    """Return the order in which hops are added (-1 up, +1 down) and their unclustered node counts.

    Each step takes the side whose next hop holds fewer nodes, so the graph grows balanced.
    Returned as signed node counts: -n for an upstream hop of n nodes, +n for a downstream one.
    """
    per_hop: dict[int, int] = {}  # signed hop -> nodes
    for d in distance.values():
        if d:
            hop = _hops(abs(d)) * (1 if d > 0 else -1)
            per_hop[hop] = per_hop.get(hop, 0) + 1
    limit = 10**9
    reach_up = min(max((-h for h in per_hop if h < 0), default=0), limit if up_limit is None else up_limit)
    reach_down = min(
        max((h for h in per_hop if h > 0), default=0), limit if down_limit is None else down_limit
    )
    up = down = 0
    steps: list[int] = []
    while up < reach_up or down < reach_down:
        next_up = per_hop.get(-(up + 1), 0) if up < reach_up else None
        next_down = per_hop.get(down + 1, 0) if down < reach_down else None
        if next_down is None or (next_up is not None and next_up <= next_down):
            up += 1
            steps.append(-max(next_up or 0, 1))
        else:
            down += 1
            steps.append(max(next_down, 1))
    return steps


def _depths_after(steps: Sequence[int], count: int) -> tuple[int, int]:
    """Return the hops up and down after the first ``count`` growth steps (at least one each way)."""
    up = sum(1 for s in steps[:count] if s < 0)
    down = count - up
    return max(up, 1), max(down, 1)


def _fit_depths(
    org: Organisation,
    focus: NodeKey,
    measured: LineageGraph,
    up_limit: int | None,
    down_limit: int | None,
    full: bool,
    threshold: int | None,
    budget: int,
) -> LineageGraph:
    """Return the deepest neighbourhood that fits ``budget``, found in a few walks, not one per hop.

    Unclustered counts per hop (from one walk) give a depth that surely fits; a binary search over
    deeper growth steps then finds how much more fits once siblings are clustered.
    """
    steps = _growth(measured.distance, up_limit, down_limit)
    total, sure = 1, 0
    for step in steps:
        if total + abs(step) > budget:
            break
        total += abs(step)
        sure += 1
    best = _neighbourhood(org, focus, *_depths_after(steps, sure), full, threshold)
    low, high = sure + 1, len(steps)
    while low <= high:
        middle = (low + high) // 2
        candidate = _neighbourhood(org, focus, *_depths_after(steps, middle), full, threshold)
        if candidate.size <= budget:
            best, low = candidate, middle + 1
        else:
            high = middle - 1
    return best


def _neighbourhood(
    org: Organisation,
    focus: NodeKey,
    upstream: int | None,
    downstream: int | None,
    full: bool,
    threshold: int | None,
    radius: int | None = None,
) -> LineageGraph:
    adj = _adjacency(org)
    distance: dict[NodeKey, int] = {focus: 0}
    if full:
        _walk_both(focus, adj, distance, radius)
        more_up = more_down = 0
    else:
        more_up = _walk(focus, adj.up, None if upstream is None else 2 * upstream, -1, distance)
        more_down = _walk(focus, adj.down, None if downstream is None else 2 * downstream, 1, distance)
    members = set(distance)
    # Every edge a -> b is found from b's side: a run's inputs, or the runs that logged a version. Those
    # lists are short, where a dataset's consumers may be thousands (a fan-out) and would make every
    # graph of the fan-out cost as much as the whole fan-out. (Unordered: what is drawn is sorted below.)
    edges = {(a, b) for b in members for a in adj.up(b) if a in members}
    clusters, rep = _cluster(focus, distance, edges, org, threshold)
    plain = tuple(sorted((n for n in members if n not in rep), key=node_order))
    drawn: set[tuple[Vertex, Vertex]] = set()
    for a, b in edges:
        ra, rb = rep.get(a, a), rep.get(b, b)
        if ra != rb:
            drawn.add((ra, rb))
    order: dict[Vertex, tuple[int, str, str, int, tuple[str, ...]]] = {v: _vertex_key(v) for v in plain}
    order.update((c, _vertex_key(c)) for c in clusters)
    drawn_edges = sorted(drawn, key=lambda e: (order[e[0]], order[e[1]]))
    return LineageGraph(
        focus,
        plain,
        clusters,
        tuple(drawn_edges),
        distance,
        None if full else upstream,
        None if full else downstream,
        more_upstream=more_up,
        more_downstream=more_down,
        radius=radius if full else None,
    )


def _vertex_key(v: Vertex) -> tuple[int, str, str, int, tuple[str, ...]]:
    if isinstance(v, Cluster):
        return (1, v.kind.value, v.category, v.distance, tuple(str(m) for m in v.members))
    return (0, v.kind.value, str(v), 0, ())


def _category(org: Organisation, key: NodeKey) -> str:
    if key.artifact is not None:
        return key.artifact.name
    return org.runs[str(key.run)].job_type


def _cluster(
    focus: NodeKey,
    distance: Mapping[NodeKey, int],
    edges: Iterable[tuple[NodeKey, NodeKey]],
    org: Organisation,
    threshold: int | None,
) -> tuple[tuple[Cluster, ...], dict[NodeKey, Cluster]]:
    """Group siblings level by level outward from the focus; a group's parents are its closer neighbours."""
    rep: dict[NodeKey, Cluster] = {}
    if threshold is None:
        return (), rep
    # Only a category with `threshold` nodes on one level can make a cluster there: find those first.
    by_level: dict[int, list[NodeKey]] = {}
    for node, d in distance.items():
        if node != focus:
            by_level.setdefault(d, []).append(node)
    candidates: dict[int, list[tuple[NodeKey, str]]] = {}
    for level, nodes in by_level.items():
        if len(nodes) >= threshold:
            named = [(node, _category(org, node)) for node in nodes]
            count = Counter(category for _, category in named if category)  # no job type: shares nothing
            chosen = [
                (node, category) for node, category in named if category and count[category] >= threshold
            ]
            if chosen:
                candidates[level] = sorted(chosen, key=lambda pair: node_order(pair[0]))  # keys are unique
    if not candidates:
        return (), rep
    parents: dict[NodeKey, set[NodeKey]] = {}
    sides: dict[NodeKey, set[str]] = {}  # "out" when the node was made by its parent, "in" when used by it
    for a, b in edges:
        da, db = abs(distance[a]), abs(distance[b])
        if da < db:
            parents.setdefault(b, set()).add(a)
            sides.setdefault(b, set()).add("out")
        elif db < da:
            parents.setdefault(a, set()).add(b)
            sides.setdefault(a, set()).add("in")
    clusters: list[Cluster] = []
    for level in sorted(candidates, key=lambda d: (abs(d), d)):
        groups: dict[tuple[str, tuple[str, ...], tuple[str, ...]], list[NodeKey]] = {}
        for node, category in candidates[level]:
            closer = tuple(
                sorted(str(rep[p].members[0]) if p in rep else str(p) for p in parents.get(node, ()))
            )
            side = tuple(sorted(sides.get(node, ())))  # inputs and outputs of one run never mix
            groups.setdefault((category, closer, side), []).append(node)
        for (category, _, _), group in sorted(groups.items()):
            if len(group) >= threshold:
                cluster = Cluster(group[0].kind, category, level, tuple(group))
                clusters.append(cluster)
                rep.update(dict.fromkeys(group, cluster))
    return tuple(clusters), rep


def _truncate(graph: LineageGraph, budget: int) -> LineageGraph:
    """Keep the ``budget`` vertices closest to the focus; count the rest as omitted."""

    def closeness(v: Vertex) -> tuple[int, tuple[int, str, str, int, tuple[str, ...]]]:
        d = v.distance if isinstance(v, Cluster) else graph.distance[v]
        return (abs(d), _vertex_key(v))

    kept = set(sorted(graph.vertices, key=closeness)[:budget])
    shown = {n for v in kept for n in (v.members if isinstance(v, Cluster) else (v,))}
    return replace(
        graph,
        nodes=tuple(n for n in graph.nodes if n in kept),
        clusters=tuple(c for c in graph.clusters if c in kept),
        edges=tuple((a, b) for a, b in graph.edges if a in kept and b in kept),
        distance={n: d for n, d in graph.distance.items() if n in shown},
    )
