"""The shared vocabulary: keypoints, heatmaps, parsing labels, images and pictures for people."""
