"""Data augmentation: more training images from the ones you have, and when that backfires.

Serves Chapter 4, "Data Augmentation" (Chip Huyen, *Designing Machine Learning Systems*,
O'Reilly 2022): label-preserving transformations (small shifts and rotations), perturbation
(random noise) and data synthesis (mixup), on batches of small grey-scale images such as
scikit-learn's bundled 8×8 digits.

What is in here, and why some of it is written by hand:

- :func:`shift` and :func:`rotate` call :mod:`scipy.ndimage` (``shift`` and ``rotate``, bilinear,
  the image keeps its size and the uncovered border is filled with ``fill``), one image at a
  time so that each image can get its own offset or angle.
- :func:`add_noise` and :func:`mixup` are a line or two of numpy each and are written out
  because they *are* the lesson: Gaussian pixel noise, and mixup's convex combination of two
  images, ``lam * a + (1 - lam) * b`` with ``lam ~ Beta(alpha, alpha)`` (Zhang et al. 2018).
  Image-augmentation libraries (torchvision, albumentations) offer the same transforms, but
  would pull in PyTorch or OpenCV for what is, on 8×8 arrays, a line of numpy or scipy each.
- :func:`augment` draws ``n_copies`` random variants of every training image with one method and
  returns them after the originals, the way an augmentation pipeline enlarges a training set.
  Its ``"rotate180"`` and ``"flip"`` methods are deliberately *not* label-preserving for digits
  (a 6 turned upside down is a 9): they show where augmentation hurts.

Every function accepts one image (a 2-D array) or a batch (a 3-D array ``(n, height, width)``)
and returns the same shape, as floats. The random ones take ``seed`` (an integer or a
:class:`numpy.random.Generator`, resolved by :func:`mlsys_kit.params.make_rng`): pass one
Generator to several calls to draw them from one stream.

Examples
--------
>>> import numpy as np
>>> image = np.zeros((4, 4)); image[1, 1] = 1.0
>>> shift(image, dx=1, dy=0)[1]  # the bright pixel moves one column to the right
array([0., 0., 1., 0.])
>>> rotate(image, 180.0)[2, 2]  # upside down: (1, 1) goes to (2, 2)
np.float64(1.0)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from mlsys_kit.params import (
    ParameterError,
    Seed,
    check_choice,
    check_float,
    check_int,
    make_rng,
)

__all__ = [
    "AUGMENTATION_METHODS",
    "LABEL_CHANGING",
    "Augmented",
    "Mixed",
    "add_noise",
    "augment",
    "mixup",
    "rotate",
    "shift",
]

#: The methods :func:`augment` knows: "none" (originals only), four label-preserving ones, and
#: two that change what some digits mean (:data:`LABEL_CHANGING`).
AUGMENTATION_METHODS: tuple[str, ...] = (
    "none",
    "shift",
    "rotate",
    "noise",
    "mixup",
    "rotate180",
    "flip",
)
#: Methods that turn some digits into other digits or into no digit at all.
LABEL_CHANGING: tuple[str, ...] = ("rotate180", "flip")


# ----------------------------------------------------------------------------------------------
# Arguments (checked with mlsys_kit.params; these compose its checks for image batches)
# ----------------------------------------------------------------------------------------------


def _as_batch(images: ArrayLike, owner: str) -> tuple[NDArray[np.float64], bool]:
    """Return ``images`` as a float (n, height, width) batch, and whether it was one image."""
    if isinstance(images, np.ndarray) and images.dtype == object or isinstance(images, str):
        raise ParameterError(
            f"{owner}: images must be a numeric array; got {type(images).__name__}"
        )
    try:
        array = np.asarray(images, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError(
            f"{owner}: images must be a numeric array of images; got {images!r:.60}"
        ) from None
    if array.ndim not in (2, 3):
        raise ParameterError(
            f"{owner}: images must be one image (height, width) or a batch (n, height, width); "
            f"got an array of shape {array.shape}"
        )
    if array.size == 0:
        raise ParameterError(
            f"{owner}: images is empty (shape {array.shape}): nothing to transform"
        )
    if not np.isfinite(array).all():
        raise ParameterError(f"{owner}: images contains NaN or infinite pixels")
    single = array.ndim == 2
    return (array[None] if single else array), single


def _per_image(name: str, value: ArrayLike, n: int, owner: str) -> NDArray[np.float64]:
    """A scalar or one value per image, as an array of length ``n``."""
    array = np.asarray(value, dtype=float)
    if array.ndim == 0:
        array = np.full(n, float(array))
    if array.shape != (n,):
        raise ParameterError(
            f"{owner}: {name} must be a number or one value per image ({n}); "
            f"got shape {array.shape}"
        )
    if not np.isfinite(array).all():
        raise ParameterError(f"{owner}: {name} must be finite; got {value!r}")
    return array


def _labels_for(labels: ArrayLike, n: int, owner: str) -> NDArray[Any]:
    array = np.asarray(labels)
    if array.shape != (n,):
        raise ParameterError(
            f"{owner}: labels must have one label per image ({n}); got shape {array.shape}"
        )
    return array


def _clip_range(clip: tuple[float, float] | None, owner: str) -> tuple[float, float] | None:
    if clip is None:
        return None
    low, high = clip
    if not low < high:
        raise ParameterError(f"{owner}: clip must be (low, high) with low < high; got {clip!r}")
    return float(low), float(high)


# ----------------------------------------------------------------------------------------------
# Label-preserving transformations and perturbation
# ----------------------------------------------------------------------------------------------


def shift(
    images: ArrayLike, dx: ArrayLike = 0.0, dy: ArrayLike = 0.0, *, fill: float = 0.0
) -> NDArray[np.float64]:
    """Move images ``dx`` pixels right and ``dy`` pixels down (bilinear, same size).

    Parameters
    ----------
    images : array-like
        One image ``(height, width)`` or a batch ``(n, height, width)``.
    dx, dy : float or array-like of shape (n,)
        The offsets in pixels, one for all images or one per image; fractions interpolate.
    fill : float, default 0.0
        The value of the pixels uncovered at the border (the background).

    Returns
    -------
    numpy.ndarray
        The shifted images, the shape of ``images``.

    Raises
    ------
    ParameterError
        When ``images`` is not 2-D or 3-D, or ``dx``/``dy`` has the wrong length.

    Examples
    --------
    >>> shift(np.eye(3), dx=0, dy=1)
    array([[0., 0., 0.],
           [1., 0., 0.],
           [0., 1., 0.]])
    """
    from scipy import ndimage

    batch, single = _as_batch(images, "shift")
    dxs, dys = _per_image("dx", dx, len(batch), "shift"), _per_image("dy", dy, len(batch), "shift")
    fill = check_float("fill", fill, owner="shift")
    out = np.empty_like(batch)
    for i, image in enumerate(batch):
        out[i] = ndimage.shift(image, (dys[i], dxs[i]), order=1, mode="constant", cval=fill)
    return out[0] if single else out


def rotate(images: ArrayLike, degrees: ArrayLike, *, fill: float = 0.0) -> NDArray[np.float64]:
    """Rotate images counter-clockwise about their centre (bilinear, same size).

    Parameters
    ----------
    images : array-like
        One image ``(height, width)`` or a batch ``(n, height, width)``.
    degrees : float or array-like of shape (n,)
        The angle, one for all images or one per image.
    fill : float, default 0.0
        The value of the pixels rotated in from outside the image.

    Returns
    -------
    numpy.ndarray
        The rotated images, the shape of ``images``.

    Raises
    ------
    ParameterError
        When ``images`` is not 2-D or 3-D, or ``degrees`` has the wrong length.

    Examples
    --------
    >>> rotate(np.array([[1.0, 0.0], [0.0, 0.0]]), 180.0)
    array([[0., 0.],
           [0., 1.]])
    """
    from scipy import ndimage

    batch, single = _as_batch(images, "rotate")
    angles = _per_image("degrees", degrees, len(batch), "rotate")
    fill = check_float("fill", fill, owner="rotate")
    out = np.empty_like(batch)
    for i, image in enumerate(batch):
        out[i] = ndimage.rotate(
            image, angles[i], reshape=False, order=1, mode="constant", cval=fill
        )
    return out[0] if single else out


def add_noise(
    images: ArrayLike,
    std: float,
    *,
    seed: Seed = 0,
    clip: tuple[float, float] | None = None,
) -> NDArray[np.float64]:
    """Add Gaussian noise of standard deviation ``std`` to every pixel (perturbation).

    Parameters
    ----------
    images : array-like
        One image ``(height, width)`` or a batch ``(n, height, width)``.
    std : float
        The noise's standard deviation, in pixel units, ≥ 0.
    seed : int or numpy.random.Generator, default 0
        The source of randomness.
    clip : (low, high), optional
        Clip the result to the valid pixel range, e.g. ``(0, 1)``.

    Returns
    -------
    numpy.ndarray
        The noisy images, the shape of ``images``.

    Examples
    --------
    >>> noisy = add_noise(np.zeros((2, 3, 3)), 0.1, seed=0, clip=(0, 1))
    >>> noisy.shape, bool(noisy.min() >= 0)
    ((2, 3, 3), True)
    """
    owner = "add_noise"
    batch, single = _as_batch(images, owner)
    std = check_float("std", std, min=0.0, owner=owner)
    clip = _clip_range(clip, owner)
    rng = make_rng(seed, owner=owner)
    out = batch + rng.normal(0.0, std, batch.shape)
    if clip is not None:
        out = np.clip(out, *clip)
    return out[0] if single else out


# ----------------------------------------------------------------------------------------------
# Synthesis: mixup
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mixed:
    """Images made by mixup, with the two labels they mix and their weights.

    Attributes
    ----------
    images : numpy.ndarray
        ``lam * images[i] + (1 - lam) * images[partner[i]]``, shape (n, height, width).
    labels_a, labels_b : numpy.ndarray
        The labels of the two images mixed into each new one.
    lam : numpy.ndarray
        The weight of ``labels_a``, in [0, 1]; ``labels_b`` weighs ``1 - lam``. A classifier
        that accepts sample weights learns mixup's soft labels from two rows per image:
        ``(image, labels_a, lam)`` and ``(image, labels_b, 1 - lam)``.
    """

    images: NDArray[np.float64]
    labels_a: NDArray[Any]
    labels_b: NDArray[Any]
    lam: NDArray[np.float64]


def mixup(
    images: ArrayLike,
    labels: ArrayLike,
    *,
    alpha: float,
    seed: Seed = 0,
    same_class: bool = False,
) -> Mixed:
    """Mix every image with a random partner: ``lam * a + (1 - lam) * b``, ``lam ~ Beta``.

    Parameters
    ----------
    images : array-like of shape (n, height, width)
        The batch to mix.
    labels : array-like of shape (n,)
        One label per image.
    alpha : float
        The Beta(alpha, alpha) parameter, > 0: small values keep ``lam`` near 0 or 1 (images
        barely mixed), ``alpha=1`` draws ``lam`` uniformly.
    seed : int or numpy.random.Generator, default 0
        The source of randomness.
    same_class : bool, default False
        Pick each partner among the images of the same label, so that the mixed image keeps
        one unambiguous label (``labels_a == labels_b``): interpolation within a class, usable
        with any classifier. Classes with one image are mixed with themselves.

    Returns
    -------
    Mixed
        The mixed images, both labels, and ``lam``.

    Raises
    ------
    ParameterError
        When ``images`` is not a 3-D batch, ``labels`` does not match it, or ``alpha`` ≤ 0.

    Examples
    --------
    >>> images = np.stack([np.full((2, 2), value) for value in (0.0, 1.0, 2.0)])
    >>> mixed = mixup(images, [0, 1, 2], alpha=1.0, seed=0)
    >>> mixed.images.shape, mixed.labels_a.tolist()
    ((3, 2, 2), [0, 1, 2])
    >>> expected = mixed.lam * mixed.labels_a + (1 - mixed.lam) * mixed.labels_b
    >>> bool(np.allclose(mixed.images[:, 0, 0], expected))  # each pixel: lam * a + (1 - lam) * b
    True
    """
    owner = "mixup"
    batch, single = _as_batch(images, owner)
    if single:
        raise ParameterError(
            f"{owner}: mixup needs a batch of images (n, height, width); got one 2-D image"
        )
    labels = _labels_for(labels, len(batch), owner)
    check_float("alpha", alpha, min=0, open_min=True, owner=owner)
    rng = make_rng(seed, owner=owner)
    if same_class:
        partner = np.empty(len(batch), dtype=int)
        for label in np.unique(labels):
            members = np.flatnonzero(labels == label)
            partner[members] = rng.permutation(members)
    else:
        partner = rng.permutation(len(batch))
    lam = rng.beta(alpha, alpha, len(batch))
    mixed = lam[:, None, None] * batch + (1 - lam[:, None, None]) * batch[partner]
    return Mixed(mixed, labels.copy(), labels[partner], lam)


# ----------------------------------------------------------------------------------------------
# A training set, augmented
# ----------------------------------------------------------------------------------------------


class Augmented(NamedTuple):
    """A training set and its augmented copies: ``images, labels = augment(...)``.

    Attributes
    ----------
    images : numpy.ndarray
        Shape ``(n * (1 + copies), height, width)``: the originals first, then the copies.
    labels : numpy.ndarray
        One label per image, each copy keeping its original's.
    """

    images: NDArray[np.float64]
    labels: NDArray[Any]


def augment(
    images: ArrayLike,
    labels: ArrayLike,
    method: str,
    *,
    n_copies: int = 1,
    seed: Seed = 0,
    max_shift: int = 1,
    max_degrees: float = 15.0,
    noise_std: float = 0.1,
    alpha: float = 1.0,
    clip: tuple[float, float] | None = (0.0, 1.0),
) -> Augmented:
    """The training set followed by ``n_copies`` random variants of every image, labels kept.

    Parameters
    ----------
    images : array-like of shape (n, height, width)
        The training images.
    labels : array-like of shape (n,)
        Their labels; every variant keeps the label of its original.
    method : str
        One of :data:`AUGMENTATION_METHODS`:

        - ``"none"``: the originals only (the baseline);
        - ``"shift"``: a random whole-pixel offset in ``[-max_shift, max_shift]`` each way
          (possibly none);
        - ``"rotate"``: a random angle in ``[-max_degrees, max_degrees]``;
        - ``"noise"``: Gaussian pixel noise of standard deviation ``noise_std``;
        - ``"mixup"``: mixup *within the class* (``same_class=True``), so labels stay true;
        - ``"rotate180"``: each image upside down, **label kept** (one copy: it is deterministic);
        - ``"flip"``: each image mirrored left to right, **label kept** (one copy).
    n_copies : int, default 1
        Random variants per image, ≥ 1 (ignored by "none", "rotate180" and "flip").
    seed : int or numpy.random.Generator, default 0
        The source of randomness.
    max_shift : int, default 1
        The largest offset of "shift", in whole pixels, ≥ 1.
    max_degrees, noise_std, alpha : float
        The strength of the other random methods: the largest angle of "rotate" (≤ 180), the
        noise's standard deviation, mixup's Beta parameter.
    clip : (low, high) or None, default (0, 1)
        The valid pixel range: noisy pixels are clipped to it.

    Returns
    -------
    Augmented
        ``(images, labels)``: ``images`` of shape ``(n * (1 + copies), height, width)``,
        originals first, and the matching labels.

    Raises
    ------
    ParameterError
        For an unknown ``method`` (naming the allowed ones) or out-of-range strengths.

    Examples
    --------
    >>> X = np.zeros((3, 8, 8)); X[:, 2:6, 3:5] = 1.0
    >>> X_aug, y_aug = augment(X, [1, 7, 1], "shift", n_copies=2, seed=0)
    >>> X_aug.shape, y_aug.tolist()
    ((9, 8, 8), [1, 7, 1, 1, 7, 1, 1, 7, 1])
    """
    owner = "augment"
    check_choice("method", method, AUGMENTATION_METHODS, owner=owner)
    batch, single = _as_batch(images, owner)
    if single:
        raise ParameterError(
            f"{owner}: augment needs a batch of images (n, height, width); got one 2-D image"
        )
    labels = _labels_for(labels, len(batch), owner)
    n_copies = check_int("n_copies", n_copies, min=1, owner=owner)
    max_shift = check_int("max_shift", max_shift, min=1, owner=owner)
    noise_std = check_float("noise_std", noise_std, min=0.0, owner=owner)
    check_float("alpha", alpha, min=0, open_min=True, owner=owner)
    max_degrees = check_float("max_degrees", max_degrees, min=0.0, max=180.0, owner=owner)
    clip = _clip_range(clip, owner)
    rng = make_rng(seed, owner=owner)
    n = len(batch)
    if method == "none":
        return Augmented(batch.copy(), labels.copy())
    if method == "rotate180":
        flipped = batch[:, ::-1, ::-1]
        return Augmented(np.concatenate([batch, flipped]), np.concatenate([labels, labels]))
    if method == "flip":
        mirrored = batch[:, :, ::-1]
        return Augmented(np.concatenate([batch, mirrored]), np.concatenate([labels, labels]))
    copies = []
    for _ in range(n_copies):
        if method == "shift":
            dx, dy = rng.integers(-max_shift, max_shift + 1, size=(2, n))
            copies.append(shift(batch, dx, dy))
        elif method == "rotate":
            copies.append(rotate(batch, rng.uniform(-max_degrees, max_degrees, n)))
        elif method == "noise":
            copies.append(add_noise(batch, noise_std, seed=rng, clip=clip))
        else:  # mixup
            copies.append(mixup(batch, labels, alpha=alpha, seed=rng, same_class=True).images)
    out = np.concatenate([batch, *copies])
    return Augmented(out, np.tile(labels, n_copies + 1))
