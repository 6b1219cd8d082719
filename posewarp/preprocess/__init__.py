"""Preprocessing: OpenPose COCO-18 keypoints, human parsing, the pretrained-weights registry, batch jobs."""
