"""11 - VGG16 with the published Keras ImageNet weights: the original tutorial's own setting.

What it teaches
    Everything the earlier demos did on the small shapes model, on the network
    the original Keras tutorial used: VGG16 (Simonyan & Zisserman 2015) with the
    ImageNet weights Keras publishes. minidecnn builds the architecture itself
    (``minidecnn.zoo.vgg16``, every ReLU its own layer), reads the weights file
    with h5py -- no Keras, no TensorFlow -- and applies Keras' "caffe"
    preprocessing (RGB -> BGR, subtract the ImageNet channel means). Then, for
    Grace Hopper's portrait (or ``--image``):

    * the five most likely ImageNet classes (Keras' ``decode_predictions``
      labels, shipped with minidecnn); ImageNet classifiers usually answer
      "military uniform" for this portrait;
    * for each of the top ``--top`` classes: the gradient (Simonyan), Guided
      Backprop (Springenberg) and the DeconvNet (Zeiler & Fergus), all taken at
      the class *logit* as Simonyan et al. do (the tutorial differentiated the
      softmax probability; see demo 03);
    * SmoothGrad of the top class with Gaussian noise of 15 % of the input's
      range (the tutorial's ``np.random.random`` noise was 0.1 % of it, see
      demo 04), next to the plain gradient;
    * DeconvNet projections of the single strongest activation of block3, block4
      and block5 (Zeiler & Fergus's procedure), cropped to the unit's receptive
      field next to the image patch under it: deeper units see larger parts of
      the image.

    The weights file is not shipped (528 MB) and nothing is downloaded: pass the
    path of a copy you have. Without one, the script prints where to get it and
    exits. ``--random-weights`` runs the same code on seeded random weights (the
    maps then show only what demo 10 shows -- the image recovered by the
    backward rules, no decision; it checks that the pipeline works).

    Time: each map costs one forward and one backward pass through VGG16 at
    224x224, about 1.5 s on two cores; the defaults (top 3 classes, 8 SmoothGrad
    samples) need about 20 passes, half a minute. ``--top 5 --samples 50`` is
    the tutorial's full figure and takes a few minutes.

Papers
    K. Simonyan, A. Zisserman. Very Deep Convolutional Networks for Large-Scale
    Image Recognition. ICLR 2015. The saliency papers of demos 03-07.

Run
    python demos/11_vgg16_keras_weights.py [WEIGHTS.h5] [--image PATH] [--out DIR]
        [--top K] [--samples N] [--random-weights] [--quick]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from matplotlib import cbook
from matplotlib.figure import Figure
from matplotlib.image import imread
from PIL import Image

from minidecnn import explain, zoo
from minidecnn.errors import MinidecnnError
from minidecnn.explain.targets import softmax

QUICK_ENV = "MINIDECNN_DEMO_QUICK"  # set to 1 to run every demo in quick mode
WEIGHTS_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels.h5"
WEIGHTS_URL = f"https://storage.googleapis.com/tensorflow/keras-applications/vgg16/{WEIGHTS_FILE}"
WEIGHTS_MD5 = "64373286793e3c8b2b4e3219cbf3544b"
HOW_TO_GET = f"""\
This demo needs the VGG16 ImageNet weights that Keras publishes; minidecnn never
downloads anything. Get the file once (about 528 MB), on a machine with internet:

    file name  {WEIGHTS_FILE}
    address    {WEIGHTS_URL}
    md5        {WEIGHTS_MD5}

for example with   curl -LO {WEIGHTS_URL}
or, if Keras is installed, keras.applications.VGG16(weights="imagenet") saves it as
~/.keras/models/{WEIGHTS_FILE}. Check it with   md5sum {WEIGHTS_FILE}
Then run:   python demos/11_vgg16_keras_weights.py path/to/{WEIGHTS_FILE}
(or add --random-weights to run the same code on random weights)."""
LAYERS = ("block3_conv3_relu", "block4_conv3_relu", "block5_conv3_relu")


def parse_args(argv=None) -> argparse.Namespace:
    name = Path(__file__).stem
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights", nargs="?", default=None, help=f"path of {WEIGHTS_FILE}")
    default = os.path.join("demo_output", name)
    parser.add_argument("--out", default=default, help=f"figure folder (default: {default})")
    parser.add_argument("--image", default=None, help="an RGB image (default: Grace Hopper)")
    parser.add_argument("--top", type=int, default=3, help="classes explained (default 3)")
    parser.add_argument("--samples", type=int, default=8, help="SmoothGrad samples (default 8)")
    parser.add_argument(
        "--random-weights", action="store_true", help="run on seeded random weights instead"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"a small, fast run (also: {QUICK_ENV}=1); without a weights file it checks "
        f"the pipeline on random weights at 32x32",
    )
    args = parser.parse_args(argv)
    args.quick = args.quick or os.environ.get(QUICK_ENV) == "1"
    return args


def load_image(path, size: int) -> np.ndarray:
    """An RGB image as float32 values in [0, 255], centre-cropped to a square, resized."""
    path = path or cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    img = np.asarray(imread(path))
    if img.dtype.kind == "f":  # matplotlib reads PNGs as floats in [0, 1]
        img = np.round(img * 255).astype(np.uint8)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=-1)
    img = img[..., :3]  # drop an alpha channel
    H, W = img.shape[:2]
    side = min(H, W)
    top, left = (H - side) // 2, (W - side) // 2
    square = Image.fromarray(img[top : top + side, left : left + side])
    return np.asarray(square.resize((size, size), Image.BILINEAR), np.float32)


def signed_rgb(m) -> np.ndarray:
    """A signed map as a picture: 0 -> grey, the largest |value| -> black or white."""
    v = float(np.abs(m).max()) or 1.0
    return np.clip(0.5 + 0.5 * np.asarray(m) / v, 0, 1)


def heat(m) -> np.ndarray:
    """Simonyan's max_c |.|, capped at its 99th percentile."""
    h = np.abs(np.asarray(m)).max(axis=-1)
    return np.clip(h / (np.percentile(h, 99) or 1.0), 0, 1)


def figure_top_classes(model, x, image, classes, labels, tag, save):
    """Rows: classes; columns: input, gradient, guided backprop, DeconvNet."""
    k = len(classes)
    batch = np.repeat(x, k, axis=0)
    maps = {
        "gradient\nmax_c |dz/dx|": explain.gradient(model, batch, target=classes),
        "guided backprop": explain.guided_backprop(model, batch, target=classes),
        "DeconvNet": explain.deconvnet(model, batch, target=classes),
    }
    fig = Figure(figsize=(2.3 * 4, 2.4 * k + 0.5), layout="constrained")
    for r in range(k):
        ax = fig.add_subplot(k, 4, 4 * r + 1)
        ax.imshow(image.astype(np.uint8))
        ax.set_ylabel(labels[r], fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
        for j, (name, m) in enumerate(maps.items()):
            ax = fig.add_subplot(k, 4, 4 * r + j + 2)
            if j == 0:
                ax.imshow(heat(m[r]), cmap="gray")
            else:
                ax.imshow(signed_rgb(m[r][..., ::-1]))  # BGR (the network's order) -> RGB
            ax.set_axis_off()
            if r == 0:
                ax.set_title(name, fontsize=9)
    fig.suptitle(f"VGG16{tag}: what each method highlights for the most likely classes",
                 fontsize=10)  # fmt: skip
    fig.savefig(save, dpi=100)


def figure_smoothgrad(model, x, image, c, label, n, tag, save):
    plain = explain.gradient(model, x, target=c)
    sg = explain.smoothgrad(model, x, target=c, n_samples=n, noise_level=0.15, seed=0)
    fig = Figure(figsize=(7.5, 3.0), layout="constrained")
    fig.suptitle(f"VGG16{tag}: SmoothGrad of the top class", fontsize=10)
    panels = [(image.astype(np.uint8), label), (heat(plain[0]), "gradient"),
              (heat(sg[0]), f"SmoothGrad, n = {n},\nsigma = 15 % of the range")]  # fmt: skip
    for k, (a, title) in enumerate(panels):
        ax = fig.add_subplot(1, 3, k + 1)
        ax.imshow(a, cmap="gray" if k else None)
        ax.set_title(title, fontsize=9)
        ax.set_axis_off()
    fig.savefig(save, dpi=100)


def figure_layers(model, x, image, layers, tag, save):
    """Per layer: its strongest activation projected alone, cropped to its receptive field.

    Top row: the input with each unit's receptive field drawn in, then the
    projections, cropped to the field; bottom row: the image patches under them.
    """
    from matplotlib.patches import Rectangle

    colours = ("tab:red", "tab:orange", "tab:cyan", "tab:green")
    cols = len(layers) + 1
    fig = Figure(figsize=(2.4 * cols, 5.0), layout="constrained")
    ax_input = fig.add_subplot(2, cols, 1)
    ax_input.imshow(image.astype(np.uint8))
    ax_input.set_title("input and the receptive fields", fontsize=8)
    ax_input.set_axis_off()
    fig.add_subplot(2, cols, cols + 1).set_axis_off()
    for k, layer in enumerate(layers):
        proj = explain.deconvnet(model, x, target=None, layer=layer)  # the strongest unit
        a = model.activations[layer][0]  # from the forward pass deconvnet just made
        h, w, c = np.unravel_index(int(a.argmax()), a.shape)
        box = explain.receptive_field(model, layer, (int(h), int(w), int(c)))
        colour = colours[k % len(colours)]
        ax_input.add_patch(Rectangle((box.left - 0.5, box.top - 0.5), box.width, box.height,
                                     fill=False, ec=colour, lw=1.2))  # fmt: skip
        ax = fig.add_subplot(2, cols, k + 2)
        ax.imshow(signed_rgb(box.crop(proj[0])[..., ::-1]))  # BGR -> RGB for display
        ax.set_title(f"{layer}, channel {c}\nprojection ({box.height}x{box.width} field)",
                     fontsize=8, color=colour)  # fmt: skip
        ax.set_axis_off()
        ax = fig.add_subplot(2, cols, cols + k + 2)
        ax.imshow(box.crop(image).astype(np.uint8))
        ax.set_title("image patch", fontsize=8)
        ax.set_axis_off()
    fig.suptitle(f"VGG16{tag}: the strongest activation of a layer, projected alone "
                 "(Zeiler & Fergus)", fontsize=10)  # fmt: skip
    fig.savefig(save, dpi=100)


def main(argv=None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    where = Path(__file__).stem
    random_weights = args.random_weights or (args.quick and args.weights is None)
    if args.weights is None:
        print(HOW_TO_GET)
        if not random_weights:
            return 0
        print("\n--quick/--random-weights: checking the pipeline on random weights.\n")
    elif not Path(args.weights).is_file():
        print(f"{where}: no weights file at {args.weights!r}.\n\n{HOW_TO_GET}", file=sys.stderr)
        return 2

    size = 32 if (args.quick and args.weights is None) else 224
    try:
        image = load_image(args.image, size)
    except (OSError, ValueError) as exc:
        print(f"{where}: cannot read the image {args.image!r} ({exc}).", file=sys.stderr)
        return 2
    x = zoo.preprocess_input(image[None])  # RGB -> BGR, minus the ImageNet means
    try:
        if args.weights is None:
            model = zoo.vgg16(input_shape=(size, size, 3), seed=0)
        else:
            model = zoo.vgg16(weights=args.weights)
    except MinidecnnError as exc:
        print(f"{where}: {exc}", file=sys.stderr)
        return 2
    source = "RANDOM weights (the pictures mean nothing)" if args.weights is None else args.weights
    print(f"VGG16 with {source}; built and loaded in {time.perf_counter() - start:.1f} s")

    model.forward(x)
    p = softmax(model.activations[model.logits])
    print("top-5 classes:")
    for wnid, label, score in zoo.decode_predictions(p, top=5)[0]:
        print(f"  {wnid}  {label:<25} {score:.3f}")
    top = 1 if args.quick else max(1, min(args.top, 5))
    classes = [int(c) for c in np.argsort(-p[0])[:top]]
    labels = [f"{lab}\np = {s:.3f}" for _, lab, s in zoo.decode_predictions(p, top=top)[0]]

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tag = " with RANDOM weights" if args.weights is None else ""
    figure_top_classes(model, x, image, classes, labels, tag, out / "vgg16_top_classes.png")
    samples = 2 if args.quick else max(1, args.samples)
    save = out / "vgg16_smoothgrad.png"
    figure_smoothgrad(model, x, image, classes[0], labels[0], samples, tag, save)
    layers = LAYERS[-1:] if args.quick else LAYERS
    figure_layers(model, x, image, layers, tag, out / "vgg16_deconv_layers.png")
    print(f"wrote 3 figures to {out} in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
