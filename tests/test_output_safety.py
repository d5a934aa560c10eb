"""Text from the input reaches the terminal safely (issue 11: K1, K2, C8, C11, non-UTF-8 output):
never read as rich markup, control characters shown escaped, any stdout encoding, a lone
surrogate from the command line, and a tensor line of an --each-line batch."""

import os
import subprocess
import sys

import pytest

from conftest import runner

run = runner({"COLUMNS": "80"})

COMMENT_ESC = "(x # \x1b]0;owned\x07\n + 1)*2"   # an OSC sequence that would retitle the terminal
MARKUP_COMMENT = "(x # [/bold]\n + 1)*2"


# ----- K2 and C8: user text is never rich markup -----

def test_names_that_look_like_markup_are_shown():
    result = run("eval", "sum([bold, x])", "--bold", "1", "--x", "2", "--format", "table")
    assert result.code == 0, result.err
    assert "sum([bold, x])" in result.out
    assert "[bold, x]" in result.out
    assert "│ bold " in result.out


@pytest.mark.parametrize("extra", [["--format", "table"], ["--steps"], ["--format", "tree"]])
def test_a_closing_tag_in_a_comment_is_text(extra):
    # (wide: at 80 columns the steps table elides the node's text in its middle to keep every number)
    result = run("eval", MARKUP_COMMENT, "--x", "1", *extra, env={"COLUMNS": "160"})
    assert (result.code, result.err) == (0, "")
    assert "[/bold]" in result.out
    assert "value 4" in result.out


def test_hessian_names_and_title_are_text():
    result = run("hessian", "bold*x^2 # [/red]", "--bold", "1", "--x", "2")
    assert result.code == 0, result.err
    assert "[/red]" in result.out
    assert "bold" in result.out


# ----- K1: control characters are shown escaped -----

@pytest.mark.parametrize("args", [
    ["eval", COMMENT_ESC, "--x", "1"],
    ["eval", COMMENT_ESC, "--x", "1", "--format", "table"],
    ["eval", COMMENT_ESC, "--x", "1", "--format", "table", "--all"],
    ["eval", COMMENT_ESC, "--x", "1", "--steps"],
    ["eval", COMMENT_ESC, "--x", "1", "--steps", "--format", "plain"],
    ["eval", COMMENT_ESC, "--x", "1", "--order", "2"],
    ["hessian", COMMENT_ESC.replace("*2", "^3"), "--x", "1"],
    ["graph", COMMENT_ESC, "--x", "1", "--to", "dot"],
    ["graph", COMMENT_ESC, "--x", "1", "--to", "mermaid"],
], ids=["tree", "table", "table-all", "steps", "steps-plain", "order2", "hessian", "dot", "mermaid"])
def test_control_characters_are_escaped(args):
    result = run(*args, env={"COLUMNS": "160"} if "--steps" in args else None)
    assert result.code == 0, result.err
    assert "\x1b" not in result.out and "\x07" not in result.out
    if args[-1] != "mermaid":   # Mermaid draws no source text
        assert r"\x1b]0;owned" in result.out


def test_a_case_name_with_control_characters_is_escaped(tmp_path):
    cases = tmp_path / "cases.toml"
    cases.write_text('[[case]]\nname = "a\\u001b]0;x\\u0007b [bold]"\nexpr = "x*2"\n'
                     'vars = { x = 1 }\nvalue = 3\n', encoding="utf-8")
    result = run("check", cases)
    assert result.code == 1
    assert "\x1b" not in result.out
    assert r"a\x1b]0;x\x07b [bold]" in result.out


def test_json_keeps_the_text_as_it_is():
    result = run("eval", COMMENT_ESC, "--x", "1", "--format", "json")
    assert result.code == 0
    assert result.json()["nodes"][-1]["text"] == "(x # \x1b]0;owned\x07 + 1)*2"


# ----- output encodings that lack the drawing characters; a lone surrogate in argv -----

def cgraph_process(*args, encoding="utf-8"):
    env = {**os.environ, "PYTHONIOENCODING": encoding, "COLUMNS": "80"}
    env.pop("FORCE_COLOR", None)
    return subprocess.run([sys.executable, "-m", "cgraph_cli", *args], capture_output=True, env=env,
                          timeout=60)


@pytest.mark.parametrize("encoding", ["cp1252", "cp437"])
@pytest.mark.parametrize("args", [
    ["minimize", "(x-3)^2", "--x", "1"],
    ["eval", "x*y + sin(x)", "--x", "1", "--y", "2", "--steps"],
    ["eval", "x*y + sin(x)", "--x", "1", "--y", "2", "--format", "table"],
    ["eval", "x*y + sin(x)", "--x", "1", "--y", "2"],
    ["hessian", "x*y + sin(x) # ≈ →", "--x", "1", "--y", "2"],
], ids=["minimize", "steps", "table", "tree", "hessian"])
def test_a_console_without_utf8_gets_ascii(encoding, args):
    result = cgraph_process(*args, encoding=encoding)
    assert result.returncode == 0, result.stderr
    assert b"Traceback" not in result.stderr
    result.stdout.decode(encoding)   # every byte in the console's encoding
    assert "━".encode("utf-8") not in result.stdout


def test_ascii_look_alikes_for_the_symbols():
    result = cgraph_process("eval", "x*x", "--x", "1", encoding="cp437")
    assert result.returncode == 0, result.stderr
    assert b"used 2x" in result.stdout
    assert b"+-- #0 x" in result.stdout


def test_a_lone_surrogate_from_the_command_line_is_escaped():
    result = cgraph_process("hessian", "--x", "1", "--", os.fsdecode(b"x^3 # \xc1"))
    assert result.returncode == 0, result.stderr
    assert b"Hessian of x^3 # \\udcc1 at x = 1" in result.stdout


# ----- C11: a tensor line never loses the --each-line batch -----

def test_each_line_plain_writes_a_tensor_as_element_words(tmp_path):
    lines = tmp_path / "l.txt"
    lines.write_text("x*2\n", encoding="utf-8")
    result = run("eval", "--each-line", "--format", "plain", "-f", lines, "--x", "[1,2]")
    assert (result.code, result.out, result.err) == (0, "1 value[0] 2 value[1] 4 x[0] 2 x[1] 2\n", "")


def test_each_line_plain_tensor_lines_among_others():
    result = run("eval", "--each-line", "--format", "plain", "-f", "-", input="[3]\n1+\n2*3\n")
    assert result.code == 2
    assert result.out == "1 value[0] 3\n2 error 2\n3 value 6\n"
    assert result.err.startswith("cgraph: line 2: parse error")


def test_each_line_jsonl_tensor_line():
    result = run("eval", "--each-line", "-f", "-", input="[3]\n")
    assert result.code == 0
    assert result.out == '{"schema": 1, "line": 1, "value": [3.0], "gradients": {}}\n'
