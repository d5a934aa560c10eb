"""`cgraph graph`: DOT parsed back with pydot, Mermaid, SVG/PNG through Graphviz, and its absence."""

import html
import os
import re
import shutil
import subprocess
import sys

import pydot
import pytest

from cgraph_cli.render.mermaid import quote
from conftest import STAGED_ONE_LINE as STAGED, run_cgraph as cgraph

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")   # pydot's use of pyparsing

VALUE_COLOUR = "#1a7f37"
GRADIENT_COLOUR = "#cf222e"
HAS_DOT = shutil.which("dot") is not None


def parse_dot(text):
    graphs = pydot.graph_from_dot_data(text)
    assert graphs is not None and len(graphs) == 1, "not valid DOT"
    return graphs[0]


def real_nodes(graph):
    """name -> attributes, without pydot's pseudo-nodes for defaults (graph, node, edge)."""
    return {n.get_name().strip('"'): n.get_attributes() for n in graph.get_nodes()
            if n.get_name() not in ("graph", "node", "edge")}


def graph_attributes(graph):
    """The `graph [...]` defaults statement, which pydot keeps as a pseudo-node named graph."""
    attributes = dict(graph.get_attributes())
    for node in graph.get_nodes():
        if node.get_name() == "graph":
            attributes.update(node.get_attributes())
    return attributes


def label_rows(label):
    """The (colour, text) rows of a two-row HTML label such as <<font color="#..">4</font><br/>...>."""
    return re.findall(r'<font color="(#[0-9a-f]{6})">(.*?)</font>', label or "")


def edges(graph):
    """[(source, target, value text or None, gradient text or None)] in file order."""
    found = []
    for edge in graph.get_edges():
        rows = dict((colour, text) for colour, text in label_rows(edge.get("label")))
        found.append((edge.get_source(), edge.get_destination(), rows.get(VALUE_COLOUR),
                      rows.get(GRADIENT_COLOUR)))
    return found


def node_names(graph):
    """DOT id -> what the node shows: a variable's name, an op's symbol, a constant."""
    shown = {}
    for name, attributes in real_nodes(graph).items():
        label = attributes.get("label", "")
        bold = re.search(r"<b>(.*?)</b>", label)
        shown[name] = bold.group(1) if bold else label.strip('"')
    return shown


# ---------------------------------------------------------------------------------------------
# DOT: the seeds' (x+y)*z example, parsed back with a DOT parser
# ---------------------------------------------------------------------------------------------

def test_sum_times_z_nodes_edges_values_and_gradients():
    code, out, err = cgraph("graph", "(x+y)*z", "--x", 1, "--y", 3, "--z", -3)
    assert code == 0 and err == ""
    graph = parse_dot(out)
    assert graph.get_type() == "digraph"
    assert graph_attributes(graph)["rankdir"] == "LR"
    shown = node_names(graph)
    by_symbol = {symbol: name for name, symbol in shown.items()}
    assert sorted(shown.values()) == sorted(["x", "y", "z", "+", "*", "output"])
    x, y, z, add, mul = (by_symbol[s] for s in ("x", "y", "z", "+", "*"))
    found = {(s, t): (v, g) for s, t, v, g in edges(graph)}
    # value above (green), gradient below (red): the seeds' picture of (x+y)*z at 1, 3, -3
    assert found == {
        (x, add): ("1", "-3"),
        (y, add): ("3", "-3"),
        (add, mul): ("4", "-3"),
        (z, mul): ("-3", "4"),
        (mul, "out"): ("-12", "1"),
    }
    nodes = real_nodes(graph)
    assert nodes[mul].get("peripheries") == "2"          # the output is marked
    assert all(nodes[v]["shape"] == "box" for v in (x, y, z))   # inputs are marked
    assert nodes[add]["shape"] == "circle"


def test_value_row_is_above_the_gradient_row():
    _, out, _ = cgraph("graph", "(x+y)*z", "--x", 1, "--y", 3, "--z", -3)
    for edge in parse_dot(out).get_edges():
        assert [colour for colour, _ in label_rows(edge.get("label"))] == [VALUE_COLOUR, GRADIENT_COLOUR]
        assert "<br/>" in edge.get("label")


def test_a_shared_node_is_drawn_once_with_one_edge_per_use():
    _, out, _ = cgraph("graph", "x*x + x", "--x", 3)
    graph = parse_dot(out)
    shown = node_names(graph)
    assert list(shown.values()).count("x") == 1
    x = next(name for name, symbol in shown.items() if symbol == "x")
    from_x = [(t, v, g) for s, t, v, g in edges(graph) if s == x]
    assert len(from_x) == 3
    # each use carries its own contribution: 3 and 3 through x*x, 1 through + ; they sum to 2x+1 = 7
    assert sorted(float(g) for _, _, g in from_x) == [1.0, 3.0, 3.0]
    assert all(v == "3" for _, v, _ in from_x)


def test_staged_program_edges_carry_the_hand_derived_gradients():
    import math

    x, y = 3.0, -4.0
    sigy = 1 / (1 + math.exp(-y))
    num = x + sigy
    sigx = 1 / (1 + math.exp(-x))
    xpy = x + y
    den = sigx + xpy ** 2
    invden = 1 / den
    dnum, dinvden = invden, num
    dden = -1 / den ** 2 * dinvden
    _, out, _ = cgraph("graph", STAGED, "--x", 3, "--y", -4, "--precision", 12)
    graph = parse_dot(out)
    nodes = real_nodes(graph)
    named = {re.search(r'point-size="10">(\w+)<', a.get("label", "")).group(1): n
             for n, a in nodes.items() if 'point-size="10">' in a.get("label", "")}
    assert set(named) == {"sigy", "num", "sigx", "xpy", "xpysqr", "den", "invden", "f"}
    found = {(s, t): (float(v), float(g)) for s, t, v, g in edges(graph) if g is not None}
    assert found[named["num"], named["f"]] == pytest.approx((num, dnum), rel=1e-11)
    assert found[named["invden"], named["f"]] == pytest.approx((invden, dinvden), rel=1e-11)
    assert found[named["den"], named["invden"]] == pytest.approx((den, dden), rel=1e-11)
    assert found[named["xpysqr"], named["den"]] == pytest.approx((xpy ** 2, dden), rel=1e-11)
    assert found[named["xpy"], named["xpysqr"]] == pytest.approx((xpy, 2 * xpy * dden), rel=1e-11)


def test_constants_carry_a_value_and_no_gradient():
    _, out, _ = cgraph("graph", "x^2", "--x", -3)
    graph = parse_dot(out)
    shown = node_names(graph)
    two = next(name for name, symbol in shown.items() if symbol == "2")
    (edge,) = [e for e in edges(graph) if e[0] == two]
    assert edge[2:] == ("2", None)
    x = next(name for name, symbol in shown.items() if symbol == "x")
    assert [e[2:] for e in edges(graph) if e[0] == x] == [("-3", "-6")]


def test_structure_alone_without_bindings():
    code, out, err = cgraph("graph", "(x+y)*z")
    assert code == 0 and err == ""
    graph = parse_dot(out)
    assert sorted(node_names(graph).values()) == sorted(["x", "y", "z", "+", "*", "output"])
    assert len(edges(graph)) == 5
    assert all(edge.get("label") is None for edge in graph.get_edges())
    assert "forward value" not in graph_attributes(graph).get("label", "")


def test_partial_bindings_draw_the_structure_and_say_what_is_missing():
    code, out, err = cgraph("graph", "(x+y)*z", "--x", 1)
    assert code == 0
    assert "unbound y, z" in err
    assert all(edge.get("label") is None for edge in parse_dot(out).get_edges())


def test_tensor_edges_show_shape_and_preview():
    code, out, _ = cgraph("graph", "sum(w*x) + b", "--w", "[1,2]", "--x", "[3,4]", "--b", 1)
    assert code == 0
    found = {(v, g) for _, _, v, g in edges(parse_dot(out))}
    assert ("(2) [1, 2]", "(2) [3, 4]") in found      # w: value [1, 2], gradient x = [3, 4]
    assert ("(2) [3, 8]", "(2) [1, 1]") in found      # w*x, the gradient of a sum is ones
    assert ("12", "1") in found                        # the output


def test_node_cap_keeps_the_nodes_nearest_the_output_and_says_what_it_left_out():
    source = "+".join(f"x{i}*w{i}" for i in range(200))
    code, out, err = cgraph("graph", source, "--max-nodes", 20)
    assert code == 0
    graph = parse_dot(out)
    nodes = real_nodes(graph)
    drawn = [n for n in nodes if n.startswith("n")]
    stubs = [n for n in nodes if n.startswith("cut")]
    assert len(drawn) == 20
    assert stubs and all(any(s == stub for s, *_ in edges(graph)) for stub in stubs)
    assert "showing 20 of 799 nodes" in err and "779 left out" in err
    assert "779 left out" in graph_attributes(graph)["label"]
    assert "x199" in node_names(graph).values()      # the last term is nearest the output


def test_text_is_escaped_in_html_labels():
    from cgraph_cli.picture import Picture, PictureEdge, PictureNode
    from cgraph_cli.render.dot import source

    picture = Picture([PictureNode("n0", "input", "a<b>&c", None, 'say "hi" & <go>'),
                       PictureNode("n1", "op", "<", "x&y", "t"), PictureNode("out", "output-marker",
                                                                          "output", None, "o")],
                      [PictureEdge("n0", "n1", "1<2", "3&4"), PictureEdge("n1", "out", "5", "1")],
                      "a <note> & more", True)
    graph = parse_dot(source(picture))
    nodes = real_nodes(graph)
    assert "a&lt;b&gt;&amp;c" in nodes["n0"]["label"]
    assert "&lt;" in nodes["n1"]["label"] and "x&amp;y" in nodes["n1"]["label"]
    assert label_rows(graph.get_edges()[0].get("label")) == [(VALUE_COLOUR, "1&lt;2"),
                                                             (GRADIENT_COLOUR, "3&amp;4")]
    assert "a &lt;note&gt; &amp; more" in graph_attributes(graph)["label"]


def test_output_file_and_format_from_the_extension(tmp_path):
    target = tmp_path / "g.dot"
    code, out, _ = cgraph("graph", "x*y", "--x", 2, "--y", 3, "-o", target)
    assert code == 0 and out == ""
    assert node_names(parse_dot(target.read_text()))
    mermaid = tmp_path / "g.mmd"
    assert cgraph("graph", "x*y", "-o", mermaid)[0] == 0
    assert mermaid.read_text().startswith("flowchart LR")
    code, _, err = cgraph("graph", "x*y", "-o", tmp_path / "g.txt")
    assert code == 2 and "--to" in err


def test_images_need_an_output_file():
    code, out, err = cgraph("graph", "x*y", "--to", "png")
    assert code == 2 and out == ""
    assert "-o FILE" in err


def test_evaluation_errors_exit_3():
    code, out, err = cgraph("graph", "log(x)", "--x", -1)
    assert code == 3 and out == "" and "log" in err


# ---------------------------------------------------------------------------------------------
# Mermaid
# ---------------------------------------------------------------------------------------------

def test_mermaid_flowchart_of_sum_times_z():
    code, out, _ = cgraph("graph", "(x+y)*z", "--x", 1, "--y", 3, "--z", -3, "--to", "mermaid")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "flowchart LR"
    declared = dict(re.findall(r"^  (\w+)[\[(>]+\"(.*?)\"[\])]+$", out, re.M))
    assert {re.sub("<.*?>", "", text) for text in declared.values()} == {"x", "y", "z", "+", "*", "output"}
    arrows = re.findall(r"^  (\w+) -->\|\"(.*?)\"\| (\w+)$", out, re.M)
    assert len(arrows) == 5
    labels = {(declared[s], declared[t]): re.findall(r"color:(#\w+)'>(.*?)</span>", label)
              for s, label, t in arrows}
    assert labels["<b>x</b>", "<b>+</b>"] == [(VALUE_COLOUR, "1"), (GRADIENT_COLOUR, "-3")]
    assert labels["<b>z</b>", "<b>*</b>"] == [(VALUE_COLOUR, "-3"), (GRADIENT_COLOUR, "4")]
    assert labels["<b>*</b>", "<b>output</b>"] == [(VALUE_COLOUR, "-12"), (GRADIENT_COLOUR, "1")]
    output_node = next(key for key, text in declared.items() if text == "<b>*</b>")
    assert re.search(rf"^  style {output_node} stroke:#111827,stroke-width:3px$", out, re.M)   # marked


def test_mermaid_quoting():
    assert quote('a "b" <c> #d |e| &') == "a #quot;b#quot; #lt;c#gt; #35;d #124;e#124; #amp;"


# ---------------------------------------------------------------------------------------------
# SVG and PNG through Graphviz's dot, and a clear message without it
# ---------------------------------------------------------------------------------------------

@pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot is not installed (.ci/run installs it)")
def test_svg_drawn_by_graphviz(tmp_path):
    target = tmp_path / "graph.svg"
    code, out, err = cgraph("graph", "(x+y)*z", "--x", 1, "--y", 3, "--z", -3, "-o", target)
    assert code == 0 and out == "" and err == ""
    svg = target.read_text()
    assert "<svg" in svg
    texts = [html.unescape(text) for text in re.findall(r"<text[^>]*>(.*?)</text>", svg)]
    for number in ("1", "3", "4", "-3", "-12"):
        assert number in texts
    assert f'fill="{VALUE_COLOUR}"' in svg and f'fill="{GRADIENT_COLOUR}"' in svg


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot is not installed (.ci/run installs it)")
def test_png_drawn_by_graphviz(tmp_path):
    target = tmp_path / "graph.png"
    code, _, _ = cgraph("graph", "(x+y)*z", "--x", 1, "--y", 3, "--z", -3, "-o", target)
    assert code == 0
    data = target.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert 300 < width < 3000 and 100 < height < 2000


def test_missing_graphviz_is_a_clear_message(tmp_path):
    code, out, err = cgraph("graph", "x*y", "--x", 2, "--y", 3, "-o", tmp_path / "g.svg",
                            env={"PATH": str(tmp_path)})
    assert code == 2 and out == ""
    assert "Graphviz's `dot` program" in err
    assert "apt-get install graphviz" in err and "brew install graphviz" in err
    assert not (tmp_path / "g.svg").exists()
    # text formats need nothing
    code, out, _ = cgraph("graph", "x*y", "--to", "dot", env={"PATH": str(tmp_path)})
    assert code == 0 and out.startswith("digraph")


def test_missing_graphviz_through_the_console_script(tmp_path):
    """The real process: exit code 2, one message, no traceback."""
    env = dict(os.environ, PATH=str(tmp_path))
    completed = subprocess.run([sys.executable, "-m", "cgraph_cli", "graph", "x*y", "--to", "png",
                                "-o", str(tmp_path / "g.png")], capture_output=True, text=True, env=env)
    assert completed.returncode == 2
    assert completed.stdout == ""
    assert completed.stderr.startswith("cgraph: error: --to png needs Graphviz's `dot` program")
    assert "Traceback" not in completed.stderr
