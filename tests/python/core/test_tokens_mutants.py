"""Token keyrings and minting (oie_core/tokens.py), rule by rule: what OIE_TOKEN_SECRET
accepts and the message each refusal gives, and how `mint` walks past a token another lead
holds. Written against the mutants `make mutate` found alive (bench/results/mutation.md);
the literal tokens are test_tokens_vector.py's shipped vectors."""

from __future__ import annotations

import pytest

from oie_core.tokens import Keyring, TokenConfigError, candidate, mint, verify

SECRET = "0:fixed-test-secret-0123456789,7:older-test-secret-0123456789"
KEYRING = Keyring.parse(SECRET)
FIRST, SECOND = "0kdY66zVn29", "09IsQpL0B6Q"  # ada@example.com in q4-cfos, counter 0 and 1


def refusal(spec: str | None) -> str:
    with pytest.raises(TokenConfigError) as caught:
        Keyring.parse(spec)
    return str(caught.value)


@pytest.mark.parametrize("spec", [None, "", "   ", " , ,"])
def test_an_empty_secret_is_refused(spec):
    assert refusal(spec) == "OIE_TOKEN_SECRET is empty: set a secret or id:secret pairs"


def test_a_secret_of_commas_only_is_a_settings_error_naming_the_variable():
    from oie_core.settings import Settings, SettingsError

    with pytest.raises(SettingsError, match="OIE_TOKEN_SECRET is empty"):
        Settings.from_env({"OIE_TOKEN_SECRET": " , "})


def test_a_single_secret_becomes_key_0():
    ring = Keyring.parse("  a-single-secret-of-24  ")
    assert ring.keys == {"0": b"a-single-secret-of-24"} and ring.current == "0"


def test_pairs_keep_their_order_and_the_first_mints():
    ring = Keyring.parse(" 7:older-test-secret-0123456789 , 0:fixed-test-secret-0123456789 ")
    assert list(ring.keys) == ["7", "0"] and ring.current == "7"


def test_a_secret_may_hold_colons():
    ring = Keyring.parse("a:sec:ret:0123456789abcdef")
    assert ring.keys == {"a": b"sec:ret:0123456789abcdef"}


@pytest.mark.parametrize(
    "spec",
    [
        "ab:0123456789abcdefgh",  # a two-character key id
        ":0123456789abcdefgh,0:0123456789abcdefgh",  # no key id
        "#:0123456789abcdefgh",  # a key id outside [0-9A-Za-z]
        "a:",  # no secret
        "0:0123456789abcdefgh,plain-secret-0123456789",  # a pair and a bare secret
    ],
)
def test_malformed_entries_are_refused_with_the_expected_shape(spec):
    assert refusal(spec) == (
        "OIE_TOKEN_SECRET entries must look like K:secret with K one of [0-9A-Za-z]"
    )


def test_a_repeated_key_id_is_refused():
    assert refusal("a:0123456789abcdefgh,a:fedcba9876543210xy") == (
        "OIE_TOKEN_SECRET repeats key id 'a'"
    )


def test_secrets_need_16_characters():
    assert Keyring.parse("k:" + "s" * 16).keys == {"k": b"s" * 16}
    assert Keyring.parse("s" * 16).keys == {"0": b"s" * 16}
    assert refusal("k:" + "s" * 15) == "OIE_TOKEN_SECRET key 'k' is shorter than 16 characters"
    assert refusal("s" * 15) == "OIE_TOKEN_SECRET key '0' is shorter than 16 characters"


# -- minting past collisions ----------------------------------------------------------------
def test_mint_without_a_registry_is_the_first_candidate():
    assert mint(KEYRING, "q4-cfos", "ada@example.com") == FIRST


def test_a_token_this_lead_already_holds_is_reused():
    asked: list[str] = []

    def owner_of(token: str) -> str | None:
        asked.append(token)
        return "q4-cfos|ada@example.com"  # the registry's key: campaign | normalized email

    assert mint(KEYRING, "q4-cfos", " Ada@Example.COM ", owner_of) == FIRST
    assert asked == [FIRST]


def test_a_token_another_lead_holds_is_skipped():
    holders = {FIRST: "q4-cfos|bob@example.com"}
    asked: list[str] = []

    def owner_of(token: str) -> str | None:
        asked.append(token)
        return holders.get(token)

    assert mint(KEYRING, "q4-cfos", "ada@example.com", owner_of) == SECOND
    assert asked == [FIRST, SECOND]
    assert candidate(KEYRING, "q4-cfos", "ada@example.com", 1) == SECOND
    assert verify(KEYRING, SECOND)


def test_a_thousand_collisions_exhaust_the_token_space():
    asked: list[str] = []

    def owner_of(token: str) -> str | None:
        asked.append(token)
        return "q4-cfos|someone-else@example.com"

    with pytest.raises(RuntimeError) as caught:
        mint(KEYRING, "q4-cfos", "ada@example.com", owner_of)
    assert str(caught.value) == (
        "token space exhausted for this lead (1000 collisions): check the registry"
    )
    assert len(asked) == 1000 and len(set(asked)) == 1000 and asked[:2] == [FIRST, SECOND]
