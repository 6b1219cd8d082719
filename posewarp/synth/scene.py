"""One photo of the world under a recipe: the person, the room, the camera and what an estimator reads from it.

``photograph(i, k, size=..., seed=..., recipe=...)`` returns a ``Photo``: the RGB image, the exact parsing
and keypoints (the truth), and the parsing and keypoints a pipeline would estimate (the same arrays under
a recipe without estimated inputs). Under ``mannequin`` the image is exactly ``person.render``'s.

Random streams (numpy seed sequences): identity ``[seed, i, 1]`` (``person.world_identity``), pose
``[seed, i, k, 2]``, the recipe's identity attributes ``[seed, i, 5]``, the person's shoot ``[seed, i, 8]``,
the photo ``[seed, i, k, 6]``, the estimates ``[seed, i, k, 7]``: a recipe changes only what it adds, never
who the person is.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import NamedTuple

import numpy as np

from posewarp.synth import estimated, photo
from posewarp.synth.appearance import Identity, sample_background, sample_sides
from posewarp.synth.person import pose_rng, render, world_identity
from posewarp.synth.recipes import Recipe, get
from posewarp.synth.skeleton import Pose, sample_pose


class Photo(NamedTuple):
    rgb: np.ndarray  # (H, W, 3) uint8
    labels: np.ndarray  # (H, W) uint8, exact
    keypoints: np.ndarray  # (18, 3) float32, exact
    est_labels: np.ndarray  # what a parser reads (the exact labels when the recipe does not estimate)
    est_keypoints: np.ndarray
    view: str  # "front" | "side" | "back"


def view_of(yaw: float) -> str:
    """``front`` within 45 degrees of facing the camera, ``back`` within 45 of facing away, else ``side``."""
    a = abs((yaw + 180.0) % 360.0 - 180.0)
    return "front" if a <= 45 else "back" if a >= 135 else "side"


@functools.lru_cache(maxsize=64)
def recipe_identity(seed: int, identity: int, recipe: Recipe) -> Identity:
    """Identity ``identity`` of the world ``seed`` with the recipe's own attributes added."""
    ident = world_identity(seed, identity)
    if recipe.garment_sides:
        ident = dataclasses.replace(ident, sides=sample_sides(np.random.default_rng([int(seed), int(identity), 5])))
    return ident


def photograph(identity: int, pose: int | Pose, *, size: tuple[int, int], seed: int = 0,
               recipe: str | Recipe = "mannequin", pose_index: int = 0) -> Photo:
    """Photo ``pose`` of identity ``identity`` in the world ``seed`` under ``recipe`` (see the module doc);
    a hand-made ``Pose`` takes the photo's random streams from ``pose_index``."""
    r = get(recipe)
    h, w = int(size[0]), int(size[1])
    ident = recipe_identity(int(seed), int(identity), r)
    if not isinstance(pose, Pose):
        pose_index = int(pose)
        pose = sample_pose(pose_rng(seed, identity, pose_index), views=r.views)
    rng = np.random.default_rng([int(seed), int(identity), int(pose_index), 6])
    # backdrop, light and camera: the person's shoot's, or the photo's own
    setting = rng if r.backdrop == "photo" else np.random.default_rng([int(seed), int(identity), 8])
    backdrop = None if r.backdrop == "identity" else sample_background(setting, r.street)
    lamp = photo.sample_light(setting, r.light)
    zoom = float(rng.uniform(1.3, 1.7)) if rng.uniform() < r.close_up else 1.0
    rgb, labels, kp = render(ident, pose, size=(h, w), seed=seed, identity_index=int(identity), background=backdrop,
                             zoom=zoom)
    view = view_of(pose.yaw)
    if r == get("mannequin"):
        return Photo(rgb, labels, kp, labels, kp, view)
    img = rgb.astype(np.float32)
    labels = labels.copy()
    if r.folds > 0:
        photo.folds(img, labels, rng, r.folds)
    if r.backdrop == "shoot":
        lamp = photo.jitter(lamp, rng)
    photo.light(img, labels, lamp)
    if rng.uniform() < r.bag:
        photo.bag(img, labels, kp, rng)
    photo.camera(img, lamp)
    rgb = photo.sensor(img, rng, r.noise, r.jpeg)
    kp = np.where((kp[:, 2:] > 0) & (labels[_rows(kp, h), _cols(kp, w)] > 0)[:, None], kp, 0.0).astype(np.float32)
    if not r.estimated:
        return Photo(rgb, labels, kp, labels, kp, view)
    est = np.random.default_rng([int(seed), int(identity), int(pose_index), 7])
    mirrored = view == "back" and est.uniform() < r.back_swap
    est_kp = estimated.keypoints(kp, est, height=h, width=w, jitter=r.kp_jitter, miss=r.kp_miss, swap=r.kp_swap,
                                 mirrored=mirrored)
    est_labels = estimated.parsing(labels, est, ragged=r.parse_ragged, confuse=r.parse_confuse, mirrored=mirrored)
    return Photo(rgb, labels, kp, est_labels, est_kp, view)


def _rows(kp: np.ndarray, h: int) -> np.ndarray:
    return np.clip(np.round(kp[:, 1]).astype(int), 0, h - 1)


def _cols(kp: np.ndarray, w: int) -> np.ndarray:
    return np.clip(np.round(kp[:, 0]).astype(int), 0, w - 1)
