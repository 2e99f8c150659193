"""Tests of ``training_data.augmentation``: transforms do what they say, and bad input is named."""

from __future__ import annotations

import numpy as np
import pytest

from mlsys_kit.params import ParameterError
from mlsys_kit.training_data.augmentation import (
    AUGMENTATION_METHODS,
    LABEL_CHANGING,
    Augmented,
    Mixed,
    add_noise,
    augment,
    mixup,
    rotate,
    shift,
)


def dot(row: int, col: int, size: int = 8) -> np.ndarray:
    image = np.zeros((size, size))
    image[row, col] = 1.0
    return image


def batch(n: int = 6, size: int = 8, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, size, size))


# ----------------------------------------------------------------------------------------------
# shift
# ----------------------------------------------------------------------------------------------


def test_shift_moves_a_pixel_right_and_down():
    moved = shift(dot(2, 3), dx=2, dy=1)
    assert moved[3, 5] == pytest.approx(1.0)
    assert moved.sum() == pytest.approx(1.0)


def test_shift_fills_the_uncovered_border():
    moved = shift(np.ones((4, 4)), dx=1, dy=0, fill=0.0)
    np.testing.assert_allclose(moved[:, 0], 0.0)
    np.testing.assert_allclose(moved[:, 1:], 1.0)


def test_shift_per_image_offsets_and_shape_kept():
    images = np.stack([dot(3, 3), dot(3, 3)])
    moved = shift(images, dx=[1, -1], dy=[0, 2])
    assert moved.shape == images.shape
    assert moved[0, 3, 4] == pytest.approx(1.0)
    assert moved[1, 5, 2] == pytest.approx(1.0)


def test_shift_by_zero_is_identity_and_input_untouched():
    images = batch()
    before = images.copy()
    np.testing.assert_allclose(shift(images, 0, 0), images)
    np.testing.assert_array_equal(images, before)


def test_shift_off_the_image_loses_the_pixel():
    assert shift(dot(0, 7), dx=1, dy=0).sum() == pytest.approx(0.0)


# ----------------------------------------------------------------------------------------------
# rotate
# ----------------------------------------------------------------------------------------------


def test_rotate_180_equals_flipping_both_axes():
    images = batch()
    np.testing.assert_allclose(rotate(images, 180.0), images[:, ::-1, ::-1], atol=1e-9)


def test_rotate_90_is_a_quarter_turn_counter_clockwise():
    image = batch(1)[0]
    np.testing.assert_allclose(rotate(image, 90.0), np.rot90(image), atol=1e-9)


def test_rotate_by_zero_is_identity_and_per_image_angles():
    images = batch(3)
    np.testing.assert_allclose(rotate(images, 0.0), images, atol=1e-12)
    turned = rotate(images, [0.0, 180.0, 0.0])
    np.testing.assert_allclose(turned[1], images[1, ::-1, ::-1], atol=1e-9)
    np.testing.assert_allclose(turned[[0, 2]], images[[0, 2]], atol=1e-12)


# ----------------------------------------------------------------------------------------------
# add_noise
# ----------------------------------------------------------------------------------------------


def test_noise_has_the_requested_spread_and_is_seeded():
    images = np.full((50, 8, 8), 0.5)
    noisy = add_noise(images, 0.1, seed=1)
    assert np.std(noisy - images) == pytest.approx(0.1, rel=0.05)
    again = add_noise(images, 0.1, seed=1)
    np.testing.assert_array_equal(noisy, again)


def test_noise_clip_and_zero_noise():
    images = batch()
    clipped = add_noise(images, 5.0, seed=0, clip=(0, 1))
    assert clipped.min() >= 0 and clipped.max() <= 1
    np.testing.assert_array_equal(add_noise(images, 0.0, seed=0), images)


# ----------------------------------------------------------------------------------------------
# mixup
# ----------------------------------------------------------------------------------------------


def test_mixup_is_a_convex_combination_with_matching_labels():
    images = batch(8)
    labels = np.arange(8)
    mixed = mixup(images, labels, alpha=1.0, seed=0)
    assert isinstance(mixed, Mixed)
    assert np.all((mixed.lam >= 0) & (mixed.lam <= 1))
    np.testing.assert_array_equal(mixed.labels_a, labels)
    partner = mixed.labels_b  # labels are the indices here
    lam = mixed.lam[:, None, None]
    np.testing.assert_allclose(mixed.images, lam * images + (1 - lam) * images[partner])


def test_mixup_same_class_keeps_one_label():
    labels = np.array([0, 0, 0, 1, 1, 2])
    mixed = mixup(batch(6), labels, alpha=0.5, seed=3, same_class=True)
    np.testing.assert_array_equal(mixed.labels_a, mixed.labels_b)


# ----------------------------------------------------------------------------------------------
# augment
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["shift", "rotate", "noise", "mixup"])
def test_augment_appends_copies_after_the_originals(method):
    images, labels = batch(5), np.array([0, 1, 2, 1, 0])
    X, y = augment(images, labels, method, n_copies=3, seed=0)
    assert X.shape == (20, 8, 8)
    np.testing.assert_array_equal(X[:5], images)
    np.testing.assert_array_equal(y, np.tile(labels, 4))
    assert X.min() >= 0 and X.max() <= 1


def test_augment_none_and_label_changing_methods():
    images, labels = batch(4), np.arange(4)
    X, y = augment(images, labels, "none", seed=0)
    np.testing.assert_array_equal(X, images)
    assert set(LABEL_CHANGING) <= set(AUGMENTATION_METHODS)
    X, y = augment(images, labels, "rotate180", n_copies=5, seed=0)
    assert X.shape == (8, 8, 8)  # one deterministic copy whatever n_copies
    np.testing.assert_array_equal(X[4:], images[:, ::-1, ::-1])
    np.testing.assert_array_equal(y, np.tile(labels, 2))
    X, _ = augment(images, labels, "flip", seed=0)
    np.testing.assert_array_equal(X[4:], images[:, :, ::-1])


def test_augment_shift_stays_within_max_shift():
    images = np.stack([dot(4, 4)] * 50)
    X, _ = augment(images, np.zeros(50), "shift", n_copies=1, seed=0)
    rows, cols = np.nonzero(X[50:] > 0.5)[1:]
    assert rows.min() >= 3 and rows.max() <= 5 and cols.min() >= 3 and cols.max() <= 5
    assert len(set(zip(rows.tolist(), cols.tolist(), strict=True))) > 1  # offsets vary


def test_augment_is_reproducible_with_a_seed():
    images, labels = batch(5), np.arange(5)
    a = augment(images, labels, "rotate", n_copies=2, seed=7)[0]
    b = augment(images, labels, "rotate", n_copies=2, seed=7)[0]
    np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------------------------------------
# Bad input: clear errors naming what was wrong and what is allowed
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("images", "match"),
    [
        (np.zeros(8), r"one image \(height, width\) or a batch .* shape \(8,\)"),
        (np.zeros((2, 2, 8, 8)), r"shape \(2, 2, 8, 8\)"),
        (np.zeros((0, 8, 8)), "empty"),
        (np.array([[np.nan, 0.0], [0.0, 0.0]]), "NaN or infinite"),
    ],
)
def test_bad_image_shapes_are_named(images, match):
    with pytest.raises(ParameterError, match="shift: .*" + match):
        shift(images, 1, 0)
    with pytest.raises(ParameterError, match="rotate: .*" + match):
        rotate(images, 10.0)


def test_non_numeric_images_are_refused():
    with pytest.raises(ParameterError, match="shift: images must be a numeric array"):
        shift("digits", 1, 0)
    with pytest.raises(ParameterError, match="rotate: images must be a numeric array"):
        rotate([["a", "b"], ["c", "d"]], 10.0)


def test_wrong_number_of_offsets_or_angles():
    with pytest.raises(ParameterError, match=r"dx must be a number or one value per image \(3\)"):
        shift(batch(3), dx=[1, 2], dy=0)
    with pytest.raises(ValueError, match=r"degrees must be a number or one value per image"):
        rotate(batch(3), [1.0, 2.0])
    with pytest.raises(ValueError, match="degrees must be finite"):
        rotate(batch(1), float("inf"))


def test_bad_noise_arguments():
    with pytest.raises(ValueError, match=r"std=-0.1 is out of range: allowed std ≥ 0"):
        add_noise(batch(), -0.1, seed=0)
    with pytest.raises(ParameterError, match="add_noise: seed must be an integer"):
        add_noise(batch(), 0.1, seed=None)
    with pytest.raises(ParameterError, match="add_noise: seed=-1 is out of range"):
        add_noise(batch(), 0.1, seed=-1)
    with pytest.raises(ValueError, match="clip must be"):
        add_noise(batch(), 0.1, seed=0, clip=(1, 0))


def test_bad_mixup_arguments():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"one label per image \(4\)"):
        mixup(batch(4), [0, 1], alpha=1.0, seed=rng)
    with pytest.raises(ParameterError, match="mixup: alpha=0.0 is out of range: allowed alpha > 0"):
        mixup(batch(4), [0, 1, 2, 3], alpha=0, seed=rng)
    with pytest.raises(ValueError, match="needs a batch"):
        mixup(batch(1)[0], [0], alpha=1.0, seed=rng)


def test_bad_augment_arguments():
    rng = np.random.default_rng(0)
    images, labels = batch(4), np.arange(4)
    with pytest.raises(
        ParameterError, match=r"augment: method='blur' is not allowed: choose one of 'none'"
    ):
        augment(images, labels, "blur", seed=rng)
    with pytest.raises(ParameterError, match="augment: n_copies=0 is out of range"):
        augment(images, labels, "shift", n_copies=0, seed=rng)
    with pytest.raises(ParameterError, match="augment: max_shift must be an integer; got 0.5"):
        augment(images, labels, "shift", max_shift=0.5, seed=rng)
    with pytest.raises(ValueError, match=r"max_degrees=270.0 is out of range"):
        augment(images, labels, "rotate", max_degrees=270.0, seed=rng)
    with pytest.raises(ValueError, match=r"one label per image \(4\)"):
        augment(images, labels[:3], "shift", seed=rng)
    with pytest.raises(ValueError, match="needs a batch"):
        augment(images[0], labels[:1], "shift", seed=rng)


def test_augment_returns_a_named_result_and_threads_one_generator():
    images, labels = batch(5), np.arange(5)
    result = augment(images, labels, "noise", n_copies=2, seed=3)
    assert isinstance(result, Augmented)
    assert result.images.shape == (15, 8, 8) and result.labels.tolist() == list(labels) * 3
    np.testing.assert_array_equal(
        result.images, augment(images, labels, "noise", n_copies=2, seed=3).images
    )
    one = np.random.default_rng(3)  # an integer seed is the Generator it names
    np.testing.assert_array_equal(
        augment(images, labels, "noise", n_copies=2, seed=one).images, result.images
    )
    assert np.array_equal(
        augment(images, labels, "noise").images, augment(images, labels, "noise", seed=0).images
    )
