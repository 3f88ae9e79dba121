"""The command line: ``minidecnn demo | explain | info | train-demo | check``.

Installed as the ``minidecnn`` console script; ``python -m minidecnn`` runs the same
:func:`main`. Every command has ``--help`` with examples. ``check`` is the classroom autograder of
:mod:`minidecnn.exercises`; its arguments go to :func:`minidecnn.exercises.main`
unchanged (exit status 0 passed, 1 wrong answer, 2 unusable input).

Errors a person can act on (a missing image, an unreadable model file, a target out
of range, an unknown layer or method, a bad option) print one line, starting with
the command, and end the program with exit status 2 -- never a traceback. Any other
exception is a bug in minidecnn and is shown in full.

>>> main(["--version"])  # doctest: +ELLIPSIS
minidecnn ...
0
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from ..errors import MinidecnnError

__all__ = ["build_parser", "main"]

EXIT_USAGE = 2  # what argparse uses for bad options; we use it for every user error

_MAIN_EPILOG = """\
examples:
  minidecnn demo --out minidecnn-demo        the classic figures + index.html
  minidecnn explain photo.jpg --method smoothgrad
  minidecnn explain cat.jpg --vgg16 vgg16_weights_tf_dim_ordering_tf_kernels.h5
  minidecnn info model.keras                 layers, shapes and parameters
  minidecnn train-demo --out my.weights.h5   train the demo model again
  minidecnn check maxpool my_pool.py         grade a classroom exercise

Run 'minidecnn COMMAND --help' for the options of a command.
"""

_DEMO_EPILOG = """\
examples:
  minidecnn demo                           write the figures to ./minidecnn-demo
  minidecnn demo --out ../pictures        somewhere else
  minidecnn demo --weights my.weights.h5   with your own run of 'minidecnn train-demo'

Nothing is trained or downloaded: the demo model ships inside the package. Open
the index.html it writes in a browser.
"""

_EXPLAIN_EPILOG = """\
examples:
  minidecnn explain shape.png                       guided backprop, demo model
  minidecnn explain shape.png --method gradient --target 2
  minidecnn explain shape.png --method deconvnet --layer relu3 --target 5
  minidecnn explain photo.jpg --model my_model.keras --preprocess 255 --labels names.txt
  minidecnn explain cat.jpg --vgg16 vgg16_weights_tf_dim_ordering_tf_kernels.h5 \\
      --method gradcam --out cat_gradcam.png

The image is resized to the model's input size. --target is a class at the logits
(default: the predicted class); with --layer it is a channel of that layer
(default: the layer's strongest activation), projected from its strongest position.
For Grad-CAM, --layer names the convolution whose maps are weighted. The VGG16
weights are Keras' published file 'vgg16_weights_tf_dim_ordering_tf_kernels.h5'
(download it yourself; minidecnn never downloads).
"""

_INFO_EPILOG = """\
examples:
  minidecnn info                 the embedded demo model
  minidecnn info model.h5        a Keras file (.h5, .keras)
"""

_TRAIN_EPILOG = """\
examples:
  minidecnn train-demo                              the shipped recipe (a few minutes)
  minidecnn train-demo --out run2.weights.h5 --seed 1
  minidecnn train-demo --epochs 1 --n-train 500     a quick look
  minidecnn demo --weights run2.weights.h5          the demo with your weights
"""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line, with the way to get help."""

    def error(self, message):
        self.exit(
            EXIT_USAGE,
            f"{self.prog}: error: {message}. Run '{self.prog} --help' for the options.\n",
        )


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, received {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The parser of the ``minidecnn`` command and its sub-commands."""
    from ..demo_model import DEMO_RECIPE
    from .explain_image import METHODS
    from .images import PREPROCESS

    fmt = argparse.RawDescriptionHelpFormatter
    parser = _Parser(
        prog="minidecnn",
        description="See what a convolutional network has learned: DeconvNet, gradient "
        "saliency, SmoothGrad and Guided Backprop, computed from first principles.",
        epilog=_MAIN_EPILOG,
        formatter_class=fmt,
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"minidecnn {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    demo = sub.add_parser(
        "demo",
        help="write the classic figures of the embedded model and an index.html",
        description="Load the embedded demo model and write the classic figures (the "
        "four methods side by side, Zeiler & Fergus top-9 grids, filters, activations, "
        "pooling and unpooling) as PNG files, with an index.html that explains them.",
        epilog=_DEMO_EPILOG,
        formatter_class=fmt,
    )
    demo.add_argument(
        "--out",
        default="minidecnn-demo",
        metavar="DIR",
        help="output folder (default: minidecnn-demo)",
    )
    demo.add_argument(
        "--weights",
        metavar="FILE",
        help="demo-model weights from 'minidecnn train-demo' (default: shipped)",
    )
    demo.add_argument(
        "--quick", action="store_true", help="fewer images and SmoothGrad samples (for tests)"
    )
    demo.set_defaults(run=_run_demo)

    exp = sub.add_parser(
        "explain",
        help="explain one image with one method and write a figure",
        description="Explain why a model classifies an image as it does: compute a "
        "saliency map, DeconvNet projection or relative for one image and write a figure "
        "with the image, the map, and the map over the image.",
        epilog=_EXPLAIN_EPILOG,
        formatter_class=fmt,
    )
    exp.add_argument("image", metavar="IMAGE", help="a PNG or JPEG file")
    source = exp.add_mutually_exclusive_group()
    source.add_argument(
        "--model", metavar="FILE", help="a Keras model file (.h5, .keras); default: the demo model"
    )
    source.add_argument(
        "--weights", metavar="FILE", help="demo-model weights from 'minidecnn train-demo'"
    )
    source.add_argument(
        "--vgg16", metavar="WEIGHTS", help="VGG16 with Keras' published ImageNet weights file"
    )
    exp.add_argument(
        "--method",
        default="guided",
        metavar="NAME",
        help=f"one of: {', '.join(METHODS)} (default: guided)",
    )
    exp.add_argument(
        "--target",
        type=int,
        metavar="N",
        help="class index (or, with --layer, channel); default: predicted class",
    )
    exp.add_argument(
        "--layer", metavar="NAME", help="explain a channel of this layer (see 'minidecnn info')"
    )
    exp.add_argument("--out", metavar="PNG", help="output figure (default: IMAGE_METHOD.png)")
    exp.add_argument(
        "--samples",
        type=_positive_int,
        metavar="N",
        help="SmoothGrad samples (default 50; 10 with --vgg16)",
    )
    exp.add_argument("--seed", type=int, default=0, help="SmoothGrad's noise seed (default 0)")
    exp.add_argument(
        "--preprocess",
        choices=list(PREPROCESS),
        metavar="MODE",
        help="input scaling for --model: "
        + "; ".join(f"{k} = {v[0]}" for k, v in PREPROCESS.items())
        + " (default: unit; caffe with --vgg16)",
    )
    exp.add_argument("--labels", metavar="FILE", help="class names, one per line")
    exp.set_defaults(run=_run_explain)

    info = sub.add_parser(
        "info",
        help="print a model's layers, shapes and parameter counts",
        description="Print the summary of a Keras model file, or of the embedded demo "
        "model when MODEL is 'demo' or omitted.",
        epilog=_INFO_EPILOG,
        formatter_class=fmt,
    )
    info.add_argument(
        "model",
        nargs="?",
        default="demo",
        metavar="MODEL",
        help="a Keras model file, or 'demo' (default)",
    )
    info.set_defaults(run=_run_info)

    train = sub.add_parser(
        "train-demo",
        help="train the embedded demo model again (the shipped recipe)",
        description="Train the demo model from scratch on the generated shapes data, with "
        "the recipe of the shipped weights, and write a .weights.h5 file.",
        epilog=_TRAIN_EPILOG,
        formatter_class=fmt,
    )
    train.add_argument(
        "--out",
        default="demo_shapes.weights.h5",
        metavar="FILE",
        help="output weights file (default: demo_shapes.weights.h5)",
    )
    train.add_argument("--epochs", type=_positive_int, default=DEMO_RECIPE["epochs"])
    train.add_argument(
        "--n-train",
        type=_positive_int,
        default=DEMO_RECIPE["n_train"],
        metavar="N",
        help="training images",
    )
    train.add_argument("--seed", type=int, default=DEMO_RECIPE["seed"])
    train.add_argument(
        "--checkpoint-dir",
        metavar="DIR",
        help="also save the weights before training and after every epoch",
    )
    train.set_defaults(run=_run_train_demo)

    # Listed here for the help; main() hands everything after 'check' to the grader,
    # which has its own arguments and --help.
    sub.add_parser(
        "check",
        help="grade a classroom exercise (see 'minidecnn check --help')",
        add_help=False,
    )
    return parser


# ----------------------------------------------------------------------------- commands


def _run_demo(args) -> int:
    from ..demo import run_demo

    start = time.perf_counter()
    print(f"minidecnn demo: writing figures to {args.out}")
    result = run_demo(args.out, weights=args.weights, quick=args.quick)
    seconds = time.perf_counter() - start
    print(
        f"Done in {seconds:.0f} s: {len(result.figures)} figures. Open "
        f"{result.index.resolve()} in a web browser."
    )
    return 0


def _run_explain(args) -> int:
    from .explain_image import explain_image

    result = explain_image(
        args.image,
        model=args.model,
        weights=args.weights,
        vgg16=args.vgg16,
        method=args.method,
        target=args.target,
        layer=args.layer,
        out=args.out,
        samples=args.samples,
        seed=args.seed,
        preprocess=args.preprocess,
        labels=args.labels,
    )
    if result.top:
        print("top classes:")
        for c, name, p in result.top:
            print(f"  {p:7.3f}  {name} (class {c})")
    print(f"{result.method} for {result.target}")
    print(f"wrote {result.out}")
    return 0


def _run_info(args) -> int:
    if args.model == "demo":
        from ..demo_model import demo_weights_path, load_demo_model

        model = load_demo_model()
        model.summary()
        print(f"input: {model.input_shape}, RGB in [0, 1]; logits at {model.logits!r}")
        print(f"classes: {', '.join(f'{k} {n}' for k, n in enumerate(model.class_names))}")
        print(f"weights: {demo_weights_path()}")
        return 0
    from ..keras import load_keras

    model = load_keras(args.model)
    model.summary()
    print(f"input: {model.input_shape}; logits at {model.logits!r}")
    return 0


def _run_train_demo(args) -> int:
    from ..demo_model import train_demo

    out = args.out
    if not os.fspath(out).endswith(".weights.h5"):
        raise MinidecnnError(
            f"minidecnn train-demo: invalid --out {out!r}. Expected a file name ending in "
            f"'.weights.h5', such as demo_shapes.weights.h5."
        )
    train_demo(
        out,
        n_train=args.n_train,
        epochs=args.epochs,
        seed=args.seed,
        checkpoint_dir=args.checkpoint_dir,
    )
    print(f"Use it with: minidecnn demo --weights {out}")
    return 0


# ----------------------------------------------------------------------------- entry point


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def main(argv=None) -> int:
    """Run the ``minidecnn`` command with ``argv`` (default ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success; 2 for errors the user can fix (one-line message on stderr);
        130 when interrupted.
    """
    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    if argv[:1] == ["check"]:
        from ..exercises import main as check_main

        return check_main(argv[1:])
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error already printed
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if args.command is None:
        parser.print_help()
        return 0
    prog = f"minidecnn {args.command}"
    try:
        return args.run(args)
    except MinidecnnError as exc:
        message = _one_line(exc)
        if not message.startswith("minidecnn"):
            message = f"{prog}: error: {message}"
        print(message, file=sys.stderr)
    except BrokenPipeError:  # 'minidecnn info | head': the reader left; stop quietly
        sys.stdout = open(os.devnull, "w")  # stdout is flushed again at exit
        return 0
    except OSError as exc:  # a file we were asked to write or read: permissions, full disk
        where = f" {exc.filename!r}" if exc.filename else ""
        print(
            f"{prog}: error: cannot use{where}: {exc.strerror or exc}. Check the path and "
            f"that you may write there.",
            file=sys.stderr,
        )
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    return EXIT_USAGE
