"""The ONE hash-key function of the Data Vault (docs/data-vault.md). Changing it is a breaking change:
every key already stored would stop matching.

Not cached here: most keys a loader computes are new (orders), and caching those only evicts the
recurring ones (users, dishes), which the loader caches itself with their rows."""

from __future__ import annotations

import unicodedata
import uuid
from hashlib import sha1

# Fixed forever: uuid5(NAMESPACE_URL, "https://streamvault/data-vault/v1").
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://streamvault/data-vault/v1")
_NAMESPACE_BYTES = NAMESPACE.bytes
SEPARATOR = "\x1f"  # ASCII unit separator: cannot occur in a normalised business key part

HashKey = str
"""A key or hashdiff as canonical UUID text ("1705966c-07f2-59f9-…"). Text rather than uuid.UUID: the
loaders hash, sort and COPY hundreds of thousands of them per second, and str does all three in C."""

# The RFC 4122 variant: the top two bits of the 17th hex digit are 10.
_VARIANT = {digit: "89ab"[int(digit, 16) & 0x3] for digit in "0123456789abcdef"}


def normalise(part: object) -> str:
    """Business-key normalisation: text in Unicode NFC, trimmed and case-folded; numbers in decimal."""
    if type(part) is str and part.isascii():  # ids: NFC changes no ASCII text, and casefold() is lower() there
        return part.strip().lower()
    if type(part) is int:
        return str(part)
    if isinstance(part, bool) or not isinstance(part, (str, int)):
        raise TypeError(f"business key parts are str or int, not {type(part).__name__}")
    return unicodedata.normalize("NFC", str(part)).strip().casefold()


def hash_key(entity: str, *business_key: object) -> HashKey:
    """Deterministic key of a hub (one business key) or a link (the business keys of its hubs, in order)."""
    return _uuid5(entity + SEPARATOR + SEPARATOR.join(map(normalise, business_key)))


def hash_diff(entity: str, *attributes: object) -> HashKey:
    """Satellite change detector: attributes exactly as given (a change of case is a change)."""
    text = SEPARATOR.join("\x00" if a is None else unicodedata.normalize("NFC", str(a)) for a in attributes)
    return _uuid5(entity + SEPARATOR + text)


def _uuid5(name: str) -> HashKey:
    """str(uuid.uuid5(NAMESPACE, name)), without building a UUID object (it is on DDS's hot path)."""
    h = sha1(_NAMESPACE_BYTES + name.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"
