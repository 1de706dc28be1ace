"""GAN augmentation for the pattern classifier (issue #14): a share of a batch's kamon views replaced by
samples of the pattern GAN version 2 (#13, ``motion_core/patterns/variants.py``) conditioned on the
view's class.

    python -m training.patterns.train_classifier --extra training.patterns.gan_augment:augment ...
    python -m training.patterns.train_classifier --extra training.patterns.gan_augment:augment_light ...

``augment(images, labels, rng, classes)`` is ``train_classifier``'s hook (``--extra module:function``;
the trainer binds ``classes``, the class names that ``labels`` index). It runs after the trainer's own
augmentation (the damage simulator on half of the views, pad-and-crop, flip, brightness/contrast), so
the other views keep the damage simulator and the GAN is added to it, not put in its place.

- **Which views.** Each view is drawn for replacement with probability ``share``; a drawn view is
  replaced only when its class is a kamon charge family the GAN knows (``kamon:<family>`` with
  ``<family>`` among the GAN's 28 condition classes: both come from ``concepts.kamon_charge``).
  ``kamon:other`` (the rare families merged by ``classifier_data.RARE_MIN``), batik, decor and a user
  archive's own labels have no GAN condition: those views stay as they are.
- **The sample.** For a replaced view one seed is drawn from ``rng``; the sample is exactly
  ``PatternGAN.sample(family, seed, 1)`` (the condition is one of the family's member prints drawn from
  the seed, z from the seed), at the GAN's 64 px. It is brought to the classifier's input size as the
  real images are (``data.load_image``: PIL bilinear; a no-op at 64 px) and quantised to 8 bits as they
  are, then given the trainer's pad-and-crop, flip and brightness/contrast (``standard_augment``, from
  ``rng``) so it is not told apart by lacking them. No damage simulator on GAN views.
- **Share, chosen before any run.** ``augment``: 0.25 of the kamon views. The GAN draws Edo-style crests
  with no recognisable charge whose condition steers weakly (a class-conditioned sample's embedding is
  nearest its own class mean 13.8 % of the time, chance 3.6 %: docs/pattern_gan.md), so most samples'
  labels are wrong in content; a quarter keeps three real views in four (the damage simulator, whose
  labels are right, takes a half). ``augment_light``: 0.10, the single alternative, for the case where
  the label noise costs more than the extra variety gives; the two are compared on the validation part
  only (docs/classifier.md).

Everything random comes from ``rng``; nothing else is stored between calls (the loaded GAN is cached,
it is read-only).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

SHARE = 0.25
SHARE_LIGHT = 0.10


@functools.lru_cache(maxsize=2)
def _gan(path: str | None = None):
    from motion_core.patterns.variants import WEIGHTS, load_gan

    return load_gan(path or WEIGHTS)


def gan_condition_of(classes: Sequence[str], gan_classes: Sequence[str]) -> list[str | None]:
    """For each classifier class its GAN condition class (``kamon:kiku`` -> ``kiku``), else None."""
    known = set(gan_classes)
    out: list[str | None] = []
    for c in classes:
        kind, _, name = str(c).partition(":")
        out.append(name if kind == "kamon" and name in known else None)
    return out


def _to_input(samples: np.ndarray, size: int) -> np.ndarray:
    """(N, S, S, 3) float [0, 1] -> (N, size, size, 3) float32 on the 8-bit levels of the real images
    (``data.load_image``: PIL bilinear resize of uint8)."""
    u8 = np.clip(samples * 255 + 0.5, 0, 255).astype(np.uint8)
    if u8.shape[1:3] != (size, size):
        from PIL import Image

        u8 = np.stack([np.asarray(Image.fromarray(im).resize((size, size), Image.BILINEAR), np.uint8) for im in u8])
    return u8.astype(np.float32) / 255


def gan_augment(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator, classes: Sequence[str],
                share: float, gan=None) -> tuple[np.ndarray, np.ndarray]:
    """(images with GAN views, bool mask of the replaced views). ``images`` (N, H, W, 3) float in [0, 1],
    ``labels`` (N,) indices into ``classes``; ``share`` of the views is drawn, those with a GAN
    condition are replaced. The input array is not modified."""
    from training.patterns.train_classifier import standard_augment

    if not 0 <= share <= 1:
        raise ValueError(f"share must be in [0, 1], got {share}")
    gan = gan or _gan()
    cond = gan_condition_of(classes, gan.classes)
    x = np.array(images, np.float32, copy=True)
    n = len(x)
    drawn = rng.random(n) < share
    mapped = np.array([cond[int(k)] is not None for k in labels], bool)
    rep = np.flatnonzero(drawn & mapped)
    if len(rep) == 0:
        return x, np.zeros(n, bool)
    seeds = rng.integers(0, 2**31 - 1, len(rep))
    samples = _to_input(np.concatenate([gan.sample(cond[int(labels[i])], int(s), 1)
                                        for i, s in zip(rep, seeds, strict=True)]), x.shape[1])
    x[rep] = standard_augment(samples, rng)
    mask = np.zeros(n, bool)
    mask[rep] = True
    return x, mask


def augment(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator,
            classes: Sequence[str] | None = None) -> np.ndarray:
    """The hook: ``SHARE`` (0.25) of the kamon views replaced by GAN v2 samples of their family."""
    if classes is None:
        raise ValueError("gan_augment needs the class names (train_classifier's --extra passes them)")
    return gan_augment(images, labels, rng, classes, SHARE)[0]


def augment_light(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator,
                  classes: Sequence[str] | None = None) -> np.ndarray:
    """The one alternative: ``SHARE_LIGHT`` (0.10) of the kamon views."""
    if classes is None:
        raise ValueError("gan_augment needs the class names (train_classifier's --extra passes them)")
    return gan_augment(images, labels, rng, classes, SHARE_LIGHT)[0]
