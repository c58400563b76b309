// Builds the Plausible tracker as a customer page loads it, for bench/pixel.py only:
//
//   node bench/plausible_page.mjs <out.js> <endpoint> [domain]
//
// The npm package (@plausible-analytics/tracker, a dev dependency in pixel/package.json) is
// an ES module exporting init(config). esbuild (pixel's own dev dependency) bundles it with
// the init call into one classic IIFE script, minified and ES2015 like dist/oie.js, so the
// page's async <script src> runs it and the tracker really starts: it registers its
// listeners and sends the pageview to <endpoint> (the benchmark's dummy collector, 202).
// captureOnLocalhost: the bench pages are served from 127.0.0.1, which Plausible would
// otherwise ignore (a customer's page is not on localhost, so there it sends too).
// Nothing is committed: bench/pixel.py runs this into a temporary directory on every run.
import { createRequire } from "node:module";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

const [out, endpoint, domain = "example.test"] = process.argv.slice(2);
if (!out || !endpoint) {
  console.error("usage: node bench/plausible_page.mjs <out.js> <endpoint> [domain]");
  process.exit(2);
}
const pixelDir = fileURLToPath(new URL("../pixel/", import.meta.url));
// esbuild and the tracker are installed in pixel/node_modules, not beside this file.
const require = createRequire(pixelDir + "package.json");
const { build } = require("esbuild");
// The package's exports hide package.json: read the installed one beside the resolved module.
const entry = require.resolve("@plausible-analytics/tracker");
const pkg = JSON.parse(readFileSync(new URL("package.json", pathToFileURL(entry)), "utf8"));

const r = await build({
  stdin: {
    contents:
      'import { init } from "@plausible-analytics/tracker";\n' +
      `init(${JSON.stringify({ domain, endpoint, captureOnLocalhost: true })});\n`,
    resolveDir: pixelDir,
    sourcefile: "plausible-page.js",
  },
  bundle: true,
  format: "iife",
  target: "es2015",
  minify: true,
  write: false,
  legalComments: "none",
  logLevel: "warning",
});
writeFileSync(out, r.outputFiles[0].text);
console.log(JSON.stringify({ out, module: entry, version: pkg.version, bytes: r.outputFiles[0].contents.length }));
