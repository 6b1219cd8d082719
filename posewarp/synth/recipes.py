"""World recipes: how close the synthetic world comes to real photographs (torch-free).

A recipe is one row of ``RECIPES``; every row has the same keys, so two recipes compare at a glance.

- ``mannequin``: the first world (posewarp <= 0.1): one backdrop per identity, exact keypoints and
  parsing, flat-coloured rigid garments whose back looks like their front, no camera effects. Geometry
  over the shared backdrop wins it; keep it for tests and for comparing with older tables.
- ``fashion``: DeepFashion-like. One studio shoot per person (backdrop, light, camera; the lamp and the
  exposure move a little between photos), front and back views about equally often (about half the pairs
  turn the person around), garments whose front differs from their back (plackets, zips, pockets, collars;
  back prints and yokes), directional light with cast shadows that follow the pose, cloth folds that do not,
  close-ups,
  bags, sensor noise and JPEG, and keypoints and parsing as an estimator gives them (jitter, misses,
  left/right swaps, ragged boundaries, label confusions); the exact ones are written under ``truth/``.
- ``street``: Market-1501-like. Every photo its own street backdrop, camera and light; more noise,
  stronger JPEG and noisier estimates; no close-ups.

Identities come from the world seed and their index alone (``person.world_identity``); a recipe only adds
attributes from streams of its own, so identity ``i`` of seed ``s`` is the same person in every recipe
and at every world size.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Recipe:
    name: str
    views: tuple[float, float, float]  # weights of front, side and back views
    backdrop: str  # "identity": the person's own (mannequin) | "shoot": one backdrop, light and camera per person,
    # the light moving a little from photo to photo (a DeepFashion item's shoot) | "photo": all of it per photo
    street: float  # share of street (cluttered) backdrops among per-photo backdrops
    garment_sides: bool  # fronts and backs of garments differ
    light: float  # strength of directional light, cast shadow, exposure and white balance (0: none)
    folds: float  # depth of cloth folds that do not follow the pose (0: none)
    close_up: float  # share of photos framed from the head to the thighs
    bag: float  # share of photos with a bag in front of the body
    noise: float  # largest sensor-noise sigma (0-255 units)
    jpeg: tuple[int, int] | None  # JPEG quality range (None: lossless)
    estimated: bool  # keypoints/ and parsing/ hold estimates; truth/ the exact ones
    kp_jitter: float  # keypoint jitter sigma, in torso lengths
    kp_miss: float  # chance that a visible keypoint is missed (wrists and ankles twice as often)
    kp_swap: float  # chance per photo that one limb's left and right points are swapped
    back_swap: float  # chance that a back view's left and right are swapped as a whole
    parse_ragged: float  # boundary displacement of the estimated parsing, pixels at 128 rows
    parse_confuse: float  # chance per region that part of it takes a confusable label


RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in (
        Recipe("mannequin", (0.45, 0.35, 0.2), "identity", 0.0, False, 0.0, 0.0, 0.0, 0.0, 0.0, None, False,
               0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
        Recipe("fashion", (0.5, 0.08, 0.42), "shoot", 0.0, True, 1.0, 1.0, 0.25, 0.15, 3.0, (70, 95), True,
               0.04, 0.05, 0.04, 0.2, 1.2, 0.12),
        Recipe("street", (0.4, 0.3, 0.3), "photo", 1.0, True, 1.0, 0.7, 0.0, 0.3, 6.0, (45, 85), True,
               0.06, 0.08, 0.06, 0.3, 1.5, 0.18),
    )
}  # fmt: skip
DEFAULT_RECIPE = "mannequin"
DEFAULT_SIZE = (256, 176)  # a world's frame (H, W): DeepFashion's
DEFAULT_TEST_FRACTION = 0.1  # share of identities held out for pairs-test.csv


def get(name: str | Recipe) -> Recipe:
    """The recipe called ``name`` (a ``Recipe`` passes through); a ValueError names the choices."""
    if isinstance(name, Recipe):
        return name
    if name not in RECIPES:
        raise ValueError(f"unknown world recipe {name!r}; choose one of {', '.join(RECIPES)}")
    return RECIPES[name]


def as_dict(recipe: Recipe) -> dict:
    """The recipe as plain JSON values (for meta.json)."""
    doc = asdict(recipe)
    doc["views"] = list(recipe.views)
    doc["jpeg"] = list(recipe.jpeg) if recipe.jpeg else None
    return doc
