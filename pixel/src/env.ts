// Small shared helpers. Everything here is on the hot path of a page load, so each helper is
// tiny, never throws, and touches storage only when called (callers defer that to idle time).

declare const BENCH: boolean;

export const w = window;
export const d = document;
export const nav = navigator as Navigator & { globalPrivacyControl?: boolean };
export const now = () => Date.now();

/** Passive capture listener: the pixel never calls preventDefault, so nothing waits on it. */
export const on = (t: EventTarget, type: string, fn: (e: any) => void) =>
  t.addEventListener(type, fn, { passive: true, capture: true });

/** RFC 4122 v4 from getRandomValues (randomUUID is missing on non-secure origins). */
export const uuid = (): string =>
  // [1e7]+-1e3+… is the template "10000000-1000-4000-8000-100000000000", spelled short.
  ([1e7] + (-1e3 as any) + -4e3 + -8e3 + -1e11).replace(/[018]/g, (c: any) =>
    (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16),
  );

export const TOKEN = /^[0-9A-Za-z]{11}$/;

// Storage access is wrapped: private modes, blocked storage or a full quota must never
// break the host page. Without localStorage the values live in memory for the page's
// lifetime (the retry queue still retries, the cookie still carries the visitor).
const mem: Record<string, any> = {};
export function lsGet(k: string): any {
  try {
    return JSON.parse(localStorage[k] || 0); // a missing key is 0, not the memory copy
  } catch (e) {
    return mem[k];
  }
}
export function lsSet(k: string, v: unknown): void {
  mem[k] = v;
  try {
    v ? (localStorage[k] = JSON.stringify(v)) : localStorage.removeItem(k);
  } catch (e) {}
}

export const getCookie = (n: string) => (d.cookie.match("(^|; )" + n + "=([^;]*)") || [])[2] || "";
export const setCookie = (n: string, v: string, days: number) => {
  d.cookie = n + "=" + v + ";path=/;max-age=" + days * 864e2 + ";SameSite=Lax" + (location.protocol == "https:" ? ";Secure" : "");
};

/** Load a script beside the core (a chunk); resolves once it has run. */
export const inject = (src: string) =>
  new Promise((ok, no) => {
    const s = d.head.appendChild(d.createElement("script"));
    s.onload = ok;
    s.onerror = no;
    s.src = src;
  });

/** Run fn when the browser is idle (storage, cookies, scrubbing), at most 1 s later. */
export const idle = (fn: () => void) => (w.requestIdleCallback || setTimeout)(fn, { timeout: 1e3 } as any);

/** Performance marks exist only in the instrumented benchmark build (BENCH=true). */
export const mark = (name: string) => {
  if (BENCH) performance.mark("oie:" + name);
};
