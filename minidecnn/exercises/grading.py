"""The grader's machinery: load a student's file, run one case, compare, report.

Loading runs the student's file and nothing else: the file is compiled and
executed as a fresh module (``importlib`` from its path), so whatever it
imports is what the student chose to import. The reference answers the
grader compares against come from minidecnn itself (the kernels, the layers,
:mod:`minidecnn.gradcheck`), never from the student's file.

Exit statuses (what :func:`minidecnn.exercises.main` returns):

* ``0`` every case passed;
* ``1`` a wrong answer (a wrong value, shape or dtype, an exception raised by the
  student's function, a call that runs longer than the time limit, or a function
  not written yet);
* ``2`` unusable input: the exercise name is unknown, the file is missing or not
  Python, it does not compile, it fails or hangs while loading, or a function is
  missing.

**Time limit.** Every call of a student's function, and loading the file, gets
:data:`TIME_LIMIT` seconds (the cases are small: a correct loop version needs well
under a second). An endless loop is interrupted by a ``SIGALRM`` timer and graded
as a failure of that case, so one mistake cannot hang a classroom's grading. The
timer needs POSIX signals and the main thread; elsewhere (Windows, a worker thread)
calls run without a limit.
"""

from __future__ import annotations

import contextlib
import importlib.util
import itertools
import os
import signal
import sys
import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

PASSED, WRONG, UNUSABLE = 0, 1, 2
#: failed cases shown in full per function (the rest are counted)
SHOWN = 3
#: seconds one call of a student's function (or loading the file) may take
TIME_LIMIT = 20.0

_module_ids = itertools.count()


class Unfinished(Exception):
    """Raised by the exercise skeletons in the functions a student has not written yet."""


class Unusable(Exception):
    """The input cannot be graded at all (exit status 2); the message says why."""


class TimeLimitExceeded(BaseException):
    """A student's code ran past the time limit. A ``BaseException``, so that an
    ``except Exception:`` inside the student's loop cannot swallow it."""


@contextlib.contextmanager
def time_limit(seconds):
    """Raise :class:`TimeLimitExceeded` in the block after ``seconds`` of wall time.

    No limit when ``seconds`` is None, without ``signal.setitimer`` (Windows), or off
    the main thread (Python delivers signals to the main thread only).
    """
    usable = (
        seconds is not None
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return

    def on_alarm(signum, frame):
        raise TimeLimitExceeded

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, float(seconds))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


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


def load_student_module(path, functions, time_limit_s=TIME_LIMIT) -> object:
    """Compile and run the student's file as a module; check it defines ``functions``.

    ``time_limit_s``: seconds the file may take to load (None: no limit).

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
        with time_limit(time_limit_s):
            exec(code, module.__dict__)  # the student's code, as `python file.py` would run it
    except TimeLimitExceeded:
        raise Unusable(
            f"{path.name} was still running after {time_limit_s:g} s while loading. Expected "
            f"a file that only defines functions; move experiments under "
            f'`if __name__ == "__main__":` and look for an endless loop at the top level.'
        ) from None
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

    def __init__(self, module, path, time_limit_s=TIME_LIMIT):
        self.module = module
        self.path = path
        self.time_limit_s = time_limit_s  # seconds per call of a student's function
        self.results: list[CaseResult] = []
        self.unfinished: set[str] = set()
        self.timed_out: set[str] = set()  # stopped once: their other cases are skipped

    def call(self, function: str, case: str, *args):
        """Call the student's function; ``(True, value)`` or ``(False, None)`` after recording
        why it failed (an exception, or a function not written yet: reported once)."""
        if function in self.unfinished or function in self.timed_out:
            return False, None
        fn = getattr(self.module, function)
        args = tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)
        try:
            with time_limit(self.time_limit_s):
                return True, fn(*args)
        except TimeLimitExceeded:
            self.timed_out.add(function)
            self.fail(
                function,
                case,
                f"{function} was still running after {self.time_limit_s:g} s on this small "
                f"case and was stopped (its other cases are skipped). Expected it to finish "
                f"in well under a second.",
                "look for a loop whose condition never becomes false (a counter that is "
                "never increased, a `while` over the wrong variable)",
            )
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
