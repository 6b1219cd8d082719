"""Where a network of another aspect works in a photo, and how its output goes back (formats/framing.py)."""

import numpy as np

from posewarp.formats.framing import frame_person


def person(h, w, box):
    """Labels with a foreground rectangle ``box = (x0, y0, x1, y1)`` and no keypoints."""
    labels = np.zeros((h, w), np.uint8)
    x0, y0, x1, y1 = box
    labels[y0:y1, x0:x1] = 5
    return labels, np.zeros((18, 3), np.float32)


def test_a_photo_of_the_network_s_size_is_left_alone():
    labels, kp = person(128, 64, (10, 10, 50, 120))
    framing = frame_person((128, 64), (128, 64), labels, kp)
    assert framing.identity and framing.describe() is None
    result = np.random.default_rng(0).integers(0, 256, (128, 64, 3), dtype=np.uint8)
    assert framing.composite(np.zeros_like(result), result) is result


def test_a_square_photo_is_cropped_around_the_person_without_padding():
    labels, kp = person(256, 256, (150, 40, 230, 230))  # the person stands right of the centre
    framing = frame_person((256, 256), (128, 64), labels, kp)
    x0, y0, rw, rh = framing.region
    # centred on the person with a 5% margin: box 146..234, centre 190, so x0 = 190 - 64
    assert (rw, rh) == (128.0, 256.0) and y0 == 0.0 and x0 == 126.0
    assert "cropped to 256x128 at x=126, y=0" in framing.describe() and "padded" not in framing.describe()
    fitted = framing.fit.labels(labels)
    assert fitted.shape == (128, 64) and fitted[64, 32] == 5  # the person is in the network's input
    photo = np.full((256, 256, 3), 7, np.uint8)
    out = framing.composite(photo, np.full((128, 64, 3), 200, np.uint8))
    assert out.shape == (256, 256, 3)
    assert (out[:, :125] == 7).all() and (out[:, 255] == 7).all() and (out[:, 127:253] == 200).all()  # the region


def test_a_person_wider_than_any_region_inside_the_photo_is_padded_and_said():
    labels, kp = person(256, 256, (10, 100, 246, 160))  # arms spread across the photo
    framing = frame_person((256, 256), (128, 64), labels, kp)
    x0, y0, rw, rh = framing.region
    assert rw >= 236 and rh == 2 * rw and y0 < 0  # the region holds the person, beyond the photo top and bottom
    text = framing.describe()
    assert "padded white by" in text and "px top" in text and "px bottom" in text
    fitted = framing.fit.labels(labels)
    cols = np.nonzero(fitted.any(axis=0))[0]
    scale = framing.fit.scale_x
    assert 0 < cols.min() and cols.max() < 63  # not cut at either side: the whole width of the person is kept
    assert abs((cols.max() - cols.min() + 1) - 236 * scale) <= 2
    kp = np.zeros((18, 3), np.float32)
    kp[4] = (12, 130, 1)
    assert framing.fit.keypoints(kp)[4, 2] == 1  # a hand at the far left stays in the frame


def test_only_the_generated_person_goes_back_and_the_source_person_is_filled_in():
    photo = np.full((256, 256, 3), (40, 90, 160), np.uint8)  # a plain background
    labels, kp = person(256, 256, (100, 40, 160, 230))
    photo[labels > 0] = (250, 10, 10)  # the source person, in red
    framing = frame_person((256, 256), (128, 64), labels, kp)
    result = np.full((128, 64, 3), 128, np.uint8)
    result[10:60, 40:60] = (10, 250, 10)  # the generated person, in green, right of where the source stood
    target = np.zeros((128, 64), np.uint8)
    target[10:60, 40:60] = 5
    out = framing.composite(photo, result, target, labels).astype(int)
    m = framing.fit.matrix()
    x0 = int(np.ceil((40 - m[0, 2]) / m[0, 0])) + 4  # the green block's left edge, in photo pixels, plus the edge
    y0 = int(np.ceil((10 - m[1, 2]) / m[1, 1])) + 4
    assert np.abs(out[y0 + 20, x0 + 10] - (10, 250, 10)).max() <= 2  # the generated person is there
    assert np.abs(out[200, 110] - (40, 90, 160)).max() <= 8  # where the source person stood: the background again
    assert (out[:, :90] == photo[:, :90]).all() and (out[235:] == photo[235:]).all()  # elsewhere: the photo, untouched
    assert not (out == (128, 128, 128)).all(axis=2).any()  # the network's own background is not pasted
