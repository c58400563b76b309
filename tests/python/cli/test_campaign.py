"""`oie campaign create` through the real entry point: bad CSVs, idempotency, tokens."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

from oie.lead_list import lead_id_for
from oie.token_registry import TokenRegistry
from oie_core import tokens
from oie_core.hashing import email_sha256

from .conftest import SECRET, Cli

HEADER = "Email,First Name,Last Name,Company Name,Job Title,Industry,LinkedIn URL\n"


def write(cli: Cli, name: str, text: str | bytes) -> Path:
    path = cli.cwd / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def create(cli: Cli, csv_name: str, *extra: str, campaign: str = "Q4 CFOs"):
    return cli(
        "campaign",
        "create",
        csv_name,
        "--campaign",
        campaign,
        "--landing-url",
        "https://acme.example/pricing?utm_source=cold",
        *extra,
    )


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def landed_leads(cli: Cli) -> list[dict]:
    rows = []
    for path in sorted((cli.data_dir / "landing" / "leads").glob("dt=*/hr=*/*")):
        assert path.name.endswith(".ndjson"), f"unsealed or temp file left: {path}"
        rows += [json.loads(line) for line in path.read_text().splitlines()]
    return rows


def test_happy_path_header_matching_and_outputs(cli: Cli) -> None:
    write(
        cli,
        "leads.csv",
        HEADER
        + "ada@example.com,Ada,Lovelace,Analytical Engines,CTO,Software,https://li/ada\n"
        + " Grace@Example.COM ,Grace,Hopper,Navy,Admiral,Defense,\n",
    )
    proc = create(cli, "leads.csv")
    assert proc.returncode == 0, proc.stderr
    assert "new leads" in proc.stdout
    urls = read_csv(cli.cwd / "q4-cfos-urls.csv")
    # Original columns kept as they were, plus tracking_url.
    assert list(urls[0]) == [*HEADER.strip().split(","), "tracking_url"]
    assert urls[1]["Email"] == " Grace@Example.COM "
    leads = landed_leads(cli)
    assert [lead["email"] for lead in leads] == ["ada@example.com", "grace@example.com"]
    ada = leads[0]
    assert ada["first_name"] == "Ada" and ada["company"] == "Analytical Engines"
    assert ada["title"] == "CTO" and ada["industry"] == "Software"
    assert ada["attributes"] == {"LinkedIn URL": "https://li/ada"}
    assert ada["campaign_id"] == "q4-cfos" and ada["campaign_name"] == "Q4 CFOs"
    assert ada["lead_id"] == lead_id_for("q4-cfos", "ada@example.com")
    assert ada["email_sha256"] == email_sha256("ada@example.com")
    assert ada["created_at"].endswith("Z")
    keyring = tokens.Keyring.parse(SECRET)
    for row, lead in zip(urls, leads, strict=True):
        assert tokens.verify(keyring, lead["token"])
        # The landing URL keeps its query and gains i=TOKEN.
        assert row["tracking_url"] == (
            f"https://acme.example/pricing?utm_source=cold&i={lead['token']}"
        )
    assert not (cli.cwd / "q4-cfos-problems.csv").exists()


def test_tracking_base_builds_go_links(cli: Cli) -> None:
    write(cli, "leads.csv", "email\nada@example.com\n")
    proc = create(
        cli, "leads.csv", "--tracking-base", "https://collect.acme.example/", "--out", "links.csv"
    )
    assert proc.returncode == 0, proc.stderr
    (row,) = read_csv(cli.cwd / "links.csv")
    token = landed_leads(cli)[0]["token"]
    assert row["tracking_url"] == (
        f"https://collect.acme.example/go?i={token}&to=/pricing%3Futm_source%3Dcold"
    )


def test_missing_email_column(cli: Cli) -> None:
    write(cli, "leads.csv", "name,company\nAda,Analytical\n")
    proc = create(cli, "leads.csv")
    assert proc.returncode == 2
    assert "no email column" in proc.stderr
    assert "found: name, company" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not landed_leads(cli)


def test_malformed_emails_and_duplicates_reported_with_line_numbers(cli: Cli) -> None:
    write(
        cli,
        "leads.csv",
        "email,first_name\n"
        "ada@example.com,Ada\n"  # line 2
        "not-an-email,X\n"  # line 3: invalid
        "ADA@example.com ,Ada again\n"  # line 4: duplicate of line 2 after normalizing
        "bob@@example.com,Bob\n"  # line 5: invalid
        ",Nobody\n"  # line 6: empty email
        "carol@example.com,Carol,extra\n"  # line 7: too many fields
        "dan@example,Dan\n"  # line 8: no dotted domain
        "erin@example.com,Erin\n",
    )  # line 9
    proc = create(cli, "leads.csv")
    assert proc.returncode == 0, proc.stderr
    problems = read_csv(cli.cwd / "q4-cfos-problems.csv")
    by_line = {int(p["line"]): p["reason"] for p in problems}
    assert set(by_line) == {3, 4, 5, 6, 7, 8}
    assert by_line[4] == "duplicate: same email as line 2"
    assert by_line[3].startswith("invalid_email")
    assert by_line[6] == "invalid_email: empty"
    assert by_line[7].startswith("bad_row")
    assert [r["email"] for r in read_csv(cli.cwd / "q4-cfos-urls.csv")] == [
        "ada@example.com",
        "erin@example.com",
    ]
    assert [lead["email"] for lead in landed_leads(cli)] == ["ada@example.com", "erin@example.com"]
    assert "duplicates dropped" in proc.stdout and "invalid rows dropped" in proc.stdout


def test_empty_file_and_header_only(cli: Cli) -> None:
    write(cli, "empty.csv", "")
    proc = create(cli, "empty.csv")
    assert proc.returncode == 2 and "is empty" in proc.stderr
    write(cli, "header.csv", "email,first_name\n")
    proc = create(cli, "header.csv")
    assert proc.returncode == 2 and "no lead rows" in proc.stderr
    assert not landed_leads(cli)
    assert not (cli.cwd / "q4-cfos-urls.csv").exists()


def test_non_utf8_file_fails_clearly_then_imports_with_encoding(cli: Cli) -> None:
    write(
        cli,
        "latin.csv",
        "email,first_name\nada@example.com,Ada\nrene@example.com,René\n".encode("cp1252"),
    )
    proc = create(cli, "latin.csv")
    assert proc.returncode == 2
    assert "not valid utf-8-sig" in proc.stderr and "--encoding cp1252" in proc.stderr
    # Nothing half-done: no leads, no URL file, no registry rows.
    assert not landed_leads(cli)
    assert not (cli.cwd / "q4-cfos-urls.csv").exists()
    proc = create(cli, "latin.csv", "--encoding", "cp1252")
    assert proc.returncode == 0, proc.stderr
    assert [lead["first_name"] for lead in landed_leads(cli)] == ["Ada", "René"]


def test_semicolon_bom_export(cli: Cli) -> None:
    write(cli, "excel.csv", "\ufeffE-Mail;FIRST_NAME;Company\nada@example.com;Ada;Analytical\n")
    proc = create(cli, "excel.csv")
    assert proc.returncode == 0, proc.stderr
    (lead,) = landed_leads(cli)
    assert lead["first_name"] == "Ada" and lead["company"] == "Analytical"


def test_bad_arguments(cli: Cli) -> None:
    write(cli, "leads.csv", "email\nada@example.com\n")
    for args, needle in [
        (("missing.csv", "--campaign", "x", "--landing-url", "https://a.example/"), "no such file"),
        (("leads.csv", "--campaign", "x", "--landing-url", "acme.example"), "--landing-url"),
        (("leads.csv", "--campaign", "!!!", "--landing-url", "https://a.example/"), "--campaign"),
        (
            (
                "leads.csv",
                "--campaign",
                "x",
                "--landing-url",
                "https://a.example/",
                "--encoding",
                "klingon",
            ),
            "--encoding",
        ),
    ]:
        proc = cli("campaign", "create", *args)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        assert needle in proc.stderr, (args, proc.stderr)


def test_reimport_is_idempotent_and_updates_changed_rows(cli: Cli) -> None:
    text = HEADER + "".join(f"lead{i}@example.com,F{i},L{i},Co{i},CTO,SaaS,\n" for i in range(50))
    write(cli, "leads.csv", text)
    assert create(cli, "leads.csv").returncode == 0
    first_urls = read_csv(cli.cwd / "q4-cfos-urls.csv")
    first_leads = landed_leads(cli)
    assert len(first_leads) == 50

    again = create(cli, "leads.csv")
    assert again.returncode == 0
    assert read_csv(cli.cwd / "q4-cfos-urls.csv") == first_urls  # no token changed
    assert landed_leads(cli) == first_leads  # nothing new landed
    assert "no new or changed leads" in again.stdout

    # One lead's name changes, one lead is new: exactly two rows land, tokens kept.
    write(cli, "leads.csv", text.replace("F7,", "Frieda,") + "new@example.com,N,N,C,T,I,\n")
    assert create(cli, "leads.csv").returncode == 0
    added = landed_leads(cli)[50:]
    assert sorted(lead["email"] for lead in added) == ["lead7@example.com", "new@example.com"]
    old7 = next(lead for lead in first_leads if lead["email"] == "lead7@example.com")
    new7 = next(lead for lead in added if lead["email"] == "lead7@example.com")
    assert new7["first_name"] == "Frieda"
    assert (new7["token"], new7["lead_id"], new7["created_at"]) == (
        old7["token"],
        old7["lead_id"],
        old7["created_at"],
    )


def test_tokens_deterministic_across_installs(cli: Cli, tmp_path: Path) -> None:
    write(cli, "leads.csv", "email\nada@example.com\nbob@example.com\n")
    assert create(cli, "leads.csv").returncode == 0
    tokens_a = [lead["token"] for lead in landed_leads(cli)]
    other = Cli({**cli.env, "OIE_DATA_DIR": str(tmp_path / "other")}, cli.cwd)
    assert create(other, "leads.csv").returncode == 0
    tokens_b = [lead["token"] for lead in landed_leads(other)]
    assert tokens_a == tokens_b
    keyring = tokens.Keyring.parse(SECRET)
    assert tokens_a == [
        tokens.candidate(keyring, "q4-cfos", e) for e in ("ada@example.com", "bob@example.com")
    ]
    # Another secret mints other tokens.
    third = Cli(
        {
            **cli.env,
            "OIE_DATA_DIR": str(tmp_path / "third"),
            "OIE_TOKEN_SECRET": "another-secret-0123456789",
        },
        cli.cwd,
    )
    assert create(third, "leads.csv").returncode == 0
    assert not set(tokens_a) & {lead["token"] for lead in landed_leads(third)}


def test_mint_skips_a_taken_token() -> None:
    keyring = tokens.Keyring.parse(SECRET)
    first = tokens.candidate(keyring, "c", "ada@example.com", 0)
    second = tokens.candidate(keyring, "c", "ada@example.com", 1)
    taken = {first: "other|someone@example.com"}
    assert tokens.mint(keyring, "c", "ada@example.com", taken.get) == second
    # A token held by this very lead is reused, never re-minted.
    assert tokens.mint(keyring, "c", "ada@example.com", {first: "c|ada@example.com"}.get) == first


def test_registry_collision_end_to_end(cli: Cli) -> None:
    """A token already held by another lead forces the newcomer onto the next counter."""
    keyring = tokens.Keyring.parse(SECRET)
    wanted = tokens.candidate(keyring, "q4-cfos", "ada@example.com", 0)
    registry = TokenRegistry(cli.data_dir / "tokens.sqlite")
    registry.db.execute(
        "INSERT INTO tokens VALUES (?, 'older-campaign', 'zed@example.com', 'x', 'h', "
        "'2026-01-01T00:00:00.000Z')",
        (wanted,),
    )
    registry.close()
    write(cli, "leads.csv", "email\nada@example.com\nbob@example.com\n")
    proc = create(cli, "leads.csv")
    assert proc.returncode == 0, proc.stderr
    assert "token collisions resolved" in proc.stdout
    ada = next(lead for lead in landed_leads(cli) if lead["email"] == "ada@example.com")
    assert ada["token"] == tokens.candidate(keyring, "q4-cfos", "ada@example.com", 1)
    db = sqlite3.connect(cli.data_dir / "tokens.sqlite")
    owner = db.execute("SELECT campaign_id, email FROM tokens WHERE token = ?", (wanted,))
    assert owner.fetchone() == ("older-campaign", "zed@example.com")  # never changes
    # Re-importing keeps the resolved token.
    assert create(cli, "leads.csv").returncode == 0
    (row,) = [r for r in read_csv(cli.cwd / "q4-cfos-urls.csv") if r["email"] == "ada@example.com"]
    assert row["tracking_url"].endswith("i=" + ada["token"])
