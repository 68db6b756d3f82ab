"""Activation: deliver segment audiences to channels (`segments sync`, `segments watch`); docs/activation.md.

The Python API the CLI calls:

    from customer_segments.activation import load_config, sync
    result = sync(warehouse_path, load_config(path), names=None, region=None, snapshot=False)

`sync` expects the caller to hold the build lock (customer_segments.build_lock), as the CLI does.
"""

from customer_segments.activation.config import ActivationConfig, ConfigError, Destination
from customer_segments.activation.config import load as load_config
from customer_segments.activation.sync import SyncError, SyncResult, sync

__all__ = ["ActivationConfig", "ConfigError", "Destination", "SyncError", "SyncResult", "load_config", "sync"]
