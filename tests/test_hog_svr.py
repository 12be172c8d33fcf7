import numpy as np
import pytest
import skimage.data
import torch
from skimage.feature import hog
from sklearn.exceptions import NotFittedError

from colorlab.color import rgb_to_yuv, yuv_to_rgb
from colorlab.models.hog_svr import HogSvrColorizer, dense_hog, pixel_features


def skimage_hog(window):
    return hog(window, orientations=9, pixels_per_cell=(8, 8), cells_per_block=(2, 2),
               block_norm="L2-Hys", feature_vector=True)


def luma(name, step=1):
    """Y of an embedded photo, float64, downscaled by block means of step x step."""
    rgb = getattr(skimage.data, name)()[..., :3] / 255.0
    h, w = rgb.shape[0] // step * step, rgb.shape[1] // step * step
    rgb = rgb[:h, :w].reshape(h // step, step, w // step, step, 3).mean((1, 3))
    return rgb_to_yuv(torch.from_numpy(rgb).permute(2, 0, 1))[0].numpy()


@pytest.fixture(scope="module")
def astronaut_y():
    return luma("astronaut")


def random_windows(y, count, seed=0, size=16):
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, y.shape[0] - size, count)
    cols = rng.integers(0, y.shape[1] - size, count)
    return [y[r : r + size, c : c + size] for r, c in zip(rows, cols)]


# ------------------------------------------------------------------ dense_hog vs skimage


@pytest.mark.parametrize("scale", [1.0, 1e-5], ids=["photo", "faint"])
def test_dense_hog_equals_skimage_on_a_whole_window(astronaut_y, scale):
    # For a 16x16 image the window of pixel (8, 8) is the whole image, and the
    # mirror padding gives its border the zero gradient skimage gives it, so the
    # two definitions coincide exactly. The faint copy has gradients near the
    # normalisation eps, where averaging vs summing within a cell would show.
    for window in random_windows(astronaut_y, 40):
        window = window * scale
        np.testing.assert_allclose(dense_hog(window)[:, 8, 8], skimage_hog(window), atol=1e-6)


def test_dense_hog_equals_skimage_on_a_float32_window(astronaut_y):
    for window in random_windows(astronaut_y, 10, seed=1):
        window = window.astype(np.float32)  # skimage then takes float32 differences; so must we
        np.testing.assert_allclose(dense_hog(window)[:, 8, 8], skimage_hog(window), atol=1e-6)


def test_dense_hog_equals_skimage_inside_a_mosaic(astronaut_y):
    # Windows framed by a one-pixel mirror and tiled into one image: the frame
    # makes the gradient across each window's border 0, as in skimage, so at the
    # window centres, deep inside a larger image, the match is still exact. This
    # checks the interior path: where the window sits, the four cells, their order.
    windows = random_windows(astronaut_y, 36, seed=2)
    tiles = [np.pad(w, 1, mode="reflect") for w in windows]  # 18x18 each
    mosaic = np.block([tiles[i : i + 6] for i in range(0, 36, 6)])
    centres = 18 * np.arange(6) + 1 + 8
    dense = dense_hog(mosaic)[:, centres[:, None], centres[None, :]].reshape(36, -1).T
    np.testing.assert_allclose(dense, np.stack([skimage_hog(w) for w in windows]), atol=1e-6)


def test_dense_hog_window_position_and_locality(astronaut_y):
    # out[:, r, c] depends on rows r-9..r+8 only (the window r-8..r+7 plus the
    # pixel the central differences need on each side), and on nothing else.
    y = astronaut_y[:96, :96]
    full = dense_hog(y)
    for r, c in [(9, 9), (40, 57), (86, 30)]:
        crop = dense_hog(y[r - 9 : r + 9, c - 9 : c + 9])
        np.testing.assert_allclose(full[:, r, c], crop[:, 9, 9], atol=1e-7)


@pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea"])
def test_dense_hog_close_to_skimage_on_a_photo(name):
    # Inside a photo only the window's border gradients differ (real neighbours
    # here, zero in skimage), but that is 60 of the 256 pixels, so single values
    # can differ by 0.2 or more. Looser checks, measured 0.93-0.96 mean cosine and
    # 0.03 mean absolute difference: the descriptors point the same way, and
    # clearly more so than skimage's descriptor of a window 4 pixels away.
    y = luma(name, step=2)
    dense = dense_hog(y)
    rng = np.random.default_rng(1)
    own, shifted, diff = [], [], []
    for _ in range(30):
        r, c = rng.integers(20, y.shape[0] - 20), rng.integers(20, y.shape[1] - 20)
        d = dense[:, r, c]
        for ref, out in ((skimage_hog(y[r - 8 : r + 8, c - 8 : c + 8]), own),
                         (skimage_hog(y[r - 4 : r + 12, c - 4 : c + 12]), shifted)):
            out.append(d @ ref / (np.linalg.norm(d) * np.linalg.norm(ref) + 1e-12))
        diff.append(np.abs(d - skimage_hog(y[r - 8 : r + 8, c - 8 : c + 8])).mean())
    assert np.mean(own) > 0.9
    assert np.mean(diff) < 0.05
    assert np.mean(own) > np.mean(shifted) + 0.05


# ------------------------------------------------------------------ features


def test_shapes_dtypes_and_range(astronaut_y):
    y = astronaut_y[:40, :70]
    h = dense_hog(y)
    assert h.shape == (36, 40, 70) and h.dtype == np.float32
    assert h.min() >= 0 and h.max() <= 1
    f = pixel_features(torch.from_numpy(y).float())
    assert f.shape == (37, 40, 70) and f.dtype == np.float32
    np.testing.assert_allclose(f[0], y, atol=1e-6)
    np.testing.assert_allclose(f[1:], h, atol=1e-5)


def test_constant_image_gives_zeros_not_nan():
    # No gradient anywhere: L2-Hys of an all-zero block is 0 thanks to its eps.
    f = pixel_features(np.full((24, 31), 0.4))
    assert np.isfinite(f).all()
    assert (f[1:] == 0).all() and np.allclose(f[0], 0.4)


def test_flat_region_next_to_texture_gives_zeros():
    # Exactly 0 in a flat area even when the image has edges elsewhere: the cell
    # sums must not carry rounding residue from elsewhere in the image.
    y = np.full((64, 64), 0.5)
    y[:, :20] = np.random.default_rng(0).random((64, 20))
    assert (dense_hog(y)[:, :, 40:] == 0).all()


@pytest.mark.parametrize("bad, words", [
    (np.zeros((2, 16, 16)), "(H,W)"),
    (np.zeros((16, 16), dtype=np.uint8), "floating-point"),
    (np.full((16, 16), np.nan), "NaN"),
    (np.zeros((1, 16)), "at least 2x2"),
])
def test_dense_hog_input_errors(bad, words):
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        dense_hog(bad)


def test_pixel_features_wants_y_in_unit_range():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        pixel_features(np.full((16, 16), 200.0))


# ------------------------------------------------------------------ the colorizer


def photo_patches(name, size=64):
    """Non-overlapping size x size patches of a photo downscaled by 2, float32 (N,3,size,size)."""
    rgb = getattr(skimage.data, name)()[..., :3] / 255.0
    h, w = rgb.shape[0] // 2 * 2, rgb.shape[1] // 2 * 2
    rgb = rgb[:h, :w].reshape(h // 2, 2, w // 2, 2, 3).mean((1, 3))
    cut = [rgb[r : r + size, c : c + size]
           for r in range(0, rgb.shape[0] - size + 1, size) for c in range(0, rgb.shape[1] - size + 1, size)]
    return torch.tensor(np.stack(cut), dtype=torch.float32).permute(0, 3, 1, 2)


@pytest.fixture(scope="module")
def split():
    # Alternate grid patches of four photos: held-out patches are new crops of the
    # training photos, never overlapping a training patch.
    train, test = [], []
    for name in ["astronaut", "coffee", "chelsea", "rocket"]:
        p = photo_patches(name)
        train.append(p[0::2][:6])
        test.append(p[1::2][:3])
    return torch.cat(train), torch.cat(test)  # 21 and 12 patches


@pytest.fixture(scope="module")
def fitted(split):
    return HogSvrColorizer(max_pixels=5000, seed=0).fit(split[0])


def uv_loss(uv, target):
    return float((((uv - target) ** 2).sum(1) / 2).mean())


def test_predict_shapes(fitted, split):
    test = split[1]
    y = rgb_to_yuv(test)[:, :1]
    uv = fitted.predict_uv(y)
    assert uv.shape == (12, 2, 64, 64) and uv.dtype == torch.float32
    torch.testing.assert_close(fitted.predict_uv(y[:, 0].numpy()), uv)
    assert fitted.weights_.shape == (2, 37) and fitted.bias_.shape == (2,)
    rgb = fitted.colorize(test)
    assert rgb.shape == test.shape and rgb.dtype == torch.float32
    assert rgb.min() >= 0 and rgb.max() <= 1
    assert fitted.colorize(test[0]).shape == (3, 64, 64)


def test_colorize_uses_only_luma(fitted, split):
    test = split[1][:3]
    y = rgb_to_yuv(test)[:, :1]
    torch.testing.assert_close(fitted.colorize(test), fitted.colorize(y))
    gray_rgb = y.clamp(0, 1).expand(-1, 3, -1, -1)  # R = G = B = Y has the same luma
    torch.testing.assert_close(fitted.colorize(gray_rgb), fitted.colorize(test), atol=1e-5, rtol=0)


def test_beats_gray_but_barely_beats_the_mean_colour(fitted, split):
    # Table 1 of the paper: HOG + SVR is only a little better than gray output.
    # Here, on held-out patches of the training photos (measured: 0.0069 model,
    # 0.0119 gray, 0.0082 for the training mean colour painted everywhere), the
    # model beats gray, but most of that gain is just the mean colour: it
    # removes under 30% of the error left by a constant colour.
    yuv = rgb_to_yuv(split[1])
    uv = fitted.predict_uv(yuv[:, :1])
    model = uv_loss(uv, yuv[:, 1:])
    gray = uv_loss(torch.zeros_like(uv), yuv[:, 1:])
    mean_colour = uv_loss(torch.tensor(fitted.uv_mean_, dtype=torch.float32).view(1, 2, 1, 1), yuv[:, 1:])
    assert model < gray
    assert model > 0.7 * mean_colour
    # Shrunk toward the mean: the predictions vary less than the true colours (measured 0.6x).
    spread = lambda t: t.transpose(0, 1).reshape(2, -1).std(1)  # noqa: E731
    assert (spread(uv) < 0.8 * spread(yuv[:, 1:])).all()


def test_colour_unrelated_to_content_gives_zero_weights_and_mean_bias(split):
    # The paper's finding in the setting that explains it: when Y and HOG carry no
    # information on colour, the fit can only learn the average colour. Photo luma,
    # colour drawn independently per pixel around (U, V) = (0.05, -0.04), std 0.03.
    # With 5000 pixels the noise in each weight is about 0.03 / sqrt(5000) / 0.1
    # (feature std) ~ 0.004; the 0.05 bound is far above that and far below the
    # weights learned from real photos (up to ~0.16), and the bias must be within
    # 0.01 of the mean, a fifth of the tint (a zero bias or a U/V swap would fail).
    rng = np.random.default_rng(0)
    y = rgb_to_yuv(split[0])[:, :1] * 0.4 + 0.3  # keep the tinted colours inside the RGB cube
    noise = torch.tensor(rng.standard_normal((2,) + tuple(y.shape)), dtype=torch.float32).clamp(-3, 3)
    rgb = yuv_to_rgb(torch.cat([y, 0.05 + 0.03 * noise[0], -0.04 + 0.03 * noise[1]], dim=1))
    model = HogSvrColorizer(max_pixels=5000, seed=0).fit(rgb.clamp(0, 1))
    assert np.abs(model.weights_).max() < 0.05
    np.testing.assert_allclose(model.bias_, model.uv_mean_, atol=0.01)
    np.testing.assert_allclose(model.uv_mean_, [0.05, -0.04], atol=0.005)


def test_deterministic_for_a_seed(fitted, split):
    again = HogSvrColorizer(max_pixels=5000, seed=0).fit(split[0].numpy())
    np.testing.assert_array_equal(again.weights_, fitted.weights_)
    np.testing.assert_array_equal(again.bias_, fitted.bias_)
    other = HogSvrColorizer(max_pixels=5000, seed=1).fit(split[0])
    assert not np.array_equal(other.weights_, fitted.weights_)


def test_colorizer_errors(fitted, split):
    model = HogSvrColorizer()
    with pytest.raises(NotFittedError, match="fit"):
        model.predict_uv(torch.zeros(1, 1, 16, 16))
    with pytest.raises(ValueError, match="floating-point"):
        model.fit((split[0] * 255).to(torch.uint8))
    with pytest.raises(ValueError, match=r"\(N,3,H,W\)"):
        model.fit(split[0][:, :2])
    with pytest.raises(ValueError, match=r"\(N,1,H,W\)"):
        fitted.predict_uv(torch.zeros(1, 2, 16, 16))
    with pytest.raises(ValueError, match="divide by 255"):
        fitted.predict_uv(torch.full((1, 1, 16, 16), 200.0))
    with pytest.raises(ValueError, match="C must be positive"):
        HogSvrColorizer(C=0)


def test_window_feature_is_y_and_skimage_hog_of_the_window():
    from skimage.feature import hog

    from colorlab.models.hog_svr import window_feature

    rng = np.random.default_rng(3)
    y = rng.random((24, 30))
    feature = window_feature(y, 10, 12)
    expected = hog(y[2:18, 4:20], orientations=9, pixels_per_cell=(8, 8), cells_per_block=(2, 2),
                   block_norm="L2-Hys")
    assert feature.shape == (37,) and feature[0] == y[10, 12]
    np.testing.assert_allclose(feature[1:], expected)
    # the dense version agrees exactly where the window is the whole image
    square = rng.random((16, 16))
    np.testing.assert_allclose(window_feature(square, 8, 8), pixel_features(square)[:, 8, 8], atol=1e-6)
    with pytest.raises(ValueError, match=r"no full 16x16 window .* 8 <= row <= 16"):
        window_feature(y, 3, 12)
