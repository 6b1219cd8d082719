"""What the preprocessing commands offer and default to, without importing torch (the CLI's help reads it here)."""

# Images per network call. Keypoints: 8 on the CPU (at 256x176 about 1.2x faster per image than one at a time,
# the same maps bit for bit in NCHW). Parsing: 1 on the CPU (batch 4 was 1.17x slower per image and needed
# 0.5 GB more). 16 on a GPU for both.
KEYPOINTS_BATCH = {"cpu": 8, "cuda": 16}
PARSE_BATCH = {"cpu": 1, "cuda": 16}
PARSER_DATASETS = ("lip", "atr", "pascal")  # what an SCHP checkpoint was trained on (preprocess.parser.DATASETS)
DEFAULT_PARSER_DATASET = "lip"
LABEL_SETS = ("lip", "cihp")  # names of the 20 LIP ids (formats.parsing.LABEL_SETS)
ANNOTATED_PERSON = ("best", "largest")  # who goes into keypoints --annotations
DEFAULT_ANNOTATED_PERSON = "best"
