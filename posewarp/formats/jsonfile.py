"""Reading JSON inputs within limits: size and nesting depth checked before parsing, standard JSON only.

Every JSON reader of posewarp (pose files, configs, run dirs) goes through here, so a document nested 200,000
levels deep or a 10 GB file ends in one line naming the file instead of a ``RecursionError`` or an exhausted
memory. ``NaN`` and ``Infinity`` parse (as in Python's ``json``); what reads the numbers refuses them with its
own words (keypoints: ``keypoints.check_values``; configs: ``posewarp/config_ranges.py``). Limits: ``posewarp.limits``
(``json_bytes``, ``json_depth``).
"""

from __future__ import annotations

import json
import os
import re

import numpy as np

from posewarp import limits
from posewarp.errors import PosewarpError
from posewarp.formats.input_file import read_text

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


def nesting_depth(text: str | bytes) -> int:
    """How deep arrays and objects nest in a JSON text (brackets inside strings do not count)."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    data = np.frombuffer(_STRING.sub(b"", data), np.uint8)
    step = np.isin(data, (ord("["), ord("{"))).astype(np.int64) - np.isin(data, (ord("]"), ord("}")))
    return int(np.cumsum(step).max(initial=0))


def loads(text: str | bytes, path: str | os.PathLike | None = None) -> object:
    """Parse JSON text after checking its size and depth; a problem raises ``PosewarpError`` naming ``path``."""
    size, most = len(text), int(limits.get("json_bytes"))
    if size > most:
        raise PosewarpError(f"JSON is {size:,} bytes, over the limit of {most:,} ({limits.hint('json_bytes')})", path)
    depth, deepest = nesting_depth(text), int(limits.get("json_depth"))
    if depth > deepest:
        raise PosewarpError(f"JSON nests {depth} levels deep, over the limit of {deepest} "
                            f"({limits.hint('json_depth')})", path)  # fmt: skip
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise PosewarpError(f"malformed JSON ({exc})", path) from None
    except (ValueError, RecursionError) as exc:
        raise PosewarpError(f"malformed JSON ({exc})", path) from None


def read(path: str | os.PathLike) -> object:
    """A JSON file: a regular UTF-8 file within the size and depth limits."""
    return loads(read_text(path, "json_bytes"), path)
