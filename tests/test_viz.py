"""Tests for jaxselforg.viz: mosaic layout, filter tiles, and that every figure helper
draws what it says (lines, ticks, panels) and saves a readable PNG."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from jaxselforg import viz  # noqa: E402


def test_image_grid_places_tiles_row_major_with_padding():
    images = np.arange(5, dtype=np.float32)[:, None, None] * np.ones((5, 2, 3), np.float32)
    grid = viz.image_grid(images, n_cols=3, pad=1, pad_value=-1.0)
    assert grid.shape == (2 * 3 - 1, 3 * 4 - 1)
    np.testing.assert_array_equal(grid[0:2, 4:7], 1.0)   # image 1: row 0, column 1
    np.testing.assert_array_equal(grid[3:5, 0:3], 3.0)   # image 3: row 1, column 0
    np.testing.assert_array_equal(grid[3:5, 8:11], -1.0)  # the empty sixth tile
    np.testing.assert_array_equal(grid[2], -1.0)          # the separator row
    flat = viz.image_grid(np.ones((4, 9)))                # flat 3x3 squares, 2x2 by default
    assert flat.shape == (7, 7)
    with pytest.raises(ValueError, match="square size"):
        viz.image_grid(np.ones((4, 10)))
    with pytest.raises(ValueError, match=r"\[n, h, w\] or \[n, h\*w\]"):
        viz.image_grid(np.ones((0, 2, 2)))


def test_filter_tiles_orders_by_norm_and_scales_each_to_its_max():
    w = np.zeros((4, 3), np.float32)
    w[:, 0] = [1.0, 0, 0, 0]
    w[:, 1] = [0, -4.0, 0, 2.0]  # the largest norm: shown first
    tiles = viz.filter_tiles(w, 2, image_shape=(2, 2))
    assert tiles.shape == (2, 5)  # two 2x2 tiles side by side, one pixel apart
    np.testing.assert_allclose(tiles[:, :2].reshape(-1), [0.5, 0.0, 0.5, 0.75])
    np.testing.assert_allclose(tiles[:, 3:].reshape(-1), [1.0, 0.5, 0.5, 0.5])
    with pytest.raises(ValueError, match=r"w must be \[4, m\]"):
        viz.filter_tiles(np.ones((5, 2)), 1, image_shape=(2, 2))


def test_figures_draw_their_content_and_save(tmp_path):
    fig = viz.mosaic_figure(np.zeros((2, 3, 4, 4)), 3, "traversal", row_labels=["z1", "z2"])
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["z1", "z2"]
    path = viz.save_figure(fig, tmp_path / "sub" / "mosaic.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    fig, ax = plt.subplots()
    viz.plot_curves(ax, {"a": [3.0, 2.0, 1.0], "b": [1.0, 1.5]}, ylabel="loss", log=True)
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["a", "b"]
    np.testing.assert_array_equal(lines[1].get_xdata(), [1, 2])  # epochs count from 1
    assert ax.get_yscale() == "log" and ax.get_legend() is not None
    plt.close(fig)

    codes = np.random.default_rng(0).normal(size=(30, 2))
    fig = viz.latent_scatter(codes, np.arange(30) % 3, ["a", "b", "c"], "codes")
    assert len(fig.axes[0].collections) == 3
    plt.close(fig)
    with pytest.raises(ValueError, match=r"codes must be \[n, 2\]"):
        viz.latent_scatter(np.zeros((3, 3)), np.zeros(3), ["a"], "bad")

    labels = np.array([[0, 1], [-1, 1]])
    fig = viz.som_maps_figure(np.ones((2, 2)), np.array([[3, 1], [0, 2]]), labels, ["aaaaa", "b"])
    texts = [t.get_text() for t in fig.axes[2].texts]
    assert sorted(texts) == ["aaaa", "b", "b"]  # no name on the unit that won nothing
    plt.close(fig)


def test_confusion_figure_counts_true_against_predicted_and_skips_unmatched():
    true = np.array([0, 0, 1, 2, 2, 2])
    predicted = np.array([0, 1, 1, 2, -1, 0])  # -1: a cluster matched to no class
    fig = viz.confusion_figure(true, predicted, ["a", "b", "c"], "t", xlabel="cluster")
    ax = fig.axes[0]
    counts = ax.images[0].get_array()
    np.testing.assert_array_equal(counts, [[1, 1, 0], [0, 1, 0], [1, 0, 1]])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    assert ax.get_xlabel() == "cluster" and ax.get_ylabel() == "true class"
    assert sorted(t.get_text() for t in ax.texts) == ["0"] * 4 + ["1"] * 5
    plt.close(fig)
