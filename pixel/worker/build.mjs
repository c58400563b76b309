// Builds the edge Worker: src/index.ts -> dist/worker.js, one ES module with no imports
// (what Workers runs, and what wrangler.toml.example's `main` names). Not minified: the
// file stays readable in the dashboard and in `wrangler tail` stack traces.
//   node worker/build.mjs                 (pixel/build.mjs calls buildWorker too)
//   node worker/build.mjs --out FILE      (the tests build into a temp dir and compare)
import { build } from "esbuild";
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const WORKER_OUT = resolve(here, "dist/worker.js");

export async function buildWorker(outfile = WORKER_OUT) {
  const r = await build({
    entryPoints: [resolve(here, "src/index.ts")],
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    absWorkingDir: here, // the path comments in the output do not depend on the cwd
    write: false,
    legalComments: "none",
    banner: { js: "// Built by pixel/worker/build.mjs from pixel/worker/src/: edit those, then npm run build." },
  });
  const text = r.outputFiles[0].text;
  mkdirSync(dirname(outfile), { recursive: true });
  // Write beside, then rename: a test reading the file never sees half of it.
  const tmp = `${outfile}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, outfile);
  console.log(`${outfile}: ${text.length} B`);
  return outfile;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf("--out");
  await buildWorker(i > 0 ? resolve(process.argv[i + 1]) : WORKER_OUT);
}
