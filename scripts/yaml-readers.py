"""Reads a YAML stream with PyYAML (YAML 1.1, pure Python and libyaml) and ruamel.yaml
(YAML 1.2) and prints, as one JSON object, what each reader got:
{"pyyaml": {"documents": [...]}, "pyyaml-libyaml": {"error": "..."}, ...}.

Used by tests/yaml_readers.rs through .tools/bin/yaml-python (scripts/tools.sh). Whatever JSON
cannot say exactly (a non-string key, a date, a non-finite float) becomes a marker string
"<type repr>", so a misread value shows up as a difference instead of vanishing in conversion.
"""

import json
import math
import sys

import yaml
from ruamel.yaml import YAML


def plain(value):
    if isinstance(value, dict):
        return {k if isinstance(k, str) else marker(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    return marker(value)


def marker(value):
    return f"<{type(value).__name__} {value!r}>"


def read(load):
    try:
        return {"documents": [plain(d) for d in load()]}
    except Exception as e:  # every failure is an answer to report
        return {"error": f"{type(e).__name__}: {e}"}


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        text = f.read()
    readers = {
        "pyyaml": lambda: yaml.load_all(text, Loader=yaml.SafeLoader),
        "pyyaml-libyaml": lambda: yaml.load_all(text, Loader=yaml.CSafeLoader),
        "ruamel.yaml": lambda: YAML(typ="safe", pure=True).load_all(text),
    }
    json.dump({name: read(load) for name, load in readers.items()}, sys.stdout)


main()
