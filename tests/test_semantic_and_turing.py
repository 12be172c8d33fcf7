"""The semantic test (003) and the colorization Turing test."""

from __future__ import annotations

import pytest
import torch

from colorlab.course import setup
from colorlab.data import TEST_PHOTOS, load_images, load_labelled_images
from colorlab.semantic import SemanticClassifier, train_classifier
from colorlab.turing_test import TuringTest

pytestmark = pytest.mark.usefixtures("one_thread")


def test_sample_labels_name_the_photo_each_patch_comes_from():
    images, labels = load_labelled_images("samples", "test", size=32, count=40, seed=3)
    assert images.shape == (40, 3, 32, 32) and labels.shape == (40,) and labels.dtype == torch.int64
    assert set(labels.tolist()) <= set(range(len(TEST_PHOTOS))) and len(set(labels.tolist())) > 1
    # the same call without labels gives the same images
    assert torch.equal(images, load_images("samples", "test", size=32, count=40, seed=3))


def test_a_folder_has_no_labels(tmp_path):
    with pytest.raises(ValueError, match="no labels"):
        load_labelled_images(tmp_path, "test")


def test_course_labels_match_its_images():
    course = setup(device="cpu", dataset="samples", verbose=False)
    labels = course.labels("test")
    assert labels.shape == (course.size.test_count,)
    again, _ = load_labelled_images("samples", "test", size=course.size.patch, count=course.size.test_count,
                                    seed=course.seed + 1)
    assert torch.equal(course.images("test"), again)


def _colour_task(n=96, seed=0):
    """Two classes told apart by colour alone: the same random texture, reddish or bluish."""
    g = torch.Generator().manual_seed(seed)
    texture = torch.rand(n, 1, 16, 16, generator=g) * 0.5 + 0.25
    labels = torch.arange(n) % 2
    tint = torch.where(labels[:, None, None, None] == 0, torch.tensor([0.3, 0.0, -0.3]).view(1, 3, 1, 1),
                       torch.tensor([-0.3, 0.0, 0.3]).view(1, 3, 1, 1))
    return (texture + tint).clamp(0, 1), labels


def test_the_classifier_learns_colour_and_fails_on_gray():
    torch.manual_seed(0)
    rgb, labels = _colour_task()
    model = SemanticClassifier(classes=2, width=4)
    losses = train_classifier(model, rgb, labels, steps=60, batch_size=32, lr=1e-2)
    assert losses[-1] < losses[0]
    test_rgb, test_labels = _colour_task(seed=1)
    assert model.accuracy(test_rgb, test_labels) > 0.9
    gray = test_rgb.mean(dim=1, keepdim=True).expand(-1, 3, -1, -1)
    assert model.accuracy(gray, test_labels) < 0.75  # colour was the only clue


@pytest.mark.parametrize("labels, message", [(torch.zeros(3, dtype=torch.int64), r"shape \(96,\)"),
                                             (torch.full((96,), 5), r"lie in \[0, 2\)")])
def test_bad_labels_are_refused(labels, message):
    rgb, _ = _colour_task()
    with pytest.raises(ValueError, match=message):
        train_classifier(SemanticClassifier(2, 4), rgb, labels, steps=1)


def test_turing_test_keeps_the_score_and_the_fool_rate():
    real = torch.rand(3, 3, 8, 8)
    fake = torch.rand(2, 3, 8, 8) * 0.2
    game = TuringTest(real, fake, seed=1)
    truth = [is_real for _, is_real in game.rounds]
    assert sorted(truth) == [False, False, True, True, True]
    first_image = bytes(game.image.value)
    assert first_image[:8] == b"\x89PNG\r\n\x1a\n"
    # answer "real" to everything: right on the 3 real, fooled by the 2 colorized
    for _ in range(5):
        game.real_button.click()
    assert game.done and game.score == 3 and game.fool_rate == 1.0
    assert "3 of 5 right" in game.score_line.value and game.real_button.disabled
    with pytest.raises(ValueError, match="every image has been shown"):
        game.guess(True)


def test_turing_test_shows_a_new_image_each_round_and_says_if_the_guess_was_right():
    game = TuringTest(torch.rand(2, 3, 8, 8), torch.zeros(2, 3, 8, 8), seed=0)
    before = bytes(game.image.value)
    was_real = game.rounds[0][1]
    assert game.guess(not was_real) is False
    assert "Wrong" in game.feedback.value
    assert bytes(game.image.value) != before or game.rounds[1][1] == was_real


def test_turing_test_refuses_bad_images():
    with pytest.raises(ValueError):
        TuringTest(torch.rand(2, 8, 8), torch.rand(1, 3, 8, 8))


# ------------------------------------------------------------------ the reference judge of CIFAR-10

def test_the_reference_judge_loads_safely_and_its_record_says_how_it_was_made():
    from colorlab.semantic import reference_judge

    judge, record = reference_judge("cifar10")
    assert judge.config == record["model_config"] and not judge.training
    assert record["command"].startswith("colorlab judge --data cifar10")
    assert record["classes"] == 10 and record["train_images"] == 50000 and record["test_images"] == 10000
    truth, gray = record["accuracy"]["truth"], record["accuracy"]["gray"]
    assert truth["mean"] >= 0.70 and truth["interval"][0] > gray["interval"][1]  # worth the name, and uses colour


def test_a_damaged_judge_is_refused_by_its_checksum(tmp_path):
    from colorlab.semantic import _judge_files, load_judge

    weights, record_file = _judge_files("cifar10")
    import json

    sha256 = json.loads(record_file.read_text())["sha256"]
    copy = tmp_path / "judge.pt"
    data = bytearray(weights.read_bytes())
    data[-100] ^= 0xFF
    copy.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="sha256"):
        load_judge(copy, sha256=sha256)
    with pytest.raises(ValueError, match="only for cifar10"):
        from colorlab.semantic import reference_judge

        reference_judge("imagenet")


def test_the_reference_judge_is_good_on_true_colours_and_worse_on_gray(cifar10_binary_root, monkeypatch):
    # 003's test means something only when the judge is good on the true images: at least 70 % on CIFAR-10
    from colorlab.color import rgb_to_gray
    from colorlab.results import AGREES, Claim, ResultsTable
    from colorlab.semantic import reference_judge

    monkeypatch.setenv("COLORLAB_DATA", str(cifar10_binary_root))
    images, labels = load_labelled_images("cifar10", "test", size=32, count=2000)
    judge, _ = reference_judge("cifar10")
    truth = images.float() / 255
    table = ResultsTable()
    table.add("truth", {"semantic": judge.correct(truth, labels)})
    table.add("gray", {"semantic": judge.correct(rgb_to_gray(truth), labels)})
    assert table.interval("truth", "semantic")[0] >= 0.70
    assert table.verdict(Claim("", "truth", "higher", "gray", "semantic")) == AGREES
