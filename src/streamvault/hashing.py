"""The ONE hash-key function of the Data Vault (docs/data-vault.md). Changing it is a breaking change:
every key already stored would stop matching."""

from __future__ import annotations

import unicodedata
import uuid
from functools import lru_cache
from hashlib import sha1

# Fixed forever: uuid5(NAMESPACE_URL, "https://streamvault/data-vault/v1").
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://streamvault/data-vault/v1")
_NAMESPACE_BYTES = NAMESPACE.bytes
SEPARATOR = "\x1f"  # ASCII unit separator: cannot occur in a normalised business key part


def normalise(part: object) -> str:
    """Business-key normalisation: text in Unicode NFC, trimmed and case-folded; numbers in decimal."""
    if isinstance(part, bool) or not isinstance(part, (str, int)):
        raise TypeError(f"business key parts are str or int, not {type(part).__name__}")
    return unicodedata.normalize("NFC", str(part)).strip().casefold()


@lru_cache(maxsize=262_144, typed=True)  # users, dishes, categories and restaurants recur in almost every batch
def hash_key(entity: str, *business_key: object) -> uuid.UUID:
    """Deterministic key of a hub (one business key) or a link (the business keys of its hubs, in order)."""
    return _uuid5(entity + SEPARATOR + SEPARATOR.join(map(normalise, business_key)))


@lru_cache(maxsize=262_144, typed=True)
def hash_diff(entity: str, *attributes: object) -> uuid.UUID:
    """Satellite change detector: attributes exactly as given (a change of case is a change)."""
    text = SEPARATOR.join("\x00" if a is None else unicodedata.normalize("NFC", str(a)) for a in attributes)
    return _uuid5(entity + SEPARATOR + text)


def _uuid5(name: str) -> uuid.UUID:
    """uuid.uuid5(NAMESPACE, name), without its per-call overhead (it is on DDS's hot path)."""
    return uuid.UUID(bytes=sha1(_NAMESPACE_BYTES + name.encode()).digest()[:16], version=5)
