"""How the preprocessing networks run: the runner (layout, compile fallback), the working size, the thread count."""

import json

import cv2
import numpy as np
import torch
from torch import nn

from posewarp import threads as T
from posewarp.formats import images
from posewarp.preprocess import keypoints as KP
from posewarp.preprocess import parser as P
from posewarp.preprocess import runtime as R
from posewarp.preprocess import working_size as WS


class Recorder(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.inputs = []

    def forward(self, x):
        self.inputs.append(x)
        return self.conv(x)


def test_runner_lays_out_the_input_in_its_format_without_autograd():
    net = Recorder()
    x = torch.randn(1, 5, 6, 3).permute(0, 3, 1, 2)  # an NHWC-strided view, as a transposed HWC array gives
    for fmt in (torch.contiguous_format, torch.channels_last):
        runner = R.NetworkRunner(net, torch.device("cpu"), memory_format=fmt)
        out = runner(x)
        assert net.inputs[-1].is_contiguous(memory_format=fmt) and not out.requires_grad
        torch.testing.assert_close(out, net.conv(x).detach())
    assert R.preferred_memory_format(torch.device("cuda")) == torch.channels_last


def test_a_failing_compile_falls_back_to_eager(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("CppCompileError: no working C++ compiler\nmore text")

    monkeypatch.setattr(torch, "compile", lambda net, **kw: broken)
    net = Recorder()
    runner = R.NetworkRunner(net, torch.device("cpu"), compile=True)
    assert runner.describe().endswith("compiled")
    x = torch.randn(2, 3, 4, 4)
    torch.testing.assert_close(runner(x), net.conv(x).detach())
    assert runner.compiled is None and "eager" in runner.describe()
    assert runner.note == "torch.compile failed, running eagerly: CppCompileError: no working C++ compiler"


def test_working_size_keeps_small_images_and_bounds_large_ones():
    assert WS.working_size(256, 176) == (256, 176) and WS.working_size(1024, 1024) == (1024, 1024)
    h, w = WS.working_size(4000, 3000)
    assert h * w <= WS.MAX_WORK_PIXELS and abs(h / w - 4 / 3) < 0.01
    rgb = np.zeros((40, 20, 3), np.uint8)
    assert WS.downscale(rgb) is rgb and WS.downscale(rgb, 200).shape == (20, 10, 3)


def test_points_scale_back_with_pixel_centres_aligned():
    people = np.array([[[0.0, 0.0, 0.9], [9.0, 19.0, 0.5], [0.0, 0.0, 0.0]]], np.float32)
    out = WS.scale_points(people, (20, 10), (80, 30))  # 4x in height, 3x in width
    np.testing.assert_allclose(out[0, 0], [1.0, 1.5, 0.9])  # pixel (0, 0) covers 3 x 4 image pixels: its centre
    np.testing.assert_allclose(out[0, 1], [28.0, 77.5, 0.5])  # the last pixel maps to the last centre
    np.testing.assert_array_equal(out[0, 2], [0, 0, 0])  # missing stays missing


def test_upscaled_scores_and_labels_agree_with_a_plain_bilinear_resize(monkeypatch):
    monkeypatch.setattr(WS, "BAND_ROWS", 7)  # several bands, the last one short
    scores = np.random.default_rng(0).normal(size=(13, 9, 5)).astype(np.float32)
    full = WS.upscale(scores, (50, 31))
    ref = np.stack([cv2.resize(scores[:, :, c], (31, 50), interpolation=cv2.INTER_LINEAR) for c in range(5)], 2)
    np.testing.assert_allclose(full, ref, atol=1e-2)  # OpenCV quantises the weights to 1/32 (INTER_TAB_SIZE)
    np.testing.assert_array_equal(WS.upscaled_argmax(scores, (50, 31)), np.argmax(full, axis=2))
    assert WS.upscale(scores, (13, 9)) is scores


def test_keypoints_of_a_large_photo_come_from_the_working_size(monkeypatch):
    monkeypatch.setattr(WS, "MAX_WORK_PIXELS", 64 * 48)
    big = cv2.resize(np.random.default_rng(1).integers(0, 255, (8, 6, 3), dtype=np.uint8), (600, 800))
    est = KP.KeypointEstimator(net=TinyPose(), device="cpu")
    seen = []
    monkeypatch.setattr(est, "maps", lambda rgbs, maps=est.maps: seen.extend(r.shape for r in rgbs) or maps(rgbs))
    people = est(big)
    assert seen == [(64, 48, 3)]
    small = est(WS.downscale(big))
    np.testing.assert_allclose(people, WS.scale_points(small, (64, 48), (800, 600)))
    assert len(people) and people[..., 0].max() > 64  # in the photo's pixels


class TinyPose(nn.Module):
    """Heatmap peaks where the picture is bright and a uniform PAF, so that people are found and decoded."""

    def forward(self, x):
        grey = nn.functional.avg_pool2d(x.mean(1, keepdim=True), 8)
        heat = torch.relu(grey - grey.mean()).repeat(1, 19, 1, 1) * 4
        return torch.ones(x.shape[0], 38, *heat.shape[-2:]) * 0.3, heat


class Halves(nn.Module):
    """Logits favouring label 5 on the letterbox's left half and 7 on its right half."""

    def forward(self, x):
        n, _, h, w = x.shape
        out = torch.zeros(n, 20, h, w)
        ramp = torch.linspace(-1, 1, w)
        out[:, 5] = -ramp
        out[:, 7] = ramp
        return [[out, out], [out[:, :2]]]


def test_parse_folder_on_a_large_photo_writes_full_size_outputs(monkeypatch, tmp_path):
    monkeypatch.setattr(WS, "MAX_WORK_PIXELS", 40 * 30)
    src = tmp_path / "images"
    images.write_image(src / "photo.png", np.full((300, 400, 3), 128, np.uint8))
    report = P.parse_folder(src, tmp_path / "out", network=Halves(), device="cpu", input_size=32, logits=True,
                            threads=1, show_progress=False)  # fmt: skip
    assert report.done == 1 and "1 thread (--threads)" in report.runtime
    from posewarp.formats import parsing

    labels = parsing.read_label_png(tmp_path / "out" / "photo.png")
    scores = np.load(tmp_path / "out" / "photo.npy", mmap_mode="r")
    assert labels.shape == (300, 400) and scores.shape == (300, 400, 20)
    np.testing.assert_array_equal(np.argmax(scores, axis=2), labels)
    assert set(np.unique(labels[:, :190])) == {5} and set(np.unique(labels[:, 210:])) == {7}


def test_thread_count_follows_the_request_the_environment_then_the_free_cores(monkeypatch):
    assert T.choose_threads(3) == (3, "--threads")
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert T.choose_threads() == (2, "OMP_NUM_THREADS")
    monkeypatch.delenv("OMP_NUM_THREADS")
    monkeypatch.setattr(T, "cpu_cores", lambda: 4)
    monkeypatch.setattr(T.os, "getloadavg", lambda: (2.6, 0, 0))
    assert T.choose_threads()[0] == 1  # 4 cores, 2.6 busy: round(1.4)
    monkeypatch.setattr(T.os, "getloadavg", lambda: (7.0, 0, 0))
    count, why = T.choose_threads()
    assert count == 1 and why == "4 cores, load 7.0; --threads N to change"
    monkeypatch.setattr(T.os, "getloadavg", lambda: (0.2, 0, 0))
    assert T.choose_threads()[0] == 4
    before = torch.get_num_threads()
    with T.cpu_threads(2) as note:
        assert torch.get_num_threads() == 2 and note == "2 threads (--threads)"
    assert torch.get_num_threads() == before


def test_keypoints_report_says_how_the_network_ran(tmp_path):
    src = tmp_path / "images"
    images.write_image(src / "a.png", np.zeros((40, 24, 3), np.uint8))
    report = KP.estimate_folder(src, tmp_path / "out", net=TinyPose(), device="cpu", threads=1, show_progress=False)
    doc = report.as_dict()
    assert doc["done"] == 1 and doc["runtime"].startswith("cpu, ") and doc["runtime"].endswith("1 thread (--threads)")
    assert json.loads((tmp_path / "out" / "a.json").read_text())["version"] == 1.3
