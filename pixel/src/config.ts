// Configuration from the site tag's data- attributes, read once at start:
//   <script async src="https://collect.example/oie.js" data-endpoint="https://collect.example"
//           data-consent="required" data-cta=".buy" data-nav="nav a"></script>
import { d } from "./env";

// Set while a classic script (async or injected by a tag manager) runs its top level.
const script = d.currentScript as HTMLScriptElement | null;
const ds: DOMStringMap = (script && script.dataset) || {};
const src = (script && script.src) || "";

/** Collector base URL: data-endpoint, else the origin the script came from. */
export const endpoint = ds.endpoint || (src && new URL(src).origin);
/** The lazily loaded hashing chunk lives beside the core file. */
export const hashUrl = src.replace(/[^/]*$/, "oie-hash.js");
/** The idle chunk (focus, video, copy, selection, cursor jitter, reading velocity, embedded
 * players) too; it is loaded on every page once the page is idle. */
export const idleUrl = src.replace(/[^/]*$/, "oie-idle.js");
export const consentRequired = ds.consent == "required";
export const ctaSelector = ds.cta || "[data-oie-cta],.cta,.btn-primary";
export const navSelector = ds.nav || "nav a,header a,[role=navigation] a";
