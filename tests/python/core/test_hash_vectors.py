"""The email-hash rule against the literal vector of docs/design.md: never the function
compared with itself. The pixel (tests/python/pixel) and the warehouse (the dbt unit tests
`a_form_hash_is_kept_as_the_lowercase_hex_of_the_design_vector` and
`a_form_with_the_vector_address_links_to_the_lead_with_that_address`) check the same
literals."""

from __future__ import annotations

from oie_core.hashing import email_hashes, email_sha256, normalize_email

ADDRESS = " Ada@Example.COM "
SHA256 = "b5fc85e55755f9e0d030a10ab4429b6b2944855f9a0d60077fe832becbc41d72"
SHA1 = "3ca93ad87e0bb737e653b66ad67731e86bbc050f"
MD5 = "3e3417d7ef77d5932a6734b916515ed5"


def test_the_vector_normalizes_to_trimmed_lowercase():
    assert normalize_email(ADDRESS) == "ada@example.com"
    assert normalize_email("\tBob.Smith+Tag@Example.org\n") == "bob.smith+tag@example.org"


def test_the_vector_hashes_to_the_literal_lowercase_hex():
    assert email_sha256(ADDRESS) == SHA256
    assert email_hashes(ADDRESS) == {"sha256": SHA256, "sha1": SHA1, "md5": MD5}
    # Any spelling of the same address is the same hash; another address is not.
    assert email_sha256("ada@example.com") == SHA256
    assert email_sha256("ada@example.co") != SHA256
