"""The session signing key: from settings, or generated once into the instance folder and reused."""
from __future__ import annotations

import os
import secrets

from engine.config import Settings

KEY_FILE = "secret_key"


def secret_key(settings: Settings) -> str:
    """`settings.secret_key`, else the key in `instance_dir/secret_key` (created on first use, owner-only)."""
    if settings.secret_key:
        return settings.secret_key
    path = settings.instance_dir / KEY_FILE
    settings.instance_dir.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: when several workers start at once, exactly one writes the key and all read it.
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read(path)
    with os.fdopen(handle, "w") as out:
        out.write(secrets.token_hex(32))
    return _read(path)


def _read(path) -> str:
    key = path.read_text().strip()
    if not key:
        raise RuntimeError(f"{path} is empty: delete it to generate a new session key")
    return key
