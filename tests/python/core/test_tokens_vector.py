"""Fixed token vectors: every token already emailed must keep verifying, so the id and
check formulas may never change. The literals were minted by the formula as first shipped."""

from __future__ import annotations

from oie_core.tokens import Keyring, candidate, mint, verify

KEYRING = Keyring.parse("0:fixed-test-secret-0123456789,7:older-test-secret-0123456789")


def test_minted_tokens_are_the_shipped_ones():
    assert mint(KEYRING, "q4-cfos", " Ada@Example.COM ") == "0kdY66zVn29"
    assert candidate(KEYRING, "q4-cfos", "ada@example.com", 1) == "09IsQpL0B6Q"
    assert candidate(KEYRING, "q4-cfos", "bob@example.com") == "0x12dASOndw"
    # A token minted under an older key verifies while that key is on the ring.
    assert mint(Keyring.parse("7:older-test-secret-0123456789"), "q4-cfos", "ada@example.com") == (
        "78KdFtWftvT"
    )


def test_shipped_tokens_verify_and_a_changed_check_does_not():
    for token in ("0kdY66zVn29", "09IsQpL0B6Q", "0x12dASOndw", "78KdFtWftvT"):
        assert verify(KEYRING, token)
    assert not verify(KEYRING, "0kdY66zVn2A")
    assert not verify(Keyring.parse("0:fixed-test-secret-0123456789"), "78KdFtWftvT")


def test_key_rotation_old_tokens_verify_new_ones_use_the_new_key():
    """OIE_TOKEN_SECRET moves from one key to `new,old`: every token already emailed under
    the old key keeps verifying, and new tokens are minted under the new key."""
    from oie_core.settings import Settings

    before = Settings.from_env({"OIE_TOKEN_SECRET": "7:older-test-secret-0123456789"}).keyring
    emailed = mint(before, "q4-cfos", "ada@example.com")
    assert emailed == "78KdFtWftvT"
    after = Settings.from_env(
        {"OIE_TOKEN_SECRET": "0:fixed-test-secret-0123456789,7:older-test-secret-0123456789"}
    ).keyring
    assert verify(after, emailed)
    fresh = mint(after, "q4-cfos", "bob@example.com")
    assert fresh == "0x12dASOndw" and fresh[0] == "0"
    assert verify(after, fresh)
    assert not verify(before, fresh)  # the old ring never knew the new key
    # Each token is checked with its own key: the old token under the new key alone fails.
    assert not verify(Keyring.parse("0:fixed-test-secret-0123456789"), emailed)
