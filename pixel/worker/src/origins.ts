// The CORS allow-list, as the local server reads OIE_ALLOWED_ORIGINS
// (oie_core/settings.py OriginPattern, ingest_function/origins.py):
//   ""                        nothing allowed (no CORS headers, every preflight refused)
//   "*"                       every http(s) origin (tests only)
//   "https://www.acme.com"    exactly that origin
//   "http://127.0.0.1:*"      any port (or none) on that host
//   "https://*.acme.com"      any subdomain (one or more labels), not acme.com itself
// Entries are comma-separated; case and trailing slashes do not matter.

export class OriginsError extends Error {}

export type OriginPolicy = (origin: string | null) => boolean;

const ENTRY = /^(https?):\/\/([^/:]+)(?::(\d+|\*))?$/;
const ORIGIN_OF_URL = /^(https?:\/\/[^/?#]+)/i;

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
}

function pattern(raw: string): RegExp {
  const text = raw.trim().replace(/\/+$/, "").toLowerCase();
  if (text === "*") return /^https?:\/\/[^/]+$/;
  const m = ENTRY.exec(text);
  if (!m) {
    throw new OriginsError(
      `ALLOWED_ORIGINS entry ${JSON.stringify(raw)}: expected scheme://host[:port], ` +
        "with * allowed as the port or as the first host label",
    );
  }
  const [, scheme, host, port] = m;
  const hostRe = host.startsWith("*.") ? "(?:[a-z0-9-]+\\.)+" + escape(host.slice(2)) : escape(host);
  const portRe = port === "*" ? "(?::\\d+)?" : port ? ":" + port : "";
  return new RegExp(`^${scheme}:\\/\\/${hostRe}${portRe}$`);
}

/** The policy for a comma list; throws OriginsError naming the first malformed entry. */
export function parseOrigins(raw: string | undefined): OriginPolicy {
  const patterns = (raw || "")
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p)
    .map(pattern);
  return (origin) => !!origin && patterns.some((p) => p.test(origin));
}

/** The page's origin: the Origin header, else the origin part of Referer (lowercased). */
export function pageOrigin(headers: Headers): string | null {
  const origin = headers.get("Origin");
  if (origin && origin !== "null") return origin.replace(/\/+$/, "").toLowerCase();
  const referer = headers.get("Referer");
  if (referer) {
    const m = ORIGIN_OF_URL.exec(referer);
    if (m) return m[1].toLowerCase();
  }
  return null;
}
