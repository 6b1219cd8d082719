"""Preprocessing: OpenPose COCO-18 keypoints, human parsing, batch jobs (the weights registry is posewarp.weights)."""
