"""Classroom exercises and their autograder.

Each exercise is a skeleton file a student copies and fills in; the grader loads
the student's file, runs its functions on seeded cases (the tricky ones included:
strides, ``"same"`` padding with an odd total, ties, values at the ReLU's kink) and
compares them with minidecnn's reference kernels and layers and with centred
differences from :mod:`minidecnn.gradcheck`. It prints what is wrong: the case,
expected against received, and a hint when the answer matches a known mistake.

==================  =====================================================================
exercise            functions to write
==================  =====================================================================
``conv_forward``    ``window_geometry``, ``im2col``, ``conv_forward``
``conv_backward``   ``col2im``, ``conv_backward`` (the transposed convolution, dW, db)
``maxpool``         ``maxpool_forward`` (with switches), ``maxpool_backward`` (unpooling)
``relu_rules``      ``relu_forward``, ``relu_gradient``, ``relu_deconvnet``, ``relu_guided``
``smoothgrad``      ``noise_sigma``, ``smoothgrad``
==================  =====================================================================

From the command line::

    minidecnn check --list                       # the exercises
    minidecnn check --start maxpool my_pool.py   # copy the skeleton to my_pool.py
    minidecnn check maxpool my_pool.py           # grade it: exit status 0, 1 or 2

(``python -m minidecnn.exercises ...`` takes the same arguments.) From Python::

    from minidecnn.exercises import check
    report = check("maxpool", "my_pool.py")
    print(report)            # what passed and what is wrong
    report.status            # 0 passed, 1 wrong answer, 2 unusable input

Only the student's file is executed, as ``python my_pool.py`` would run it.

>>> sorted(EXERCISES)
['conv_backward', 'conv_forward', 'maxpool', 'relu_rules', 'smoothgrad']
>>> check("maxpool", "no_such_file.py").status
2
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from . import conv, noise, pool, relu
from .grading import (
    TIME_LIMIT,
    UNUSABLE,
    CaseResult,
    ExerciseReport,
    Grader,
    Unfinished,
    Unusable,
    load_student_module,
)


@dataclass(frozen=True)
class Exercise:
    """One exercise: its functions, what it teaches, and how it is graded."""

    name: str
    title: str
    functions: tuple
    grade: object  # callable(Grader) -> None

    @property
    def skeleton(self) -> Path:
        """The skeleton file shipped with minidecnn."""
        return Path(__file__).resolve().parent / "skeletons" / f"{self.name}.py"


EXERCISES = {
    e.name: e
    for e in (
        Exercise(
            "conv_forward",
            "convolution forward pass through im2col (TensorFlow's 'same' padding)",
            ("window_geometry", "im2col", "conv_forward"),
            conv.grade_forward,
        ),
        Exercise(
            "conv_backward",
            "convolution backward pass: col2im, the transposed convolution, dW and db",
            ("col2im", "conv_backward"),
            conv.grade_backward,
        ),
        Exercise(
            "maxpool",
            "max-pooling with switches (ties, padding) and its backward pass, unpooling",
            ("maxpool_forward", "maxpool_backward"),
            pool.grade,
        ),
        Exercise(
            "relu_rules",
            "the ReLU's three backward rules: gradient, DeconvNet, guided backpropagation",
            ("relu_forward", "relu_gradient", "relu_deconvnet", "relu_guided"),
            relu.grade,
        ),
        Exercise(
            "smoothgrad",
            "SmoothGrad's noise: sigma from each image's range, Gaussian, seeded, averaged",
            ("noise_sigma", "smoothgrad"),
            noise.grade,
        ),
    )
}


def _unknown(exercise) -> str:
    from ..errors import did_you_mean

    return (
        f"unknown exercise {exercise!r}.{did_you_mean(str(exercise), EXERCISES)} Expected one "
        f"of {', '.join(sorted(EXERCISES))} (minidecnn check --list describes them)."
    )


def check(exercise: str, path, verbose: bool = False, time_limit=TIME_LIMIT) -> ExerciseReport:
    """Grade the student's file ``path`` for ``exercise``.

    Parameters
    ----------
    exercise : str
        One of :data:`EXERCISES` (``"conv_forward"``, ``"conv_backward"``, ``"maxpool"``,
        ``"relu_rules"``, ``"smoothgrad"``).
    path : str or os.PathLike
        The student's Python file (a filled-in copy of the skeleton).
    verbose : bool, default False
        Also print the report.
    time_limit : float or None, default :data:`~minidecnn.exercises.grading.TIME_LIMIT`
        Seconds each call of a student's function (and loading the file) may take; a
        call that runs longer is stopped and graded as a failure. None: no limit.

    Returns
    -------
    ExerciseReport
        ``report.status`` is 0 (every case passed), 1 (a wrong answer) or 2 (unusable
        input: unknown exercise, missing file, syntax error, an error while loading,
        a missing function); ``print(report)`` says what is wrong and why.

    Notes
    -----
    The file is compiled and executed as a fresh module (with :mod:`importlib`, from
    its path) and nothing else is run; the answers it is compared with come from
    minidecnn's kernels, layers and gradient checker.
    """
    shown = os.fspath(path) if isinstance(path, str | os.PathLike) else repr(path)
    if exercise not in EXERCISES:
        report = ExerciseReport(str(exercise), shown, UNUSABLE, error=_unknown(exercise))
    elif not isinstance(path, str | os.PathLike):
        report = ExerciseReport(
            exercise,
            shown,
            UNUSABLE,
            error=f"expected the path of a .py file, received {type(path).__name__}.",
        )
    else:
        ex = EXERCISES[exercise]
        try:
            module = load_student_module(path, ex.functions, time_limit)
        except Unusable as exc:
            report = ExerciseReport(exercise, shown, UNUSABLE, error=str(exc))
        else:
            grader = Grader(module, path, time_limit)
            ex.grade(grader)
            report = grader.finish(exercise)
    if verbose:
        print(report)
    return report


def start(exercise: str, path, overwrite: bool = False) -> Path:
    """Copy the skeleton of ``exercise`` to ``path`` (a new file) and return its path.

    Raises
    ------
    ValueError
        For an unknown exercise.
    FileExistsError
        If ``path`` exists and ``overwrite`` is False (a student's work is never
        replaced silently).
    """
    if exercise not in EXERCISES:
        raise ValueError(_unknown(exercise))
    target = Path(os.fspath(path))
    if target.exists() and not overwrite:
        raise FileExistsError(
            f"{os.fspath(target)!r} exists. Expected a new file name (your work is never "
            f"overwritten), or pass overwrite=True."
        )
    shutil.copyfile(EXERCISES[exercise].skeleton, target)
    return target


def listing() -> str:
    """The exercises, one per line, with the functions to write."""
    rows = []
    for ex in EXERCISES.values():
        rows.append(f"{ex.name:<14} {ex.title}")
        rows.append(f"{'':<14} write: {', '.join(ex.functions)}")
    return "\n".join(rows)


def main(argv=None) -> int:
    """``minidecnn check`` / ``python -m minidecnn.exercises``: grade, list or start.

    ``EXERCISE FILE`` grades ``FILE``; ``--list`` lists the exercises; ``--start
    EXERCISE FILE`` copies the skeleton to ``FILE``. Returns the exit status: 0
    passed, 1 wrong answer, 2 unusable input (a one-line reason, no traceback).
    """
    parser = argparse.ArgumentParser(
        prog="minidecnn check",
        description="Grade a classroom exercise: minidecnn check EXERCISE FILE.",
    )
    parser.add_argument("exercise", nargs="?", help="the exercise name (see --list)")
    parser.add_argument("file", nargs="?", help="your .py file")
    parser.add_argument("--list", action="store_true", help="list the exercises")
    parser.add_argument(
        "--start", action="store_true", help="copy the exercise's skeleton to FILE"
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        default=TIME_LIMIT,
        metavar="SECONDS",
        help=f"stop a call of your function after SECONDS (default {TIME_LIMIT:g})",
    )
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse printed the usage; keep the status convention
        return UNUSABLE if exc.code else 0
    if args.list:
        print(listing())
        return 0
    if not args.exercise or not args.file:
        print(
            "minidecnn check: expected EXERCISE FILE (or --list, or --start EXERCISE FILE).",
            file=sys.stderr,
        )
        return UNUSABLE
    if args.start:
        try:
            target = start(args.exercise, args.file)
        except (ValueError, OSError) as exc:
            print(f"minidecnn check --start: {exc}", file=sys.stderr)
            return UNUSABLE
        print(
            f"wrote the skeleton of {args.exercise!r} to {os.fspath(target)}; fill it in, "
            f"then run: minidecnn check {args.exercise} {os.fspath(target)}"
        )
        return 0
    if not args.time_limit > 0:
        print(
            f"minidecnn check: invalid --time-limit. Expected a number of seconds > 0, "
            f"received {args.time_limit:g}.",
            file=sys.stderr,
        )
        return UNUSABLE
    report = check(args.exercise, args.file, time_limit=args.time_limit)
    print(report, file=sys.stderr if report.status == UNUSABLE else sys.stdout)
    return report.status


__all__ = [
    "EXERCISES",
    "CaseResult",
    "Exercise",
    "ExerciseReport",
    "Unfinished",
    "check",
    "listing",
    "main",
    "start",
]
