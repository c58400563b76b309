// Entry point of dist/oie.js. Runs once per page: strips the token from the address bar,
// registers every listener at once (passive), and leaves storage work to idle time.
//
// Public API; calls made before the file loads are queued by the stub
//   window.oie = window.oie || function () { (oie.q = oie.q || []).push(arguments) };
//   oie('track', type, data)  an event of a docs/design.md type the pixel cannot see itself
//                             (e.g. 'video' for an embedded player, 'form_submit' for a widget)
//   oie('identify', token)    attach an 11-character token to this visitor
//   oie('optout')             forget the visitor on this browser and at the collector, and
//                             stop tracking
// Consent mode (data-consent="required"): nothing is stored or sent until the site calls
// window.oieConsent(true) (or sets window.oieConsent = true before the tag loads).
import { start } from "./capture";
import { clearPending, drain, emit, view } from "./core";
import { endpoint } from "./config";
import { mark, nav, w } from "./env";
import { optOut, setConsent, setToken } from "./identity";
import { startPersonalize } from "./personalize";

mark("start");
const W = w as any;

function api(cmd: string, a?: any, b?: any): void {
  if (cmd == "track") emit(a, b);
  if (cmd == "identify") setToken(a);
  // The collector expires its HttpOnly cookie and forgets the visitor (POST /optout,
  // body: the visitor id as text; a beacon carries the cookie and outlives the page).
  if (cmd == "optout") nav.sendBeacon(endpoint + "/optout", optOut() || ""), clearPending();
}

// A second copy of the tag on the same page does nothing.
if (!W._oie) {
  W._oie = 1;
  const queued: IArguments[] = (W.oie && W.oie.q) || [];
  W.oie = api;
  W.oieConsent = (g: any) => (setConsent(!!g) ? drain() : clearPending());

  // The token is kept and removed from the address bar so a shared link does not share
  // the identity. Done first, so the first pageview URL is already clean.
  const u = new URL(location.href);
  const t = u.searchParams.get("i");
  if (t != null) {
    setToken(t);
    u.searchParams.delete("i");
    history.replaceState(history.state, "", (view.url = u.href));
  }

  start();
  startPersonalize();
  for (const args of queued) api.apply(0, args as any);
}
mark("end");
