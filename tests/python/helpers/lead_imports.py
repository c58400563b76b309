"""A lead-list import written where `oie campaign create` lands it, for warehouse tests that
build the lead list incrementally: each lead a plain row, with the fields a test names."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from oie.campaign import leads_landing_path
from oie_core.landing import iso_ms


def lead_token(lead_id: str) -> str:
    return f"Tk{lead_id[:9]:0<9}"


def land_import(
    data_dir: Path,
    imported_at: datetime,
    leads: Mapping[str, Mapping[str, Any]],
    *,
    created_at: datetime,
    path: Path | None = None,
) -> Path:
    """One import's file (or `path`, rewriting that import): lead_id -> the fields that
    differ from the plain row (campaign c1, token from the id, company Acme)."""
    path = path or leads_landing_path(data_dir / "landing", imported_at)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for lead_id, fields in leads.items():
        campaign = fields.get("campaign_id", "c1")
        lines.append(
            {
                "lead_id": lead_id,
                "email": f"{lead_id}@example.com",
                "email_sha256": None,
                "first_name": lead_id.title(),
                "last_name": None,
                "company": "Acme",
                "title": "CTO",
                "industry": None,
                "campaign_id": campaign,
                "campaign_name": campaign.upper(),
                "token": lead_token(lead_id),
                "created_at": iso_ms(created_at.timestamp()),
                "attributes": None,
                "imported_at": iso_ms(imported_at.timestamp()),
                **fields,
            }
        )
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path
