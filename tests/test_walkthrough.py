"""`cgraph graph --to html`: the walk-through page, checked as markup and in a real browser.

The browser tests drive Debian's headless Chromium (/usr/bin/chromium, `apt-get install chromium`)
through Playwright's Python API with `executable_path`: nothing downloads a browser. They step
through every step with the keyboard and compare the caption and the edge labels with the numbers
of `cgraph eval --steps --format json` (at the page's 4 significant digits), block every request
that would leave the page, and fail on any console error. Without chromium or playwright they skip.
"""

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import run_cgraph
from seeds import STAGED, staged_reference

from cgraph_cli.render import html as html_renderer

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
HAS_DOT = shutil.which("dot") is not None
try:
    from playwright.sync_api import sync_playwright
except ImportError:   # pragma: no cover - the test extra installs it
    sync_playwright = None
SKIP_BROWSER = ("no headless browser: these tests need Debian's chromium (apt-get install chromium; "
                ".ci/run installs it) and playwright (pip install -e '.[test]')")
browser_only = pytest.mark.skipif(CHROMIUM is None or sync_playwright is None, reason=SKIP_BROWSER)

SUM_TIMES_Z = ["q = x + y; f = q*z", "--x", "-2", "--y", "5", "--z", "-4"]
PLAIN_SUM_TIMES_Z = ["(x+y)*z", "--x", "-2", "--y", "5", "--z", "-4"]
X = [[1.5, 2.0, -3.0], [0.25, 5.0, 6.0]]
W = [[1.0, 2.0, 3.0, 4.0], [0.5, -1.0, 2.0, 0.125], [3.0, 3.0, 3.0, 3.0]]
AFFINE = ["X @ W + b", "--X", json.dumps(X), "--W", json.dumps(W), "--b", "[0.1, -0.2, 0.3, 0.5]"]
INJECTION = ('f = x*2   # </script><img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'
             "<!-- ]]> &amp; \u2028")
NUMBER = r"-?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?"
DIGITS = 4


def write_page(tmp_path, args, name="walk.html", *extra):
    path = tmp_path / name
    result = run_cgraph("graph", *args, *extra, "-o", path)
    assert result.code == 0, result.err
    return path, result


def page_data(path) -> dict:
    text = Path(path).read_text("utf-8")
    block = re.search(r'<script type="application/json" id="walk-data">(.*?)</script>', text, re.S)
    return json.loads(block.group(1))


def steps_json(args) -> dict:
    result = run_cgraph("eval", *args, "--steps", "--format", "json")
    assert result.code == 0, result.err
    return result.json()


def close(shown: str, expected: float) -> bool:
    """A number shown at 4 significant digits against the full value."""
    return abs(float(shown) - expected) <= 5.01 * 10 ** -DIGITS * abs(expected) + 1e-12


def contributions(document) -> list:
    """The backward pass's (step, input) pairs that send a gradient, in the engine's order."""
    return [(step, entry) for step in document["steps"] for entry in step["inputs"] if entry["sent"] is not None]


# ----- the markup (no browser needed) -----

def test_one_self_contained_file_with_the_steps_of_the_issue(tmp_path):
    path, _ = write_page(tmp_path, SUM_TIMES_Z)
    text = path.read_text("utf-8")
    assert text.startswith("<!DOCTYPE html>")
    for outside in ("<link", "@import", "url(", " src=", "href=\"http", "href='http"):
        assert outside not in text
    urls = set(re.findall(r"https?://[^\s\"'<>]+", text))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}   # SVG namespaces only
    assert "default-src 'none'" in text   # the page may request nothing
    data = page_data(path)
    assert list(data)[0] == "schema" and data["schema"] == 1
    kinds = [step["kind"] for step in data["steps"]]
    assert kinds == ["start", "forward", "forward", "backward", "backward", "backward", "backward"]
    assert "step 0 of 6" in text


def test_the_html_extension_and_standard_output_choose_the_page(tmp_path):
    result = run_cgraph("graph", *SUM_TIMES_Z, "--to", "html", "-o", "-")
    assert result.code == 0 and result.out.startswith("<!DOCTYPE html>")
    path, _ = write_page(tmp_path, SUM_TIMES_Z, "page.htm")
    assert path.read_text("utf-8") == result.out


def test_numbers_at_the_pictures_precision(tmp_path):
    path = tmp_path / "staged.cg"
    path.write_text(STAGED)
    args = ["-f", str(path), "--x", "3", "--y", "-4"]
    default, _ = write_page(tmp_path, args)
    finer, _ = write_page(tmp_path, args, "fine.html", "--precision", "7")
    first = "".join(page_data(default)["steps"][-1]["caption"])
    assert "dx = 2.06, dy = 1.592" in first   # 4 significant digits: 2.0596 shown as 2.06 (trailing 0 dropped)
    _, _, reference = staged_reference()   # the seed's hand-written backward pass
    assert f"dx = {reference['x']:.7g}, dy = {reference['y']:.7g}" in "".join(page_data(finer)["steps"][-1]["caption"])


def test_tensor_bindings_through_elementwise_ops_only(tmp_path):
    """No tensor op, yet tensor values (a vector bound to x): the captions show arrays, not floats."""
    for args in (["sigmoid(x)", "--x", "[1,2]"], ["x*v", "--x", "2", "--v", "[1,2]"]):
        path, result = write_page(tmp_path, args)
        assert result.code == 0, result.err
        captions = " ".join("".join(step["caption"]) for step in page_data(path)["steps"])
        assert "[0.731, 0.881]" in captions or "[2, 4]" in captions, captions


def test_a_zero_upstream_gradient_sends_nothing_and_says_so(tmp_path):
    args = ["relu(x*y)*z", "--x", "-1", "--y", "2", "--z", "3"]   # relu'(-2) = 0: x*y's gradient is 0
    path, _ = write_page(tmp_path, args)
    captions = ["".join(step["caption"]) for step in page_data(path)["steps"]]
    assert len(captions) == 1 + 3 + 5
    assert captions[7].startswith("backward: v1 = x*y has gradient 0: it sends nothing to x")
    assert captions[-1].endswith("; done: dx = 0, dy = 0, dz = 0")
    assert steps_json(args)["gradients"] == {"x": 0, "y": 0, "z": 0}


def test_structure_only_without_bindings(tmp_path):
    path, _ = write_page(tmp_path, ["(x+y)*z"])
    text = path.read_text("utf-8")
    assert "bind every variable" in text and 'id="walk-controls"' not in text
    data = page_data(path)
    assert data["steps"] == [] and not data["evaluated"]


def test_the_max_nodes_cut_is_the_pictures_and_is_said(tmp_path):
    chain = "; ".join(["a = x*x"] + [f"a = a*x + {k}" for k in range(60)])
    path, result = write_page(tmp_path, [chain, "--x", "0.5"], "walk.html", "--max-nodes", "20")
    text = path.read_text("utf-8")
    assert "left out" in result.err and "left out" in text
    data = page_data(path)
    kept = [key for key, node in data["nodes"].items() if node["kind"] == "op"]
    forward = [step for step in data["steps"] if step["kind"] == "forward"]
    assert len(forward) == len(kept) < 60
    assert all(step["node"] in data["nodes"] for step in data["steps"][1:])


def test_every_text_from_the_input_is_escaped(tmp_path):
    path, _ = write_page(tmp_path, [INJECTION, "--x", "3"])
    text = path.read_text("utf-8")
    assert "<img" not in text and "onerror=\"window" not in text
    assert text.count("<script") == 2   # the data block and the page's own script
    assert "&lt;/script&gt;&lt;img" in text   # shown, as text


def test_the_fallback_layout_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(html_renderer, "_dot_program", lambda: None)
    path, _ = write_page(tmp_path, SUM_TIMES_Z)
    text = path.read_text("utf-8")
    assert "cgraph's own layered layout" in text and 'id="walk_e0"' in text and 'id="walk_n4"' in text


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot is not installed (.ci/run installs it)")
def test_graphviz_layout_keeps_the_ids(tmp_path):
    path, _ = write_page(tmp_path, SUM_TIMES_Z)
    text = path.read_text("utf-8")
    assert "layout: Graphviz" in text and 'id="walk_e0"' in text and 'id="walk_n4"' in text
    assert "<?xml" not in text and "<!DOCTYPE svg" not in text


def test_a_tensor_node_carries_its_full_values_up_to_the_limit(tmp_path):
    path, _ = write_page(tmp_path, AFFINE)
    data = page_data(path)
    (matmul,) = [node for node in data["nodes"].values() if node.get("op") == "matmul"]
    assert matmul["shape"] == [2, 4] and matmul["size"] == 8
    shown = [float(v) for v in re.findall(NUMBER, matmul["full"])]
    assert np.allclose(shown, (np.array(X) @ np.array(W)).ravel(), rtol=5e-4)
    big, _ = write_page(tmp_path, ["sum(A)", "--A", json.dumps(np.ones((101, 100)).tolist())], "big.html")
    (a,) = [node for node in page_data(big)["nodes"].values() if node["symbol"] == "A"]
    assert a["size"] == 10100 and a["full"] is None


# ----- in the browser -----

@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None or sync_playwright is None:
        pytest.skip(SKIP_BROWSER)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


class Opened:
    """A page in its own context: every request that is not the file itself is logged and aborted."""

    def __init__(self, browser, path, scheme="light", fragment=""):
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme=scheme)
        self.requests, self.errors = [], []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type in ("error", "warning") else None)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("dialog", lambda dialog: (self.errors.append("dialog " + dialog.message), dialog.dismiss()))
        self.url = Path(path).resolve().as_uri()
        self.page.goto(self.url + fragment)

    def _route(self, route):
        if route.request.url.startswith(self.url):
            route.continue_()
        else:
            route.abort()

    def state(self) -> dict:
        return self.page.evaluate("""() => ({
            counter: document.getElementById('walk-counter').textContent,
            caption: document.getElementById('walk-caption').textContent,
            hash: location.hash,
            edges: Array.from(document.querySelectorAll('#walk-figure g.edge')).map(g => ({
                id: g.id, active: g.classList.contains('walk-active'), fresh: g.classList.contains('walk-fresh'),
                texts: Object.fromEntries(Array.from(g.querySelectorAll('text')).filter(t => t.classList.length)
                    .map(t => [t.classList[0].slice(5), getComputedStyle(t).visibility === 'visible'
                               ? t.textContent : null]))}))
        })""")

    def close(self):
        outside = [url for url in self.requests if not url.startswith(self.url)]
        errors = list(self.errors)
        self.context.close()
        assert outside == [], f"requests left the page: {outside}"
        assert errors == [], f"console errors: {errors}"


def walk_all_steps(opened) -> list:
    """Every step's state, reached with the keyboard: Home, then ArrowRight until the end."""
    page = opened.page
    page.keyboard.press("Home")
    states = [opened.state()]
    total = int(states[0]["counter"].split()[-1])
    for _ in range(total):
        page.keyboard.press("ArrowRight")
        states.append(opened.state())
    page.keyboard.press("ArrowRight")   # past the end: stays
    assert opened.state()["counter"] == f"step {total} of {total}"
    return states


def check_scalar_walk(states, document):
    """Captions and edge labels against eval --steps --format json, number by number."""
    total = len(states) - 1
    forward = document["forward_steps"]
    pairs = contributions(document)
    assert total == len(forward) + len(pairs)
    assert [s["counter"] for s in states] == [f"step {k} of {total}" for k in range(total + 1)]
    assert states[0]["caption"].startswith("start: the inputs")
    for state in states[1:]:   # one edge lit up at a time, and only in the backward pass
        assert sum(edge["active"] for edge in state["edges"]) <= 1
    for k, entry in enumerate(forward, 1):
        caption = states[k]["caption"]
        assert caption.startswith("forward: " + entry["statement"] + " = "), caption
        assert close(caption.rsplit(" = ", 1)[1], entry["value"]), caption
        fresh = [edge for edge in states[k]["edges"] if edge["fresh"]]
        assert fresh and all(close(edge["texts"]["value"], entry["value"]) for edge in fresh)
        before = [edge for edge in states[k - 1]["edges"] if edge["id"] in {e["id"] for e in fresh}]
        assert all(edge["texts"]["value"] is None for edge in before)   # the value appears at its step
    names = {node["id"]: node["name"] for node in document["nodes"]}
    for k, (step, entry) in enumerate(pairs, len(forward) + 1):
        caption = states[k]["caption"]
        assert caption.startswith("backward: ") and f" sends {entry['rule']} = " in caption, caption
        if entry["rule"] == "g":
            match = re.search(rf" sends g = ({NUMBER}) to (\w+)", caption)
            sent = match.group(1)
        else:
            match = re.search(rf" = ({NUMBER})\*({NUMBER}) = ({NUMBER}) to (\w+)", caption)
            upstream, local, sent = match.group(1, 2, 3)
            assert close(upstream, step["upstream"]) and close(local, entry["local"]), caption
        assert close(sent, entry["sent"]), caption
        if names[entry["id"]]:
            assert match.groups()[-1] == names[entry["id"]], caption
        if entry["contributions"] > 1:
            share = f"({entry['contribution']}/{entry['contributions']})"
            assert share in caption
            now = re.search(rf", now ({NUMBER})", caption).group(1)
            assert close(now, entry["total"]), caption
        (active,) = [edge for edge in states[k]["edges"] if edge["active"]]
        label = active["texts"]["gradient"]
        assert close(label.rsplit(" = ", 1)[-1], entry["sent"]), label
        if entry["rule"] != "g":
            shown_up, shown_local = re.match(rf"({NUMBER})\*({NUMBER}) = ", label).groups()
            assert close(shown_up, step["upstream"]) and close(shown_local, entry["local"]), label
        rule = active["texts"]["rule"]   # the local derivative: its formula, and its value at this step
        if re.fullmatch(NUMBER, entry["local_rule"]):
            assert rule.endswith(" = " + entry["local_rule"]), rule
        else:
            head, value = rule.rsplit(" = ", 1)
            assert head.endswith(" = " + entry["local_rule"]) and close(value, entry["local"]), rule
        if k + 1 < len(states):   # once passed, the edge keeps the gradient sent
            (after,) = [e for e in states[k + 1]["edges"] if e["id"] == active["id"]]
            assert close(after["texts"]["gradient"], entry["sent"])
            assert after["texts"]["rule"].endswith(" = " + entry["local_rule"])
    gradients = [edge["texts"].get("gradient") for edge in states[len(forward)]["edges"]]
    assert all(g is None for g in gradients)   # the end of the forward pass: no gradient yet
    for name, gradient in document["gradients"].items():
        assert re.search(rf"d{name} = ({NUMBER})", states[-1]["caption"]), states[-1]["caption"]
        shown = re.search(rf"d{name} = ({NUMBER})", states[-1]["caption"]).group(1)
        assert close(shown, gradient)


@browser_only
@pytest.mark.parametrize("layout", ["graphviz", "own"])
def test_sum_times_z_step_by_step(browser, tmp_path, monkeypatch, layout):
    if layout == "own":
        monkeypatch.setattr(html_renderer, "_dot_program", lambda: None)
    elif not HAS_DOT:
        pytest.skip("Graphviz's dot is not installed (.ci/run installs it)")
    path, _ = write_page(tmp_path, PLAIN_SUM_TIMES_Z)
    opened = Opened(browser, path)
    states = walk_all_steps(opened)
    check_scalar_walk(states, steps_json(PLAIN_SUM_TIMES_Z))
    assert states[3]["caption"] == "backward: v2 = v1*z sends g*z = 1*-4 = -4 to v1"
    assert states[3]["hash"] == "#step=3"
    footer = opened.page.text_content("footer")
    assert ("layout: Graphviz" in footer) == (layout == "graphviz") and ("own layered" in footer) == (layout == "own")
    opened.close()


@browser_only
def test_the_staged_example_with_its_fan_out_totals(browser, tmp_path):
    path = tmp_path / "staged.cg"
    path.write_text(STAGED)
    args = ["-f", str(path), "--x", "3", "--y", "-4"]
    page, _ = write_page(tmp_path, args)
    opened = Opened(browser, page, scheme="dark")
    states = walk_all_steps(opened)
    document = steps_json(args)
    check_scalar_walk(states, document)
    assert any("(3/3)" in state["caption"] for state in states)   # x fans out three ways
    assert document["gradients"]["x"] == pytest.approx(2.0595697, rel=1e-6)
    opened.close()


PREVIEW = 5.01e-3   # a tensor's first elements are shown at 3 significant digits


def preview(text: str) -> tuple:
    """(shape, first numbers) of a tensor as the page shows it: `(2×4) [1, 2, 3, …]`."""
    match = re.match(r"\((\d+(?:×\d+)*)\) \[([^\]]*)\]", text)
    return [int(n) for n in match.group(1).split("×")], [float(v) for v in re.findall(NUMBER, match.group(2))]


@browser_only
def test_the_batch_affine_layer(browser, tmp_path):
    page, _ = write_page(tmp_path, AFFINE)
    opened = Opened(browser, page)
    states = walk_all_steps(opened)
    document = steps_json(AFFINE)
    forward, pairs = document["forward_steps"], contributions(document)
    assert len(states) == 1 + len(forward) + len(pairs) == 7
    expected_forward = [np.array(X) @ np.array(W), np.array(X) @ np.array(W) + np.array([0.1, -0.2, 0.3, 0.5])]
    for k, (entry, value) in enumerate(zip(forward, expected_forward), 1):
        caption = states[k]["caption"]
        assert caption.startswith(f"forward: {entry['statement']} gives ")
        shape, first = preview(caption.split(" gives ", 1)[1])
        assert shape == list(value.shape) and np.allclose(first, value.ravel()[:3], rtol=PREVIEW)
        assert np.allclose(np.array(entry["value"]), value, rtol=1e-12)
    for k, (_, entry) in enumerate(pairs, len(forward) + 1):
        caption = states[k]["caption"]
        assert f" sends {entry['rule']} = " in caption, caption
        sent = np.array(entry["sent"])
        shape, first = preview(caption.split(f" sends {entry['rule']} = ", 1)[1])
        assert shape == list(sent.shape) and np.allclose(first, sent.ravel()[:3], rtol=PREVIEW), caption
        (active,) = [edge for edge in states[k]["edges"] if edge["active"]]
        shape, first = preview(active["texts"]["gradient"])
        assert shape == list(sent.shape) and np.allclose(first, sent.ravel()[:3], rtol=PREVIEW)
    bias = [state["caption"] for state in states if state["caption"].endswith(" to b")]
    assert bias and "sum(g, axis=0) = (4) [2, 2, 2, …]" in bias[0]   # summed over the batch: 2 rows
    (w,) = [key for key, node in page_data(page)["nodes"].items() if node["symbol"] == "W"]
    opened.page.click(f"#walk_{w}")   # W, a tensor: shape, preview, and all values on request
    opened.page.click("#walk-details button")
    full = opened.page.text_content("#walk-details pre")
    assert np.allclose([float(v) for v in re.findall(NUMBER, full)], np.ravel(W))
    opened.close()


@browser_only
def test_fragment_buttons_slider_and_node_details(browser, tmp_path):
    path, _ = write_page(tmp_path, SUM_TIMES_Z)
    opened = Opened(browser, path, fragment="#step=3")
    page = opened.page
    assert opened.state()["counter"] == "step 3 of 6"
    assert opened.state()["caption"] == "backward: f = q*z sends g*z = 1*-4 = -4 to q"
    page.goto(opened.url + "#step=5")
    assert opened.state()["counter"] == "step 5 of 6"
    page.click("#walk-prev")
    assert opened.state()["counter"] == "step 4 of 6"
    page.click("#walk-last")
    assert opened.state()["counter"] == "step 6 of 6" and page.is_disabled("#walk-next")
    page.focus("#walk-slider")
    page.keyboard.press("Home")
    assert opened.state()["counter"] == "step 0 of 6" and page.is_disabled("#walk-prev")
    page.keyboard.press("ArrowRight")
    assert opened.state()["counter"] == "step 1 of 6"
    page.evaluate("() => window.dispatchEvent(new Event('beforeprint'))")   # printing: the final state
    assert opened.state()["counter"] == "step 6 of 6" and page.evaluate("() => document.getElementById('walk-all').open")
    page.evaluate("() => window.dispatchEvent(new Event('afterprint'))")
    assert opened.state()["counter"] == "step 1 of 6"
    page.emulate_media(media="print")
    assert not page.is_visible("#walk-controls") and page.is_visible("#walk-figure")
    page.emulate_media(media="screen")
    page.goto(opened.url + "#step=99")
    assert opened.state()["counter"] == "step 6 of 6"
    page.click("#walk_n4")   # f = q*z: its local derivatives as a table
    details = page.text_content("#walk-details")
    assert "f = q*z" in details and "-12" in details
    rows = page.eval_on_selector_all(".walk-locals tr", "rows => rows.map(r => r.innerText.split('\\t'))")
    assert rows[1:] == [["q", "∂f/∂q = z", "-4", "-4"], ["z", "∂f/∂z = q", "3", "3"]]
    page.focus("#walk_n3")   # the nodes take the keyboard's focus: Enter opens one
    page.keyboard.press("Enter")
    assert "q = x + y" in page.text_content("#walk-details")
    inputs = page.eval_on_selector_all("#walk-inputs tbody tr", "rows => rows.map(r => r.innerText)")
    assert [row.split("\t") for row in inputs] == [["x", "-2", "-4"], ["y", "5", "-4"], ["z", "-4", "3"]]
    opened.close()


@browser_only
def test_a_comment_or_name_cannot_inject_markup(browser, tmp_path):
    path, _ = write_page(tmp_path, [INJECTION, "--x", "3"])
    opened = Opened(browser, path)
    page = opened.page
    walk_all_steps(opened)
    page.click("#walk_n2")
    assert page.evaluate("() => [window.pwned, document.images.length, document.scripts.length]") == [None, 0, 2]
    assert "</script><img" in page.text_content("#walk-source")
    opened.close()


@browser_only
def test_structure_only_page_opens_cleanly(browser, tmp_path):
    path, _ = write_page(tmp_path, ["(x+y)*z"])
    opened = Opened(browser, path)
    assert "bind every variable" in opened.page.text_content("#walk-caption")
    (add,) = [key for key, node in page_data(path)["nodes"].items() if node.get("op") == "add"]
    opened.page.click(f"#walk_{add}")
    assert "x+y" in opened.page.text_content("#walk-details")
    opened.close()
