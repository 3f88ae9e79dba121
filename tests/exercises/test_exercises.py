"""The autograder passes correct answers, fails typical mistakes with a useful message,
and refuses unusable input with exit status 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from minidecnn.exercises import EXERCISES, check, main, start

SOLUTIONS = Path(__file__).resolve().parent / "solutions"


def solution(name: str) -> str:
    return (SOLUTIONS / f"{name}.py").read_text()


def mutate(text: str, old: str, new: str) -> str:
    assert old in text, f"the mutation's anchor {old!r} is not in the solution"
    return text.replace(old, new)


def grade(tmp_path, exercise: str, source: str, name: str = "student.py"):
    path = tmp_path / name
    path.write_text(source)
    return check(exercise, path)


# ----------------------------------------------------------------------------- correct answers


@pytest.mark.parametrize("exercise", sorted(EXERCISES))
def test_a_correct_solution_passes(exercise):
    report = check(exercise, SOLUTIONS / f"{exercise}.py")
    assert report.status == 0, str(report)
    assert report.passed and not report.failures
    assert "PASSED" in str(report)
    assert {r.function for r in report.results} == set(EXERCISES[exercise].functions)


@pytest.mark.parametrize("exercise", sorted(EXERCISES))
def test_the_skeleton_is_graded_as_not_written_yet(exercise):
    report = check(exercise, EXERCISES[exercise].skeleton)
    assert report.status == 1
    text = str(report)
    for fn in EXERCISES[exercise].functions:
        if exercise == "conv_backward" and fn == "im2col":
            continue
        assert f"[todo] {fn}: not written yet" in text


def test_skeletons_state_task_shapes_and_equations():
    for ex in EXERCISES.values():
        text = ex.skeleton.read_text()
        assert f"minidecnn check {ex.name} this_file.py" in text
        assert "Shapes" in text or "shape" in text
        for fn in ex.functions:
            assert f"def {fn}(" in text
        assert "raise Unfinished" in text


# ----------------------------------------------------------------------------- conv mistakes


def test_conv_forward_without_padding(tmp_path):
    src = mutate(
        solution("conv_forward"),
        '    if padding == "valid":\n',
        '    if padding in ("valid", "same"):\n',
    )
    report = grade(tmp_path, "conv_forward", src)
    assert report.status == 1
    text = str(report)
    assert "[FAIL] window_geometry" in text and "That is the 'valid' answer" in text
    assert "you forgot the padding" in text
    assert "wrong shape. Expected (2, 3, 4, 4), received (2, 2, 3, 4)" in text
    # the 'valid' cases still pass: the report says which cases are wrong
    assert any(r.passed and r.function == "conv_forward" for r in report.results)


def test_conv_forward_with_the_extra_padding_on_top(tmp_path):
    src = mutate(
        solution("conv_forward"),
        "return out, total // 2, total - total // 2",
        "return out, total - total // 2, total // 2",
    )
    text = str(grade(tmp_path, "conv_forward", src))
    assert "extra padding goes after (bottom/right)" in text
    assert "TensorFlow (and minidecnn) put it at the bottom/right" in text
    assert "odd totals" in text  # the failing case is named


def test_conv_forward_with_a_flipped_kernel_and_without_bias(tmp_path):
    src = mutate(
        solution("conv_forward"),
        "@ W.reshape(KH * KW * C, F) + b",
        "@ W[::-1, ::-1].reshape(KH * KW * C, F) + b",
    )
    text = str(grade(tmp_path, "conv_forward", src))
    assert "[ok  ] im2col" in text and "[FAIL] conv_forward" in text
    assert "You flipped the kernel" in text and "cross-correlation" in text
    src = mutate(solution("conv_forward"), "@ W.reshape(KH * KW * C, F) + b", "@ W.reshape(-1, F)")
    assert "The bias is missing" in str(grade(tmp_path, "conv_forward", src))


def test_im2col_columns_in_the_wrong_order(tmp_path):
    src = mutate(
        solution("conv_forward"),
        "    return cols.reshape(N * H_out * W_out, KH * KW * C)",
        "    return cols.transpose(0, 1, 2, 5, 3, 4).reshape(N * H_out * W_out, KH * KW * C)",
    )
    text = str(grade(tmp_path, "conv_forward", src))
    assert "wrong column order" in text and "(u, v, c) with c fastest" in text
    assert "expected" in text and "received" in text


def test_col2im_that_overwrites_instead_of_adding(tmp_path):
    src = mutate(
        solution("conv_backward"),
        "dx_pad[:, rows, columns, :] += d[:, :, :, u, v, :]",
        "dx_pad[:, rows, columns, :] = d[:, :, :, u, v, :]",
    )
    report = grade(tmp_path, "conv_backward", src)
    assert report.status == 1
    text = str(report)
    assert "contributions must ADD" in text
    # the stride-2 'valid' case has no overlap in one direction only; the 2x2 example overlaps
    assert "3x3 image, 2x2 kernel" in text
    # the gradient checker and the adjoint identity catch it too
    failing = [r.case for r in report.failures]
    assert any("centred differences" in case for case in failing)
    assert any("adjoint identity" in case for case in failing)


def test_conv_backward_without_cropping_the_padding(tmp_path):
    src = mutate(
        solution("conv_backward"),
        "    return dx_pad[:, top : top + H, left : left + W, :]",
        "    return dx_pad",
    )
    text = str(grade(tmp_path, "conv_backward", src))
    assert "wrong shape. Expected (1, 5, 5, 2), received (1, 7, 7, 2)" in text
    assert "[FAIL] col2im" in text


def test_conv_backward_with_a_wrong_weight_gradient(tmp_path):
    src = mutate(  # averaging over the batch, as a loss would
        solution("conv_backward"),
        "(im2col(x, KH, KW, stride, padding).T @ D)",
        "(im2col(x, KH, KW, stride, padding).T @ D / len(x))",
    )
    report = grade(tmp_path, "conv_backward", src)
    text = str(report)
    assert "[ok  ] col2im" in text
    assert "dW is wrong at" in text
    failing = [r.case for r in report.failures]
    assert all(case.endswith(": dW") for case in failing)
    assert any("two 5x6 images" in case for case in failing)  # N = 2 only


def test_conv_backward_returning_two_arrays(tmp_path):
    src = mutate(solution("conv_backward"), "return dx, dW, D.sum(axis=0)", "return dx, dW")
    text = str(grade(tmp_path, "conv_backward", src))
    assert "returned a tuple of length 2. Expected a tuple (dx, dW, db)" in text


# ----------------------------------------------------------------------------- max-pool mistakes

LOOP_MAXPOOL = """
import numpy as np
from minidecnn.kernels.geometry import window_geometry


def maxpool_forward(x, pool, stride, padding):
    N, H, W, C = x.shape
    H_out, pt, _ = window_geometry(H, pool, stride, padding)
    W_out, pl, _ = window_geometry(W, pool, stride, padding)
    y = np.empty((N, H_out, W_out, C))
    s = np.empty((N, H_out, W_out, C), int)
    for n in range(N):
        for i in range(H_out):
            for j in range(W_out):
                for c in range(C):
                    best, where = -np.inf, -1
                    for u in range(pool):
                        for v in range(pool):
                            h, w = i * stride - pt + u, j * stride - pl + v
                            inside = 0 <= h < H and 0 <= w < W
                            if not inside and SKIP:
                                continue
                            value = x[n, h, w, c] if inside else 0.0
                            if value COMPARE best:
                                best, where = value, h * W + w
                    y[n, i, j, c], s[n, i, j, c] = best, where
    return y, s


def maxpool_backward(dout, switches, x_shape):
    N, H, W, C = x_shape
    dx = np.zeros(x_shape)
    for n in range(N):
        for i in range(switches.shape[1]):
            for j in range(switches.shape[2]):
                for c in range(C):
                    h, w = divmod(int(switches[n, i, j, c]), W)
                    dx[n, h, w, c] ROUTE dout[n, i, j, c]
    return dx
"""


def loop_maxpool(compare=">", skip_padding=True, route="+="):
    return (
        LOOP_MAXPOOL.replace("COMPARE", compare)
        .replace("SKIP", str(skip_padding))
        .replace("ROUTE", route)
    )


def test_the_loop_version_with_the_right_rules_passes(tmp_path):
    assert grade(tmp_path, "maxpool", loop_maxpool()).status == 0


def test_maxpool_with_the_wrong_tie_rule(tmp_path):
    report = grade(tmp_path, "maxpool", loop_maxpool(compare=">="))
    assert report.status == 1
    text = str(report)
    assert "the FIRST maximum in row-major window order wins" in text
    assert "ties: two 6x6 images" in text
    # y is right (the maximum is the same), the switches are not
    failing = {r.case for r in report.failures}
    assert not any(case.endswith(": y") for case in failing)
    assert any(case.endswith(": switches") for case in failing)


def test_maxpool_where_padded_cells_win(tmp_path):
    text = str(grade(tmp_path, "maxpool", loop_maxpool(skip_padding=False)))
    assert "Padded cells must never win" in text
    assert "all-negative" in text


def test_unpooling_that_overwrites_shared_winners(tmp_path):
    report = grade(tmp_path, "maxpool", loop_maxpool(route="="))
    text = str(report)
    assert "[ok  ] maxpool_forward" in text
    assert "signals must ADD" in text and "overlapping 3x3 pool" in text


# ----------------------------------------------------------------------------- ReLU mistakes


def test_deconvnet_rule_applied_as_the_gradient(tmp_path):
    src = mutate(solution("relu_rules"), "return dout * (z > 0)", "return np.maximum(dout, 0)")
    report = grade(tmp_path, "relu_rules", src)
    text = str(report)
    assert report.status == 1
    assert "That is the DeconvNet rule" in text
    assert "[ok  ] relu_deconvnet" in text and "[ok  ] relu_guided" in text
    assert "numerical gradient" in text  # the gradient checker disagrees as well
    assert "by hand: z = [-1, 0, 2, 3]" in text


def test_gradient_rule_applied_as_deconvnet(tmp_path):
    src = mutate(
        solution("relu_rules"),
        "def relu_deconvnet(dout, z):\n    return np.maximum(dout, 0)",
        "def relu_deconvnet(dout, z):\n    return dout * (z > 0)",
    )
    text = str(grade(tmp_path, "relu_rules", src))
    assert "That is the gradient rule: you applied the forward mask" in text


def test_relu_with_the_wrong_rule_at_the_kink(tmp_path):
    src = mutate(solution("relu_rules"), "return dout * (z > 0)", "return dout * (z >= 0)")
    text = str(grade(tmp_path, "relu_rules", src))
    assert "At z == 0 exactly the derivative is taken as 0" in text
    assert "expected 0, received 3" in text  # the by-hand case shows the entry


def test_guided_without_the_forward_mask(tmp_path):
    src = mutate(
        solution("relu_rules"),
        "return np.maximum(dout, 0) * (z > 0)",
        "return np.maximum(dout, 0)",
    )
    text = str(grade(tmp_path, "relu_rules", src))
    assert "Guided backprop also keeps the forward mask" in text


# ----------------------------------------------------------------------------- SmoothGrad mistakes


def test_the_tutorials_uniform_noise(tmp_path):
    src = mutate(
        solution("smoothgrad"),
        "grad_fn(x + rng.standard_normal(x.shape) * sigma)",
        "grad_fn(x + np.random.random(x.shape))",
    )
    report = grade(tmp_path, "smoothgrad", src)
    text = str(report)
    assert report.status == 1
    assert "the original Keras tutorial's bug" in text
    assert "gave different maps" in text and "np.random.*" in text


def test_noise_from_the_range_of_the_whole_batch(tmp_path):
    src = mutate(
        solution("smoothgrad"),
        "return noise_level * (flat.max(axis=1) - flat.min(axis=1))",
        "return np.full(len(x), noise_level * (x.max() - x.min()))",
    )
    text = str(grade(tmp_path, "smoothgrad", src))
    assert "The range is measured per image" in text
    assert "Each image gets its own sigma" in text


def test_uniform_noise_with_the_right_std_is_caught(tmp_path):
    src = mutate(
        solution("smoothgrad"),
        "rng.standard_normal(x.shape) * sigma",
        "rng.uniform(-1, 1, x.shape) * np.sqrt(3) * sigma",
    )
    text = str(grade(tmp_path, "smoothgrad", src))
    assert "Gaussian noise puts 68.3 % there" in text


def test_sum_instead_of_mean(tmp_path):
    src = mutate(solution("smoothgrad"), "return total / n_samples", "return total")
    text = str(grade(tmp_path, "smoothgrad", src))
    assert "That is the sum of the maps: divide by n_samples" in text


# ----------------------------------------------------------------------------- other wrong answers


def test_an_exception_names_the_case_and_the_line(tmp_path):
    src = mutate(solution("relu_rules"), "return np.maximum(z, 0)", "return np.maximum(z, zero)")
    report = grade(tmp_path, "relu_rules", src)
    assert report.status == 1
    text = str(report)
    assert "relu_forward raised NameError: name 'zero' is not defined" in text
    assert "line 7 of student.py" in text


def test_a_missing_return_is_named(tmp_path):
    src = mutate(
        solution("relu_rules"), "return np.maximum(dout, 0) * (z > 0)", "np.maximum(dout, 0)"
    )
    text = str(grade(tmp_path, "relu_rules", src))
    assert "dz is None" in text and "did you forget return?" in text


def test_an_endless_loop_is_stopped_and_graded_as_a_failure(tmp_path):
    """Even one that catches Exception: the timer raises a BaseException."""
    import signal

    before = signal.getsignal(signal.SIGALRM)
    body = ["while True:", "    try:", "        pass", "    except Exception:", "        pass"]
    loop = "\n    ".join(body)
    src = mutate(solution("relu_rules"), "return np.maximum(z, 0)", loop)
    (tmp_path / "student.py").write_text(src)
    report = check("relu_rules", tmp_path / "student.py", time_limit=0.2)
    assert report.status == 1
    text = str(report)
    assert "relu_forward was still running after 0.2 s on this small case" in text
    assert "[FAIL] relu_forward: 1 of 1 case(s) wrong" in text  # stopped once, not per case
    assert "a loop whose condition never becomes false" in text
    assert "[ok  ] relu_guided" in text  # the other functions are still graded
    assert signal.getsignal(signal.SIGALRM) is before  # the timer is put back


def test_a_file_that_hangs_while_loading_is_unusable(tmp_path):
    (tmp_path / "student.py").write_text("import numpy as np\n\nwhile True:\n    pass\n")
    report = check("relu_rules", tmp_path / "student.py", time_limit=0.2)
    assert report.status == 2
    assert "student.py was still running after 0.2 s while loading" in report.error


# ----------------------------------------------------------------------------- unusable input


def test_missing_file(tmp_path):
    report = check("maxpool", tmp_path / "nope.py")
    assert report.status == 2
    assert "no such file" in report.error and "nope.py" in report.error


def test_a_folder_is_not_a_file(tmp_path):
    assert "is a folder" in check("maxpool", tmp_path).error


def test_syntax_error(tmp_path):
    report = grade(tmp_path, "relu_rules", "def relu_forward(z)\n    return z\n")
    assert report.status == 2
    assert "does not compile" in report.error and "line 1" in report.error
    assert "cannot grade" in str(report)


def test_missing_function(tmp_path):
    src = mutate(solution("relu_rules"), "def relu_guided(", "def relu_guidedd(")
    report = grade(tmp_path, "relu_rules", src)
    assert report.status == 2
    assert "does not define relu_guided" in report.error
    assert "relu_guidedd" in report.error  # what was found instead


def test_error_while_loading(tmp_path):
    report = grade(tmp_path, "relu_rules", "import numpy as np\n\n1 / 0\n")
    assert report.status == 2
    assert "raised ZeroDivisionError while loading" in report.error
    assert "line 3 of student.py" in report.error
    assert 'if __name__ == "__main__":' in report.error


def test_exit_calls_in_a_students_file_are_caught(tmp_path):
    report = grade(tmp_path, "relu_rules", "import sys\n\nsys.exit(3)\n")
    assert report.status == 2
    assert "raised SystemExit while loading" in report.error
    src = mutate(solution("relu_rules"), "return np.maximum(z, 0)", "raise SystemExit(1)")
    report = grade(tmp_path, "relu_rules", src)
    assert report.status == 1
    assert "relu_forward raised SystemExit" in str(report)


def test_not_text(tmp_path):
    path = tmp_path / "binary.py"
    path.write_bytes(b"\xff\xfe\x00\x81")
    assert "cannot read binary.py as UTF-8" in check("relu_rules", path).error


def test_unknown_exercise_suggests_the_closest(tmp_path):
    report = check("max_pool", tmp_path / "x.py")
    assert report.status == 2
    assert "unknown exercise 'max_pool'. Did you mean 'maxpool'?" in report.error


def test_only_the_students_file_runs_and_it_leaves_no_module_behind(tmp_path):
    import sys

    before = set(sys.modules)
    src = solution("relu_rules") + "\nLOADED_AS = __name__\n"
    assert grade(tmp_path, "relu_rules", src).status == 0
    assert not [m for m in set(sys.modules) - before if m.startswith("_minidecnn_student")]


# ----------------------------------------------------------------------------- the command line


def test_main_exit_statuses(tmp_path, capsys):
    assert main(["relu_rules", str(SOLUTIONS / "relu_rules.py")]) == 0
    assert "PASSED" in capsys.readouterr().out
    bad = tmp_path / "bad.py"
    bad.write_text(mutate(solution("relu_rules"), "(z > 0)", "(z >= 0)"))
    assert main(["relu_rules", str(bad)]) == 1
    assert "FAILED" in capsys.readouterr().out
    assert main(["relu_rules", str(tmp_path / "missing.py")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["relu_rules"]) == 2
    assert main(["--bogus-option"]) == 2
    assert main(["relu_rules", str(SOLUTIONS / "relu_rules.py"), "--time-limit", "0"]) == 2
    assert "invalid --time-limit" in capsys.readouterr().err
    assert main(["relu_rules", str(SOLUTIONS / "relu_rules.py"), "--time-limit", "30"]) == 0
    assert main(["--list"]) == 0
    out = capsys.readouterr().out
    for name in EXERCISES:
        assert name in out


def test_start_copies_the_skeleton_and_never_overwrites(tmp_path, capsys):
    target = tmp_path / "mine.py"
    assert main(["--start", "maxpool", str(target)]) == 0
    assert target.read_text() == EXERCISES["maxpool"].skeleton.read_text()
    assert "minidecnn check maxpool" in capsys.readouterr().out
    assert main(["--start", "maxpool", str(target)]) == 2
    assert "exists" in capsys.readouterr().err
    with pytest.raises(ValueError, match="unknown exercise"):
        start("nope", tmp_path / "other.py")
