"""Lineage queries: neighbourhoods by depth, the whole connected graph, focus resolution, clusters, budget.

A hop is two edges (artifact -> run -> artifact); ``distance`` counts edges, negative upstream.
"""

from __future__ import annotations

import operator
import pickle

import pytest
from factories import (
    ZOO,
    artifact,
    connected_manifest,
    fan_out,
    org_from_dict,
    parse_svg,
    private_cache,  # noqa: F401 - fixture
    run,
)
from hypothesis import given
from hypothesis import strategies as st

from reportgen import lineage
from reportgen.draw import links_from
from reportgen.graphs import build_dot
from reportgen.lineage import (
    DEFAULT_NODE_BUDGET,
    Cluster,
    GraphOptions,
    LineageGraph,
    NodeKey,
    NodeKind,
    focus_of,
    neighbourhood,
)
from reportgen.load import load_paths
from reportgen.model import ArtifactRef, Organisation
from reportgen.render import get_renderer
from reportgen.validate import validate


def A(text: str) -> NodeKey:
    """Return the node of artifact version ``name:vN``."""
    return NodeKey.of_artifact(ArtifactRef.parse(text))


def R(run_id: str) -> NodeKey:
    """Return the node of run ``run_id``."""
    return NodeKey.of_run(run_id)


def names(graph: LineageGraph) -> dict[str, int]:
    """Return every node in the graph's distance table as `name:vN` / `run id` -> signed distance."""
    return {str(k): d for k, d in graph.distance.items()}


def edge_names(graph: LineageGraph) -> set[tuple[str, str]]:
    """Return the drawn edges with clusters shown by their label."""

    def name(v: NodeKey | Cluster) -> str:
        return v.label if isinstance(v, Cluster) else str(v)

    return {(name(a), name(b)) for a, b in graph.edges}


@pytest.fixture(scope="module")
def zoo() -> Organisation:
    result = validate(load_paths([ZOO]))
    assert result.ok, result.diagnostics
    return result.organisation


def chain(length: int = 8) -> Organisation:
    """Return a0 -(r1)-> a1 -(r2)-> ... -(r{length-1})-> a{length-1}, plus a side branch off a1.

    ``side`` uses a1:v0 and logs s:v0; nothing on the chain depends on it.
    """
    artifacts = [artifact(f"a{i}", 0) for i in range(length)] + [artifact("s", 0)]
    runs = [
        run(f"r{i}", inputs=[f"a{i - 1}:v0"], outputs=[f"a{i}:v0"], job_type=f"step{i}")
        for i in range(1, length)
    ]
    runs.append(run("side", inputs=["a1:v0"], outputs=["s:v0"], job_type="side"))
    return org_from_dict({"artifacts": artifacts, "runs": runs})


@pytest.fixture(scope="module")
def line() -> Organisation:
    return chain()


# ------------------------------------------------------------------------------------------- depths


def test_default_depth_is_two_hops_each_way(line: Organisation) -> None:
    graph = neighbourhood(line, A("a4:v0"), GraphOptions())
    assert names(graph) == {
        "a2:v0": -4,
        "run r3": -3,
        "a3:v0": -2,
        "run r4": -1,
        "a4:v0": 0,
        "run r5": 1,
        "a5:v0": 2,
        "run r6": 3,
        "a6:v0": 4,
    }
    assert (graph.upstream, graph.downstream) == (2, 2)
    # one more node on each side just past the depth: r2 upstream, r7 downstream
    assert (graph.more_upstream, graph.more_downstream) == (1, 1)
    assert graph.omitted == 0 and graph.notes == ()
    assert edge_names(graph) == {
        ("a2:v0", "run r3"),
        ("run r3", "a3:v0"),
        ("a3:v0", "run r4"),
        ("run r4", "a4:v0"),
        ("a4:v0", "run r5"),
        ("run r5", "a5:v0"),
        ("a5:v0", "run r6"),
        ("run r6", "a6:v0"),
    }


def test_upstream_and_downstream_depths_are_separate(line: Organisation) -> None:
    graph = neighbourhood(line, A("a4:v0"), GraphOptions(upstream=1, downstream=3))
    assert sorted(names(graph).items(), key=lambda kv: kv[1]) == [
        ("a3:v0", -2),
        ("run r4", -1),
        ("a4:v0", 0),
        ("run r5", 1),
        ("a5:v0", 2),
        ("run r6", 3),
        ("a6:v0", 4),
        ("run r7", 5),
        ("a7:v0", 6),
    ]
    assert (graph.upstream, graph.downstream) == (1, 3)
    assert (graph.more_upstream, graph.more_downstream) == (1, 0)


def test_depth_zero_is_the_focus_alone(line: Organisation) -> None:
    graph = neighbourhood(line, A("a4:v0"), GraphOptions(upstream=0, downstream=0))
    assert graph.nodes == (A("a4:v0"),)
    assert graph.edges == () and graph.clusters == ()
    assert (graph.more_upstream, graph.more_downstream) == (1, 1)


def test_one_direction_only(line: Organisation) -> None:
    up_only = neighbourhood(line, A("a4:v0"), GraphOptions(upstream=None, downstream=0))
    assert set(names(up_only)) == {"a0:v0", "a1:v0", "a2:v0", "a3:v0", "a4:v0"} | {
        f"run r{i}" for i in range(1, 5)
    }
    assert all(d <= 0 for d in up_only.distance.values())
    assert up_only.more_upstream == 0 and up_only.more_downstream == 1


def test_unlimited_directional_lineage_leaves_out_side_branches(line: Organisation) -> None:
    graph = neighbourhood(line, A("a4:v0"), GraphOptions(upstream=None, downstream=None))
    assert "run side" not in names(graph) and "s:v0" not in names(graph)
    assert set(names(graph)) == {f"a{i}:v0" for i in range(8)} | {f"run r{i}" for i in range(1, 8)}


def test_full_is_the_whole_connected_graph(line: Organisation) -> None:
    graph = neighbourhood(line, A("a4:v0"), GraphOptions(full=True))
    everything = {f"a{i}:v0" for i in range(8)} | {f"run r{i}" for i in range(1, 8)}
    assert set(names(graph)) == everything | {"run side", "s:v0"}
    assert ("a1:v0", "run side") in edge_names(graph)
    assert ("run side", "s:v0") in edge_names(graph)
    assert graph.upstream is None and graph.downstream is None
    assert graph.omitted == 0


def test_edges_follow_inputs_and_outputs(zoo: Organisation) -> None:
    graph = neighbourhood(zoo, A("split_zoo_dataset:v4"), GraphOptions(full=True))
    for a, b in graph.edges:
        assert isinstance(a, NodeKey) and isinstance(b, NodeKey)
        if a.kind is NodeKind.ARTIFACT:
            assert b.kind is NodeKind.RUN and a.artifact in zoo.runs[str(b.run)].inputs
        else:
            assert b.kind is NodeKind.ARTIFACT and b.artifact in zoo.runs[str(a.run)].outputs


def test_zoo_model_neighbourhood(zoo: Organisation) -> None:
    """The seed's picture: split runs -> split_zoo_dataset:v4 -> rural-feather-20 -> model -> eval run."""
    graph = neighbourhood(zoo, focus_of(zoo, "zoo-ylbchv20:v0"), GraphOptions())
    assert graph.focus == A("zoo-ylbchv20:v0")
    assert names(graph) == {
        "run f5r8u2kd": -3,  # brisk-moon-16
        "run n1c7e4vs": -3,  # gentle-dew-17
        "run d9j3g6wo": -3,  # quiet-river-18
        "split_zoo_dataset:v4": -2,
        "run ylbchv20": -1,  # rural-feather-20
        "zoo-ylbchv20:v0": 0,
        "run q4t7v2mz": 1,  # northern-lake-21
    }
    assert edge_names(graph) == {
        ("run f5r8u2kd", "split_zoo_dataset:v4"),
        ("run n1c7e4vs", "split_zoo_dataset:v4"),
        ("run d9j3g6wo", "split_zoo_dataset:v4"),
        ("split_zoo_dataset:v4", "run ylbchv20"),
        ("run ylbchv20", "zoo-ylbchv20:v0"),
        ("zoo-ylbchv20:v0", "run q4t7v2mz"),
    }
    assert graph.clusters == ()  # two split runs and an upload: no five of a kind


# ---------------------------------------------------------------------------------------------- focus


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("model/zoo-classifier:v0", A("zoo-ylbchv20:v0")),
        ("dataset/zoo-splits:v2", A("split_zoo_dataset:v4")),
        ("dataset/zoo-splits:v1", A("split_zoo_dataset:v3")),
        ("dataset/zoo-splits:v0", A("split_zoo_dataset:v1")),  # unlinked since, still resolvable
        ("split_zoo_dataset:v0", A("split_zoo_dataset:v0")),
        ("ylbchv20", R("ylbchv20")),
        ("q4t7v2mz", R("q4t7v2mz")),
    ],
)
def test_focus_of_refs(zoo: Organisation, ref: str, expected: NodeKey) -> None:
    assert focus_of(zoo, ref) == expected


def test_collection_version_draws_its_source_artifact(zoo: Organisation) -> None:
    by_collection = neighbourhood(zoo, focus_of(zoo, "model/zoo-classifier:v0"), GraphOptions())
    by_artifact = neighbourhood(zoo, focus_of(zoo, "zoo-ylbchv20:v0"), GraphOptions())
    assert by_collection == by_artifact


def test_run_id_as_focus(zoo: Organisation) -> None:
    graph = neighbourhood(zoo, focus_of(zoo, "ylbchv20"), GraphOptions(upstream=1, downstream=1))
    assert graph.focus == R("ylbchv20")
    assert names(graph) == {
        "run f5r8u2kd": -2,
        "run n1c7e4vs": -2,
        "run d9j3g6wo": -2,
        "split_zoo_dataset:v4": -1,
        "run ylbchv20": 0,
        "zoo-ylbchv20:v0": 1,
        "run q4t7v2mz": 2,
    }


@pytest.mark.parametrize(
    "ref",
    [
        "nope:v0",
        "split_zoo_dataset:v9",
        "no-such-run",
        "model/zoo-classifier:v1",
        "model/no-such-collection:v0",
        "model/zoo-classifier",
        "rural-feather-20",  # a display name, not a run id
        "",
    ],
)
def test_unknown_ref_is_a_key_error(zoo: Organisation, ref: str) -> None:
    with pytest.raises(KeyError):
        focus_of(zoo, ref)


def test_more_upstream_counts_each_node_once() -> None:
    org = org_from_dict(
        {
            "artifacts": [
                artifact("raw", 0),
                artifact("d1", 0),
                artifact("d2", 0),
                artifact("m", 0, "model"),
            ],
            "runs": [
                run("prep", inputs=["raw:v0"], outputs=["d1:v0", "d2:v0"], job_type="prep"),
                run("train", inputs=["d1:v0", "d2:v0"], outputs=["m:v0"], job_type="train"),
            ],
        }
    )
    graph = neighbourhood(org, A("m:v0"), GraphOptions(upstream=1, downstream=1))
    assert set(names(graph)) == {"m:v0", "run train", "d1:v0", "d2:v0"}
    assert graph.more_upstream == 1  # only `prep` lies one step further


# -------------------------------------------------------------------------------------------- clusters


@pytest.fixture(scope="module")
def sweep() -> Organisation:
    return org_from_dict(fan_out(200))


def cluster_labels(graph: LineageGraph) -> list[str]:
    return [c.label for c in graph.clusters]


def test_fan_out_of_200_runs_is_one_cluster(sweep: Organisation) -> None:
    graph = neighbourhood(sweep, A("data:v0"), GraphOptions())
    assert cluster_labels(graph) == ["200 runs · train", "200 versions of sweep-model"]
    runs_cluster, models_cluster = graph.clusters
    assert runs_cluster.kind is NodeKind.RUN and runs_cluster.category == "train"
    assert runs_cluster.members == tuple(R(f"sweep-{i:03d}") for i in range(200))
    assert models_cluster.members == tuple(A(f"sweep-model:v{i}") for i in range(200))
    # nothing of the sweep is drawn as a plain node
    assert {str(n) for n in graph.nodes} == {"data:v0", "run prep", "raw:v0", "run eval-0"}
    assert graph.size == 6
    assert edge_names(graph) == {
        ("raw:v0", "run prep"),
        ("run prep", "data:v0"),
        ("data:v0", "200 runs · train"),
        ("200 runs · train", "200 versions of sweep-model"),
        ("200 versions of sweep-model", "run eval-0"),
    }
    assert graph.omitted == 0 and graph.notes == ()


@pytest.mark.parametrize(("n", "clustered"), [(4, False), (5, True)])
def test_cluster_threshold_default_is_five(n: int, clustered: bool) -> None:
    org = org_from_dict(fan_out(n))
    graph = neighbourhood(org, A("data:v0"), GraphOptions())
    if clustered:
        assert cluster_labels(graph) == [f"{n} runs · train", f"{n} versions of sweep-model"]
    else:
        assert graph.clusters == ()
        assert {f"run sweep-{i:03d}" for i in range(n)} <= {str(v) for v in graph.nodes}


def test_cluster_threshold_option() -> None:
    org = org_from_dict(fan_out(4))
    graph = neighbourhood(org, A("data:v0"), GraphOptions(cluster_threshold=3))
    assert cluster_labels(graph) == ["4 runs · train", "4 versions of sweep-model"]
    org = org_from_dict(fan_out(12))
    assert neighbourhood(org, A("data:v0"), GraphOptions(cluster_threshold=13)).clusters == ()
    assert cluster_labels(neighbourhood(org, A("data:v0"), GraphOptions(cluster_threshold=12))) == [
        "12 runs · train",
        "12 versions of sweep-model",
    ]


def test_no_clusters_draws_every_node() -> None:
    org = org_from_dict(fan_out(50))
    graph = neighbourhood(org, A("data:v0"), GraphOptions(cluster_threshold=None))
    assert graph.clusters == ()
    drawn = {str(v) for v in graph.nodes}
    assert {f"run sweep-{i:03d}" for i in range(50)} <= drawn
    assert {f"sweep-model:v{i}" for i in range(50)} <= drawn
    assert graph.size == 50 + 50 + 4


def test_focus_is_never_inside_a_cluster(sweep: Organisation) -> None:
    graph = neighbourhood(sweep, R("sweep-007"), GraphOptions(full=True))
    assert R("sweep-007") in graph.nodes
    assert A("sweep-model:v7") in graph.nodes  # the focus's own output is not a sibling of the others
    assert cluster_labels(graph) == ["199 runs · train", "199 versions of sweep-model"]
    for cluster in graph.clusters:
        assert R("sweep-007") not in cluster.members
        assert A("sweep-model:v7") not in cluster.members
    assert ("data:v0", "run sweep-007") in edge_names(graph)
    assert ("data:v0", "199 runs · train") in edge_names(graph)


def test_nodes_on_the_path_to_the_focus_stay_visible(sweep: Organisation) -> None:
    graph = neighbourhood(sweep, R("eval-0"), GraphOptions(full=True))
    # eval-0 <- sweep-model:v0 <- sweep-000 <- data:v0: the path stays plain, the rest collapses
    for key in (A("sweep-model:v0"), R("sweep-000"), A("data:v0")):
        assert key in graph.nodes
    assert cluster_labels(graph) == ["199 runs · train", "199 versions of sweep-model"]


def test_outputs_of_clustered_runs_cluster_at_the_next_level(sweep: Organisation) -> None:
    graph = neighbourhood(sweep, A("data:v0"), GraphOptions(upstream=0, downstream=1))
    (runs_cluster, models_cluster) = graph.clusters
    assert (runs_cluster.distance, models_cluster.distance) == (1, 2)
    assert models_cluster.kind is NodeKind.ARTIFACT and models_cluster.category == "sweep-model"


def test_versions_of_different_artifacts_do_not_cluster_together() -> None:
    manifest = fan_out(10, outputs=False)
    manifest["artifacts"] += [artifact(f"model-{i}", 0, "model") for i in range(10)]
    for i, entry in enumerate(r for r in manifest["runs"] if r["id"].startswith("sweep-")):
        entry["outputs"] = [f"model-{i}:v0"]
    graph = neighbourhood(org_from_dict(manifest), A("data:v0"), GraphOptions())
    assert cluster_labels(graph) == ["10 runs · train"]
    assert {f"model-{i}:v0" for i in range(10)} <= {str(v) for v in graph.nodes}


def test_runs_of_different_job_types_do_not_cluster_together() -> None:
    manifest = fan_out(8, outputs=False)
    for i, entry in enumerate(r for r in manifest["runs"] if r["id"].startswith("sweep-")):
        entry["job_type"] = "train" if i % 2 else "eval"
    graph = neighbourhood(org_from_dict(manifest), A("data:v0"), GraphOptions())
    assert graph.clusters == ()  # four of each


def test_runs_without_a_job_type_never_cluster() -> None:
    org = org_from_dict(fan_out(200, job_type=None, outputs=False))
    graph = neighbourhood(org, A("data:v0"), GraphOptions())
    assert graph.clusters == ()
    assert {f"run sweep-{i:03d}" for i in range(200)} <= {str(v) for v in graph.nodes}


def test_full_graph_keeps_inputs_and_outputs_apart() -> None:
    org = org_from_dict(
        {
            "artifacts": [artifact("data", i) for i in range(5)],
            "runs": [
                run(
                    "merge",
                    inputs=["data:v0", "data:v1", "data:v2"],
                    outputs=["data:v3", "data:v4"],
                    job_type="m",
                )
            ],
        }
    )
    directional = neighbourhood(org, R("merge"), GraphOptions())
    assert directional.clusters == ()
    full = neighbourhood(org, R("merge"), GraphOptions(full=True))
    assert full.clusters == ()  # three inputs and two outputs: no five siblings on one side
    assert all(full.distance[A(f"data:v{i}")] < 0 for i in range(3))  # upstream is negative


# ---------------------------------------------------------------------------------------- node budget


@pytest.fixture(scope="module")
def big() -> Organisation:
    org = org_from_dict(connected_manifest(5000))
    assert len(org.runs) + len(org.artifacts) >= 4990
    return org


def middle_run(org: Organisation) -> NodeKey:
    ids = sorted(org.runs)
    return R(ids[len(ids) // 2])


def members(graph: LineageGraph) -> set[NodeKey]:
    """Return every node the graph shows, plainly or inside a cluster."""
    return set(graph.nodes) | {m for c in graph.clusters for m in c.members}


@pytest.fixture(scope="module")
def big_full(big: Organisation) -> LineageGraph:
    return neighbourhood(big, middle_run(big), GraphOptions(full=True))


def test_5000_node_set_full_fits_the_budget(big: Organisation, big_full: LineageGraph) -> None:
    focus = middle_run(big)
    graph = big_full
    total = len(big.runs) + len(big.artifacts)
    assert graph.size <= DEFAULT_NODE_BUDGET
    assert focus in graph.nodes
    shown = members(graph)
    assert shown == set(graph.distance)
    assert graph.omitted == total - len(shown) > 0
    assert f"{graph.omitted} nodes are left out" in graph.notes
    assert any(
        "the connected lineage is shown" in note and "steps around the focus" in note for note in graph.notes
    )
    vertices = set(graph.vertices)
    assert all(a in vertices and b in vertices for a, b in graph.edges)


@pytest.mark.usefixtures("private_cache")
def test_5000_node_set_draws_within_the_budget(big: Organisation, big_full: LineageGraph) -> None:
    dot = build_dot(big, big_full, name="big", link=links_from("index.html"))
    assert "splines=line" in dot  # large graphs skip spline routing
    nodes, edges, _ = parse_svg(get_renderer("embedded").render_svg(dot, graph="big", timeout=60))
    assert len(nodes) == big_full.size <= DEFAULT_NODE_BUDGET
    assert len(edges) == len(big_full.edges)
    (focus,) = [n for n in nodes.values() if "focus" in n.classes]
    assert focus.href == f"runs/{middle_run(big).run}.html"
    assert sum("lineage-cluster" in n.classes for n in nodes.values()) == len(big_full.clusters) > 0


@pytest.fixture(scope="module")
def big_directional(big: Organisation) -> LineageGraph:
    """Return all the upstream and downstream lineage of the middle run, with no budget."""
    options = GraphOptions(upstream=None, downstream=None, node_budget=10**6)
    return neighbourhood(big, middle_run(big), options)


@pytest.mark.parametrize("budget", [25, 100])
def test_smaller_budgets_are_kept(big: Organisation, big_directional: LineageGraph, budget: int) -> None:
    focus = middle_run(big)
    graph = neighbourhood(big, focus, GraphOptions(upstream=None, downstream=None, node_budget=budget))
    assert graph.size <= budget
    assert focus in graph.nodes
    # omitted counts what the query asked for (all upstream and downstream) and is not drawn
    everything = big_directional
    shown = members(graph)
    assert shown < set(everything.distance)
    assert graph.omitted == len(everything.distance) - len(shown) > 0
    assert graph.notes[-1] == f"{graph.omitted} nodes are left out"
    # what is left out is the far end of each side: a shown node is never further than a hidden one
    hidden = set(everything.distance) - shown
    for side in (-1, 1):
        near = [side * everything.distance[n] for n in shown if side * everything.distance[n] > 0]
        far = [side * everything.distance[n] for n in hidden if side * everything.distance[n] > 0]
        assert near and far and max(near) <= min(far)


def test_within_budget_nothing_is_cut(sweep: Organisation) -> None:
    graph = neighbourhood(sweep, A("data:v0"), GraphOptions(node_budget=6))
    assert graph.size == 6 and graph.omitted == 0 and graph.notes == ()


def test_budget_clusters_smaller_groups_before_cutting_depth() -> None:
    org = org_from_dict(fan_out(3))  # 3 sweep runs: below the threshold, 3 + 3 + 4 = 10 vertices
    graph = neighbourhood(org, A("data:v0"), GraphOptions(node_budget=8))
    assert cluster_labels(graph) == ["3 runs · train", "3 versions of sweep-model"]
    assert graph.omitted == 0
    assert graph.notes == ("siblings are clustered from 2 of a kind to fit the node budget",)


def test_budget_fitting_does_not_walk_the_lineage_once_per_hop(monkeypatch: pytest.MonkeyPatch) -> None:
    org = org_from_dict(connected_manifest(2500, width=6))
    walks = 0
    original = lineage._neighbourhood

    def counted(*args: object, **kwargs: object) -> LineageGraph:
        nonlocal walks
        walks += 1
        if walks > 20:  # stop early: the point is made, no need to spend the 25 s
            raise AssertionError(f"more than 20 walks of the lineage to fit {DEFAULT_NODE_BUDGET} nodes")
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(lineage, "_neighbourhood", counted)
    graph = neighbourhood(org, middle_run(org), GraphOptions(full=True))
    assert graph.size <= DEFAULT_NODE_BUDGET


def test_neighbourhood_is_deterministic(sweep: Organisation) -> None:
    first = neighbourhood(sweep, R("sweep-007"), GraphOptions(full=True))
    again = neighbourhood(org_from_dict(fan_out(200)), R("sweep-007"), GraphOptions(full=True))
    assert first.nodes == again.nodes and first.clusters == again.clusters and first.edges == again.edges


# ------------------------------------------------------------------------------ the kept lineage steps


def test_an_organisations_steps_are_kept_while_it_lives() -> None:
    import gc
    import pickle

    org = org_from_dict(fan_out(20))
    before = len(lineage._STEPS)
    first = neighbourhood(org, R("sweep-007"), GraphOptions())
    assert len(lineage._STEPS) == before + 1
    again = neighbourhood(org, R("sweep-011"), GraphOptions())
    # one key object per node, shared by the graphs of one organisation
    shared = set(first.distance) & set(again.distance)
    assert shared and all(any(k is j for j in again.distance) for k in shared if k != R("sweep-007"))
    copy = pickle.loads(pickle.dumps(first))  # keys are pickled by their fields, hashed afresh
    assert copy.nodes == first.nodes and copy.edges == first.edges and dict(copy.distance) == first.distance
    del org, first, again, copy
    gc.collect()
    assert len(lineage._STEPS) == before  # forgotten with the organisation


def test_clustering_skips_levels_too_small_to_cluster(sweep: Organisation) -> None:
    """Only a category with `threshold` nodes on a level is grouped; the picture is the same."""
    for threshold in (1, 2, 3, 5, 199, 200, 201):
        options = GraphOptions(cluster_threshold=threshold, node_budget=10_000)  # no fitting: no reclustering
        graph = neighbourhood(sweep, A("data:v0"), options)
        sizes = sorted(len(c.members) for c in graph.clusters)
        assert all(size >= threshold for size in sizes)
        if threshold <= 200:
            assert 200 in sizes  # the 200 training runs, one level, one job type
        else:
            assert not graph.clusters


def test_node_order_sorts_keys_as_their_own_order() -> None:
    refs = [ArtifactRef(name, v) for name in ("a", "a-b", "b", "B", "é", "") for v in (0, 1, 2, 10)]
    runs = ["", "0", "10", "9", "abc", "ABC", "z"]
    keys = [NodeKey.of_artifact(r) for r in refs] + [NodeKey.of_run(r) for r in runs]
    for shuffled in (keys, keys[::-1], keys[1::2] + keys[::2]):
        assert sorted(shuffled, key=lineage.node_order) == sorted(shuffled)  # the dataclass's order


# Keys as the lineage makes them, and any other combination of the fields (which the fields' comparison
# would tell apart as well).
_REFS = st.builds(ArtifactRef, st.sampled_from(["a", "b"]), st.integers(0, 2))
_KEYS = st.one_of(
    st.builds(NodeKey.of_run, st.sampled_from(["a", "b", "c"])),
    st.builds(NodeKey.of_artifact, _REFS),
    st.builds(NodeKey, st.sampled_from(NodeKind), st.none() | _REFS, st.none() | st.sampled_from(["a", "b"])),
)


@given(_KEYS, _KEYS)
def test_keys_are_equal_when_their_fields_are(a: NodeKey, b: NodeKey) -> None:
    """``NodeKey.__eq__`` tells keys apart by their hashes first: the same answers as comparing the fields,
    for copies, pickled copies and other kinds of values."""
    fields = (a.kind, a.artifact, a.run) == (b.kind, b.artifact, b.run)
    assert (a == b) is fields and (a != b) is not fields
    copy = pickle.loads(pickle.dumps(b))
    assert (a == copy) is fields and (copy == a) is fields and copy == b and copy is not b
    assert operator.eq(a, a) and not operator.ne(a, a) and hash(a) == hash(NodeKey(a.kind, a.artifact, a.run))
    assert a != (a.kind, a.artifact, a.run) and a != str(a) and a is not None
    collides = NodeKey(b.kind, b.artifact, b.run)  # two keys with one hash: told apart by their fields
    object.__setattr__(collides, "_hash", hash(a))
    assert (a == collides) is fields and (collides == a) is fields
