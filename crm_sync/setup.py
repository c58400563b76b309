"""`oie crm setup`: the property group `oie` and the six contact properties the sync writes,
made once.

What exists is read first (the group by name, 404 = absent; every contact property in one
request), and only what is missing is created, so running it again creates nothing. A
property that exists with another type is left as it is and said (HubSpot would refuse to
change the type of a property holding values); a 409 on create (a property archived, so
not listed) counts as existing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from crm_sync.hubspot import HubSpotCRM
from crm_sync.properties import GROUP_LABEL, GROUP_NAME, PROPERTIES


@dataclass
class SetupReport:
    destination: str
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return (
            [f"created {what}" for what in self.created]
            + [f"already there: {what}" for what in self.existing]
            + [f"warning: {what}" for what in self.mismatched]
        )

    def summary(self) -> str:
        return (
            f"{self.destination}: {len(self.created)} created, {len(self.existing)} already there"
        )


def ensure(crm: HubSpotCRM) -> SetupReport:
    report = SetupReport(crm.name)
    group = f"property group {GROUP_NAME} ({GROUP_LABEL})"
    if crm.group_exists(GROUP_NAME):
        report.existing.append(group)
    elif crm.create_group(GROUP_NAME, GROUP_LABEL):
        report.created.append(group)
    else:  # 409: made meanwhile
        report.existing.append(group)
    existing = crm.existing_properties()
    for spec in PROPERTIES:
        what = f"property {spec.name} ({spec.type}, {spec.field_type})"
        found = existing.get(spec.name)
        # A create answered 409 (archived, so not listed) counts as existing.
        if found is None and crm.create_property(spec, GROUP_NAME):
            report.created.append(what)
            continue
        report.existing.append(what)
        if found is not None and (found.type, found.field_type) != (spec.type, spec.field_type):
            report.mismatched.append(
                f"{spec.name} exists as {found.type} ({found.field_type}), the sync sends "
                f"{spec.type} ({spec.field_type}): left as it is; values HubSpot cannot read "
                "as its type will fail one by one"
            )
    return report
