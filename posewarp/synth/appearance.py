"""What a synthetic person looks like, fixed per identity: skin, hair, accessories, clothes, background.

Clothes carry a ``Material`` (a colour pair and a pattern) that is evaluated in the body part's own
surface coordinates, so stripes, checks, dots, gradients and logos move and deform with the part.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

import numpy as np

Colour = tuple[float, float, float]

PATTERNS = ("plain", "stripes", "vstripes", "checks", "dots", "gradient")
LOGOS = ("circle", "diamond", "bar", "ring")
HAIR_STYLES = ("short", "long", "bun", "buzz")

SKIN_TONES = (
    (255, 224, 196), (241, 194, 160), (224, 172, 125), (198, 134, 88), (160, 104, 66), (120, 76, 48),
    (88, 56, 38),
)  # fmt: skip
HAIR_COLOURS = ((22, 18, 16), (58, 38, 26), (104, 68, 40), (196, 156, 92), (150, 62, 30), (160, 160, 160))


@dataclass(frozen=True)
class Material:
    pattern: str  # one of PATTERNS
    base: Colour
    accent: Colour
    period: float  # body units
    logo: str | None = None  # only on upper clothes and dresses: drawn on the chest, seen from the front
    logo_colour: Colour = (255, 255, 255)


@dataclass(frozen=True)
class Background:
    kind: str  # plain (studio, like DeepFashion) | cluttered (street, like Market-1501)
    top: Colour
    bottom: Colour
    horizon: float  # fraction of the height where the ground starts (cluttered)
    boxes: tuple[tuple[float, float, float, float, Colour], ...] = ()  # x0, y0, x1, y1 (fractions), colour


@dataclass(frozen=True)
class GarmentSides:
    """Details of the top garment seen from one side only (a real garment's back is not its front)."""

    front: tuple[str, ...]  # of FRONT_DETAILS
    back: str | None  # one of BACK_DETAILS
    colour: Colour  # of the details
    back_colour: Colour


FRONT_DETAILS = ("placket", "zip", "pocket", "collar")
BACK_DETAILS = ("print", "yoke", "panel")


def sample_sides(rng: np.random.Generator) -> GarmentSides:
    """One or two front details and, mostly, a back detail, in colours that stand out."""
    front = tuple(sorted({str(d) for d in rng.choice(FRONT_DETAILS, size=int(rng.integers(1, 3)))}))
    back = str(rng.choice(BACK_DETAILS)) if rng.uniform() < 0.85 else None
    return GarmentSides(front, back, _colour(rng, val=(0.1, 0.95)), _colour(rng, sat=(0.4, 1.0)))


@dataclass(frozen=True)
class Identity:
    skin: Colour
    hair_style: str
    hair_colour: Colour
    hat: str | None  # None | "cap" | "brim"
    hat_colour: Colour
    sunglasses: bool
    garment: str  # "shirt" (upper clothes + a lower garment) | "dress"
    sleeves: str  # "none" | "short" | "long"
    top: Material
    lower: str  # "pants" | "shorts" | "skirt" (a dress ignores it)
    bottom: Material
    hem: float  # skirt or dress length below the hips, in thigh lengths
    shoes: Colour
    background: Background
    build: float  # 0.9 slim .. 1.1 broad
    sides: GarmentSides | None = None  # what the top garment shows only in front or only at the back


def _colour(rng: np.random.Generator, sat=(0.2, 0.9), val=(0.25, 0.95)) -> Colour:
    h, s, v = rng.uniform(), rng.uniform(*sat), rng.uniform(*val)
    return tuple(round(255 * c, 1) for c in colorsys.hsv_to_rgb(h, s, v))  # type: ignore[return-value]


def _material(rng: np.random.Generator, patterns=PATTERNS, weights=None, logo: bool = False) -> Material:
    base = _colour(rng)
    accent = _colour(rng)
    # keep the two colours apart so the pattern is visible
    if sum(abs(a - b) for a, b in zip(base, accent)) < 150:
        accent = tuple(255.0 - c for c in base)  # type: ignore[assignment]
    pattern = str(rng.choice(patterns, p=weights))
    logo_name = str(rng.choice(LOGOS)) if logo and rng.uniform() < 0.3 else None
    return Material(pattern, base, accent, float(rng.uniform(0.035, 0.07)), logo_name, _colour(rng, val=(0.6, 1.0)))


def sample_background(rng: np.random.Generator, street: float = 0.45) -> Background:
    """A studio backdrop or, with chance ``street``, a street of boxes over a ground."""
    if rng.uniform() < 1.0 - street:
        grey = rng.uniform(215, 250)
        tint = rng.uniform(-8, 8, 3)
        top = tuple(float(np.clip(grey + t, 0, 255)) for t in tint)
        bottom = tuple(float(np.clip(c - rng.uniform(5, 25), 0, 255)) for c in top)
        return Background("plain", top, bottom, 1.0)  # type: ignore[arg-type]
    horizon = float(rng.uniform(0.55, 0.8))
    boxes = []
    for _ in range(int(rng.integers(4, 10))):
        x0, y0 = rng.uniform(-0.2, 1.0), rng.uniform(-0.1, horizon - 0.05)
        boxes.append((float(x0), float(y0), float(x0 + rng.uniform(0.1, 0.6)), float(y0 + rng.uniform(0.05, 0.5)),
                      _colour(rng, sat=(0.05, 0.6), val=(0.3, 0.9))))  # fmt: skip
    return Background(
        "cluttered", _colour(rng, (0.05, 0.4), (0.5, 0.9)), _colour(rng, (0.0, 0.3), (0.25, 0.6)), horizon, tuple(boxes)
    )


def sample_identity(rng: np.random.Generator) -> Identity:
    """A random person: each attribute is drawn once, so every pose of the identity wears the same."""
    u = rng.uniform
    skin = tuple(float(np.clip(c + u(-8, 8), 0, 255)) for c in SKIN_TONES[int(rng.integers(len(SKIN_TONES)))])
    hair = tuple(float(np.clip(c + u(-10, 10), 0, 255)) for c in HAIR_COLOURS[int(rng.integers(len(HAIR_COLOURS)))])
    garment = "dress" if u() < 0.18 else "shirt"
    lower = str(rng.choice(["pants", "shorts", "skirt"], p=[0.6, 0.2, 0.2]))
    bottom_patterns = ("plain", "stripes", "checks", "gradient")
    return Identity(
        skin=skin,  # type: ignore[arg-type]
        hair_style=str(rng.choice(HAIR_STYLES, p=[0.4, 0.35, 0.15, 0.1])),
        hair_colour=hair,  # type: ignore[arg-type]
        hat=None if u() < 0.8 else str(rng.choice(["cap", "brim"])),
        hat_colour=_colour(rng),
        sunglasses=bool(u() < 0.15),
        garment=garment,
        sleeves=str(rng.choice(["none", "short", "long"], p=[0.2, 0.45, 0.35])),
        top=_material(rng, logo=True),
        lower=lower,
        bottom=_material(rng, bottom_patterns, [0.7, 0.1, 0.1, 0.1]),
        hem=float(u(0.5, 1.5)),
        shoes=_colour(rng, (0.0, 0.7), (0.1, 0.8)),
        background=sample_background(rng),
        build=float(u(0.9, 1.1)),
    )
