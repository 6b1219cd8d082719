import numpy as np
import pytest
import torch
from PIL import Image

from posewarp.errors import PosewarpError
from posewarp.formats import draw, images, parsing
from posewarp.formats import keypoints as K


def flip_channels(onehot):
    """Mirror one-hot/logit maps ``(..., 20, H, W)``, swapping the left and right channels (only the tests use it)."""
    if isinstance(onehot, torch.Tensor):
        return onehot.flip(-1)[..., torch.as_tensor(parsing.FLIP_PERMUTATION, device=onehot.device), :, :]
    return np.asarray(onehot)[..., ::-1][..., parsing.FLIP_PERMUTATION, :, :]


def labels(seed=0, shape=(37, 23)):
    return np.random.default_rng(seed).integers(0, 20, shape).astype(np.uint8)


def test_palette_png_keeps_ids_exactly(tmp_path):
    lab = labels()
    path = tmp_path / "p.png"
    parsing.write_label_png(path, lab)
    with Image.open(path) as img:
        assert img.mode == "P"
    np.testing.assert_array_equal(parsing.read_label_png(path), lab)


def test_label_names_and_sets():
    assert len(parsing.LABELS) == 20 and parsing.LABELS[19] == "right-shoe"
    assert parsing.LABEL_SETS["lip"][10] == "jumpsuits" and parsing.LABEL_SETS["cihp"][10] == "torso-skin"


def test_one_hot_argmax_round_trip_numpy_and_torch():
    lab = labels(1)
    oh = parsing.one_hot(lab)
    assert oh.shape == (20, 37, 23) and oh.sum(0).max() == 1
    np.testing.assert_array_equal(parsing.argmax(oh), lab)
    t = torch.from_numpy(lab).long()
    assert torch.equal(parsing.argmax(parsing.one_hot(t)), t)


def test_flip_twice_identity_for_keypoints_and_parsing_together():
    lab = labels(2, (64, 40))
    kp = K.empty()
    kp[2] = (5, 10, 1)
    assert np.array_equal(parsing.flip(parsing.flip(lab)), lab)
    np.testing.assert_array_equal(K.flip(K.flip(kp, 40), 40), kp)
    one = np.zeros((4, 6), np.uint8)
    one[:, 0] = 14  # left arm on the image left
    flipped = parsing.flip(one)
    assert (flipped[:, 5] == 15).all() and (flipped[:, 0] == 0).all()
    oh = parsing.one_hot(lab)
    np.testing.assert_array_equal(parsing.argmax(flip_channels(oh)), parsing.flip(lab))


def test_remap_pise8():
    lab = np.array([[0, 2, 5, 9, 13, 14, 17, 19]])
    np.testing.assert_array_equal(parsing.remap(lab, "pise8"), [[0, 1, 2, 3, 5, 6, 7, 4]])


def test_read_image_modes(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 256, (20, 30, 3)).astype(np.uint8)
    Image.fromarray(rgb).save(tmp_path / "a.png")
    np.testing.assert_array_equal(images.read_image(tmp_path / "a.png"), rgb)
    Image.fromarray(rgb[..., 0]).save(tmp_path / "g.png")
    grey = images.read_image(tmp_path / "g.png")
    assert grey.shape == (20, 30, 3) and (grey[..., 1] == rgb[..., 0]).all()
    rgba = np.dstack([rgb, np.zeros((20, 30), np.uint8)])
    Image.fromarray(rgba).save(tmp_path / "t.png")
    assert (images.read_image(tmp_path / "t.png") == 255).all()  # transparent -> white
    sixteen = (np.arange(600).reshape(20, 30) * 100).astype(np.uint16)
    Image.fromarray(sixteen).save(tmp_path / "s.png")
    out = images.read_image(tmp_path / "s.png")
    assert out.dtype == np.uint8 and out[-1, -1, 0] == round(59900 / 65535 * 255)


def test_exif_orientation_is_applied(tmp_path):
    rgb = np.zeros((10, 20, 3), np.uint8)
    rgb[:, :5] = 255
    img = Image.fromarray(rgb)
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    img.save(tmp_path / "r.jpg", exif=exif, quality=100)
    out = images.read_image(tmp_path / "r.jpg")
    assert out.shape == (20, 10, 3)
    assert out[:5].mean() > 200 and out[-5:].mean() < 50


@pytest.mark.parametrize("kind", ["truncated", "text", "empty"])
def test_bad_images_name_the_file(tmp_path, kind):
    path = tmp_path / ("x.png" if kind == "truncated" else "x.jpg")
    if kind == "truncated":
        Image.fromarray(np.zeros((64, 64, 3), np.uint8) + 7).save(path)
        path.write_bytes(path.read_bytes()[:60])
    elif kind == "text":
        path.write_text("this is not an image")
    else:
        path.write_bytes(b"")
    with pytest.raises(PosewarpError) as info:
        images.read_image(path)
    assert str(path) in str(info.value)
    with pytest.raises(PosewarpError):
        parsing.read_label_png(path)


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.png"
    with pytest.raises(PosewarpError):
        images.write_image(target, np.zeros((4, 4, 3), np.float32))
    assert list(tmp_path.iterdir()) == []
    images.write_image(target, np.zeros((4, 4, 3), np.uint8))
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


def test_tensor_round_trip_and_pictures():
    rgb = np.random.default_rng(0).integers(0, 256, (2, 8, 6, 3)).astype(np.uint8)
    t = images.to_tensor(rgb)
    assert t.shape == (2, 3, 8, 6) and t.min() >= -1 and t.max() <= 1
    np.testing.assert_array_equal(images.to_uint8(t), rgb)
    kp = K.empty()
    kp[1], kp[2] = (10, 10, 1), (20, 20, 1)
    pic = draw.skeleton(np.zeros((32, 32, 3), np.uint8), kp)
    assert pic.sum() > 0 and pic[0, 31].sum() == 0
    assert draw.grid([[pic, pic]], ["a", "b"]).shape[1] > 64
    np.testing.assert_array_equal(parsing.colorize(np.array([[5]]))[0, 0], (255, 85, 0))


def test_atomic_outputs_get_the_usual_permissions(tmp_path):
    import os

    images.write_image(tmp_path / "o.png", np.zeros((4, 4, 3), np.uint8))
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "o.png").stat().st_mode & 0o777 == 0o666 & ~umask
