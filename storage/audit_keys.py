"""The keys that make the audit chain unforgeable: HMAC-SHA256 under a key the database never holds.

A plain hash chain only shows that entries fit together; whoever can write the table can rewrite
it and recompute every hash. A keyed entry's `hash` column is an HMAC of the same canonical text
instead, so rewriting needs the key. Each keyed entry names its key by `key_id`, a fingerprint of
the key (an HMAC of a fixed text under it, so the id says nothing about the key itself): rotating
means writing new entries under a new key while the old ones stay in the keyring for
verification.

Storage never reads configuration: the composition root builds an `AuditKeyring` and binds it
to the engine it made (`bind_keyring`); appends through that engine (or another engine of this
process on the same database) are then keyed.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from weakref import WeakKeyDictionary

from sqlalchemy.engine import Engine

KEY_ID_LENGTH = 16
MIN_KEY_BYTES = 16
_KEY_ID_TEXT = b"orch audit key id"


class AuditKeyError(ValueError):
    """An audit key is missing, too short or unknown; the message says which."""


def key_id_for(key: bytes) -> str:
    """The id recorded next to every entry written with `key`."""
    return hmac.new(key, _KEY_ID_TEXT, hashlib.sha256).hexdigest()[:KEY_ID_LENGTH]


@dataclass(frozen=True)
class AuditKeyring:
    """The current key (new entries) and every older one (verification only), by key id."""

    current_id: str
    keys: Mapping[str, bytes] = field(repr=False)
    # One keyed HMAC per key, copied for every entry: the key pads are hashed once, not per entry.
    _bases: dict[str, hmac.HMAC] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.current_id not in self.keys:
            raise AuditKeyError("the current audit key is not in the keyring")
        bases = {key_id: hmac.new(key, digestmod=hashlib.sha256) for key_id, key in self.keys.items()}
        object.__setattr__(self, "_bases", bases)

    @classmethod
    def of(cls, current: bytes, previous: Iterable[bytes] = ()) -> AuditKeyring:
        keys: dict[str, bytes] = {}
        for key in (*previous, current):
            if len(key) < MIN_KEY_BYTES:
                raise AuditKeyError(f"an audit key must be at least {MIN_KEY_BYTES} bytes long")
            keys[key_id_for(key)] = key
        return cls(current_id=key_id_for(current), keys=MappingProxyType(keys))

    def __repr__(self) -> str:  # never the key material, only which keys there are
        return f"AuditKeyring(current_id={self.current_id!r}, key_ids={sorted(self.keys)!r})"

    @property
    def current(self) -> bytes:
        return self.keys[self.current_id]

    def mac(self, key_id: str, text: str) -> str:
        """HMAC-SHA256 of an entry's canonical text under the key `key_id`, bound to that id."""
        try:
            mac = self._bases[key_id].copy()
        except KeyError:
            raise AuditKeyError(f"audit key {key_id} is not in the keyring") from None
        mac.update(f"{key_id}\n{text}".encode())
        return mac.hexdigest()


_BOUND: WeakKeyDictionary[Engine, AuditKeyring] = WeakKeyDictionary()
# The key belongs to the database, not to one engine: another engine this process opens on the same
# database (a job store, a tool, a test) appends with the same key instead of breaking the chain.
_BY_DATABASE: dict[str, AuditKeyring] = {}


def _database(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def bind_keyring(engine: Engine, keyring: AuditKeyring | None) -> None:
    """Key every append made through `engine`, or any engine on its database, with `keyring`
    (None unbinds)."""
    if keyring is None:
        _BOUND.pop(engine, None)
        _BY_DATABASE.pop(_database(engine), None)
    else:
        _BOUND[engine] = keyring
        _BY_DATABASE[_database(engine)] = keyring


def keyring_for(engine: Engine) -> AuditKeyring | None:
    found = _BOUND.get(engine)
    if found is None and _BY_DATABASE:
        found = _BY_DATABASE.get(_database(engine))
        if found is not None:
            _BOUND[engine] = found
    return found
