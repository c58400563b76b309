// TEST ONLY, never deployed: the Cloudflare API v4 paths the Python `cloudflare` SDK uses
// for Workers KV, served by a Worker inside Miniflare over the same KV namespace the edge
// Worker reads (binding OIE_KV). So the real KV sync (kv_sync/cloudflare.py) writes keys
// that the real Worker then answers from. Paths and answers as Cloudflare's (and as
// tests/python/helpers/cf_standin.py, the in-process stand-in the sync's own tests use):
//   PUT  /client/v4/accounts/{account}/storage/kv/namespaces/{ns}/bulk         bulk_update
//        [{key, value, expiration_ttl | expiration, metadata}]
//   POST .../bulk/delete   [key, ...]                                           bulk_delete
//   GET  .../keys?limit=10..1000&cursor=&prefix=                                keys.list
//   GET  .../values/{key}                                                       values.get
// with Cloudflare's envelope {success, errors, messages, result[, result_info]}, its
// per-request limits (10,000 pairs, 100 MB, keys <= 512 bytes, expiration_ttl >= 60: 400)
// and a bearer token (vars API_TOKEN, ACCOUNT, NAMESPACE; a wrong one is a 403).

const PATH =
  /^\/client\/v4\/accounts\/([^/]+)\/storage\/kv\/namespaces\/([^/]+)\/(bulk|bulk\/delete|keys|values\/(.+))$/;
const MAX_PAIRS = 10_000;
const MAX_BODY = 100 * 1000 * 1000;
const PARALLEL = 32; // KV writes in flight at once (Miniflare: a few ms each)
const encoder = new TextEncoder();

function json(status, body) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json" },
  });
}

function ok(result, extra = {}) {
  return json(200, { success: true, errors: [], messages: [], result, ...extra });
}

function fail(status, code, message) {
  return json(status, { success: false, errors: [{ code, message }], messages: [] });
}

/** Run `work` on every item, at most PARALLEL at a time; the items whose work threw. */
async function eachLimited(items, work) {
  const failed = [];
  let next = 0;
  async function lane() {
    while (next < items.length) {
      const item = items[next++];
      try {
        await work(item);
      } catch (e) {
        console.error("cf-api:", e && e.message ? e.message : e);
        failed.push(item);
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(PARALLEL, items.length) }, lane));
  return failed;
}

function pairProblem(p) {
  if (p === null || typeof p !== "object" || typeof p.key !== "string" || typeof p.value !== "string") {
    return "each pair needs a string key and value";
  }
  if (encoder.encode(p.key).length > 512) return "key too long: at most 512 bytes";
  if (encoder.encode(p.value).length > 25 * 1024 * 1024) return "value too large: at most 25 MiB";
  if (p.expiration_ttl != null && p.expiration_ttl < 60) return "expiration_ttl must be at least 60";
  return null;
}

async function readJson(req) {
  const text = await req.text();
  if (encoder.encode(text).length > MAX_BODY) return { error: fail(413, 10000, "request body over 100 MB") };
  try {
    return { body: JSON.parse(text) };
  } catch {
    return { error: fail(400, 10000, "request body is not JSON") };
  }
}

async function bulkPut(kv, req) {
  const { body, error } = await readJson(req);
  if (error) return error;
  if (!Array.isArray(body)) return fail(400, 10000, "expected an array of pairs");
  if (body.length > MAX_PAIRS) return fail(400, 10000, `${body.length} pairs: at most ${MAX_PAIRS} per request`);
  for (const p of body) {
    const problem = pairProblem(p);
    if (problem) return fail(400, 10000, problem);
  }
  const failed = await eachLimited(body, (p) => {
    const options = {};
    if (p.expiration_ttl != null) options.expirationTtl = p.expiration_ttl;
    else if (p.expiration != null) options.expiration = p.expiration;
    if (p.metadata != null) options.metadata = p.metadata;
    return kv.put(p.key, p.value, options);
  });
  return ok({ successful_key_count: body.length - failed.length, unsuccessful_keys: failed.map((p) => p.key) });
}

async function bulkDelete(kv, req) {
  const { body, error } = await readJson(req);
  if (error) return error;
  if (!Array.isArray(body) || body.some((k) => typeof k !== "string")) {
    return fail(400, 10000, "expected an array of keys");
  }
  if (body.length > MAX_PAIRS) return fail(400, 10000, `${body.length} keys: at most ${MAX_PAIRS} per request`);
  const failed = await eachLimited(body, (k) => kv.delete(k));
  return ok({ successful_key_count: body.length - failed.length, unsuccessful_keys: failed });
}

async function listKeys(kv, params) {
  const limit = Math.trunc(Number(params.get("limit") ?? "1000"));
  if (!(limit >= 10 && limit <= 1000)) return fail(400, 10000, "limit must be between 10 and 1000");
  const options = { limit };
  if (params.get("prefix")) options.prefix = params.get("prefix");
  if (params.get("cursor")) options.cursor = params.get("cursor");
  const page = await kv.list(options);
  const result = page.keys.map((k) => ({
    name: k.name,
    ...(k.expiration ? { expiration: k.expiration } : {}),
    ...(k.metadata != null ? { metadata: k.metadata } : {}),
  }));
  const cursor = page.list_complete ? "" : page.cursor;
  return ok(result, { result_info: { count: result.length, cursor } });
}

async function getValue(kv, key) {
  const value = await kv.get(key, { type: "arrayBuffer" });
  if (value === null) return fail(404, 10009, "get: 'key not found'");
  return new Response(value, { headers: { "Content-Type": "application/octet-stream" } });
}

export default {
  async fetch(req, env) {
    const url = new URL(req.url);
    const m = PATH.exec(url.pathname);
    if (!m) return fail(404, 7003, "Could not route to " + url.pathname);
    if (req.headers.get("Authorization") !== `Bearer ${env.API_TOKEN}`) {
      return fail(403, 10000, "Authentication error");
    }
    if (m[1] !== env.ACCOUNT || m[2] !== env.NAMESPACE) return fail(404, 10013, "namespace not found");
    const what = m[4] !== undefined ? "values" : m[3];
    if (what === "bulk" && req.method === "PUT") return bulkPut(env.OIE_KV, req);
    if (what === "bulk/delete" && req.method === "POST") return bulkDelete(env.OIE_KV, req);
    if (what === "keys" && req.method === "GET") return listKeys(env.OIE_KV, url.searchParams);
    if (what === "values" && req.method === "GET") return getValue(env.OIE_KV, decodeURIComponent(m[4]));
    return fail(405, 10000, `${req.method} not allowed`);
  },
};
