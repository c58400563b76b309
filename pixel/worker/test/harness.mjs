// The edge Worker under Miniflare (workerd, as on Cloudflare), with a test-only Worker
// serving the Cloudflare API v4 KV paths over the same KV namespace (cf-api.mjs): the real
// KV sync writes through the API URL, pages and tests read through the Worker URL.
// Miniflare's JS API only; no wrangler, no network beyond 127.0.0.1.
//
// From a shell or a test: one JSON line on stdout, then up until stdin closes (exit 0) or
// SIGTERM (exit 143); either way workerd stops with it.
//   node worker/test/harness.mjs --allowed-origins 'https://www.acme.example'
//   {"worker":"http://127.0.0.1:PORT","api":"http://127.0.0.1:PORT/client/v4",
//    "account":"…","namespace":"…","token":"…"}
//   options: --allowed-origins LIST  --account ID  --namespace ID  --token TOKEN
//            --port N  --api-port N (0: any free port)  --script FILE (default dist/worker.js)
//            --ignore-stdin (stop on SIGTERM only)
//
// From JavaScript (a benchmark):
//   import { startHarness, measure } from "./worker/test/harness.mjs";
//   const h = await startHarness({ allowedOrigins: "*" });
//   const stats = await measure([h.worker + "/personalize?vid=…"], { requests: 2000, concurrency: 8 });
//   await h.dispose();
import { Log, LogLevel, Miniflare } from "miniflare";
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const here = dirname(fileURLToPath(import.meta.url));
export const WORKER_SCRIPT = resolve(here, "../dist/worker.js");
export const CF_API_SCRIPT = resolve(here, "cf-api.mjs");
export const WRANGLER_EXAMPLE = resolve(here, "../wrangler.toml.example");
// The stand-in's ids (tests/python/helpers/cf_standin.py): any string works.
export const DEFAULTS = {
  account: "acct0123456789abcdef0123456789ab",
  namespace: "ns0123456789abcdef0123456789abcd",
  token: "test-cloudflare-token",
};

/** The compatibility date a site owner deploys with: the one in wrangler.toml.example. */
export function compatibilityDate() {
  const m = /^compatibility_date\s*=\s*"([0-9-]+)"/m.exec(readFileSync(WRANGLER_EXAMPLE, "utf8"));
  if (!m) throw new Error(`${WRANGLER_EXAMPLE}: no compatibility_date`);
  return m[1];
}

/** Miniflare's warnings and the Workers' console output go to stderr: stdout is the URLs. */
class StderrLog extends Log {
  log(message) {
    process.stderr.write(message + "\n");
  }
}

export async function startHarness({
  allowedOrigins = "",
  account = DEFAULTS.account,
  namespace = DEFAULTS.namespace,
  token = DEFAULTS.token,
  host = "127.0.0.1",
  port = 0,
  apiPort = 0,
  script = WORKER_SCRIPT,
  logLevel = LogLevel.WARN,
} = {}) {
  if (!existsSync(script)) {
    throw new Error(`${script} is missing: build it first (cd pixel && npm run build)`);
  }
  const kvNamespaces = { OIE_KV: "oie-edge-profiles" }; // one namespace id: shared storage
  const date = compatibilityDate();
  const mf = new Miniflare({
    host,
    port: 0, // Miniflare's own entry socket (unused: each Worker has its direct socket)
    cf: false, // a placeholder request.cf: Miniflare would otherwise download one
    log: new StderrLog(logLevel),
    handleRuntimeStdio(stdout, stderr) {
      stdout.pipe(process.stderr);
      stderr.pipe(process.stderr);
    },
    workers: [
      {
        name: "oie-edge",
        modules: true,
        scriptPath: script,
        compatibilityDate: date,
        kvNamespaces,
        bindings: { ALLOWED_ORIGINS: allowedOrigins },
        unsafeDirectSockets: [{ host, port }],
      },
      {
        name: "cf-api",
        modules: true,
        scriptPath: CF_API_SCRIPT,
        compatibilityDate: date,
        kvNamespaces,
        bindings: { API_TOKEN: token, ACCOUNT: account, NAMESPACE: namespace },
        unsafeDirectSockets: [{ host, port: apiPort }],
      },
    ],
  });
  try {
    await mf.ready;
    const worker = String(await mf.unsafeGetDirectURL("oie-edge")).replace(/\/$/, "");
    const api = String(await mf.unsafeGetDirectURL("cf-api")).replace(/\/$/, "") + "/client/v4";
    return { worker, api, account, namespace, token, mf, dispose: () => mf.dispose() };
  } catch (e) {
    await mf.dispose().catch(() => {});
    throw e;
  }
}

/** Latency of GETs to `urls` (taken in turn), `concurrency` in flight: milliseconds. */
export async function measure(urls, { requests = 1000, concurrency = 4, warmup = 50, headers = {} } = {}) {
  const statuses = {};
  async function one(i, record) {
    const started = performance.now();
    const res = await fetch(urls[i % urls.length], { headers });
    await res.arrayBuffer();
    const ms = performance.now() - started;
    if (record) {
      statuses[res.status] = (statuses[res.status] || 0) + 1;
      record.push(ms);
    }
  }
  for (let i = 0; i < warmup; i++) await one(i, null);
  const times = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests) await one(next++, times);
    }),
  );
  const wall = performance.now() - started;
  times.sort((a, b) => a - b);
  const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
  return {
    requests: times.length,
    concurrency,
    statuses,
    p50_ms: at(0.5),
    p90_ms: at(0.9),
    p99_ms: at(0.99),
    max_ms: times[times.length - 1],
    rps: times.length / (wall / 1000),
  };
}

async function main() {
  const { values } = parseArgs({
    options: {
      "allowed-origins": { type: "string", default: "" },
      account: { type: "string", default: DEFAULTS.account },
      namespace: { type: "string", default: DEFAULTS.namespace },
      token: { type: "string", default: DEFAULTS.token },
      port: { type: "string", default: "0" },
      "api-port": { type: "string", default: "0" },
      script: { type: "string", default: WORKER_SCRIPT },
      "ignore-stdin": { type: "boolean", default: false },
    },
  });
  const h = await startHarness({
    allowedOrigins: values["allowed-origins"],
    account: values.account,
    namespace: values.namespace,
    token: values.token,
    port: Number(values.port),
    apiPort: Number(values["api-port"]),
    script: resolve(values.script),
  });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await h.dispose();
    // No process.exit(): Node ends once Miniflare has removed its temp folder (dispose
    // starts that without waiting); the unref'd timer only bounds the wait.
    process.exitCode = 0;
    setTimeout(() => process.exit(0), 10_000).unref();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  if (!values["ignore-stdin"]) {
    process.stdin.on("end", stop);
    process.stdin.on("error", stop);
    process.stdin.resume();
  }
  const { worker, api, account, namespace, token } = h;
  process.stdout.write(JSON.stringify({ worker, api, account, namespace, token }) + "\n");
}

// Run as a program (not imported, nor named as an argument of `node -e`).
const evaluated = process.execArgv.some((a) => /^(-e|--eval|-p|--print)$/.test(a));
if (!evaluated && process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    process.stderr.write(`harness: ${e && e.stack ? e.stack : e}\n`);
    process.exit(1);
  });
}
