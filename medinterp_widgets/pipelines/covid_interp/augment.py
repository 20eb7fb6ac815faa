"""Random augmentation of normalised CT batches (B, 1, H, W): training views and SimCLR views.

Intensity before the model's per-image mapping: a random gamma (``random_gamma``, another display
window). Geometry: one affine map per image, x_out(p) = x_in(A p + t) with A = zoom * R(angle) * diag(flip, 1)
(``torch.nn.functional.affine_grid`` / ``grid_sample``, bilinear); pixels from outside the image take
each channel's minimum (the background). Intensity: y = a x + b + n, a ~ U(1 - c, 1 + c), b ~ U(-c, c),
n ~ N(0, noise^2), and with probability ``blur`` a 5 x 5 binomial blur. All draws come from
``generator`` (or torch's global generator), so a seeded run repeats exactly.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

_BINOMIAL = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0


def _uniform(n: int, low: float, high: float, generator) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=generator)


def random_affine(x: torch.Tensor, generator=None, *, degrees: float = 15.0, zoom: tuple[float, float] = (0.83, 1.25),
                  shift: float = 0.1, flip: bool = True, rot90: bool = False) -> torch.Tensor:
    """Rotate by U(-degrees, degrees) (+ k * 90 with ``rot90``), zoom in by U(zoom), shift by up to ``shift``
    (or, when zooming in, within the field of view), mirror left-right with p = 0.5. (B, C, H, W) -> same."""
    n = x.shape[0]
    angle = torch.deg2rad(_uniform(n, -degrees, degrees, generator))
    if rot90:
        angle = angle + torch.randint(0, 4, (n,), generator=generator).float() * (math.pi / 2)
    scale = 1.0 / _uniform(n, zoom[0], zoom[1], generator)  # sampling-grid scale < 1 zooms in
    reach = torch.clamp(1.0 - scale, min=0.0) + shift
    tx, ty = (_uniform(n, -1.0, 1.0, generator) * reach for _ in range(2))
    mirror = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0) if flip else torch.ones(n)
    cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
    theta = torch.stack([torch.stack([cos * mirror, -sin, tx], 1), torch.stack([sin * mirror, cos, ty], 1)], 1)
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)  # (B, H, W, 2)
    background = x.amin(dim=(2, 3), keepdim=True)  # (B, C, 1, 1): each channel's own minimum
    return F.grid_sample(x - background, grid, align_corners=False) + background


def blur(x: torch.Tensor) -> torch.Tensor:
    """5 x 5 binomial (approximately Gaussian, sigma 1) blur per channel, edges replicated."""
    kernel = (_BINOMIAL[:, None] * _BINOMIAL[None, :]).to(x)[None, None]  # (1, 1, 5, 5)
    channels = x.shape[1]
    padded = F.pad(x, (2, 2, 2, 2), mode="replicate")
    return F.conv2d(padded, kernel.expand(channels, 1, 5, 5), groups=channels)


def jitter_intensity(x: torch.Tensor, generator=None, *, contrast: float = 0.25, noise: float = 0.05,
                     blur_probability: float = 0.0) -> torch.Tensor:
    """a x + b + noise with a ~ U(1 -/+ contrast), b ~ U(-/+ contrast); some images blurred first."""
    n = x.shape[0]
    if blur_probability > 0:
        chosen = torch.rand(n, generator=generator) < blur_probability
        if chosen.any():
            x = torch.where(chosen[:, None, None, None], blur(x), x)
    gain = _uniform(n, 1 - contrast, 1 + contrast, generator).view(n, 1, 1, 1).to(x)
    offset = _uniform(n, -contrast, contrast, generator).view(n, 1, 1, 1).to(x)
    return x * gain + offset + noise * torch.randn(x.shape, generator=generator).to(x)


def train_view(x: torch.Tensor, strength: float = 1.0, generator=None, rot90: bool = False,
               max_zoom: float | None = None) -> torch.Tensor:
    """The classifier's training augmentation at ``strength`` (0: none; 1: +-15 deg, zoom 0.83-1.25,
    shift 0.1, contrast/brightness 0.25, noise 0.05). ``max_zoom`` > 1.25 s makes crops: zooming in up
    to ``max_zoom`` shows 1 / max_zoom of the field of view, so the label must come from local texture."""
    if strength <= 0:
        return x
    zoom = (1.0 / (1.0 + 0.2 * strength), max_zoom or 1.0 + 0.25 * strength)
    moved = random_affine(x, generator, degrees=15.0 * strength, zoom=zoom, shift=0.1 * strength, rot90=rot90)
    return jitter_intensity(moved, generator, contrast=0.25 * strength, noise=0.05 * strength)


def ssl_view(x: torch.Tensor, generator=None) -> torch.Tensor:
    """A SimCLR view: crop of 50-100 % of the field of view, any of the 4 right-angle rotations + 20 deg,
    mirror, contrast/brightness 0.4, blur with p = 0.5, noise 0.05."""
    moved = random_affine(x, generator, degrees=20.0, zoom=(1.0, 2.0), shift=0.0, rot90=True)
    return jitter_intensity(moved, generator, contrast=0.4, noise=0.05, blur_probability=0.5)


def degrade_resolution(images: torch.Tensor, probability: float, min_scale: float = 0.5,
                       generator=None) -> torch.Tensor:
    """With probability ``probability`` per image: resize (area) to s x its size, s ~ U(min_scale, 1), and back
    (bilinear), so the picture looks like a figure reproduced from a smaller original. The UCSD figures differ in
    native size by source and class (COVID ones smaller: a tenth under 90 px), so sharpness is a source cue; this
    takes it away. (B, C, H, W) -> same; both draws are made for every image, so a seeded run repeats."""
    n, _, height, width = images.shape
    chosen = torch.rand(n, generator=generator) < probability
    scales = _uniform(n, min_scale, 1.0, generator)
    out = images.clone()
    for i in torch.nonzero(chosen).flatten().tolist():
        small = (max(4, round(height * float(scales[i]))), max(4, round(width * float(scales[i]))))
        shrunk = F.interpolate(images[i:i + 1], size=small, mode="area")
        out[i:i + 1] = F.interpolate(shrunk, size=(height, width), mode="bilinear", align_corners=False)
    return out


def random_gamma(images: torch.Tensor, strength: float = 1.0, generator=None) -> torch.Tensor:
    """x ** g per image with log g ~ U(-0.35 s, 0.35 s) (g in 0.70..1.42 at s = 1): a different display
    window / gamma of a grey image in 0..1, before the per-image intensity mapping."""
    n = images.shape[0]
    gamma = torch.exp(_uniform(n, -0.35 * strength, 0.35 * strength, generator)).view(n, 1, 1, 1)
    return images.clamp(min=0.0) ** gamma.to(images)


class AugmentedImages(Dataset):
    """``{"image", "label"}`` items: ``images[indices]`` (N, 1, H, W) in 0..1 through ``random_gamma``,
    ``degrade_resolution`` (with probability ``resolution``, scales down to ``min_scale``), the model's
    ``preprocess`` (per-image intensity mapping; lung fields found once per image on the clean picture),
    then ``train_view`` at ``strength`` (torch's global generator, which the Trainer seeds).
    ``strength`` 0: the preprocessed image unchanged.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, indices, preprocess, strength: float = 1.0,
                 rot90: bool = False, max_zoom: float | None = None, resolution: float = 0.0,
                 min_scale: float = 0.5):
        self.images, self.labels, self.preprocess = images, labels, preprocess
        self.resolution, self.min_scale = resolution, min_scale
        self.indices = [int(i) for i in indices]
        self.strength, self.rot90, self.max_zoom = strength, rot90, max_zoom
        self.masks = preprocess.masks(images[self.indices])  # (n, H, W) bool, or None
        self.clean = preprocess.apply(images[self.indices], self.masks) if strength <= 0 else None  # (n, 1, H, W)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> dict:
        index = self.indices[i]
        if self.clean is not None:
            return {"image": self.clean[i], "label": self.labels[index]}
        masks = None if self.masks is None else self.masks[i:i + 1]
        picture = random_gamma(self.images[index:index + 1], self.strength)
        if self.resolution > 0:
            picture = degrade_resolution(picture, self.resolution, self.min_scale)
        image = self.preprocess.apply(picture, masks)  # (1, 1, H, W)
        moved = train_view(image, self.strength, rot90=self.rot90, max_zoom=self.max_zoom)[0]
        return {"image": moved, "label": self.labels[index]}
