"""Every command docs/crm.md and cli.md's `oie crm` section show in a ```console block runs,
as written, through bash and the real `oie`, against the HubSpot stand-in (its token and
address given the way the page says: OIE_HUBSPOT_TOKEN, OIE_HUBSPOT_BASE_URL)."""

from __future__ import annotations

from pathlib import Path

from tests.python.crm.support import leads, state_rows, write_crm_contacts
from tests.python.helpers.hubspot_standin import HubSpotStandin
from tests.python.kv.test_docs import REPO, console_blocks, section, shell


def hubspot(hs: HubSpotStandin) -> dict[str, str]:
    return {"OIE_HUBSPOT_TOKEN": hs.token, "OIE_HUBSPOT_BASE_URL": hs.base_url}


def test_crm_md_commands_run(tmp_path: Path, hs: HubSpotStandin) -> None:
    data_dir, work = tmp_path / "data", tmp_path / "work"
    work.mkdir()
    rows = leads(20)
    write_crm_contacts(data_dir, rows)
    (block,) = console_blocks((REPO / "docs" / "crm.md").read_text())
    assert [line.split("#")[0].split()[:2] for line in block] == [
        ["oie", "crm"],
        ["oie", "crm"],
        ["oie", "crm"],
        ["oie", "crm"],
        ["oie", "crm"],
        ["oie", "run"],
    ]
    out = [shell(line, data_dir, work, **hubspot(hs)).stdout for line in block]
    assert out[0].strip().endswith(": 7 created, 0 already there")
    assert out[1].strip().endswith(": 0 created, 7 already there")
    assert "would push 20 contact(s) (20 new, 0 changed), 0 failed" in out[2]
    assert "pushed 20 contact(s) (20 new, 0 changed), 0 failed, 1 request(s)" in out[3]
    assert "pushed 0 contact(s)" in out[4] and "0 request(s)" in out[4]
    assert "ok crm sync" in out[5]
    assert hs.contacts == {k: r.properties for k, r in rows.items()}
    assert set(state_rows(data_dir)) == set(rows)


def test_cli_md_crm_commands_run(tmp_path: Path, hs: HubSpotStandin) -> None:
    data_dir, work = tmp_path / "data", tmp_path / "work"
    work.mkdir()
    rows = leads(5)
    write_crm_contacts(data_dir, rows)
    (block,) = console_blocks(section((REPO / "docs" / "cli.md").read_text(), "oie crm"))
    assert [line.split()[:3] for line in block] == [
        ["oie", "crm", "setup"],
        ["oie", "crm", "sync"],
        ["oie", "crm", "sync"],
    ]
    out = [shell(line, data_dir, work, **hubspot(hs)).stdout for line in block]
    assert "7 created" in out[0]
    assert "would push 5 contact(s)" in out[1]
    assert "pushed 5 contact(s) (5 new, 0 changed), 0 failed, 1 request(s)" in out[2]
    assert set(hs.contacts) == set(rows)
