"""Every command docs/privacy.md and cli.md's `oie forget` section show in a ```console
block runs, as written, through bash and the real `oie`, on a folder that holds Ada (the
design document's test vector) and prints what the pages say."""

from __future__ import annotations

from tests.python.cli.conftest import Cli
from tests.python.kv.test_docs import REPO, console_blocks, section, shell
from tests.python.privacy.support import import_leads, land_events


def _hold_ada(cli: Cli) -> None:
    import_leads(cli, " Ada@Example.COM ", "bob@example.com")
    visitors = ("ada-phone-0001", "ada-phone-0001", "bob-laptop-0003")
    land_events(cli.data_dir, *({"visitor_id": vid} for vid in visitors))


def test_privacy_md_commands_run(cli: Cli) -> None:
    _hold_ada(cli)
    (block,) = console_blocks((REPO / "docs" / "privacy.md").read_text())
    dry, real, visitor = (shell(line, cli.data_dir, cli.cwd).stdout for line in block)
    assert "token registry" not in dry  # stores are named by their files
    assert "tokens.sqlite: would remove 1 row(s) from 1 table(s)" in dry
    assert "landing files: would remove 1 line(s) from 1 file(s)" in dry
    assert "tokens.sqlite: removed 1 row(s) from 1 table(s)" in real
    assert "landing files: removed 2 line(s) from 1 file(s)" in visitor
    assert "nothing held" not in visitor


def test_cli_md_forget_commands_run(cli: Cli) -> None:
    _hold_ada(cli)
    (block,) = console_blocks(section((REPO / "docs" / "cli.md").read_text(), "oie forget"))
    dry, real = (shell(line, cli.data_dir, cli.cwd).stdout for line in block)
    assert "would record" in dry and "would remove 1 line(s)" in dry
    assert "removed 1 line(s)" in real and "recorded" in real
    again = shell(block[1], cli.data_dir, cli.cwd).stdout
    assert "nothing held for this email" in again


def _privacy_stores() -> list[str]:
    text = (REPO / "PRIVACY.md").read_text()
    table = text[text.index("## Where it lives") : text.index("## How to erase")]
    rows = [line.split("|")[1].strip() for line in table.splitlines() if line.startswith("| ")]
    return [r for r in rows if r != "store"]


def test_every_store_privacy_md_names_is_one_the_forget_tests_scan() -> None:
    from tests.python.privacy.test_forget import SCANNED

    scanned_elsewhere = {"Workers KV"}  # test_forget_cli.py, against the Cloudflare stand-in
    # named as not touched: the user's files, and the contacts the CRM sync wrote
    kept_by_the_user = {"campaign output", "report pages", "HubSpot contacts"}
    stores = _privacy_stores()
    assert len(stores) >= 8
    assert set(stores) == set(SCANNED) | scanned_elsewhere | kept_by_the_user
    erasure = (REPO / "docs" / "privacy.md").read_text()
    for store in kept_by_the_user:
        assert f"| {store} |" in erasure


def test_privacy_notice_commands_run(cli: Cli) -> None:
    _hold_ada(cli)
    (block,) = console_blocks((REPO / "PRIVACY.md").read_text())
    dry, real = (shell(line, cli.data_dir, cli.cwd).stdout for line in block)
    assert "would remove" in dry and "removed 1 row(s)" in real


def test_readme_privacy_commands_run(cli: Cli) -> None:
    _hold_ada(cli)
    readme = (REPO / "README.md").read_text()
    text = readme[readme.index("## Privacy: erasure") :]
    (block,) = console_blocks(text)
    dry, real = (shell(line, cli.data_dir, cli.cwd).stdout for line in block)
    assert "tokens.sqlite: would remove 1 row(s)" in dry
    assert "tokens.sqlite: removed 1 row(s)" in real
