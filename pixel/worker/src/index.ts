// The edge Worker: `GET /personalize?vid=VISITOR[&i=TOKEN]` from Workers KV, answered
// exactly as the local server answers it (ingest_function/endpoints/personalize.py):
// the visitor's key `v:<vid>` first, then the email token's `t:<token>` (a lead's first
// visit from an email link), the public fields of the profile, the same errors, the same
// CORS headers. The KV sync (kv_sync/, docs/kv.md) fills the namespace bound as OIE_KV.
// Deploying and testing it: docs/worker.md.
import type { KVNamespace } from "./kv";
import { OriginPolicy, OriginsError, pageOrigin, parseOrigins } from "./origins";

export interface Env {
  OIE_KV: KVNamespace;
  /** Comma list of page origins allowed to read profiles (see origins.ts); empty: none. */
  ALLOWED_ORIGINS?: string;
}

type HeaderList = [string, string][];

// ingest_function/validate.py ID_RE and oie_core/tokens.py TOKEN_RE.
const ID_RE = /^[0-9A-Za-z_-]{8,64}$/;
const TOKEN_RE = /^[0-9A-Za-z]{11}$/;
// What a page may show (ingest_function/local_kv.py PUBLIC_FIELDS), in this order.
const PUBLIC_FIELDS = ["first_name", "company", "engagement_level", "campaign_id", "updated_at"];
const KV_CACHE_TTL_S = 60;
const PATH = "/personalize";

function jsonResponse(status: number, payload: unknown, headers: HeaderList = [], head = false): Response {
  const out = new Headers({ "Content-Type": "application/json" });
  if (!headers.some(([k]) => k === "Cache-Control")) out.set("Cache-Control", "no-store");
  out.set("X-Content-Type-Options", "nosniff");
  for (const [k, v] of headers) out.append(k, v);
  return new Response(head ? null : JSON.stringify(payload), { status, headers: out });
}

/** Errors say what was wrong with the request: never a stack trace or a setting's value. */
function error(status: number, code: string, detail: string, headers: HeaderList = [], head = false): Response {
  return jsonResponse(status, { error: code, detail }, headers, head);
}

/** Echo an (already allowed) origin with credentials: the pixel's fetch is credentialed. */
function corsHeaders(origin: string | null): HeaderList {
  if (!origin) return [];
  return [
    ["Access-Control-Allow-Origin", origin],
    ["Vary", "Origin"],
    ["Access-Control-Allow-Credentials", "true"],
  ];
}

function preflight(allowed: OriginPolicy, req: Request): Response {
  // As the local server: only a request that names its Origin can pass a preflight.
  const origin = req.headers.get("Origin") ? pageOrigin(req.headers) : null;
  if (!allowed(origin)) return error(403, "origin_not_allowed", "origin is not on the allow-list");
  const headers = new Headers();
  for (const [k, v] of corsHeaders(origin)) headers.append(k, v);
  headers.set("Access-Control-Allow-Methods", "GET, OPTIONS");
  headers.set("Access-Control-Allow-Headers", "Content-Type, X-OIE-Signature");
  headers.set("Access-Control-Max-Age", "86400");
  return new Response(null, { status: 204, headers });
}

/** Python's truthiness, as local_kv.py tests `doc.get("forwarded")`. */
function truthy(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (v !== null && typeof v === "object") return Object.keys(v).length > 0;
  return !!v;
}

/** The public fields of a stored profile, or null when there is none to show. */
function publicFields(doc: unknown): Record<string, unknown> | null {
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) return null;
  const d = doc as Record<string, unknown>;
  if (truthy(d.forwarded)) return null;
  const out: Record<string, unknown> = {};
  for (const k of PUBLIC_FIELDS) if (Object.prototype.hasOwnProperty.call(d, k)) out[k] = d[k];
  return out;
}

async function lookup(kv: KVNamespace, keys: string[]): Promise<Record<string, unknown> | null> {
  // One key at a time: a visitor the warehouse knows costs one read, a first visit two.
  for (const key of keys) {
    let doc: unknown;
    try {
      doc = await kv.get(key, { type: "json", cacheTtl: KV_CACHE_TTL_S });
    } catch (e) {
      if (e instanceof SyntaxError) continue; // a value that is not JSON: no profile
      throw e;
    }
    const profile = publicFields(doc);
    if (profile) return profile;
  }
  return null;
}

async function personalize(env: Env, allowed: OriginPolicy, req: Request, url: URL): Promise<Response> {
  if (req.method === "OPTIONS") return preflight(allowed, req);
  const head = req.method === "HEAD";
  if (req.method !== "GET" && !head) {
    return error(405, "method_not_allowed", "use GET", [["Allow", "GET, HEAD, OPTIONS"]]);
  }
  const origin = pageOrigin(req.headers);
  const cors = allowed(origin) ? corsHeaders(origin) : [];
  const vid = url.searchParams.get("vid");
  if (!vid || !ID_RE.test(vid)) return error(400, "invalid_vid", "vid must be a visitor id", cors, head);
  const keys = ["v:" + vid];
  const token = url.searchParams.get("i");
  if (token) {
    // Shape only, as the pixel checks it: a token nobody minted simply has no key.
    if (!TOKEN_RE.test(token)) return error(400, "invalid_token", "i must be an 11-character token", cors, head);
    keys.push("t:" + token);
  }
  const profile = await lookup(env.OIE_KV, keys);
  if (profile === null) return error(404, "not_found", "no profile for this visitor", cors, head);
  return jsonResponse(200, profile, [...cors, ["Cache-Control", "private, max-age=60"]], head);
}

// ALLOWED_ORIGINS is parsed once per isolate (and again only if the binding changes).
let policy: { raw: string | undefined; allowed: OriginPolicy | OriginsError } | null = null;

function originPolicy(raw: string | undefined): OriginPolicy | OriginsError {
  if (!policy || policy.raw !== raw) {
    let allowed: OriginPolicy | OriginsError;
    try {
      allowed = parseOrigins(raw);
    } catch (e) {
      if (!(e instanceof OriginsError)) throw e;
      allowed = e;
    }
    policy = { raw, allowed };
  }
  return policy.allowed;
}

export default {
  async fetch(req: Request, env: Env): Promise<Response> {
    const url = new URL(req.url);
    if ((url.pathname.replace(/\/+$/, "") || "/") !== PATH) {
      return error(404, "not_found", "no such endpoint");
    }
    const allowed = originPolicy(env.ALLOWED_ORIGINS);
    if (allowed instanceof OriginsError) {
      // The local server refuses to start on such a setting; a Worker cannot, so it
      // refuses every request and says why in its log (`wrangler tail`).
      console.error(allowed.message);
      return error(500, "misconfigured", "ALLOWED_ORIGINS is not a list of scheme://host[:port]");
    }
    try {
      return await personalize(env, allowed, req, url);
    } catch (e) {
      // The client gets a code; the log gets the reason.
      console.error("unhandled error on", req.method, url.pathname, e);
      return error(500, "internal", "internal error");
    }
  },
};
