"""The 313 ab bins of Zhang, Isola and Efros, "Colorful Image Colorization" (2016).

Colorization as classification: the ab plane is cut into a grid of 10 x 10
squares and the 313 squares whose centres are in the sRGB gamut become the
classes. A network predicts a distribution over them for every pixel; a
decoding rule (mode, mean or the annealed mean) turns it back into an ab value.

Conventions
-----------
- ``ab`` tensors are unnormalised Lab a and b values (about -110..110), shape
  (N,2,H,W) or (2,H,W).
- Distributions and logits over bins have the bins on dimension 1 (or 0 when
  unbatched): shape (N,313,H,W), like a segmentation network's output.
- Bin ``q`` has centre ``bin_centers()[q]``; the order is Zhang's (a ascending,
  then b ascending within a), so indices agree with his released prior.
- The bins sit on a lattice of 23 x 23 points, every 10 units from -110 to 110
  (:data:`LATTICE_LO`, :data:`LATTICE_N`); :func:`bin_cells` gives each bin's
  lattice cell, :func:`nearest_bin` the nearest bin of any (a, b).
"""

from __future__ import annotations

import functools
import math

import torch

from ._validate import as_tensor, channels_image, check_finite

GRID = 10

# (a, b_min, b_max) for each column of the in-gamut grid: COURSE.md's table of Zhang's bins.
_GAMUT_COLUMNS = (
    (-90, 50, 90), (-80, 20, 90), (-70, 0, 90), (-60, -20, 90), (-50, -30, 100),
    (-40, -40, 100), (-30, -50, 100), (-20, -50, 100), (-10, -60, 100), (0, -70, 100),
    (10, -80, 90), (20, -80, 90), (30, -90, 90), (40, -100, 90), (50, -100, 80),
    (60, -110, 80), (70, -110, 80), (80, -110, 70), (90, -110, 70), (100, -90, 0),
)

BIN_CENTERS = tuple(
    (float(a), float(b)) for a, lo, hi in _GAMUT_COLUMNS for b in range(lo, hi + GRID, GRID)
)
NUM_BINS = len(BIN_CENTERS)
assert NUM_BINS == 313, NUM_BINS

# Zhang's settings.
SOFT_K = 5  # soft encoding over the 5 nearest bins
SOFT_SIGMA = 5.0  # Gaussian width of the soft encoding, in ab units
PRIOR_SIGMA = 5.0  # Gaussian smoothing of the empirical prior, in ab units
REBALANCE_LAMBDA = 0.5  # mix of prior and uniform in the rebalancing weights
ZHANG_TEMPERATURE = 0.38  # annealed mean of Zhang et al.
LI_WANG_TEMPERATURE = 0.89  # annealed mean of Li and Wang (003)

# Distances are computed in slices of this many pixels so that a large batch
# does not need a (pixels x 313) matrix all at once.
_CHUNK = 1 << 16


@functools.lru_cache(maxsize=None)
def _centers(dtype: torch.dtype, device: str) -> torch.Tensor:
    return torch.tensor(BIN_CENTERS, dtype=dtype, device=device)


def bin_centers(device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The 313 bin centres as a (313, 2) tensor of (a, b) values, in Zhang's order."""
    return _centers(dtype, str(torch.device(device))).clone()


def _ab(ab, name: str) -> tuple[torch.Tensor, bool]:
    return channels_image(ab, 2, name, "unnormalised Lab a and b")


def _flat_pixels(ab: torch.Tensor) -> torch.Tensor:
    """(N,2,H,W) -> (N*H*W, 2)."""
    return ab.permute(0, 2, 3, 1).reshape(-1, 2)


def _nearest_bins(pixels: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Squared distances and indices of the k nearest centres for (P, 2) pixels."""
    centers = _centers(pixels.dtype, str(pixels.device))
    dists, indices = [], []
    for start in range(0, pixels.shape[0], _CHUNK):
        d2 = torch.cdist(pixels[start : start + _CHUNK], centers).square()
        values, idx = torch.topk(d2, k, dim=1, largest=False)
        dists.append(values)
        indices.append(idx)
    return torch.cat(dists), torch.cat(indices)


# The lattice the bins sit on: every 10 units of a and of b from -110 to 110, 23 x 23 points, of
# which the 313 bins are the in-gamut ones. A lattice point's (a index, b index) is its cell.
LATTICE_LO = -110  # a and b of the lattice's first point
LATTICE_N = 23  # lattice points along a and along b


def bin_cells() -> torch.Tensor:
    """The lattice cell of every bin: a (313, 2) torch.long tensor of (a index, b index), each in [0, 23).

    Bin q's centre is ``(LATTICE_LO + GRID * cell[0], LATTICE_LO + GRID * cell[1])``. Laying the bins
    out as a 23 x 23 image (an explorer's ab plane) is ``plane[cells[:, 1], cells[:, 0]] = value``.
    """
    return torch.tensor([[(int(a) - LATTICE_LO) // GRID, (int(b) - LATTICE_LO) // GRID] for a, b in BIN_CENTERS])


@functools.lru_cache(maxsize=None)
def _lattice_lookup(device: str) -> torch.Tensor:
    """(23, 23) table: lattice point (a, b) -> its bin index, or -1 where it is out of gamut."""
    table = torch.full((LATTICE_N, LATTICE_N), -1, dtype=torch.long)
    cells = bin_cells()
    table[cells[:, 0], cells[:, 1]] = torch.arange(NUM_BINS)
    return table.to(device)


@functools.lru_cache(maxsize=None)
def _lattice_candidates(device: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per lattice point: its own bin (-1 off the gamut), and the bins that can be nearest to a pixel near it.

    A pixel p that rounds to lattice point P lies within 5*sqrt(2) of P, so by the
    triangle inequality its nearest bin c has |P - c| <= d_min(P) + 10*sqrt(2). At most
    14 bins qualify for any P; each list is padded by repeating its first entry.
    Returns (own (529,), candidates (529,K), their a (529,K), their b (529,K)).
    """
    centers = torch.tensor(BIN_CENTERS, dtype=torch.float64)
    axis = torch.arange(LATTICE_N, dtype=torch.float64) * GRID + LATTICE_LO
    points = torch.stack(torch.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)
    d = torch.cdist(points, centers)
    dmin, nearest = d.min(1)
    ok = d <= dmin.unsqueeze(1) + 10 * math.sqrt(2) + 1e-6
    k = int(ok.sum(1).max())
    order = torch.argsort(torch.where(ok, d, torch.inf), dim=1, stable=True)[:, :k]
    cand = torch.where(torch.arange(k) < ok.sum(1, keepdim=True), order, order[:, :1])
    own = torch.where(dmin < 1e-9, nearest, torch.full_like(nearest, -1))  # the lattice point is a bin
    ab = centers[cand].float()
    return own.to(device), cand.to(device), ab[..., 0].contiguous().to(device), ab[..., 1].contiguous().to(device)


def nearest_bin(pixels: torch.Tensor, exact: bool = True) -> torch.Tensor:
    """Index of the nearest bin centre for each pixel: the search behind :func:`encode_hard`.

    Each pixel is first rounded to its nearest point of the 10-unit lattice; when that point is one
    of the 313 bins it is also the nearest bin, which is true for almost every colour of a photo.
    The rest (pixels next to the gamut's edge) are searched for in one of two ways:

    - ``exact=True``: against all 313 centres. Right for any colour, however far out; it picks the
      pixels to search on the host, so on a GPU it waits for the device.
    - ``exact=False``: among the at most 14 bins that can be nearest to a pixel rounding to that
      lattice point. It never waits for the device (for training loops on a GPU), and gives the
      same bins as ``exact=True`` for every colour with |a|, |b| <= 115, i.e. all of sRGB, up to
      exact ties between two bins.

    Parameters
    ----------
    pixels : float tensor (P, 2) of unnormalised (a, b) values, on any device
    exact : bool, which search (above)

    Returns
    -------
    torch.long tensor (P,) of bin indices in [0, 313), on the pixels' device.
    """
    if not exact:
        return _nearest_candidate(pixels)
    cell = torch.round((pixels - LATTICE_LO) / GRID).long()
    inside = ((cell >= 0) & (cell < LATTICE_N)).all(dim=1)
    cell = cell.clamp(0, LATTICE_N - 1)
    bins = _lattice_lookup(str(pixels.device))[cell[:, 0], cell[:, 1]]
    bins = torch.where(inside, bins, torch.full_like(bins, -1))
    missing = (bins < 0).nonzero().squeeze(1)
    if missing.numel():
        bins[missing] = _nearest_bins(pixels[missing], 1)[1][:, 0]
    return bins


def _nearest_candidate(pixels: torch.Tensor) -> torch.Tensor:
    """:func:`nearest_bin` with ``exact=False``: (P, 2) -> (P,), no host sync."""
    own, cand, cand_a, cand_b = _lattice_candidates(str(pixels.device))
    a, b = pixels[:, 0].float(), pixels[:, 1].float()
    ia = torch.round((a - LATTICE_LO) / GRID).long().clamp(0, LATTICE_N - 1)
    ib = torch.round((b - LATTICE_LO) / GRID).long().clamp(0, LATTICE_N - 1)
    point = ia * LATTICE_N + ib  # (P,) the nearest lattice point of each pixel
    d2 = (cand_a.index_select(0, point) - a[:, None]).square() + (cand_b.index_select(0, point) - b[:, None]).square()
    nearest = cand.index_select(0, point).gather(1, d2.argmin(1, keepdim=True)).squeeze(1)
    own_bin = own.index_select(0, point)
    return torch.where(own_bin >= 0, own_bin, nearest)


def encode_hard(ab) -> torch.Tensor:
    """Index of the nearest bin centre for every pixel.

    Parameters
    ----------
    ab : float tensor (N,2,H,W) or (2,H,W), unnormalised a and b

    Returns
    -------
    torch.long tensor (N,H,W) or (H,W) of indices in [0, 313). Colours outside the
    gamut of the grid go to the nearest in-gamut bin.
    """
    x, single = _ab(ab, "encode_hard input")
    n, _, h, w = x.shape
    pixels = _flat_pixels(x.float() if x.dtype in (torch.float16, torch.bfloat16) else x)
    bins = nearest_bin(pixels).reshape(n, h, w)
    return bins[0] if single else bins


def _check_soft_settings(k, sigma, name: str) -> None:
    if not (isinstance(k, int) and not isinstance(k, bool) and 1 <= k <= NUM_BINS):
        raise ValueError(f"{name}: k must be an integer from 1 to {NUM_BINS}, got {k!r}.")
    if not (isinstance(sigma, (int, float)) and math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"{name}: sigma must be a positive number, got {sigma!r}.")


def _soft_weights(pixels: torch.Tensor, k: int, sigma: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(P, 2) pixels -> indices (P, k) of their k nearest bins, nearest first, and Gaussian weights (P, k)."""
    d2, idx = _nearest_bins(pixels, k)
    # subtracting the nearest distance keeps exp() away from underflow for far-out colours
    weights = torch.exp(-(d2 - d2[:, :1]) / (2 * sigma**2))
    return idx, weights / weights.sum(dim=1, keepdim=True)


def soft_encode(ab, k: int = SOFT_K, sigma: float = SOFT_SIGMA) -> torch.Tensor:
    """Soft targets: each pixel spread over its ``k`` nearest bins with Gaussian weights.

    Weight of bin q for a pixel at ab: exp(-|ab - c_q|^2 / (2 sigma^2)) over the k
    nearest bins, normalised to sum to 1; the other bins get 0.

    Parameters
    ----------
    ab : float tensor (N,2,H,W) or (2,H,W), unnormalised a and b
    k : int in [1, 313]
    sigma : float > 0, in ab units

    Returns
    -------
    float tensor (N,313,H,W) or (313,H,W) whose values along the bin dimension sum to 1.
    The same targets without the zeros: :func:`soft_encode_sparse`.
    """
    x, single = _ab(ab, "soft_encode input")
    _check_soft_settings(k, sigma, "soft_encode")
    n, _, h, w = x.shape
    idx, weights = _soft_weights(_flat_pixels(x), k, sigma)
    out = torch.zeros(n * h * w, NUM_BINS, dtype=x.dtype, device=x.device)
    out.scatter_(1, idx, weights)
    out = out.reshape(n, h, w, NUM_BINS).permute(0, 3, 1, 2)
    return out[0] if single else out


def soft_encode_sparse(ab, k: int = SOFT_K, sigma: float = SOFT_SIGMA) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`soft_encode` as its ``k`` non-zero entries per pixel: which bins, and their weights.

    Only 5 of the 313 target values of a pixel are non-zero; a training loop that keeps
    just those (and :func:`colorlab.losses.soft_cross_entropy_sparse`) never builds or
    reads the 313-wide zeros, and the targets of a whole data set fit beside its images.

    Parameters
    ----------
    ab : float tensor (N,2,H,W) or (2,H,W), unnormalised a and b
    k, sigma : as for :func:`soft_encode`

    Returns
    -------
    bins : torch.long tensor (N,k,H,W) or (k,H,W), bin indices in [0, 313), nearest first
        (so ``bins[:, 0]`` is :func:`encode_hard`, up to ties)
    weights : float tensor of the same shape, non-negative, summing to 1 over dimension ``-3``;
        ``soft_encode(ab)`` is ``weights`` scattered into 313 zeros at ``bins``.
    """
    x, single = _ab(ab, "soft_encode_sparse input")
    _check_soft_settings(k, sigma, "soft_encode_sparse")
    n, _, h, w = x.shape
    idx, weights = _soft_weights(_flat_pixels(x), k, sigma)
    idx = idx.reshape(n, h, w, k).permute(0, 3, 1, 2)
    weights = weights.to(x.dtype).reshape(n, h, w, k).permute(0, 3, 1, 2)
    return (idx[0], weights[0]) if single else (idx, weights)


def bin_counts(ab) -> torch.Tensor:
    """How many pixels fall into each bin: a (313,) float64 tensor (add them over batches)."""
    bins = encode_hard(ab)
    return torch.bincount(bins.reshape(-1), minlength=NUM_BINS).to(torch.float64)


def smooth_distribution(p: torch.Tensor, sigma: float = PRIOR_SIGMA) -> torch.Tensor:
    """Blur a (313,) distribution with a Gaussian of width ``sigma`` (ab units) over the bin centres.

    Returns a (313,) float64 tensor that sums to 1.
    """
    centers = _centers(torch.float64, str(p.device))
    kernel = torch.exp(-torch.cdist(centers, centers).square() / (2 * sigma**2))
    smoothed = kernel @ p.to(torch.float64)
    return smoothed / smoothed.sum()


def class_prior(data, sigma: float | None = PRIOR_SIGMA) -> torch.Tensor:
    """The empirical distribution of colours over the 313 bins, smoothed as Zhang does.

    Parameters
    ----------
    data : either ab values, float tensor (N,2,H,W) or (2,H,W), or bin counts, a (313,)
        tensor (from :func:`bin_counts`, summed over a data set too big for one batch)
    sigma : Gaussian smoothing width in ab units (5 in Zhang et al.); ``None`` or 0 for
        the raw frequencies

    Returns
    -------
    (313,) float64 tensor, non-negative, summing to 1.
    """
    data = as_tensor(data, "class_prior input")
    if data.ndim == 1:
        if data.shape[0] != NUM_BINS:
            raise ValueError(f"class_prior: bin counts must have shape ({NUM_BINS},), got {tuple(data.shape)}.")
        check_finite(data, "class_prior counts")
        if bool((data < 0).any()):
            raise ValueError("class_prior: bin counts must be non-negative.")
        counts = data.to(torch.float64)
    else:
        counts = bin_counts(data)
    total = counts.sum()
    if total <= 0:
        raise ValueError("class_prior: no pixels counted; pass at least one image or a non-zero count.")
    p = counts / total
    if sigma:
        p = smooth_distribution(p, sigma)
    return p


def rebalance_weights(prior, lam: float = REBALANCE_LAMBDA) -> torch.Tensor:
    """Class-rebalancing weights w proportional to ((1 - lam) p + lam / Q)^-1, with E_p[w] = 1.

    Parameters
    ----------
    prior : (313,) tensor, a distribution (non-negative, sums to 1)
    lam : float in [0, 1]. 0 is pure inverse frequency, 1 is no rebalancing
        (every weight 1); Zhang uses 0.5.

    Returns
    -------
    (313,) float64 tensor, normalised so that sum(p * w) == 1: on average over the
    training colours a pixel keeps weight 1, rare colours get more, common less.
    With lam = 0 a bin of zero prior never occurs in the data; its weight is set to 0
    rather than infinity.
    """
    p = as_tensor(prior, "rebalance_weights prior").to(torch.float64)
    if p.shape != (NUM_BINS,):
        raise ValueError(f"rebalance_weights: prior must have shape ({NUM_BINS},), got {tuple(p.shape)}.")
    check_finite(p, "rebalance_weights prior")
    if bool((p < 0).any()) or abs(float(p.sum()) - 1) > 1e-4:
        raise ValueError(f"rebalance_weights: prior must be a distribution (>= 0, sum 1), got sum {float(p.sum()):.4g}.")
    if not (0.0 <= lam <= 1.0):
        raise ValueError(f"rebalance_weights: lam must lie in [0, 1], got {lam!r}.")
    mix = (1 - lam) * p + lam / NUM_BINS
    w = torch.where(mix > 0, 1.0 / mix.clamp(min=1e-300), torch.zeros_like(mix))
    return w / (p * w).sum()


def pixel_weights(ab, weights) -> torch.Tensor:
    """The rebalancing weight of each pixel: ``weights`` at the pixel's nearest bin.

    Zhang weights a pixel by the bin of its most probable target colour; with soft
    targets centred on the true colour that is the nearest bin. (N,2,H,W) -> (N,H,W).
    """
    weights = as_tensor(weights, "pixel_weights weights")
    bins = encode_hard(ab)
    return weights.to(bins.device)[bins]


# ---------------------------------------------------------------- decoding

def _logits(logits, name: str) -> tuple[torch.Tensor, bool]:
    x, single = channels_image(logits, NUM_BINS, name, f"{NUM_BINS} bin logits")
    if x.dtype in (torch.float16, torch.bfloat16):
        x = x.float()  # softmax at low T needs the range of float32
    return x, single


def _expectation(probs: torch.Tensor) -> torch.Tensor:
    return torch.einsum("nqhw,qc->nchw", probs, _centers(probs.dtype, str(probs.device)))


def decode_mode(logits) -> torch.Tensor:
    """ab of the most probable bin: (N,313,H,W) logits -> (N,2,H,W). Vivid but patchy."""
    x, single = _logits(logits, "decode_mode logits")
    ab = _centers(x.dtype, str(x.device))[x.argmax(dim=1)].permute(0, 3, 1, 2)
    return ab[0] if single else ab


def decode_mean(logits) -> torch.Tensor:
    """Expected ab under the predicted distribution: (N,313,H,W) -> (N,2,H,W). Smooth but desaturated."""
    return annealed_mean(logits, 1.0)


def annealed_mean(logits, temperature: float = ZHANG_TEMPERATURE) -> torch.Tensor:
    """Zhang's annealed mean: the mean of the distribution re-sharpened at temperature T.

    f_T(z) = exp(log z / T) / sum_q exp(log z_q / T), then ab = sum_q f_T(z)_q c_q.
    With z = softmax(logits), log z / T differs from logits / T by a constant per
    pixel, so f_T(z) = softmax(logits / T). T = 1 gives the mean, T -> 0 the mode;
    Zhang uses 0.38, Li and Wang (003) 0.89.

    Parameters
    ----------
    logits : float tensor (N,313,H,W) or (313,H,W), any device
    temperature : float, finite and > 0

    Returns
    -------
    ab tensor (N,2,H,W) or (2,H,W). Stable for tiny T: the logits are shifted by
    their maximum before dividing, so nothing overflows.
    """
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not math.isfinite(temperature) or temperature <= 0:
        raise ValueError(f"annealed_mean: temperature must be a finite number > 0, got {temperature!r}.")
    x, single = _logits(logits, "annealed_mean logits")
    shifted = x - x.amax(dim=1, keepdim=True)
    probs = torch.softmax(shifted / temperature, dim=1)
    ab = _expectation(probs)
    return ab[0] if single else ab


def decode(logits, method: str = "annealed", temperature: float = ZHANG_TEMPERATURE) -> torch.Tensor:
    """Decode logits to ab by ``method``: "mode", "mean" or "annealed" (at ``temperature``)."""
    if method == "mode":
        return decode_mode(logits)
    if method == "mean":
        return decode_mean(logits)
    if method == "annealed":
        return annealed_mean(logits, temperature)
    raise ValueError(f"decode: method must be 'mode', 'mean' or 'annealed', got {method!r}.")
