"""The red-or-green data set (colorlab.data.red_or_green), the averaging problem of notebooks 01 and 05."""

import pytest
import torch

from colorlab.color import rgb_to_l_ab, rgb_to_lab
from colorlab.data.red_or_green import GREEN_AB, L_HI, L_LO, RED_AB, paint_red_or_green


def textures(n: int = 6, size: int = 16) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return (torch.rand(n, 3, size, size, generator=g) * 255).round().to(torch.uint8)


def test_even_images_are_red_odd_ones_green_with_the_texture_kept():
    images = textures()
    painted = paint_red_or_green(images)
    assert painted.dtype == torch.uint8 and painted.shape == images.shape
    l, ab = rgb_to_l_ab(painted.float() / 255)
    for i in range(len(images)):
        colour = RED_AB if i % 2 == 0 else GREEN_AB
        assert float((ab[i] - colour[:, None, None]).abs().max()) < 1.0, i  # 8-bit rounding only
    assert float(l.min()) > L_LO - 1 and float(l.max()) < L_HI + 1
    # the lightness is each texture's own, stretched: it ranks the pixels as the original does
    original = rgb_to_lab(images.float() / 255)[:, 0].flatten(1)
    corr = torch.corrcoef(torch.stack([original[0], l[:, 0].flatten(1)[0]]))[0, 1]
    assert float(corr) > 0.99


def test_the_colour_cannot_be_told_from_the_lightness():
    same = textures(1).expand(2, -1, -1, -1)  # one texture twice: once red, once green
    l, ab = rgb_to_l_ab(paint_red_or_green(same).float() / 255)
    assert float((l[0] - l[1]).abs().max()) < 1.0
    assert float((ab[0].mean((1, 2)) - ab[1].mean((1, 2))).norm()) > 50


def test_the_share_of_red_and_the_colours_can_be_chosen():
    images = textures(8)
    three_in_four = torch.arange(8) % 4 != 3
    vivid = torch.tensor([60.0, 40.0])
    _, ab = rgb_to_l_ab(paint_red_or_green(images, is_red=three_in_four, red_ab=vivid).float() / 255)
    colours = ab.mean(dim=(2, 3))
    # (60, 40) leaves the gamut at the light end of 45..70: a little is clipped away
    assert torch.allclose(colours[three_in_four], vivid.expand(6, 2), atol=3.0)
    assert torch.allclose(colours[~three_in_four], GREEN_AB.expand(2, 2), atol=1.0)
    assert torch.equal(paint_red_or_green(images, is_red=torch.arange(8) % 2 == 0), paint_red_or_green(images))
    with pytest.raises(ValueError, match="is_red"):
        paint_red_or_green(images, is_red=torch.ones(3, dtype=torch.bool))
    with pytest.raises(ValueError, match="red_ab"):
        paint_red_or_green(images, red_ab=torch.zeros(3))


def test_halfway_between_the_colours_is_a_colour_no_image_has():
    halfway = (RED_AB + GREEN_AB) / 2
    assert torch.allclose(halfway, torch.tensor([0.0, 27.5]))
    assert float((RED_AB - halfway).norm()) > 35


@pytest.mark.parametrize("bad, match", [
    (torch.rand(2, 3, 8, 8), r"uint8.*float32"),
    (torch.zeros(3, 8, 8, dtype=torch.uint8), r"\(3, 8, 8\)"),
    (torch.zeros(2, 1, 8, 8, dtype=torch.uint8), r"\(2, 1, 8, 8\)"),
    (torch.zeros(0, 3, 8, 8, dtype=torch.uint8), "no images"),
    ([[1, 2]], "list"),
])
def test_bad_input_says_what_it_got(bad, match):
    with pytest.raises(ValueError, match=match):
        paint_red_or_green(bad)
