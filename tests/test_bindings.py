"""cgraph_cli.bindings as pure functions: splitting the command line, numbers, merging bindings."""

import json

import pytest

from cgraph_cli.bindings import check_name, collect, parse_number, read_vars_file
from cgraph_cli.words import split_args
from cgraph_cli.errors import BindingError, CgraphError, ExitStatus, UsageError

# the option table BindingCommand builds for `eval`: spelling -> long form
VALUE = {"-f": "--file", "--file": "--file", "-v": "--var", "--var": "--var", "--vars": "--vars",
         "--format": "--format", "--precision": "--precision"}
FLAGS = {"--all": "--all", "--debug": "--debug", "-h": "-h", "--help": "--help"}


def split(*words):
    return split_args(list(words), VALUE, FLAGS)


# ---------------------------------------------------------------------------------------------
# split_args
# ---------------------------------------------------------------------------------------------

def test_split_binding_with_separate_value():
    assert split("(x+y)^2", "--x", "1", "--y", "3") == ([], [("x", "1"), ("y", "3")], ["(x+y)^2"])


def test_split_binding_with_equals():
    assert split("x", "--x=1") == ([], [("x", "1")], ["x"])
    assert split("x", "--x=") == ([], [("x", "")], ["x"])


def test_split_binding_takes_next_word_even_when_it_starts_with_minus():
    assert split("x", "--x", "-4") == ([], [("x", "-4")], ["x"])
    assert split("x", "--x", "-inf") == ([], [("x", "-inf")], ["x"])
    assert split("x", "--x", "--format") == ([], [("x", "--format")], ["x"])


def test_split_expression_starting_with_minus_is_positional():
    assert split("-1/f^2", "--f", "2") == ([], [("f", "2")], ["-1/f^2"])
    assert split("-x") == ([], [], ["-x"])
    assert split("-") == ([], [], ["-"])


def test_split_our_options_normalised_to_long_form():
    assert split("-f", "prog.cg", "--format", "json") == (["--file=prog.cg", "--format=json"], [], [])
    assert split("--format=json", "x") == (["--format=json"], [], ["x"])
    assert split("-v", "x=1", "--var", "y=2") == (["--var=x=1", "--var=y=2"], [], [])


def test_split_option_value_may_start_with_minus():
    assert split("-f", "-") == (["--file=-"], [], [])
    assert split("-v", "x=-1") == (["--var=x=-1"], [], [])


def test_split_flags():
    assert split("x", "--all", "--debug", "-h") == (["--all", "--debug", "-h"], [], ["x"])


def test_split_only_exact_spellings_are_ours():
    # a prefix or a near miss of one of our options is a variable binding, not the option
    assert split("x", "--form", "1") == ([], [("form", "1")], ["x"])
    assert split("x", "--formats", "1") == ([], [("formats", "1")], ["x"])
    assert split("x", "--f", "1") == ([], [("f", "1")], ["x"])
    assert split("x", "--v", "1") == ([], [("v", "1")], ["x"])
    assert split("x", "--values", "1") == ([], [("values", "1")], ["x"])


def test_split_short_options_never_combined_but_v_glued_to_a_binding():
    # -vx=1 is -v x=1 (what follows -v is NAME=VALUE); -fprog.cg is not -f prog.cg: an expression
    # may begin with -f (-f*x), so it stays a positional word
    assert split("-vx=1") == (["--var=x=1"], [], [])
    assert split("-v", "x=1") == (["--var=x=1"], [], [])
    assert split("-vx") == ([], [], ["-vx"])
    assert split("-fprog.cg") == ([], [], ["-fprog.cg"])


def test_split_short_option_with_equals_is_not_ours():
    assert split("-f=prog.cg").options == []


def test_split_double_dash_ends_options():
    assert split("--x", "2", "--", "-x", "--y", "3") == ([], [("x", "2")], ["-x", "--y", "3"])
    assert split("--", "--format") == ([], [], ["--format"])


def test_split_keeps_order_and_repeats():
    assert split("--x", "1", "--x", "2").bindings == [("x", "1"), ("x", "2")]


def test_split_binding_without_value():
    # the command decides what a trailing --NAME is (another command's option, or a missing value)
    assert split("x", "--x") == ([], [("x", None)], ["x"])
    with pytest.raises(UsageError, match="--x needs a value: --x VALUE"):
        collect([("x", None)], [], None)


def test_split_option_without_value():
    with pytest.raises(UsageError, match="-f"):
        split("x", "-f")
    with pytest.raises(UsageError, match="--format"):
        split("x", "--format")


@pytest.mark.parametrize("word", ["--1x", "--x-y", "--x.y", "--λ", "--x y"])
def test_split_binding_name_must_be_a_name(word):
    with pytest.raises(UsageError):
        split("x", word, "1")


def test_split_empty():
    assert split() == ([], [], [])


def test_split_errors_are_usage_errors_with_exit_2():
    with pytest.raises(CgraphError) as info:
        split("x", "-f")
    assert info.value.exit_code == ExitStatus.USAGE == 2


# ---------------------------------------------------------------------------------------------
# parse_number
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, value", [
    ("1", 1.0), ("-4", -4.0), ("+2", 2.0), ("2.5", 2.5), (".5", 0.5), ("-.5", -0.5), ("5.", 5.0),
    ("1e-3", 0.001), ("6.02E23", 6.02e23), (" 3 ", 3.0), ("1/3", 1 / 3), ("-1/3", -1 / 3),
    ("2/4", 0.5), ("0", 0.0), ("1e308", 1e308), ("4.9e-324", 5e-324),
])
def test_parse_number(text, value):
    assert parse_number(text, "--x") == value


def test_parse_number_fraction_is_correctly_rounded():
    # Fraction -> float rounds once; 1 / 3 computed in float64 gives the same correctly-rounded value
    assert parse_number("1/3", "--x") == 1 / 3
    assert parse_number("1/10", "--x") == 0.1


@pytest.mark.parametrize("text", ["inf", "-inf", "+inf", "Infinity", "-Infinity", "nan", "NaN", "-nan"])
def test_parse_number_rejects_non_finite(text):
    with pytest.raises(BindingError, match="finite"):
        parse_number(text, "--x")


def test_parse_number_rejects_overflow():
    with pytest.raises(BindingError, match="--x"):
        parse_number("1e999", "--x")


@pytest.mark.parametrize("text", ["", "abc", "1..2", "0x10", "1_000", "1,5", "1/2/3", "1.5/2", "--1",
                                  "١", "１", "1e", "e5", "2*3", "1 2", "pi"])
def test_parse_number_rejects_non_numbers(text):
    with pytest.raises(BindingError, match="--x"):
        parse_number(text, "--x")


def test_parse_number_fraction_with_zero_denominator_is_a_binding_error():
    with pytest.raises(BindingError, match="--x"):
        parse_number("1/0", "--x")


def test_parse_number_fraction_too_large_is_a_binding_error():
    with pytest.raises(BindingError, match="--x"):
        parse_number("1" + "0" * 400 + "/1", "--x")


def test_parse_number_names_the_source():
    with pytest.raises(BindingError) as info:
        parse_number("abc", "--rate")
    assert info.value.message.startswith("--rate:")
    assert info.value.exit_code == 2


# ---------------------------------------------------------------------------------------------
# check_name
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["x", "_", "x1", "_tmp", "Format", "format", "e", "pi", "values"])
def test_check_name_accepts(name):
    check_name(name, "--" + name)


@pytest.mark.parametrize("name", ["1x", "", "x-y", "λ", "x y", "x\n"])
def test_check_name_rejects(name):
    with pytest.raises(BindingError):
        check_name(name, "-v")


def test_value_is_reserved():
    with pytest.raises(BindingError, match="reserved"):
        check_name("value", "--value")


# ---------------------------------------------------------------------------------------------
# collect and read_vars_file
# ---------------------------------------------------------------------------------------------

def write(tmp_path, data, name="vars.json"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(path)


def test_collect_bindings_and_var_words():
    assert collect([("x", "1")], ["y=-2", "format=3"], None) == {"x": 1.0, "y": -2.0, "format": 3.0}


def test_collect_var_word_value_may_contain_equals_and_spaces():
    assert collect([], [" x =1/4"], None) == {"x": 0.25}


def test_collect_var_word_without_equals():
    with pytest.raises(UsageError, match="NAME=VALUE"):
        collect([], ["x"], None)


def test_collect_name_bound_twice():
    with pytest.raises(BindingError, match="twice"):
        collect([("x", "1"), ("x", "1")], [], None)
    with pytest.raises(BindingError, match="twice"):
        collect([("x", "1")], ["x=2"], None)


def test_collect_reserved_and_bad_names():
    with pytest.raises(BindingError, match="reserved"):
        collect([("value", "1")], [], None)
    with pytest.raises(BindingError, match="reserved"):
        collect([], ["value=1"], None)
    with pytest.raises(BindingError):
        collect([], ["1x=1"], None)


def test_collect_vars_file_then_command_line_overrides(tmp_path):
    path = write(tmp_path, {"x": 1, "y": 5, "z": 0.5})
    assert collect([("y", "3")], [], path) == {"x": 1.0, "y": 3.0, "z": 0.5}
    assert collect([], ["z=-1"], path) == {"x": 1.0, "y": 5.0, "z": -1.0}


def test_collect_no_bindings():
    assert collect([], [], None) == {}


def test_read_vars_file_numbers_and_fraction_strings(tmp_path):
    path = write(tmp_path, '{"a": 1, "b": -2.5, "c": "1/4", "d": "3", "e": 1e-3}')
    assert read_vars_file(path) == {"a": 1.0, "b": -2.5, "c": 0.25, "d": 3.0, "e": 0.001}
    assert all(type(v) is float for v in read_vars_file(path).values())


def test_read_vars_file_empty_object(tmp_path):
    assert read_vars_file(write(tmp_path, {})) == {}


@pytest.mark.parametrize("content", ["[1, 2]", "3", '"x"', "null"])
def test_read_vars_file_not_an_object(tmp_path, content):
    with pytest.raises(UsageError, match="object"):
        read_vars_file(write(tmp_path, content))


def test_read_vars_file_invalid_json(tmp_path):
    with pytest.raises(UsageError, match="JSON"):
        read_vars_file(write(tmp_path, '{"x": '))


def test_read_vars_file_missing(tmp_path):
    with pytest.raises(UsageError, match="missing.json"):
        read_vars_file(str(tmp_path / "missing.json"))


def test_read_vars_file_not_utf8(tmp_path):
    path = tmp_path / "vars.json"
    path.write_bytes(b'{"x": 1, "\xff": 2}')
    with pytest.raises(CgraphError) as info:
        read_vars_file(str(path))
    assert info.value.exit_code == 2


@pytest.mark.parametrize("content", ['{"x": true}', '{"x": null}', '{"x": {"a": 1}}', '{"x": "abc"}',
                                     '{"x": 1e999}', '{"x": NaN}', '{"x": Infinity}', '{"x": "inf"}'])
def test_read_vars_file_bad_values(tmp_path, content):
    with pytest.raises(CgraphError) as info:
        read_vars_file(write(tmp_path, content))
    assert info.value.exit_code == 2
    assert "x" in info.value.message


@pytest.mark.parametrize("content", ['{"value": 1}', '{"1x": 1}', '{"": 1}'])
def test_read_vars_file_bad_names(tmp_path, content):
    with pytest.raises(BindingError):
        read_vars_file(write(tmp_path, content))


# collect with the exact number reader (--exact): the same words and files, read as Fractions

def test_collect_reads_exact_numbers_through_the_same_code(tmp_path):
    from fractions import Fraction

    from cgraph_cli.bindings import EXACT_NUMBERS

    path = write(tmp_path, '{"a": 0.1, "b": 2, "c": "1/3", "d": 5}')
    values = collect([("d", "0.25")], ["e=1e-3"], path, number=EXACT_NUMBERS)
    assert values == {"a": Fraction(1, 10), "b": 2, "c": Fraction(1, 3), "d": Fraction(1, 4),
                      "e": Fraction(1, 1000)}
    assert all(type(v) is Fraction for v in values.values())
    with pytest.raises(UsageError, match=r"--x: --exact is for scalar formulas; this binding is a tensor"):
        collect([("x", "[1, 2]")], [], None, number=EXACT_NUMBERS)
    with pytest.raises(UsageError, match=r": t: --exact is for scalar formulas"):
        collect([], [], write(tmp_path, '{"t": [1, 2]}', "t.json"), number=EXACT_NUMBERS)
