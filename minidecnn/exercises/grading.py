"""The grader's machinery: load a student's file, run one case, compare, report.

Loading runs the student's file and nothing else: the file is compiled and
executed as a fresh module (``importlib`` from its path), so whatever it
imports is what the student chose to import. The reference answers the
grader compares against come from minidecnn itself (the kernels, the layers,
:mod:`minidecnn.gradcheck`), never from the student's file.

Exit statuses (what :func:`minidecnn.exercises.main` returns):

* ``0`` every case passed;
* ``1`` a wrong answer (a wrong value, shape or dtype, an exception raised by the
  student's function, or a function not written yet);
* ``2`` unusable input: the exercise name is unknown, the file is missing or not
  Python, it does not compile, it fails while loading, or a function is missing.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

PASSED, WRONG, UNUSABLE = 0, 1, 2
#: failed cases shown in full per function (the rest are counted)
SHOWN = 3

_module_ids = itertools.count()


class Unfinished(Exception):
    """Raised by the exercise skeletons in the functions a student has not written yet."""


class Unusable(Exception):
    """The input cannot be graded at all (exit status 2); the message says why."""


@dataclass
class CaseResult:
    """One graded case of one function.

    Attributes
    ----------
    function : str
        The student's function.
    case : str
        What the case tests, in words ("stride 2, 'same' padding, odd total").
    passed : bool
    message : str
        What was wrong: expected against received.
    hint : str
        The likely cause, when the wrong answer matches a known mistake.
    """

    function: str
    case: str
    passed: bool
    message: str = ""
    hint: str = ""
    unfinished: bool = False


@dataclass
class ExerciseReport:
    """What :func:`minidecnn.exercises.check` returns.

    Attributes
    ----------
    exercise : str
    path : str
    status : int
        0 passed, 1 wrong answer, 2 unusable input.
    results : list of CaseResult
    error : str
        Why the input was unusable (status 2).
    """

    exercise: str
    path: str
    status: int = PASSED
    results: list = field(default_factory=list)
    error: str = ""

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    @property
    def failures(self) -> list:
        return [r for r in self.results if not r.passed]

    def __str__(self) -> str:
        head = f"minidecnn check {self.exercise} {self.path}"
        if self.status == UNUSABLE:
            return f"{head}\n  cannot grade: {self.error}"
        lines = [head]
        functions = list(dict.fromkeys(r.function for r in self.results))
        for fn in functions:
            mine = [r for r in self.results if r.function == fn]
            bad = [r for r in mine if not r.passed]
            if any(r.unfinished for r in mine):
                lines.append(
                    f"  [todo] {fn}: not written yet (replace its `raise Unfinished(...)` line "
                    f"with your code)"
                )
                continue
            if not bad:
                lines.append(f"  [ok  ] {fn}: {len(mine)} case(s) passed")
                continue
            lines.append(f"  [FAIL] {fn}: {len(bad)} of {len(mine)} case(s) wrong")
            for r in bad[:SHOWN]:
                lines.append(f"         case: {r.case}")
                lines += ["           " + line for line in r.message.splitlines()]
                if r.hint:
                    lines += ["           hint: " + line for line in r.hint.splitlines()]
            if len(bad) > SHOWN:
                lines.append(f"         ... and {len(bad) - SHOWN} more wrong case(s) of {fn}")
        n_bad = len(self.failures)
        if self.status == PASSED:
            lines.append(f"PASSED: all {len(self.results)} cases.")
        else:
            lines.append(f"FAILED: {n_bad} of {len(self.results)} cases wrong.")
        return "\n".join(lines)


# ----------------------------------------------------------------------------- loading


def load_student_module(path, functions) -> object:
    """Compile and run the student's file as a module; check it defines ``functions``.

    Raises
    ------
    Unusable
        Missing or unreadable file, a syntax error, an exception while loading, or
        a missing function (each with what to do about it).
    """
    path = Path(os.fspath(path))
    if not path.exists():
        raise Unusable(f"no such file {os.fspath(path)!r}. Expected the path of your .py file.")
    if not path.is_file():
        raise Unusable(f"{os.fspath(path)!r} is a folder. Expected the path of your .py file.")
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise Unusable(
            f"cannot read {path.name} as UTF-8 text ({exc}). Expected a Python source file."
        ) from None
    try:
        code = compile(source, str(path), "exec")
    except SyntaxError as exc:
        where = f"line {exc.lineno}" if exc.lineno else "somewhere"
        text = (exc.text or "").rstrip()
        shown = f"\n      {text}" if text else ""
        raise Unusable(
            f"{path.name} does not compile: {exc.msg} ({where}).{shown}\n"
            f"  Fix the syntax, then check again (python {path.name} shows the same error)."
        ) from None
    name = f"_minidecnn_student_{next(_module_ids)}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look modules up here
    try:
        exec(code, module.__dict__)  # the student's own code, as `python file.py` would run it
    except (Exception, SystemExit) as exc:  # sys.exit() in a student's file is a bug there
        raise Unusable(
            f"{path.name} raised {type(exc).__name__} while loading: {exc} "
            f"({student_line(exc, path)}). Expected a file that only defines functions; "
            f'move experiments under `if __name__ == "__main__":`.'
        ) from None
    finally:
        sys.modules.pop(name, None)
    missing = [f for f in functions if not callable(getattr(module, f, None))]
    if missing:
        found = sorted(k for k, v in vars(module).items() if callable(v) and not k.startswith("_"))
        raise Unusable(
            f"{path.name} does not define {', '.join(missing)}. Expected the functions "
            f"{', '.join(functions)} (with the names and arguments of the skeleton), found "
            f"{', '.join(found) if found else 'no functions'}."
        )
    return module


def student_line(exc: BaseException, path) -> str:
    """``"line N of file.py"`` for the deepest frame of ``exc`` inside the student's file."""
    target = os.path.realpath(os.fspath(path))
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if os.path.realpath(frame.filename) == target:
            line = frame.lineno
    return f"line {line} of {Path(path).name}" if line else f"called from {Path(path).name}"


# ----------------------------------------------------------------------------- one case


class Grader:
    """Collects the results of one student's module for one exercise."""

    def __init__(self, module, path):
        self.module = module
        self.path = path
        self.results: list[CaseResult] = []
        self.unfinished: set[str] = set()

    def call(self, function: str, case: str, *args):
        """Call the student's function; ``(True, value)`` or ``(False, None)`` after recording
        why it failed (an exception, or a function not written yet: reported once)."""
        if function in self.unfinished:
            return False, None
        fn = getattr(self.module, function)
        args = tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)
        try:
            return True, fn(*args)
        except Unfinished:
            self.unfinished.add(function)
            message = f"{function} is not written yet (it still raises Unfinished)."
            self.results.append(CaseResult(function, "any", False, message, unfinished=True))
        except (Exception, SystemExit) as exc:
            self.fail(
                function,
                case,
                f"{function} raised {type(exc).__name__}: {exc} ({student_line(exc, self.path)}).",
            )
        return False, None

    def ok(self, function: str, case: str) -> None:
        self.results.append(CaseResult(function, case, True))

    def fail(self, function: str, case: str, message: str, hint: str = "") -> None:
        self.results.append(CaseResult(function, case, False, message, hint))

    def compare(
        self,
        function,
        case,
        expected,
        received,
        what="the result",
        exact=False,
        rtol=1e-9,
        atol=1e-12,
        mistakes=(),
        index_names=None,
    ) -> bool:
        """Record whether ``received`` equals ``expected`` (shape, then values).

        ``mistakes`` is a list of ``(wrong_answer, hint)``: when ``received`` matches a
        known wrong answer (an array, or a predicate ``f(received) -> bool``), its hint
        explains the likely cause.
        """
        message = mismatch(expected, received, what, exact, rtol, atol, index_names)
        if message is None:
            self.ok(function, case)
            return True
        hint = ""
        got = as_array(received)
        for wrong, why in mistakes:
            if got is None or got.shape != np.shape(expected):
                matches = not callable(wrong) and _same(wrong, got, exact, rtol, atol)
            elif callable(wrong):
                matches = bool(wrong(got))
            else:
                matches = _same(wrong, got, exact, rtol, atol)
            if matches:
                hint = why
                break
        self.fail(function, case, message, hint)
        return False

    def finish(self, exercise: str) -> ExerciseReport:
        status = PASSED if all(r.passed for r in self.results) else WRONG
        return ExerciseReport(exercise, os.fspath(self.path), status, self.results)


# ----------------------------------------------------------------------------- comparing


def as_array(value):
    """``value`` as a numeric ndarray, or None when it is not one."""
    if value is None:
        return None
    try:
        arr = np.asarray(value)
    except Exception:
        return None
    return arr if arr.dtype.kind in "biuf" else None


def _same(expected, got, exact, rtol, atol) -> bool:
    if got is None:
        return False
    expected = np.asarray(expected)
    if got.shape != expected.shape:
        return False
    if exact:
        return bool(np.array_equal(got, expected))
    return bool(np.allclose(got, expected, rtol=rtol, atol=atol))


def _describe_index(idx, names) -> str:
    if names and len(names) == len(idx):
        return "[" + ", ".join(f"{n}={i}" for n, i in zip(names, idx)) + "]"
    return str(list(idx))


def mismatch(expected, received, what, exact, rtol, atol, index_names=None) -> str | None:
    """None when ``received`` equals ``expected``; otherwise what differs, in words."""
    expected = np.asarray(expected)
    if received is None:
        return (
            f"{what} is None. Expected an array of shape {expected.shape}: did you forget return?"
        )
    got = as_array(received)
    if got is None:
        return (
            f"{what} is a {type(received).__name__}. Expected a numeric array of shape "
            f"{expected.shape}."
        )
    if got.shape != expected.shape:
        return f"{what} has the wrong shape. Expected {expected.shape}, received {got.shape}."
    if exact:
        bad = got != expected
    else:
        if not np.isfinite(got).all():
            n = int((~np.isfinite(got)).sum())
            return f"{what} holds {n} NaN or infinite value(s). Expected finite numbers."
        bad = ~np.isclose(got, expected, rtol=rtol, atol=atol)
    if not bad.any():
        return None
    first = tuple(int(i) for i in np.argwhere(bad)[0])
    n_bad, n_all = int(bad.sum()), bad.size
    rows = [
        f"{what} is wrong at {n_bad} of {n_all} entries. First at "
        f"{_describe_index(first, index_names)}: expected {_fmt(expected[first])}, "
        f"received {_fmt(got[first])}."
    ]
    if expected.ndim >= 2 and expected.size <= 36:
        rows.append(f"expected:\n{_squeeze_show(expected)}\nreceived:\n{_squeeze_show(got)}")
    return "\n".join(rows)


def _fmt(value) -> str:
    """A number as a student would write it (``-1.34041``, ``3``, ``True``)."""
    value = np.asarray(value).item()
    return f"{value:.6g}" if isinstance(value, float) else repr(value)


def only_where(mask, expected, rtol=1e-9, atol=1e-12):
    """A predicate: the answer is right wherever ``mask`` is False and wrong somewhere it is True.

    Recognises mistakes that only show where windows overlap (an overwrite instead of a
    sum), whatever order the student's code wrote in.
    """
    mask = np.asarray(mask, bool)
    expected = np.asarray(expected)

    def predicate(got):
        right = np.isclose(got, expected, rtol=rtol, atol=atol)
        return bool(right[~mask].all() and not right[mask].all())

    return predicate


def _squeeze_show(a) -> str:
    return np.array2string(np.squeeze(np.asarray(a)), precision=4, suppress_small=True)
