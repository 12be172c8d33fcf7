"""colorlab.viz with the Agg backend: the ab-plane drawings (the gamut, the 313 bins) and image_grid's layout."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from colorlab.color import lab_to_rgb, rgb_to_lab  # noqa: E402
from colorlab.palette import bin_rgb  # noqa: E402
from colorlab.quantize import BIN_CENTERS, NUM_BINS  # noqa: E402
from colorlab.viz import GAMUT_GRAY, draw_bins, draw_gamut, gamut, image_grid  # noqa: E402


@pytest.fixture
def ax():
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


def _round_trip_error(lightness: float, a: float, b: float) -> float:
    lab = torch.tensor([lightness, a, b]).view(3, 1, 1)
    return float((rgb_to_lab(lab_to_rgb(lab)) - lab).norm())


def test_gamut_is_the_lab_round_trip():
    rgb, inside = gamut(50.0, half_width=110)
    assert rgb.shape == (3, 221, 221) and inside.shape == (221, 221) and inside.dtype == torch.bool
    # row i is b = -110 + i, column j is a = -110 + j
    for a, b in ((0, 0), (40, 25), (-40, 30), (100, 100), (-100, -100), (80, -100)):
        assert bool(inside[b + 110, a + 110]) == (_round_trip_error(50.0, a, b) < 1.0), (a, b)
    assert bool(inside[110, 110]) and not bool(inside[210, 210])  # gray is in gamut, (100, 100) is not
    gray = lab_to_rgb(torch.tensor([50.0, 0.0, 0.0]).view(3, 1, 1))[:, 0, 0]
    assert torch.allclose(rgb[:, 110, 110], gray, atol=1e-6)


def test_the_gamut_is_widest_in_the_middle_of_the_lightness_range(ax):
    shares = {lightness: draw_gamut(ax, lightness) for lightness in (25.0, 50.0, 75.0)}
    assert all(0 < share < 1 for share in shares.values())
    assert shares[25.0] < shares[50.0] and shares[75.0] < shares[50.0], shares
    assert shares[50.0] == pytest.approx(float(gamut(50.0)[1].float().mean()))


def test_draw_gamut_shows_colours_or_a_gray_shape(ax):
    draw_gamut(ax, 60.0, colour=True, half_width=115)
    draw_gamut(ax, 60.0, colour=False, half_width=115)
    coloured, backdrop = (np.asarray(image.get_array()) for image in ax.get_images())
    assert coloured.shape == backdrop.shape == (231, 231, 3)
    assert ax.get_images()[0].get_extent() == [-115, 115, -115, 115]
    rgb, inside = gamut(60.0, half_width=115)
    top_left_inside = bool(inside.flip(0)[0, 0])  # (a, b) = (-115, 115), drawn at the image's top left
    assert not top_left_inside and np.allclose(coloured[0, 0], GAMUT_GRAY) and np.allclose(backdrop[0, 0], 1.0)
    centre = 115  # (a, b) = (0, 0), a gray in gamut
    assert np.allclose(coloured[centre, centre], rgb[:, 115, 115].numpy()) and np.allclose(backdrop[centre, centre], GAMUT_GRAY)


def test_draw_bins_puts_each_bin_at_its_centre_in_its_colour(ax):
    points = draw_bins(ax, lightness=60.0)
    assert np.array_equal(points.get_offsets(), np.array(BIN_CENTERS))
    assert np.allclose(points.get_facecolors()[:, :3], bin_rgb(60.0))
    assert np.allclose(points.get_sizes(), 38.0)


def test_draw_bins_sizes_and_values(ax):
    p = torch.softmax(torch.randn(NUM_BINS, generator=torch.Generator().manual_seed(0)), 0)
    points = draw_bins(ax, size=600 * p / p.max(), values=np.log10(p.numpy()), cmap="magma")
    assert np.allclose(points.get_sizes(), (600 * p / p.max()).numpy())
    assert np.allclose(points.get_array(), np.log10(p.numpy()))
    with pytest.raises(ValueError, match="one number per bin"):
        draw_bins(ax, size=np.ones(10))
    with pytest.raises(ValueError, match="lightness"):
        gamut(120.0)


# ------------------------------------------------------------------ image_grid


def _grid(long_titles=True, **options):
    images = [[torch.rand(3, 16, 16, generator=torch.Generator().manual_seed(3 * i + j)) for j in range(2)]
              for i in range(3)]
    titles = (["classification: annealed T=0.89, a row title longer than the images are wide", "two\nlines", "x"]
              if long_titles else ["a", "b", "c"])
    return image_grid(images, row_titles=titles, size=1.0, **options)


@pytest.mark.parametrize("options", [{}, {"column_titles": ["input", "output"], "title": "a grid, titled"}])
def test_image_grid_never_clips_a_row_title(options):
    fig = _grid(**options)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    inside = fig.bbox
    row_titles = [ax.yaxis.label for ax in fig.axes if ax.get_ylabel()]
    assert len(row_titles) == 3
    texts = row_titles + [ax.title for ax in fig.axes if ax.get_title()] + list(fig.texts)  # fig.texts: the title
    for text in texts:
        box = text.get_window_extent(renderer)
        assert inside.x0 <= box.x0 and box.x1 <= inside.x1 and inside.y0 <= box.y0 and box.y1 <= inside.y1, (
            text.get_text(), box, inside)
    images = [ax.get_window_extent(renderer) for ax in fig.axes]
    for text in texts:  # and no title runs into an image
        box = text.get_window_extent(renderer)
        assert not any(box.overlaps(image) for image in images), text.get_text()
    plt.close(fig)


def test_image_grid_keeps_the_images_at_their_size_and_widens_for_long_titles():
    short, long = _grid(long_titles=False), _grid()
    for fig in (short, long):
        for ax in fig.axes:
            box = ax.get_position()
            width, height = fig.get_size_inches()
            assert box.width * width == pytest.approx(1.0) and box.height * height == pytest.approx(1.0)
    assert long.get_size_inches()[0] > short.get_size_inches()[0] + 2  # the long title's room, measured
    assert long.get_size_inches()[1] == pytest.approx(short.get_size_inches()[1])
    plt.close(short)
    plt.close(long)
