"""Tests of colorlab.objectives: what each network is trained to minimise.

The tiny networks and synthetic pairs of tests/test_train.py.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import colorlab.objectives as objectives
from colorlab.models import Autoencoder, ClassificationCNN, PaletteNet, RegressionCNN
from colorlab.objectives import Classification, Palette, Regression, soft_targets, soft_targets_of
from colorlab.quantize import NUM_BINS
from colorlab.train import fit
from test_train import cfg, small, synthetic_pairs

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def pairs():
    return synthetic_pairs()


@pytest.mark.parametrize("cls, kind", [(RegressionCNN, Regression), (Autoencoder, Regression),
                                       (ClassificationCNN, Classification), (PaletteNet, Palette)])
def test_every_trainable_network_says_what_it_minimises(pairs, cls, kind):
    model = small(cls)
    objective = model.objective(pairs, cfg())
    assert isinstance(objective, kind)
    loss = objective.loss(model, pairs.l[:4], pairs.ab[:4], *(t[:4] for t in objective.extras),
                          autocast=torch.autocast("cpu", enabled=False))
    assert loss.dtype == torch.float32 and loss.ndim == 0 and torch.isfinite(loss) and loss.requires_grad


def test_the_classifier_targets_are_computed_once_only_when_the_width_allows_mirroring(pairs):
    assert len(small(ClassificationCNN).objective(pairs, cfg()).extras) == 2  # 16 px: a multiple of 4
    odd = synthetic_pairs(n=4, size=18, seed=1)
    assert small(ClassificationCNN).objective(odd, cfg()).extras == ()  # per batch, from the mirrored ab


@pytest.mark.parametrize("rebalance", [None, 0.5])
def test_rebalance_none_and_half_both_run(pairs, monkeypatch, rebalance):
    seen = []
    real = objectives.soft_cross_entropy_sparse

    def spy(logits, bins, target, pixel_weights=None):
        seen.append((tuple(logits.shape), tuple(bins.shape), tuple(target.shape), pixel_weights))
        return real(logits, bins, target, pixel_weights)

    monkeypatch.setattr(objectives, "soft_cross_entropy_sparse", spy)
    history = fit(small(ClassificationCNN), pairs, cfg(steps=2, log_every=1, rebalance=rebalance), progress=False)
    assert history.step == [1, 2]
    assert all(torch.isfinite(torch.tensor(history.loss)))
    assert len(seen) == 2
    for logits_shape, bins_shape, target_shape, pixel_weights in seen:
        assert logits_shape == (8, NUM_BINS, 4, 4)
        assert bins_shape == target_shape == (8, 5, 4, 4)
        if rebalance is None:
            assert pixel_weights is None
        else:
            assert pixel_weights.shape == (8, 4, 4)
            assert (pixel_weights > 0).all()
            assert pixel_weights.std() > 0  # rare colours weigh more than common ones


def test_soft_targets_are_soft_encode_of_the_pooled_ab_nearest_bin_first(pairs):
    from colorlab.color import denormalize_ab
    from colorlab.quantize import encode_hard, soft_encode

    bins, target = soft_targets(pairs.ab[:2], 4)
    assert bins.shape == target.shape == (2, 5, 4, 4)
    torch.testing.assert_close(target.sum(dim=1), torch.ones(2, 4, 4))
    pooled = denormalize_ab(F.avg_pool2d(pairs.ab[:2], 4))
    dense = torch.zeros(2, NUM_BINS, 4, 4).scatter_(1, bins, target)
    torch.testing.assert_close(dense, soft_encode(pooled))
    assert torch.equal(bins[:, 0], encode_hard(pooled))  # so a pixel's rebalancing weight is its nearest bin's


def test_soft_targets_of_a_data_set_equal_those_of_its_batches(pairs):
    bins, target = soft_targets_of(pairs, 4, chunk=5)  # chunks that do not divide the 16 images
    assert bins.dtype == torch.int16 and target.dtype == torch.float32
    one_go = soft_targets(pairs.ab, 4)
    assert torch.equal(bins.long(), one_go[0])
    torch.testing.assert_close(target, one_go[1])


def test_precomputed_targets_follow_their_mirrored_images(pairs):
    """Batches mirror the precomputed targets with the images: the targets of a batch are those of its ab."""
    targets = soft_targets_of(pairs, 4)
    generator = torch.Generator().manual_seed(3)
    mirrored = 0
    for l, ab, bins, target in pairs.batches(4, shuffle=True, flip=True, generator=generator, also=targets):
        fresh_bins, fresh_target = soft_targets(ab, 4)
        assert torch.equal(bins.long(), fresh_bins)
        torch.testing.assert_close(target, fresh_target)
        mirrored += int(not any(torch.equal(ab[i], pairs.ab[j]) for i in range(len(ab)) for j in range(len(pairs))))
    assert mirrored > 0  # some batch held a mirrored image, so the check above saw a flip


def test_classification_fit_on_sizes_not_divisible_by_4():
    data = synthetic_pairs(n=4, size=18, seed=1)
    history = fit(small(ClassificationCNN), data, cfg(steps=2, batch_size=4, log_every=1), progress=False)
    assert history.step == [1, 2]
