"""Where the audit chain's key comes from: configuration, or a file generated once in the data directory.

`ORCH_AUDIT_KEY` wins when it is set (best kept in a secret store, away from the database and its
backups). Without it the key is generated on first use into `<data dir>/audit.keys`, one hex key
per line, the last line current, created with mode 0600. The key is never stored in the database,
never logged and never printed; only its id (a fingerprint) is.

With PostgreSQL and several processes or hosts, set `ORCH_AUDIT_KEY`: every process must sign
with the same key, and a generated file lives on one host only.

Rotation: for a configured key, move the old key to `ORCH_AUDIT_PREVIOUS_KEYS` (comma-separated)
and set a new `ORCH_AUDIT_KEY`; for the generated file, `orch audit rotate-key` appends a new key.
Either way new entries use the new key and older ones keep verifying with the old.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from bot.config import ConfigError, Settings
from storage.audit_keys import AuditKeyError, AuditKeyring

KEY_FILE = "audit.keys"
log = logging.getLogger(__name__)


def key_file(settings: Settings) -> Path:
    return settings.data_path / KEY_FILE


def load_keyring(settings: Settings) -> AuditKeyring:
    """The keyring for this configuration, generating the key file on first use when no key is set."""
    previous = [k.strip().encode() for k in _secret(settings.audit_previous_keys).split(",") if k.strip()]
    path = key_file(settings)
    try:
        if settings.audit_key is not None:
            # Keys of a file generated before a key was configured still verify the entries they signed.
            from_file = _read(path) if path.exists() else []
            return AuditKeyring.of(settings.audit_key.get_secret_value().encode(), [*from_file, *previous])
        if not path.exists() and not settings.database_url.startswith("sqlite"):
            # Processes on a shared database must sign with one key; a file in one host's data
            # directory is not shared by the others.
            log.warning("ORCH_AUDIT_KEY is not set: generating the audit key into %s", path)
        keys = _read(path) if path.exists() else _create(path)
        return AuditKeyring.of(keys[-1], [*keys[:-1], *previous])
    except AuditKeyError as exc:
        raise ConfigError(f"audit key: {exc} (see README, 'The audit log')") from exc


def rotate_file_key(settings: Settings) -> AuditKeyring:
    """Append a new key to the generated key file; the old ones stay for verification."""
    if settings.audit_key is not None:
        raise ConfigError(
            "the audit key comes from ORCH_AUDIT_KEY: to rotate it, add the old key to "
            "ORCH_AUDIT_PREVIOUS_KEYS and set a new ORCH_AUDIT_KEY"
        )
    path = key_file(settings)
    keys = _read(path) if path.exists() else _create(path)
    _write_new(path, [*keys, _new_key()], replace=True)
    return load_keyring(settings)


def _secret(value: object) -> str:
    return value.get_secret_value() if value is not None else ""  # type: ignore[attr-defined]


def _new_key() -> bytes:
    return secrets.token_hex(32).encode()


def _read(path: Path) -> list[bytes]:
    keys = [line.strip().encode() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not keys:
        raise ConfigError(f"the audit key file {path} is empty; restore it from a backup")
    return keys


def _create(path: Path) -> list[bytes]:
    """Generate the key file once; when another process got there first, its key is used."""
    key = _new_key()
    if _write_new(path, [key], replace=False):
        return [key]
    return _read(path)


def _write_new(path: Path, keys: list[bytes], *, replace: bool) -> bool:
    """Write the keys to a private temporary file and put it in place in one step; False when
    `replace` is off and the file appeared meanwhile."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(b"".join(k + b"\n" for k in keys))
            fh.flush()
            os.fsync(fh.fileno())
        if replace:
            os.replace(tmp, path)
            return True
        try:
            os.link(tmp, path)  # fails if the file exists: two first starts never overwrite each other
        except FileExistsError:
            return False
        return True
    finally:
        tmp.unlink(missing_ok=True)
