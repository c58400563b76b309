"""The example site and the browsers that visit it: one catalogue for every journey."""

from __future__ import annotations

# The pixel's example site (pixel/examples): path -> (title, kind). The kinds are what the
# warehouse scores (its URL patterns: %/pricing%, %/case-stud%, %/product%).
PAGES: dict[str, tuple[str, str]] = {
    "/": ("Home · Acme Analytics", "other"),
    "/pricing.html": ("Pricing · Acme Analytics", "pricing"),
    "/product.html": ("Product · Acme Analytics", "product"),
    "/case-studies/acme.html": ("Case study: Acme Corp · Acme Analytics", "case_study"),
    "/newsletter.html": ("Newsletter · Acme Analytics", "other"),
    "/app/": ("App (single-page) · Acme Analytics", "other"),
    "/contact.html": ("Contact · Acme Analytics", "form"),
}
BROWSE = ["/", "/newsletter.html", "/app/", "/product.html"]
INTENT = ["/pricing.html", "/case-studies/acme.html", "/product.html"]
FORM_PAGE = "/contact.html"
FORM_ID = "contact"
VIDEO = "/media/demo.webm"

DESKTOP_UAS = [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.6 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
]
MOBILE_UAS = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36",
]
BOT_UAS = [
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
]
# An email security gateway opening links before the human does (a Microsoft address).
SCANNER_UA = "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)"
SCANNER_IP = "40.94.12.7"
REFERRERS = ["https://mail.google.com/", "", "https://outlook.office.com/"]
RETURN_REFERRERS = ["https://www.google.com/", "", "https://www.linkedin.com/"]
# What every simulated batch says about its pixel: nobody mistakes it for real traffic.
PIXEL_VERSION = "sim"


def is_mobile(user_agent: str) -> bool:
    return "Mobile" in user_agent or "iPhone" in user_agent
