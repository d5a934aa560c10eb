"""The command line never guesses (issue 10): misplaced options, unused bindings, completion,
glued -v, one-line usage errors, advice, and grad's digits on a terminal.

Run as real processes, as a shell script runs cgraph."""

import json
import os
import subprocess
import sys

import pytest

from conftest import on_terminal

COMMAND = [sys.executable, "-m", "cgraph_cli"]


def run(*args, env=None):
    done = subprocess.run([*COMMAND, *map(str, args)], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})
    return done.returncode, done.stdout, done.stderr


def refused(args, *phrases):
    code, out, err = run(*args)
    assert code == 2, err
    assert out == ""
    assert err.startswith("cgraph: usage error: ") and "Traceback" not in err
    for phrase in phrases:
        assert phrase in err, err
    return err


# ----- §1: another command's option is not a variable

@pytest.mark.parametrize("args, option, owners", [
    (["hessian", "x^3", "--x", 2, "--order", 2], "order", "eval, diff"),
    (["diff", "x^2/3", "--precision", 3], "precision", "eval, check"),
    (["minimize", "(x-3)^2", "--x", 0, "--rtol", "1e-3"], "rtol", "eval, grad, gradcheck"),
    (["eval", "(x-3)^2", "--x", 0, "--lr", 0.1], "lr", "minimize"),
    (["grad", "x*y", "--x", 1, "--y", 2, "--format", "json"], "format",
     "eval, check, functions, gradcheck, grade, hessian, jacobian, minimize"),
    (["grad", "x^2", "--x", 1, "--steps"], "steps", "eval"),
])
def test_misplaced_option_is_a_usage_error(args, option, owners):
    err = refused(args, f"--{option} is not an option of 'cgraph {args[0]}' (it is one of {owners}",
                  f"to bind a variable named {option}, write -v {option}=VALUE")
    assert err.count("\n") == 1


def test_the_exact_message_of_the_issue():
    _, _, err = run("grad", "x*y", "--x", 1, "--y", 2, "--format", "json")
    assert err == ("cgraph: usage error: --format is not an option of 'cgraph grad' (it is one of eval, "
                   "check, functions, gradcheck, grade, hessian, jacobian, minimize); to bind a variable named "
                   "format, write -v format=VALUE\n")


def test_an_option_name_the_formula_uses_binds_the_variable():
    code, out, err = run("eval", "x/(sqrt(v)+eps)", "--eps", "1e-8", "--x", 1, "--v", 1, "--format", "plain")
    assert code == 0 and err == ""
    assert "eps " in out


def test_v_binds_any_name_including_option_names():
    code, out, err = run("eval", "format*2", "-v", "format=3", "--format", "plain")
    assert code == 0 and out.startswith("value 6\n")


def test_version_and_debug_after_a_command():
    for command in ("eval", "grad", "check", "gradcheck", "graph", "minimize", "diff", "hessian"):
        code, out, _ = run(command, "--version")
        assert code == 0 and out.startswith("cgraph, version "), command
    code, out, _ = run("eval", "x", "--x", 1, "--debug", "--format", "plain")
    assert code == 0 and out.startswith("value 1\n")


def test_unused_binding_draws_a_note():
    code, out, err = run("eval", "x*2", "--x", 1, "--y", 2, "--format", "plain")
    assert code == 0
    assert err == "cgraph: note: y is bound but not used in the formula\n"
    assert "y 0\n" in out   # still listed with gradient 0
    code, out, err = run("eval", "x*2", "--x", 1, "-v", "y=2", "--format", "json")
    assert "y is bound but not used in the formula" in json.loads(out)["warnings"]


def test_no_note_for_a_vars_file(tmp_path):
    (tmp_path / "v.json").write_text('{"x": 1, "y": 2}')
    code, out, err = run("eval", "x*2", "--vars", tmp_path / "v.json", "--format", "plain")
    assert code == 0 and err == ""


def test_no_note_when_an_error_is_reported():
    code, _, err = run("eval", "sigmoid()", "--x", 1)
    assert code == 2 and "note" not in err


# ----- §3: completion and short forms

def complete(words: str, cword: int, cwd=None) -> list:
    env = {**os.environ, "_CGRAPH_COMPLETE": "bash_complete", "COMP_WORDS": words, "COMP_CWORD": str(cword)}
    done = subprocess.run(COMMAND, capture_output=True, text=True, env=env, cwd=cwd, timeout=60)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    return done.stdout.splitlines()


@pytest.mark.parametrize("words, cword, wanted", [
    ("cgraph eval --format ", 3, {"plain,tree", "plain,table", "plain,json", "plain,plain"}),
    ("cgraph graph x --to ", 4, {"plain,dot", "plain,mermaid", "plain,svg", "plain,png"}),
    ("cgraph grad x --x 1 --precision ", 6, set()),
    ("cgraph minimize x --x 1 --method ", 6, {"plain,gd", "plain,momentum", "plain,adam"}),
    ("cgraph gradcheck x --x 1 --format ", 6, {"plain,table", "plain,json"}),
    ("cgraph hessian x --x 1 --format ", 6, {"plain,table", "plain,json", "plain,plain"}),
    ("cgraph check c.toml --format ", 4, {"plain,junit"}),
    ("cgraph diff x --wrt ", 4, {"plain,x"}),
    ("cgraph grad x*y --x 1 --wrt ", 6, {"plain,x", "plain,y"}),
    ("cgraph minimize w*x --w 1 --wrt w", 6, {"plain,w"}),
    ("cgraph hessian x*y --wrt ", 4, {"plain,x", "plain,y"}),
    ("cgraph eval x*t --x 1 --t 2 --const ", 8, {"plain,t", "plain,x"}),
])
def test_completion_of_values(words, cword, wanted):
    assert wanted <= set(complete(words, cword))


@pytest.mark.parametrize("words, cword", [
    ("cgraph eval -f ", 3), ("cgraph eval --vars ", 3), ("cgraph eval x --points ", 4),
    ("cgraph eval x --out ", 4), ("cgraph graph x -o ", 4), ("cgraph check ", 2), ("cgraph grad -f ", 3),
])
def test_completion_of_file_names(words, cword):
    assert complete(words, cword) == ["file,"]


def test_glued_v():
    code, out, _ = run("eval", "x*y", "-vx=2", "-vy=3", "--format", "plain")
    assert code == 0 and out.startswith("value 6\n")


def test_f_stays_two_words_so_an_expression_may_start_with_minus_f():
    code, out, _ = run("eval", "-f*x", "--f", 2, "--x", 1, "--format", "plain")
    assert code == 0 and out.startswith("value -2\n")


# ----- §4: advice and one-line usage errors

def test_stray_words_after_double_dash():
    refused(["eval", "x + 1", "--", "x", "1"], "did you mean --x 1?")


def test_name_equals_value_without_dashes():
    refused(["eval", "x^2", "x=3"], "did you mean --x 3 (or -v x=3)?")


def test_misspelt_bound_name():
    code, out, err = run("eval", "w_1*x", "--w1", 2, "--x", 1)
    assert code == 2 and out == "" and "did you mean w1 (bound)?" in err


def test_log_with_a_base():
    code, out, err = run("eval", "log(x, 2)", "--x", 4)
    assert code == 2 and "for a base-2 logarithm write log2(x), or log(x)/log(2)" in err


@pytest.mark.parametrize("args, phrase, command", [
    (["evaluate", "x"], "No such command 'evaluate'. (did you mean 'eval'?)", "cgraph"),
    (["eval", "x", "--x", 1, "--format", "foo"], "Invalid value for '--format'", "cgraph eval"),
    (["eval", "x", "--x", 1, "--precision", 40], "Invalid value for '--precision'", "cgraph eval"),
    (["check"], "Missing argument 'CASES'", "cgraph check"),
    (["check", "a", "b"], "unexpected extra argument", "cgraph check"),
])
def test_usage_errors_in_one_line(args, phrase, command):
    code, out, err = run(*args)
    assert code == 2 and out == ""
    first, second = err.splitlines()
    assert first.startswith("cgraph: usage error: ") and phrase in first
    assert second == f"Try '{command} --help'."


# ----- §5: grad for a person

APPLE = ["grad", "price*count*tax", "--price", 100, "--count", 2, "--tax", 1.1]


def test_grad_on_a_terminal_prints_twelve_digits():
    assert "count 110\r\n" in on_terminal([str(a) for a in APPLE])


def test_grad_piped_keeps_the_round_trip_digits():
    code, out, _ = run(*APPLE)
    assert code == 0 and "count 110.00000000000001\n" in out


def test_check_notes_only_the_case_s_own_unused_vars(tmp_path):
    (tmp_path / "c.toml").write_text('vars = { z = 5 }\n[[case]]\nname = "a"\nexpr = "x*2"\n'
                                     'vars = { x = 1, y = 2 }\nvalue = 2\n')
    code, out, err = run("check", tmp_path / "c.toml")
    assert code == 0 and "1 passed, 0 failed" in out
    assert err == "cgraph: note: case a: y is bound but not used in the formula\n"


@pytest.mark.parametrize("option, owner", [("--max-nodes", "graph"), ("--each-line", "eval"),
                                           ("--allow-outside", "check")])
def test_misplaced_option_that_cannot_be_a_name(option, owner):
    refused(["grad", "x", "--x", 1, option, 1], f"{option} is not an option of 'cgraph grad' (it is one of {owner}",
            "cannot be a variable's name")


def test_misplaced_option_with_points(tmp_path):
    (tmp_path / "p.csv").write_text("x\n1\n2\n")
    refused(["eval", "x*y", "--points", tmp_path / "p.csv", "--y", 2, "--lr", 3], "--lr is not an option")


def test_no_note_beside_an_error():
    for args in (["eval", "1/x", "--x", 0, "--y", 2], ["eval", "w_1*x", "--w1", 2, "--x", 1],
                 ["eval", "x*z", "--x", 0, "--y", 2]):
        code, out, err = run(*args)
        assert code in (2, 3) and "note" not in err and err.count("cgraph: ") == 1, err


def test_an_assigned_name_of_data_only_has_no_gradient_to_ask_for():
    refused(["grad", "a=x*2; a*y", "--x", 1, "--y", 3, "--const", "x", "--wrt", "a"],
            "a depends only on data (--const x) and literals")
    code, out, _ = run("grad", "a=x*2; a*y", "--x", 1, "--y", 3, "--wrt", "a")
    assert code == 0 and out == "3\n"


def test_minimize_does_not_count_unused_bindings():
    code, out, err = run("minimize", "x^2", "--x", 1, "--y", 2, "--format", "json")
    assert code == 0 and list(json.loads(out)["variables"]) == ["x"]
    assert "y is bound but not used" in err


def test_minimize_with_only_data():
    refused(["minimize", "x*y", "--x", 1, "--y", 2, "--const", "x", "--const", "y"],
            "every bound variable is data")
