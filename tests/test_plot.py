"""Figures: each function runs, lays out the expected panels and writes a PNG."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

import minidecnn as mdc
from minidecnn import plot
from minidecnn.explain.evolution import feature_evolution
from minidecnn.explain.projection import top_projections
from minidecnn.explain.tracer import trace
from minidecnn.explain.unpooling import unpooling_experiment
from minidecnn.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU


def small_net(channels=3):
    return mdc.Sequential(
        [
            mdc.Input((12, 12, channels)),
            Conv2D(5, 3, name="conv1", seed=0),
            ReLU(name="relu1"),
            MaxPool2D(2, name="pool1"),
            Conv2D(4, 3, name="conv2", seed=1),
            ReLU(name="relu2"),
            Flatten(name="flat"),
            Dense(3, name="fc", seed=2),
        ]
    )


@pytest.fixture(scope="module")
def data():
    return np.random.default_rng(0).standard_normal((20, 12, 12, 3)).astype(np.float32)


def n_images(fig):
    return sum(len(ax.images) for ax in fig.axes)


def saved(fig, tmp_path, name):
    path = tmp_path / name
    fig.savefig(path)
    return path.stat().st_size > 1000


def test_top_projections_grid_has_projections_and_patches(data, tmp_path):
    model = small_net()
    tops = top_projections(model, data, "relu2", [0, 2], k=9, progress=False)
    fig = plot.plot_top_projections(tops, save=tmp_path / "top9.png")
    assert isinstance(fig, Figure)
    assert n_images(fig) == 2 * 2  # two channels, a mosaic of projections and one of patches
    # relu2 sees 8 x 8 pixels: 3 x 3 tiles of 8 x 8, 1 pixel apart
    assert all(ax.images[0].get_array().shape == (26, 26, 3) for ax in fig.axes)
    assert (tmp_path / "top9.png").stat().st_size > 1000
    # k = 5 fills a 2 x 3 grid, the empty cell stays white; exact crops also work
    one = top_projections(model, data, "pool1", 1, k=5, progress=False)
    fig = plot.plot_top_projections(one, aligned=False)
    sheet = fig.axes[0].images[0].get_array()
    assert sheet.shape == (2 * 4 + 1, 3 * 4 + 2, 3)
    assert (sheet[5:, 10:] == 1.0).all()


def test_mosaic_by_hand():
    tiles = [np.zeros((2, 2, 3)), np.full((1, 2, 3), 0.5)]
    sheet = plot.mosaic(tiles, 1, 3)
    assert sheet.shape == (2, 8, 3)
    assert sheet[:, :2].max() == 0 and sheet[0, 3:5, 0].tolist() == [0.5, 0.5]
    assert (sheet[1, 3:5] == 1.0).all() and (sheet[:, 6:] == 1.0).all()


def test_feature_evolution_has_one_cell_per_channel_and_checkpoint(data, tmp_path):
    model = small_net()
    w = model.get_weights()
    other = {k: {p: -v for p, v in ps.items()} for k, ps in w.items()}
    evo = feature_evolution(model, data, "relu1", [0, 1, 4], [w, other, w], progress=False,
                            labels=["epoch 1", "epoch 2", "epoch 3"])  # fmt: skip
    fig = plot.plot_feature_evolution(evo, save=tmp_path / "evo.png")
    assert n_images(fig) == 3 * 3
    assert (tmp_path / "evo.png").stat().st_size > 1000
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert texts.count("epoch 2") == 1


def test_unpooling_figure(tmp_path):
    img = np.random.default_rng(0).uniform(size=(32, 32, 3))
    fig = plot.plot_unpooling(unpooling_experiment(img, levels=3), save=tmp_path / "u.png")
    assert n_images(fig) == 4 + 4 + 4  # the chain (image + 3 pools), the 4 results, the zoom
    assert saved(fig, tmp_path, "u2.png")


def test_trace_figure_rows_are_relus_and_input(data, tmp_path):
    model = small_net()
    t = trace(model, data[0], 1)
    fig = plot.plot_trace(t, save=tmp_path / "trace.png")
    assert n_images(fig) == (2 + 1) * 4  # relu1, relu2, input x (forward + 3 rules)
    fig = plot.plot_trace(t, keys=["conv2", "pool1"])
    assert n_images(fig) == 3 * 4
    assert (tmp_path / "trace.png").stat().st_size > 1000


def test_filters_and_activations(data, tmp_path):
    model = small_net()
    fig = plot.plot_filters(model, save=tmp_path / "filters.png")
    assert fig.axes[0].images[0].get_array().shape == (3 * 2 + 1, 3 * 3 + 2, 3)  # 5 in 2 x 3
    fig = plot.plot_filters(model, layer="conv2")  # 5 input channels: grey tiles
    assert fig.axes[0].images[0].get_array().shape == (3 * 2 + 1, 3 * 2 + 1, 3)  # 4 in 2 x 2
    fig = plot.plot_activations(model, data[3], save=tmp_path / "acts.png")
    assert [ax.get_title(loc="left").split(":")[0] for ax in fig.axes] == ["relu1", "relu2"]
    assert fig.axes[0].images[0].get_array().shape == (10, 5 * 10 + 4 * 1, 3)
    fig = plot.plot_activations(model, data[3:4], layers=["conv1"], max_channels=2)
    assert fig.axes[0].images[0].get_array().shape == (10, 2 * 10 + 1, 3)
    for name in ("filters.png", "acts.png"):
        assert (tmp_path / name).stat().st_size > 1000


def test_filters_without_a_convolution_say_so():
    model = mdc.Sequential([mdc.Input((4,)), Dense(2)])
    with pytest.raises(ValueError, match="has no Conv2D layer"):
        plot.plot_filters(model)


def test_methods_top_classes_layout(data, tmp_path):
    model = small_net()
    fig = plot.plot_methods_top_classes(
        model, data[0], top=3, class_names=["a", "b", "c"], n_samples=4,
        save=tmp_path / "methods.png",
    )  # fmt: skip
    assert len(fig.axes) == 3 * 5 and n_images(fig) == 3 * 5
    assert fig.axes[0].get_title() == "input"
    assert (
        fig.axes[1].get_title().startswith("gradient") and fig.axes[4].get_title() == "DeconvNet"
    )
    model.forward(data[:1])
    order = np.argsort(-model.activations["fc"][0])
    labels = [fig.axes[5 * r].get_ylabel().split("\n")[0] for r in range(3)]
    assert labels == [["a", "b", "c"][k] for k in order]
    assert (tmp_path / "methods.png").stat().st_size > 1000
    fig = plot.plot_methods_top_classes(model, data[:1], top=2, methods=("deconvnet",))
    assert len(fig.axes) == 2 * 2
    with pytest.raises(ValueError, match="unknown method 'lrp'"):
        plot.plot_methods_top_classes(model, data[0], methods=("lrp",))


def test_figures_that_need_images_say_so(data):
    dense = mdc.Sequential([mdc.Input((6,)), Dense(4, seed=0, name="h"), ReLU(name="r"),
                            Dense(2, seed=1, name="out")])  # fmt: skip
    x = np.ones((1, 6), np.float32)
    with pytest.raises(ValueError, match=r"plot_trace: the figure draws image-shaped signals"):
        plot.plot_trace(trace(dense, x, 0))
    with pytest.raises(ValueError, match=r"expected layers with image-shaped outputs"):
        plot.plot_activations(dense, x)
    with pytest.raises(ValueError, match=r"received \['flat'\]"):
        plot.plot_activations(small_net(), data[0], layers=["relu1", "flat"])
