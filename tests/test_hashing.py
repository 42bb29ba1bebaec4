"""The Data Vault's hash keys are a contract (docs/data-vault.md): these values must never change."""

from __future__ import annotations

import random
import string
import unicodedata
import uuid

import pytest

from streamvault.hashing import NAMESPACE, hash_diff, hash_key


def test_keys_are_uuid5_of_the_normalised_business_key_as_text():
    assert hash_key("user", " 626A81CFEFA404208FE9ABAE ") == str(uuid.uuid5(NAMESPACE, "user\x1f626a81cfefa404208fe9abae"))
    assert hash_key("order_product", 1001, "X1") == str(uuid.uuid5(NAMESPACE, "order_product\x1f1001\x1fx1"))


def test_keys_equal_the_standard_uuid5_for_any_text():
    rng = random.Random(1)
    alphabet = string.printable + "ЙйЁёßİıŉǰﬁ\u0306\u00a0"
    for _ in range(5000):
        part = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 24)))
        normalised = unicodedata.normalize("NFC", part).strip().casefold()
        assert hash_key("entity", part) == str(uuid.uuid5(NAMESPACE, "entity\x1f" + normalised)), repr(part)


def test_known_keys_never_change():
    assert str(NAMESPACE) == "1e4bde3a-c6e3-51f5-95e8-a7f38dbba5c1"
    assert hash_key("category", "Супы") == "7c7387fe-bcfb-51c1-911b-d320e6b01920"
    assert hash_key("user", "626a81cfefa404208fe9abae") == "1705966c-07f2-59f9-b12c-04353bdc416b"
    assert hash_key("category", "Супы") == hash_key("category", " супы ") == hash_key("category", "СУПЫ")


def test_composed_and_decomposed_unicode_are_one_key():
    assert hash_key("category", "Йогурты") == hash_key("category", "И\u0306огурты")


def test_link_parts_stay_apart():
    assert hash_key("link", "ab", "c") != hash_key("link", "a", "bc")


def test_hashdiff_sees_a_change_of_case():
    assert hash_diff("s_user_names", "Анна", "anna") != hash_diff("s_user_names", "анна", "anna")


def test_only_text_and_integers_are_business_keys():
    with pytest.raises(TypeError):
        hash_key("order", 1.5)
    with pytest.raises(TypeError):
        hash_key("order", True)
