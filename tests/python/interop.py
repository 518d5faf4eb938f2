"""The command-line driver that fstore's interop tests run: one command of `feature_store`.

    python interop.py --port PORT --registry features.toml < command.json

The command is one JSON object on stdin; the result is one JSON object on stdout. Values are
tagged with their feature type so that nothing is lost on the way through JSON: integers and
floats travel as text (`{"int": "-9223372036854775808"}`, `{"float": "-0.0"}`, `"nan"`, `"inf"`,
`repr` on the way out, `int()`/`float()` on the way in), `{"string": "..."}`, `{"bool": true}`,
`{"float_list": ["0.5", "1.5"]}`, and `null` for an absent feature. Feature lists are lists of
`[name, value]` pairs, in the order Python gives them.

Commands:

* `{"op": "write", "view": V, "rows": [[id, {name: value}], ...], "age_seconds": 0}`: one
  `store.write` per row, stamped `age_seconds` in the past (0: now).
* `{"op": "read", "view": V, "ids": [...], "features": null or [names]}`:
  `{"rows": [features or null, ...]}`, one `store.read` per id.
* `{"op": "read_batch", "view": V, "ids": [...]}`: `{"rows": [[id, features], ...]}`.
* `{"op": "get_feature_vector", "ids": [...], "references": ["view:feature", ...]}`:
  `{"vectors": [features, ...]}`, one `store.get_feature_vector` per id.
* `{"op": "stamp", "view": V, "id": X}`: the raw `_updated_at` and `float()` of it,
  `{"raw": "1796101050.697", "seconds": "1796101050.697"}`.

A failure is a traceback on stderr and exit status 1.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from feature_store import Registry, ValkeyFeatureStore


def tag(value: Any) -> Any:
    """A Python value as tagged JSON."""
    if value is None:
        return None
    if isinstance(value, bool):
        return {"bool": value}
    if isinstance(value, int):
        return {"int": str(value)}
    if isinstance(value, float):
        return {"float": repr(value)}
    if isinstance(value, str):
        return {"string": value}
    if isinstance(value, list):
        return {"float_list": [repr(float(x)) for x in value]}
    raise TypeError(f"no JSON tag for {type(value).__name__} {value!r}")


def untag(value: Any) -> Any:
    """Tagged JSON as a Python value."""
    if value is None:
        return None
    ((kind, inner),) = value.items()
    if kind == "int":
        return int(inner)
    if kind == "float":
        return float(inner)
    if kind == "string":
        return inner
    if kind == "bool":
        if not isinstance(inner, bool):
            raise TypeError(f"bool tag with {inner!r}")
        return inner
    if kind == "float_list":
        return [float(x) for x in inner]
    raise ValueError(f"unknown tag {kind!r}")


def pairs(features: dict[str, Any] | None) -> Any:
    if features is None:
        return None
    return [[name, tag(value)] for name, value in features.items()]


def run(store: ValkeyFeatureStore, cmd: dict[str, Any]) -> dict[str, Any]:
    op = cmd["op"]
    if op == "write":
        age = float(cmd.get("age_seconds", 0))
        store.clock = lambda: time.time() - age
        for entity_id, features in cmd["rows"]:
            store.write(cmd["view"], entity_id, {k: untag(v) for k, v in features.items()})
        return {"ok": True}
    if op == "read":
        return {
            "rows": [
                pairs(store.read(cmd["view"], eid, cmd.get("features"))) for eid in cmd["ids"]
            ]
        }
    if op == "read_batch":
        batch = store.read_batch(cmd["view"], cmd["ids"])
        return {"rows": [[eid, pairs(features)] for eid, features in batch.items()]}
    if op == "get_feature_vector":
        return {
            "vectors": [
                pairs(store.get_feature_vector(eid, cmd["references"])) for eid in cmd["ids"]
            ]
        }
    if op == "stamp":
        key = store._key(cmd["view"], cmd["id"])
        raw = store.client.hget(key, "_updated_at")
        return {"raw": raw, "seconds": None if raw is None else repr(float(raw))}
    raise ValueError(f"unknown op {op!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--registry", required=True, help="the features.toml to read")
    args = parser.parse_args()
    cmd = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    store = ValkeyFeatureStore(args.host, args.port, Registry.from_path(args.registry))
    print(json.dumps(run(store, cmd)))


if __name__ == "__main__":
    main()
