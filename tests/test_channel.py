"""The grader's side of the channel, without a kernel: what it accepts from a reply, how
it splits a test cell into visible and hidden parts, and what a failing hidden check says.

Every reply here is written by the test as a hostile kernel would send it."""

import base64
import io
import json
import os
import zipfile

import numpy as np
import pytest

from neuroai_course.grading import channel as ch
from neuroai_course.grading import unprivileged


def npy(arr) -> str:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return base64.b64encode(buf.getvalue()).decode()


def test_plain_arrays_tuples_and_dicts_come_back_as_data():
    value = {"__tuple__": [{"__nd__": npy(np.arange(3.0))}, 2, {"__float__": "nan"},
                           {"__dict__": [["a", "x"], [1, None]]}]}
    arr, two, nan, d = ch.decode(value)
    np.testing.assert_array_equal(arr, [0.0, 1.0, 2.0])
    assert two == 2 and nan != nan and d == {"a": "x", 1: None}


def test_a_zip_archive_posing_as_an_array_is_refused():
    """np.load would return a lazily decompressing NpzFile (0.5 MB sent, 400 MB in the
    grader once indexed); only plain .npy bytes are read."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a.npy", b"\x93NUMPY" + bytes(1_000_000))
    body = base64.b64encode(buf.getvalue()).decode()
    with pytest.raises(ValueError, match="plain .npy"):
        ch.decode({"__nd__": body})


def test_pickled_object_arrays_and_deep_nesting_are_refused():
    buf = io.BytesIO()
    np.save(buf, np.array([object()]), allow_pickle=True)
    with pytest.raises(ValueError):
        ch.decode({"__nd__": base64.b64encode(buf.getvalue()).decode()})
    deep = 1
    for _ in range(ch.MAX_DEPTH + 2):
        deep = [deep]
    with pytest.raises(ValueError, match="nested too deeply"):
        ch.decode(deep)
    with pytest.raises(ValueError, match="unknown value kind"):
        ch.decode({"__code__": "os.system('x')"})


def test_text_from_the_kernel_is_made_valid_utf8():
    """A lone surrogate (the kernel's JSON may carry one) ended the whole run when the
    feedback page was written; it becomes '?'."""
    text = json.loads('"bad \\ud800 value\\u0000"')
    clean = ch.clean_text(text)
    assert clean == "bad ? value?"
    clean.encode("utf-8")  # no error
    assert ch.decode(text) == "bad ? value?"


def test_changed_array_arguments_are_written_back():
    mine = np.zeros(3)
    ch.write_back(mine, np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(mine, [1.0, 2.0, 3.0])
    ch.write_back(mine, np.zeros(4))  # another shape: left alone
    np.testing.assert_array_equal(mine, [1.0, 2.0, 3.0])


def test_outputs_kept_are_bounded_and_html_is_dropped():
    room = [100]
    html = {"output_type": "display_data", "data": {"text/html": "<script>x</script>"}}
    assert ch.keep_output(html, room) is None
    kept = ch.keep_output({"output_type": "stream", "name": "stdout", "text": "x" * 60}, room)
    assert kept["text"] == "x" * 60 and room == [40]
    assert ch.keep_output({"output_type": "stream", "text": "y" * 60}, room) is None


SOURCE = """x = 1
check(x)
### BEGIN HIDDEN TESTS
y = 2
assert y == 3, "the second value"
assert y == 4
### END HIDDEN TESTS
z = 3
"""


def test_a_test_cell_splits_into_visible_and_hidden_parts_keeping_line_numbers():
    parts = unprivileged._parts(SOURCE)
    assert [hidden for _, hidden in parts] == [False, True, False]
    for code, _ in parts:  # each part compiles, and its lines sit where they sat
        compile(code, "<test>", "exec")
    assert parts[1][0].splitlines()[4] == 'assert y == 3, "the second value"'
    assert parts[2][0].splitlines()[7] == "z = 3"


def _failure(code: str, source: str) -> AssertionError:
    try:
        exec(compile(code, "<test t1>", "exec"), {"check_close": _check_close})
    except AssertionError as err:
        return err
    raise AssertionError("did not fail")


def _check_close(name, got, want):  # stands for neuroai_core.checks.check_close
    from neuroai_core.checks import check_close

    check_close(name, got, want)


def test_a_failing_hidden_check_is_named_without_its_values():
    err = _failure('check_close("rate at 2.5 nA", 1.0, 39.2)\n', "")
    label = unprivileged._label(err, "")
    assert label == "rate at 2.5 nA: the values differ from the reference"
    assert "39.2" not in label and "expected" not in label
    parts = unprivileged._parts(SOURCE)
    code = parts[1][0]
    err = _failure(code, SOURCE)
    assert unprivileged._label(err, SOURCE) == "the second value"
    err = _failure(code.replace("y == 3", "y == 2"), SOURCE.replace("y == 3", "y == 2"))
    assert unprivileged._label(err, SOURCE) == "the check on line 6 of the test"


def test_frames_are_length_prefixed_and_capped(tmp_path):
    r, w = os.pipe()
    unprivileged.write_frame(w, {"a": [1, 2]})
    assert unprivileged.read_frame(r) == {"a": [1, 2]}
    unprivileged.write_frame(w, {"b": "x" * 100})
    with pytest.raises(ValueError, match="over the 50 byte limit"):
        unprivileged.read_frame(r, limit=50)
    os.close(r)
    os.close(w)
