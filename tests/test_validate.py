"""Tests of colorlab._validate's shared checks: the whole-number check and the models' L-batch check."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from colorlab._validate import check_l_batch, whole_number


@pytest.mark.parametrize("value, minimum", [(1, 1), (7, 1), (0, 0), (2, 2), (np.int64(5), 1), (np.uint8(3), 3)])
def test_whole_numbers_pass_as_plain_ints(value, minimum):
    out = whole_number(value, "count", minimum)
    assert out == value and type(out) is int  # a NumPy integer would not survive json or weights_only


def test_the_minimum_defaults_to_one():
    assert whole_number(1, "count") == 1
    with pytest.raises(ValueError, match=r"^count must be a whole number >= 1, got 0\.$"):
        whole_number(0, "count")


@pytest.mark.parametrize("value, got", [
    (-3, "got -3."),
    (True, "got True (a bool)."),
    (False, "got False (a bool)."),
    (3.0, "got 3.0 (a float)."),
    (2.5, "got 2.5 (a float)."),
    ("4", "got '4' (a str)."),
    (None, "got None (a NoneType)."),
    (np.float32(2), f"got {np.float32(2)!r} (a float32)."),  # NumPy 2 writes np.float32(2.0)
])
def test_anything_else_is_refused_saying_what_it_got_and_what_it_wants(value, got):
    with pytest.raises(ValueError) as info:
        whole_number(value, "PaletteNet: width", 1)
    assert str(info.value) == f"PaletteNet: width must be a whole number >= 1, {got}"


def test_below_the_minimum_names_the_minimum():
    with pytest.raises(ValueError, match=r"^semantic_steps must be a whole number >= 0, got -1\.$"):
        whole_number(-1, "semantic_steps", 0)
    with pytest.raises(ValueError, match=r"classes must be a whole number >= 2, got 1\.$"):
        whole_number(1, "classes", 2)


@pytest.mark.parametrize("shape", [(1, 1, 4, 4), (3, 1, 5, 7)])
def test_an_l_batch_passes(shape):
    check_l_batch(torch.zeros(shape), "RegressionCNN")
    check_l_batch(torch.zeros(shape, dtype=torch.bfloat16), "RegressionCNN")  # shape only, any dtype


@pytest.mark.parametrize("shape", [(1, 4, 4), (1, 3, 4, 4), (2, 2, 4, 4), (4, 4)])
def test_anything_but_an_l_batch_is_refused_with_its_shape(shape):
    with pytest.raises(ValueError) as info:
        check_l_batch(torch.zeros(shape), "GrayColorizer")
    assert str(info.value) == (f"GrayColorizer: expected normalised L of shape (N,1,H,W) (see "
                               f"colorlab.color.normalize_l), got shape {shape}.")
