// Builds the pixel: dist/oie.js (core), dist/oie-hash.js (lazy hashing chunk),
// dist/oie-idle.js (focus, video, YouTube and Vimeo players, copy, selection, cursor jitter,
// reading velocity; loaded at idle time) and
// dist/oie.bench.js (core with performance marks, for bench/pixel.py only); and the edge
// Worker: worker/dist/worker.js (worker/build.mjs, docs/worker.md).
// esbuild bundles TypeScript into one ES2015 IIFE per file; terser squeezes the last bytes.
import { build } from "esbuild";
import { minify } from "terser";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { buildWorker } from "./worker/build.mjs";

const version = JSON.parse(readFileSync(new URL("./package.json", import.meta.url))).version;
mkdirSync("dist", { recursive: true });

async function bundle(entry, out, bench) {
  const r = await build({
    entryPoints: [entry],
    bundle: true,
    format: "iife",
    target: "es2015",
    minify: true,
    write: false,
    legalComments: "none",
    define: { BENCH: String(bench), VERSION: JSON.stringify(version) },
  });
  const min = await minify(r.outputFiles[0].text, {
    ecma: 2015,
    compress: { passes: 3, unsafe: true, unsafe_arrows: true, unsafe_methods: true, unsafe_comps: true, pure_getters: true, booleans_as_integers: true, keep_fargs: false, toplevel: true },
    mangle: true,
    format: { comments: false },
  });
  writeFileSync(out, min.code);
  const gz = gzipSync(min.code, { level: 9 }).length;
  console.log(`${out}: ${min.code.length} B min, ${gz} B gzip`);
}

await bundle("src/main.ts", "dist/oie.js", false);
await bundle("src/chunk/index.ts", "dist/oie-hash.js", false);
await bundle("src/idle/index.ts", "dist/oie-idle.js", false);
await bundle("src/main.ts", "dist/oie.bench.js", true);
await buildWorker();
