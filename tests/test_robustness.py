"""The fuzz campaign's reproducers (issue 11): each bad input gets its documented exit code and message."""

import json
import time

import numpy
import pytest
from numpy.lib import format as npy

from cli_run import cgraph

ONES = "1" * 5000
THREES = "3" * 5000


def refused(result, code, *phrases):
    """Exit `code`, nothing on stdout, one cgraph message on stderr holding every phrase."""
    assert result.code == code, result
    assert result.out == ""
    assert result.err.startswith("cgraph: ") and "Traceback" not in result.err
    for phrase in phrases:
        assert phrase in result.err, result.err


# C1: integers longer than Python's int <-> str limit
def test_huge_index_is_a_parse_error():
    refused(cgraph("eval", f"x[{ONES}]", "--x", "[1,2]"), 2, "parse error", "out of range")


def test_huge_axis_is_a_parse_error():
    refused(cgraph("eval", f"sum([1,2], axis={'9' * 5000})"), 2, "parse error", "out of range")


# C2: a fraction binding with more digits than exact numbers allow
def test_huge_fraction_binding():
    refused(cgraph("eval", "x*2", "--x", f"{ONES}/{THREES}"), 2, "binding error", "4,000 digits")


def test_huge_exponent_binding_with_exact():
    refused(cgraph("eval", "x", "--exact", "--x", "1e" + ONES), 2, "binding error")


# C3: literals deeper than NumPy allows
DEEP = "[" * 70 + "1" + "]" * 70


def test_deep_literal_value():
    refused(cgraph("eval", "x", "--x", DEEP), 2, "binding error", "dimensions")


def test_deep_literal_in_the_expression():
    refused(cgraph("eval", DEEP), 2, "dimensions")


def test_deep_literal_in_a_case(tmp_path):
    cases = tmp_path / "c.jsonl"
    cases.write_text(json.dumps({"expr": "sum(x)", "vars": {"x": json.loads(DEEP)}, "value": 1}) + "\n")
    result = cgraph("check", cases)
    assert result.code in (1, 2) and "Traceback" not in result.err + result.out
    assert "dimensions" in result.err + result.out


# C4, C5: CSV files that hold no matrix
def test_csv_with_a_header_only(tmp_path):
    (tmp_path / "h.csv").write_text("a,b\n")
    refused(cgraph("eval", "sum(X)", "--X", f"@{tmp_path / 'h.csv'}"), 2, "a header line (a, b) and no rows")


def test_csv_of_non_ascii_digits(tmp_path):
    (tmp_path / "h.csv").write_text("٣,1\n", encoding="utf-8")
    refused(cgraph("eval", "sum(X)", "--X", f"@{tmp_path / 'h.csv'}"), 2, "non-ASCII digits")


def test_csv_with_a_huge_field(tmp_path):
    (tmp_path / "w.csv").write_text("1," + "2" * 200_000 + "\n")
    refused(cgraph("eval", "sum(X)", "--X", f"@{tmp_path / 'w.csv'}"), 2, "binding error", "field")


# C6, W6: .npy files that are not arrays
def test_npy_that_is_a_zip(tmp_path):
    (tmp_path / "z.npy").write_bytes(b"PK\x03\x04" + b"\0" * 40)
    refused(cgraph("eval", "sum(X)", "--X", f"@{tmp_path / 'z.npy'}"), 2, "not a .npy file")


def test_npz_renamed_npy(tmp_path):
    numpy.savez(tmp_path / "a.npz", a=numpy.ones(3))
    (tmp_path / "a.npy").write_bytes((tmp_path / "a.npz").read_bytes())
    refused(cgraph("eval", "sum(X)", "--X", f"@{tmp_path / 'a.npy'}"), 2, "not a .npy file")


def test_npy_shorter_than_its_header(tmp_path):
    with open(tmp_path / "t.npy", "wb") as handle:
        npy.write_array_header_1_0(handle, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)})
        handle.write(b"\0" * 16)
    refused(cgraph("eval", "sum(X)", "--X", f"@{tmp_path / 't.npy'}"), 2, "too short for its header")


def test_good_npy_still_loads(tmp_path):
    numpy.save(tmp_path / "g.npy", numpy.arange(6.0).reshape(2, 3))
    result = cgraph("eval", "sum(X)", "--X", f"@{tmp_path / 'g.npy'}", "--format", "plain")
    assert result.code == 0 and result.out.startswith("value 15\n")


# W2: a byte-order mark is stripped from every file cgraph reads
BOM = b"\xef\xbb\xbf"


def test_bom_in_csv(tmp_path):
    (tmp_path / "m.csv").write_bytes(BOM + b"1,2\n3,4\n")
    result = cgraph("eval", "sum(X)", "--X", f"@{tmp_path / 'm.csv'}", "--format", "plain")
    assert result.code == 0 and result.out.startswith("value 10\n")


def test_bom_in_csv_header(tmp_path):
    (tmp_path / "m.csv").write_bytes(BOM + b"a,b\n1,2\n3,4\n")
    result = cgraph("eval", "sum(X)", "--X", f"@{tmp_path / 'm.csv'}:a", "--format", "plain")
    assert result.code == 0 and result.out.startswith("value 4\n")


def test_bom_in_json_tensor_and_vars(tmp_path):
    (tmp_path / "t.json").write_bytes(BOM + b"[1, 2]")
    (tmp_path / "v.json").write_bytes(BOM + b'{"y": 3}')
    result = cgraph("eval", "sum(x)*y", "--x", f"@{tmp_path / 't.json'}", "--vars", tmp_path / "v.json",
                    "--format", "plain")
    assert result.code == 0 and result.out.startswith("value 9\n")


def test_bom_in_cases_files(tmp_path):
    (tmp_path / "c.toml").write_bytes(BOM + b'[[case]]\nexpr = "x*2"\nvars = { x = 1 }\nvalue = 2\n')
    (tmp_path / "c.jsonl").write_bytes(BOM + b'{"expr": "x*2", "vars": {"x": 1}, "value": 2}\n')
    for name in ("c.toml", "c.jsonl"):
        result = cgraph("check", tmp_path / name)
        assert result.code == 0, result


# H2: a long non-number is refused at once
def test_long_non_number_binding_is_fast():
    started = time.perf_counter()
    result = cgraph("eval", "x", "--x", "1" * 20000 + "x")
    refused(result, 2, "expected a number")
    assert time.perf_counter() - started < 2
    assert len(result.err) < 400


def test_long_non_number_in_a_csv_header_is_fast(tmp_path):
    (tmp_path / "p.csv").write_text("x\n" + "1" * 20000 + "x\n")
    started = time.perf_counter()
    result = cgraph("eval", "x", "--points", tmp_path / "p.csv")
    assert result.code == 2 and time.perf_counter() - started < 2


# H1: the implicit-multiplication hint is linear in the input
def test_implicit_multiplication_hint_is_fast():
    started = time.perf_counter()
    result = cgraph("eval", "[" + "1" * 20000 + "] 2")
    refused(result, 2, "implicit multiplication is not supported")
    assert time.perf_counter() - started < 2


@pytest.mark.parametrize("text, hint", [("2x", "2*x"), ("(x+1)(y)", "(...)*(...)"), ("x y", "x*y"),
                                        ("12.5e3 x", "12.5e3*x")])
def test_implicit_multiplication_hint_names_the_operand(text, hint):
    refused(cgraph("eval", text, "--x", 1, "--y", 2), 2, f"write {hint}")


# Notes to act on: reading limits
def test_vars_from_an_endless_file_is_refused():
    refused(cgraph("eval", "x", "--vars", "/dev/zero"), 2, "limit")


# A named constant beside a list in a literal: the ragged-literal parse error, not NumPy's
@pytest.mark.parametrize("text", ["[[1,2], pi]", "[pi, [1,2]]", "[e, [[1e-3, 1]]]"])
def test_constant_beside_a_list_is_a_ragged_literal(text):
    refused(cgraph("eval", text), 2, "parse error", "ragged tensor literal")


def test_constants_in_a_rectangular_literal_still_fold():
    result = cgraph("eval", "sum([[1,2],[pi,e]])", "--format", "plain")
    assert result.code == 0 and result.out.startswith("value 8.859874482048838\n")


# Notes to act on: a cases file's `file =` stays in the cases file's folder
def _case_naming(tmp_path, file):
    (tmp_path / "secret.txt").write_text("x*2\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "in.cg").write_text("x*2\n")
    (tmp_path / "sub" / "link.cg").symlink_to(tmp_path / "secret.txt")
    cases = tmp_path / "sub" / "c.toml"
    cases.write_text(f'[[case]]\nfile = "{file}"\nvars = {{ x = 1 }}\nvalue = 2\n')
    return cases


@pytest.mark.parametrize("file", ["../secret.txt", "ABSOLUTE", "link.cg"])
def test_case_file_outside_the_folder_is_refused(tmp_path, file):
    file = str(tmp_path / "secret.txt") if file == "ABSOLUTE" else file
    cases = _case_naming(tmp_path, file)
    refused(cgraph("check", cases), 2, f"{file} is outside the folder", "--allow-outside")
    assert cgraph("check", cases, "--allow-outside").code == 0


def test_case_file_inside_the_folder_is_read(tmp_path):
    assert cgraph("check", _case_naming(tmp_path, "in.cg")).code == 0


# Notes to act on: at most 100 MiB of a program
def test_endless_program_file_is_refused():
    refused(cgraph("eval", "-f", "/dev/zero"), 2, "usage error", "100 MiB, the limit for a program")


# C9: tolerances in a cases file are finite
@pytest.mark.parametrize("line", ["rtol = inf", "atol = nan", "rtol = -1"])
def test_non_finite_tolerance_in_a_cases_file(tmp_path, line):
    cases = tmp_path / "c.toml"
    cases.write_text(f'{line}\n[[case]]\nexpr = "x"\nvars = {{ x = 1 }}\nvalue = 1\n')
    refused(cgraph("check", cases, "--format", "json"), 2, "must be a finite number >= 0")


# C9, W5: numeric options are finite (a usage error, exit 2)
@pytest.mark.parametrize("args", [
    ("minimize", "x^2", "--x", "1", "--tol", "inf", "--format", "json"),
    ("gradcheck", "x^2", "--x", "1", "--eps", "inf", "--format", "json"),
    ("minimize", "x", "--x", "1", "--lr", "nan"),
    ("minimize", "x", "--x", "1", "--lr", "inf"),
    ("minimize", "x", "--x", "1", "--beta", "nan"),
    ("eval", "x", "--x", "1", "--expect", "value=1", "--rtol", "nan"),
    ("eval", "x", "--x", "1", "--expect", "value=1", "--atol", "inf"),
    ("gradcheck", "x^2", "--x", "1", "--eps", "nan"),
    ("gradcheck", "x^2", "--x", "1", "--rtol", "-inf"),
])
def test_numeric_options_are_finite(args):
    result = cgraph(*args)
    assert result.code == 2 and result.out == "", result
    assert "is not a finite number" in result.err or "is not in the range" in result.err, result.err


# W1: the finiteness check holds once arrays appear in the graph
@pytest.mark.parametrize("text, node", [("sum([1,2])*1e308*10", "in sum([1,2])*1e308 at"),
                                        ("sum([1e999, 1])", "in [1e999, 1] at"),
                                        ("sum([1,2]) + 1e999", "in 1e999 at")])
def test_non_finite_values_beside_arrays(text, node):
    refused(cgraph("eval", text, "--format", "plain"), 3, "evaluation error", "not a finite float64", node)


# W3: max and min pass a gradient near the top of float64 on unchanged
@pytest.mark.parametrize("text", ["max(x, 0)*1e308", "min(x, 2)*1e308"])
def test_selection_gradient_near_the_float_limit(text):
    result = cgraph("grad", text, "--x", "1")
    assert result.code == 0 and result.out == "x 1e+308\n", result


# C7: exact powers beyond float64's range stay exact
def test_exact_power_beyond_float_range():
    result = cgraph("eval", "x^400", "--x", "10", "--exact", "--format", "plain")
    assert result.code == 0, result
    assert result.out.splitlines()[0] == "value 1" + "0" * 400
    assert result.out.splitlines()[1] == "x 4" + "0" * 401


def test_exact_power_x585_and_its_hessian():
    result = cgraph("eval", "x^585", "--x", "10", "--exact", "--format", "plain")
    assert result.code == 0 and result.out.splitlines()[0] == "value 1" + "0" * 585, result
    hessian = cgraph("hessian", "x^585", "--x", "10", "--exact", "--format", "json")
    assert hessian.code == 0, hessian
    assert hessian.json()["hessian"]["x"]["x"] == 585 * 584 * 10 ** 583


def test_exact_power_with_too_many_digits():
    refused(cgraph("eval", "(x+1/3)^4000", "--x", "3", "--exact"), 3, "evaluation error", "more than 4,000 digits")


# C10: rounding to --precision digits never passes float64's largest number
@pytest.mark.parametrize("output_format", ["json", "plain"])
def test_precision_at_the_edge_of_the_float_range(output_format):
    result = cgraph("eval", "1.7976931348623157e308", "--format", output_format, "--precision", "5")
    assert result.code == 0, result
    assert "1.7976e+308" in result.out and "inf" not in result.out.lower()
    negative = cgraph("eval", "0-1.7976931348623157e308", "--format", "plain", "--precision", "1")
    assert negative.out.startswith("value -1e+308\n"), negative


# gradcheck near float64's limits: a clear answer, and a step relative to the variable
def test_gradcheck_of_outputs_near_the_float_limit():
    result = cgraph("gradcheck", "x", "--x", "[1e308, 1e308]", "--format", "plain")
    assert result.code == 0 and "Traceback" not in result.err, result
    assert [line.split()[-1] for line in result.out.splitlines()] == ["ok", "ok"]


@pytest.mark.parametrize("text", ["x", "x^2"])
def test_gradcheck_step_is_relative_to_the_variable(text):
    result = cgraph("gradcheck", text, "--x", "1e17", "--format", "plain")
    assert result.code == 0 and result.out.split()[-1] == "ok", result


# W4: JUnit XML stays well-formed whatever a case name holds
def test_junit_with_control_characters_in_a_case_name(tmp_path):
    import xml.dom.minidom

    cases = tmp_path / "n.jsonl"
    cases.write_text('{"name": "a\\u0001b", "expr": "x", "vars": {"x": 1}, "value": 2}\n'
                     '{"name": "c\\u001bd", "expr": "x\\u0002+", "vars": {"x": 1}, "value": 1}\n')
    result = cgraph("check", cases, "--format", "junit")
    assert result.code == 1, result
    document = xml.dom.minidom.parseString(result.out.encode())
    names = [case.getAttribute("name") for case in document.getElementsByTagName("testcase")]
    assert names == ["a\\x01b", "c\\x1bd"]


# C12: Ctrl-C at any moment from the entry point's first line on: `cgraph: interrupted`, exit 130
def _block_sigint():
    """Hold a Ctrl-C sent while the interpreter itself starts (before cgraph's first line, where
    Python would print its own traceback) until the entry point unblocks it."""
    import signal

    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})


def test_ctrl_c_at_random_moments_never_prints_a_traceback():
    import random
    import signal
    import subprocess
    import sys
    from pathlib import Path

    script = Path(sys.executable).parent / "cgraph"
    entry_points = [[sys.executable, "-m", "cgraph_cli"]] + ([[str(script)]] if script.exists() else [])
    for run in range(20):
        command = entry_points[run % len(entry_points)] + ["eval", "--x", "1", "--format", "plain"]
        proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, preexec_fn=_block_sigint)
        time.sleep(random.uniform(0, 0.3))   # standard input stays open: it waits for the program
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        assert b"Traceback" not in err, (command, err.decode())
        assert proc.returncode in (130, -2), (command, proc.returncode, err.decode())
        assert proc.returncode == -2 or err.strip().endswith(b"cgraph: interrupted"), err.decode()


# --points DATA --out -: '-' is standard output, as everywhere else
def test_points_out_dash_is_standard_output(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.csv").write_text("x\n1\n2\n")
    result = cgraph("eval", "x^2", "--points", "p.csv", "--out", "-")
    assert result.code == 0 and result.out.splitlines()[0] == "x,value,d_x", result
    assert not (tmp_path / "-").exists()


# C11: --each-line plain with a tensor value: plain's per-element words on the line's one row
def test_each_line_plain_with_a_tensor_value(tmp_path):
    (tmp_path / "l.txt").write_text("x*2\nsum(x)\n")
    result = cgraph("eval", "--each-line", "--format", "plain", "-f", tmp_path / "l.txt", "--x", "[1,2]")
    assert result.code == 0, result
    assert result.out == "1 value[0] 2 value[1] 4 x[0] 2 x[1] 2\n2 value 3 x[0] 1 x[1] 1\n"


def test_endless_program_on_standard_input_is_refused():
    import subprocess
    import sys

    with open("/dev/zero", "rb") as zeros:
        proc = subprocess.run([sys.executable, "-m", "cgraph_cli", "eval", "-"], stdin=zeros,
                              capture_output=True, timeout=60)
    assert proc.returncode == 2 and proc.stdout == b""
    assert b"standard input is larger than 100 MiB, the limit for a program" in proc.stderr


def test_gradcheck_probe_past_the_float_range_of_an_unused_variable():
    """Found by bench/fuzz.py: the probe a*(1+eps) of a = 1.797e308 is inf, at a variable's node."""
    result = cgraph("gradcheck", "softmax(x)", "--x", "7.3", "--a", "1.7976931348623157e308")
    assert result.code in (0, 1) and "internal error" not in result.err
    assert "a" in result.out


def test_mean_of_an_empty_slice_is_one_message():
    """Found by bench/fuzz.py: NumPy's RuntimeWarning was printed before cgraph's message."""
    result = cgraph("eval", "mean(z[3:])", "--z", "[1, 0]")
    refused(result, 3, "evaluation error")
    assert result.err.count("\n") <= 3 and "RuntimeWarning" not in result.err
