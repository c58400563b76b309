// Drives Debian's Firefox ESR for the Python tests (tests/python/helpers/firefox.py) through
// its built-in WebDriver BiDi with npm puppeteer-core (pixel/node_modules): one long-lived
// process per browser, one JSON request per line on stdin, one JSON answer per line on
// stdout ({"id", "ok", "value"} or {"id", "ok": false, "error"}). Requests run one at a time.
//
//   node firefox_driver.mjs <pixel dir> <firefox binary> <user agent>
//
// Nothing else may print to stdout: puppeteer's own warnings go to stderr.
import { createRequire } from "node:module";
import { join } from "node:path";
import { createInterface } from "node:readline";

const [pixelDir, executablePath, userAgent] = process.argv.slice(2);
// puppeteer-core is a devDependency of pixel/, not of this folder: resolve it from there.
const puppeteer = createRequire(join(pixelDir, "package.json"))("puppeteer-core");

const browser = await puppeteer.launch({
  browser: "firefox",
  executablePath,
  headless: true,
  // A desktop Firefox's user agent (the collector flags webdriver-ish ones as bots); the
  // pref covers every request, the pixel's unload-time beacons too.
  extraPrefsFirefox: { "general.useragent.override": userAgent },
});
let context = null;
let page = null;

const ops = {
  version: () => browser.version(),
  // A fresh browser context (its own cookies and storage) with one page.
  async newPage({ width, height }) {
    if (context) await context.close();
    context = await browser.createBrowserContext();
    page = await context.newPage();
    await page.setViewport({ width, height });
  },
  // BiDi's own navigate, waiting for the load event in Firefox. Not page.goto(): after a
  // page came back from the back/forward cache, Puppeteer's navigation tracking waits for
  // the next load in vain.
  async goto({ url }) {
    await page.mainFrame().browsingContext.navigate(url, "complete");
  },
  // The back/forward buttons. Not page.goBack(): it waits for a load event, which a page
  // restored from the back/forward cache never fires. BiDi's traverseHistory answers once
  // the traversal is done; the caller waits for the page (its pageshow) itself.
  async history({ delta }) {
    await page.mainFrame().browsingContext.traverseHistory(delta);
  },
  // Real input: the element is scrolled into view and the mouse clicks its centre, `count`
  // times in quick succession (the browser counts them into event.detail).
  async click({ selector, count }) {
    await page.click(selector, { count });
  },
  async move({ x, y }) {
    await page.mouse.move(x, y);
  },
  async type({ selector, text }) {
    await page.type(selector, text);
  },
  // An expression (a promise is awaited); the value must survive JSON.
  async evaluate({ expression }) {
    return page.evaluate(`(async () => (${expression}))()`);
  },
};

const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
  const { id, op, args } = JSON.parse(line);
  let answer;
  try {
    if (op === "close") break;
    const value = await ops[op](args || {});
    answer = { id, ok: true, value: value === undefined ? null : value };
  } catch (err) {
    answer = { id, ok: false, error: String((err && err.stack) || err) };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
}
await browser.close();
process.exit(0);
