"""The activation config: one YAML file naming the destinations `segments sync` delivers to.

Path: option `--config`, else environment variable SEGMENTS_ACTIVATION_CONFIG,
else `activation.yml` next to the warehouse file. docs/activation.md shows a
complete example; every key is checked here, so a typo stops the sync with one
line (ConfigError) instead of delivering to the wrong place.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CONFIG_ENV = "SEGMENTS_ACTIVATION_CONFIG"
DEFAULT_CONFIG_NAME = "activation.yml"

#: Destination types, and the channel each serves unless the config says otherwise
#: (the channel a segment must list in its `channels` to be delivered there).
TYPES = {
    "google_customer_match": "ads",
    "meta_custom_audience": "ads",
    "webhook": None,
    "sales_csv": "sales",
}
#: Regions whose people's data only goes to destinations declared for that region (docs/activation.md).
DEFAULT_RESTRICTED_REGIONS = ("EU",)

_COMMON_KEYS = {"name", "type", "channel", "region", "segments", "batch_size"}
_KEYS = {
    "google_customer_match": _COMMON_KEYS | {"path"},
    "meta_custom_audience": _COMMON_KEYS | {"path"},
    "sales_csv": _COMMON_KEYS | {"path"},
    "webhook": _COMMON_KEYS | {"url", "timeout_seconds", "max_attempts", "backoff_seconds", "max_backoff_seconds", "headers"},
}


class ConfigError(Exception):
    """The activation config cannot be used; the message says what to fix, in one line."""


@dataclass(frozen=True)
class Destination:
    name: str
    type: str
    channel: str
    region: str | None = None
    segments: tuple[str, ...] | None = None  # None: every active segment that lists the channel
    batch_size: int = 500
    path: Path | None = None
    url: str | None = None
    timeout_seconds: float = 10.0
    max_attempts: int = 5
    backoff_seconds: float = 0.5
    max_backoff_seconds: float = 30.0
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def is_file(self) -> bool:
        return self.type != "webhook"


@dataclass(frozen=True)
class ActivationConfig:
    path: Path
    destinations: tuple[Destination, ...]
    restricted_regions: tuple[str, ...] = DEFAULT_RESTRICTED_REGIONS

    def select(self, names: list[str] | None = None, region: str | None = None) -> list[Destination]:
        """The destinations a sync serves: by name (all when None), and only those declared for `region` when given."""
        chosen = list(self.destinations)
        if names:
            unknown = sorted(set(names) - {d.name for d in chosen})
            if unknown:
                raise ConfigError(f"no destination named {', '.join(unknown)} in {self.path}")
            chosen = [d for d in chosen if d.name in names]
        if region is not None:
            chosen = [d for d in chosen if d.region == region]
        return chosen


def config_path(option: str | None, warehouse: Path) -> Path:
    if option:
        return Path(option)
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    return Path(warehouse).with_name(DEFAULT_CONFIG_NAME)


def load(path: Path) -> ActivationConfig:
    path = Path(path)
    if not path.exists():
        raise ConfigError(
            f"no activation config at {path}: write one (docs/activation.md shows an example) "
            f"or point {CONFIG_ENV} or --config at it"
        )
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, OSError) as problem:
        raise ConfigError(f"cannot read {path}: {str(problem).splitlines()[0]}") from None
    return parse(document, path)


def parse(document: Any, path: Path) -> ActivationConfig:
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: expected a mapping with a `destinations` list")
    unknown = sorted(set(document) - {"destinations", "restricted_regions"})
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {', '.join(unknown)}")
    restricted = document.get("restricted_regions", list(DEFAULT_RESTRICTED_REGIONS))
    if not isinstance(restricted, list) or not all(isinstance(r, str) and r for r in restricted):
        raise ConfigError(f"{path}: restricted_regions must be a list of region names")
    entries = document.get("destinations")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{path}: `destinations` must be a non-empty list")
    destinations = []
    for index, entry in enumerate(entries):
        destinations.append(_destination(entry, index, path))
    names = [d.name for d in destinations]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ConfigError(f"{path}: destination names must be unique ({', '.join(duplicated)})")
    return ActivationConfig(path, tuple(destinations), tuple(restricted))


def _destination(entry: Any, index: int, path: Path) -> Destination:
    where = f"{path}: destination {index + 1}"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected a mapping")
    name, kind = entry.get("name"), entry.get("type")
    if not isinstance(name, str) or not name.replace("_", "").replace("-", "").isalnum():
        raise ConfigError(f"{where}: `name` must be letters, digits, - or _")
    where = f"{path}: destination {name}"
    if kind not in TYPES:
        raise ConfigError(f"{where}: `type` must be one of {', '.join(TYPES)}")
    unknown = sorted(set(entry) - _KEYS[kind])
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)} for type {kind}")
    channel = entry.get("channel", TYPES[kind])
    if not isinstance(channel, str) or not channel:
        raise ConfigError(f"{where}: `channel` is required for type {kind} (e.g. ads, email, sales, in_app)")
    segments = entry.get("segments")
    if segments is not None and (not isinstance(segments, list) or not all(isinstance(s, str) for s in segments)):
        raise ConfigError(f"{where}: `segments` must be a list of segment ids")
    values: dict[str, Any] = {
        "name": name, "type": kind, "channel": channel, "region": entry.get("region"),
        "segments": tuple(segments) if segments is not None else None,
    }
    for key, cast in (("batch_size", int), ("timeout_seconds", float), ("max_attempts", int),
                      ("backoff_seconds", float), ("max_backoff_seconds", float)):
        if key in entry:
            try:
                values[key] = cast(entry[key])
            except (TypeError, ValueError):
                raise ConfigError(f"{where}: `{key}` must be a number") from None
            if values[key] <= 0 and key != "backoff_seconds":
                raise ConfigError(f"{where}: `{key}` must be positive")
    if kind == "webhook":
        url = entry.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ConfigError(f"{where}: `url` must be an http(s) URL")
        values["url"] = url
        headers = entry.get("headers", {})
        if not isinstance(headers, dict):
            raise ConfigError(f"{where}: `headers` must be a mapping")
        # `env:NAME` reads a secret from the environment, so tokens stay out of the file
        values["headers"] = {str(k): os.environ.get(str(v)[4:], "") if str(v).startswith("env:") else str(v)
                             for k, v in headers.items()}
    else:
        folder = entry.get("path")
        if not isinstance(folder, str) or not folder:
            raise ConfigError(f"{where}: `path` (the output folder) is required for type {kind}")
        folder_path = Path(folder)
        values["path"] = folder_path if folder_path.is_absolute() else path.parent / folder_path
    if values["region"] is not None and not isinstance(values["region"], str):
        raise ConfigError(f"{where}: `region` must be a region name (e.g. EU)")
    return Destination(**values)
