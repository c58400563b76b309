"""Link scanners: email security gateways that open every link in a mail before the
reader does. /go still records their clicks, flagged, so the warehouse can drop them."""

from __future__ import annotations

import ipaddress
import re

SCANNER_UA_RE = re.compile(
    r"safelinks|safe ?links|microsoft office|ms-office|msoffice|office365|outlook-ios|"
    r"proofpoint|urldefense|mimecast|barracuda|googleimageproxy|ggpht\.com|google-safety|"
    r"forcepoint|symantec|messagelabs|trend ?micro|fireeye|ironport|cisco|sophos|zscaler|"
    r"bitdefender|linkscanner|checkpoint|avanan|abnormal|trustwave|cloudmark|spamtitan|"
    r"vadesecure|hornetsecurity|appriver|mailscanner|link ?checker",
    re.IGNORECASE,
)


def is_scanner(
    method: str,
    user_agent: str | None,
    ip: str | None,
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...],
) -> tuple[bool, str | None]:
    """(scanner, reason). Timing rules (clicks within seconds of sending, no pixel follow-up)
    need campaign data and are applied in the warehouse."""
    if method == "HEAD":
        return True, "head_request"
    if not user_agent:
        return True, "no_user_agent"
    if SCANNER_UA_RE.search(user_agent):
        return True, "scanner_user_agent"
    if ip:
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return False, None
        for net in networks:
            if addr.version == net.version and addr in net:
                return True, "scanner_network"
    return False, None
