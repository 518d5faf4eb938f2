"""The seed tutorial's feature-store library, written for fstore's interop tests.

This is the Python side of `tests/interop_python.rs`: a small library after the seed tutorial
(`online-feature-serving`), on `valkey` from PyPI, that Python jobs would use to write the
features fstore serves, and to read what fstore writes. It follows the tutorial:

* one hash per (view, entity) at `{namespace}:v{version}:{view}:{entity_id}` (`fs:v1:...`),
  a client made with `decode_responses=True`;
* `read(view, id)` is `HGETALL`, `read(view, id, features)` is `HMGET`; fields starting with `_`
  are metadata and dropped; values are converted by the registered feature type;
* `read_batch(view, ids)` pipelines one `HGETALL` per id (missing entities are left out);
* `get_feature_vector(id, ["view:feature", ...])` is one pipeline of one `HMGET` per view,
  named `view__feature`;
* `write(view, id, features)` is one `MULTI`/`EXEC`: `HSET` of `str(value)` for each feature
  plus `_updated_at = str(time.time())`, then `EXPIRE` with the view's TTL in seconds.

The registry is the repository's `features.toml`, read with `tomllib`: one source of truth for
both languages. Feature types: `int`, `float`, `string`, `bool` (written `str(True)`, that is
`True`), `float_list` (written as JSON text, `json.dumps([0.5, 1.5])`, read with `json.loads`).
"""

from __future__ import annotations

import json
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import valkey

FEATURE_TYPES = ("int", "float", "string", "bool", "float_list")

_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str | int) -> int:
    """Seconds of a registry duration: `"30s"`, `"15m"`, `"1h"`, `"7d"` or a number of seconds."""
    if isinstance(text, int):
        return text
    text = text.strip()
    if text.isdigit():
        return int(text)
    number, unit = text[:-1], text[-1:]
    if unit not in _DURATION_UNITS or not number.isdigit():
        raise ValueError(f"not a duration: {text!r}")
    return int(number) * _DURATION_UNITS[unit]


@dataclass
class Feature:
    name: str
    type: str


@dataclass
class FeatureView:
    name: str
    entity: str
    ttl_seconds: int
    features: dict[str, Feature] = field(default_factory=dict)


@dataclass
class Registry:
    namespace: str
    version: int
    views: dict[str, FeatureView]

    @classmethod
    def from_path(cls, path: str | Path) -> "Registry":
        """The registry in `features.toml` at `path`."""
        with open(path, "rb") as f:
            doc = tomllib.load(f)
        store = doc.get("store", {})
        views = {}
        for name, spec in doc.get("views", {}).items():
            features = {}
            for fname, fspec in spec.get("features", {}).items():
                ftype = fspec if isinstance(fspec, str) else fspec["type"]
                if ftype not in FEATURE_TYPES:
                    raise ValueError(f"{name}.{fname}: unknown feature type {ftype!r}")
                features[fname] = Feature(fname, ftype)
            views[name] = FeatureView(
                name=name,
                entity=spec["entity"],
                ttl_seconds=parse_duration(spec["ttl"]),
                features=features,
            )
        return cls(store.get("namespace", "fs"), int(store.get("version", 1)), views)


def encode(ftype: str, value: Any) -> str:
    """The stored text of `value`: `str(value)` as the tutorial writes, JSON for a float_list."""
    if ftype == "float_list":
        return json.dumps([float(x) for x in value])
    return str(value)


def decode(ftype: str, raw: str) -> Any:
    """`raw` converted to the feature type; `ValueError` when it is not a value of the type."""
    if ftype == "int":
        return int(raw)
    if ftype == "float":
        return float(raw)
    if ftype == "string":
        return raw
    if ftype == "bool":
        # What Python writes (`str(True)`) and the common spellings of other writers.
        if raw in ("True", "true", "1"):
            return True
        if raw in ("False", "false", "0"):
            return False
        raise ValueError(f"not a bool: {raw!r}")
    if ftype == "float_list":
        values = json.loads(raw)
        if not isinstance(values, list):
            raise ValueError(f"not a float_list: {raw!r}")
        return [float(x) for x in values]
    raise ValueError(f"unknown feature type {ftype!r}")


class ValkeyFeatureStore:
    """The tutorial's store. `clock` gives the `_updated_at` stamp of writes (`time.time`)."""

    def __init__(
        self,
        host: str = "localhost",
        port: int = 6379,
        registry: Registry | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.client = valkey.Valkey(host=host, port=port, decode_responses=True)
        self.registry = registry or Registry("fs", 1, {})
        self.clock = clock

    def register(self, view: FeatureView) -> None:
        self.registry.views[view.name] = view

    def _view(self, view: str) -> FeatureView:
        try:
            return self.registry.views[view]
        except KeyError:
            raise KeyError(f"unknown feature view {view!r}") from None

    def _key(self, view: str, entity_id: Any) -> str:
        return f"{self.registry.namespace}:v{self.registry.version}:{view}:{entity_id}"

    def _convert(self, view: FeatureView, name: str, raw: str | None) -> Any:
        if raw is None:
            return None
        feature = view.features.get(name)
        return raw if feature is None else decode(feature.type, raw)

    def _features(self, view: FeatureView, raw: dict[str, str]) -> dict[str, Any]:
        return {
            k: self._convert(view, k, v) for k, v in raw.items() if not k.startswith("_")
        }

    def read(
        self, view: str, entity_id: Any, features: list[str] | None = None
    ) -> dict[str, Any] | None:
        """The features of one entity (all of them, or `features`); `None` when it is absent."""
        fv = self._view(view)
        key = self._key(view, entity_id)
        if features is None:
            raw = self.client.hgetall(key)
            return self._features(fv, raw) if raw else None
        values = self.client.hmget(key, features)
        if all(v is None for v in values):
            return None
        return {name: self._convert(fv, name, v) for name, v in zip(features, values)}

    def read_batch(self, view: str, entity_ids: Iterable[Any]) -> dict[Any, dict[str, Any]]:
        """Every feature of many entities in one pipeline; absent entities are left out."""
        fv = self._view(view)
        entity_ids = list(entity_ids)
        pipe = self.client.pipeline(transaction=False)
        for eid in entity_ids:
            pipe.hgetall(self._key(view, eid))
        batch = {}
        for eid, raw in zip(entity_ids, pipe.execute()):
            if raw:
                batch[eid] = self._features(fv, raw)
        return batch

    def get_feature_vector(self, entity_id: Any, references: list[str]) -> dict[str, Any]:
        """Features across views by `view:feature` reference: one pipeline, one HMGET per view."""
        by_view: dict[str, list[str]] = {}
        for ref in references:
            view, _, name = ref.partition(":")
            if not name:
                raise ValueError(f"not a view:feature reference: {ref!r}")
            self._view(view)
            by_view.setdefault(view, []).append(name)
        pipe = self.client.pipeline(transaction=False)
        for view, names in by_view.items():
            pipe.hmget(self._key(view, entity_id), names)
        found = {}
        for (view, names), values in zip(by_view.items(), pipe.execute()):
            fv = self._view(view)
            for name, raw in zip(names, values):
                found[f"{view}__{name}"] = self._convert(fv, name, raw)
        # In the order of `references`.
        return {name: found[name] for name in (r.replace(":", "__", 1) for r in references)}

    def write(self, view: str, entity_id: Any, features: dict[str, Any]) -> None:
        """`HSET` of every feature plus `_updated_at`, and `EXPIRE`, in one transaction."""
        fv = self._view(view)
        key = self._key(view, entity_id)
        mapping = {}
        for name, value in features.items():
            feature = fv.features.get(name)
            mapping[name] = encode(feature.type if feature else "string", value)
        mapping["_updated_at"] = str(self.clock())
        pipe = self.client.pipeline(transaction=True)
        pipe.hset(key, mapping=mapping)
        pipe.expire(key, fv.ttl_seconds)
        pipe.execute()

