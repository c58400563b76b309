// YouTube and Vimeo players (found by embeds.ts), part of the idle chunk. Each player is
// spoken to through the postMessage interface it offers any parent page (no player
// library, nothing from the site), and `video` events are emitted like the HTML5 ones
// (index.ts):
//   {src: the iframe's src, action: play|pause|progress|complete, percent},
// progress at 25/50/75 once each per iframe. It sends JSON strings and reads strings or
// objects.
//
// YouTube (the protocol of its www-widgetapi.js, which YT.Player speaks): the parent
// repeats {"event":"listening","id":…,"channel":"widget"} until the player answers (it
// ignores it until ready) with initialDelivery and onReady; from then on the player sends
// {"event":"infoDelivery","info":{"playerState","currentTime","duration",…}} at every
// state change (1 playing, 2 paused, 0 ended, 3 buffering) and about 4 times a second
// while playing (currentTime alone). No addEventListener command is needed: these
// deliveries are what YT.Player's getPlayerState() and getCurrentTime() read.
// Vimeo (the protocol of @vimeo/player): {"method":"ping"} is answered by
// {"method":"ping"} (a player that loads later says {"event":"ready"} by itself); then
// {"method":"addEventListener","value":"timeupdate"} (and play, pause, ended) makes it send
// {"event":"timeupdate","data":{"seconds","percent" (0..1),"duration"}}.
import type { Emit } from "../types";
import { progress } from "./progress";

export function track(f: HTMLIFrameElement, emit: Emit): void {
  // Vimeo's events as YouTube's player states (3 changes nothing).
  const VIMEO: Record<string, number> = { play: 1, pause: 2, ended: 0, timeupdate: 3 };
  const host = new URL(f.src).host;
  const vimeo = host == "player.vimeo.com";
  // Only the player's origin may speak for it: players are served over https whatever the
  // embed URL says, YouTube's from www.
  const origin = "https://" + (vimeo ? host : "www." + host.replace("www.", ""));
  // YouTube answers with the id it was greeted with: reuse the one a site's own YT.Player
  // put in the URL, so that object keeps receiving its messages.
  const hello = vimeo
    ? { method: "ping" }
    : { event: "listening", id: (/[?&]widgetid=(\d+)/.exec(f.src) || [0, 1])[1], channel: "widget" };
  const post = (m: any) => f.contentWindow && f.contentWindow.postMessage(JSON.stringify(m), origin);

  let timer: any;
  let answered: any;
  /** Greet the player every 500 ms for 20 s (after each load of the iframe) until it answers. */
  const greet = () => {
    let n = 40;
    answered = 0;
    clearInterval(timer);
    timer = setInterval(() => (--n ? post(hello) : clearInterval(timer)), 500);
    post(hello);
  };

  const sent: number[] = [];
  let pct = 0;
  let last = -1;
  let duration = 0;
  const send = (action: string, percent: number) => emit("video", { src: f.src, action, percent });
  /** The position, as a fraction of the duration (NaN while that is unknown: ignored). */
  const at = (x: number) => {
    if (x >= 0 && x <= 1) {
      pct = Math.round(x * 100);
      progress(sent, pct, send);
    }
  };
  /** Each change to playing, paused or ended is reported once. */
  const state = (s: number) => {
    if (s != last && s >= 0 && s < 3) send((last = s) == 1 ? "play" : s ? "pause" : "complete", s ? pct : 100);
  };

  addEventListener("message", (e) => {
    if (e.source != f.contentWindow || e.origin != origin) return;
    try {
      let m = e.data;
      try {
        m = JSON.parse(m);
      } catch (x) {} // already an object
      if (!answered) {
        answered = 1;
        clearInterval(timer);
        if (vimeo) for (const value in VIMEO) post({ method: "addEventListener", value });
      }
      const i = m.info;
      const s = VIMEO[m.event];
      if (vimeo) {
        if (s >= 0) {
          at(m.data && m.data.percent);
          state(s);
        }
      } else if (i) {
        duration = i.duration || duration;
        at(i.currentTime / duration);
        if (i.playerState != null) state(i.playerState);
      }
    } catch (x) {} // never into the host page
  });
  // A reloaded iframe (a new src, moved in the page) is a new player to greet.
  f.addEventListener("load", greet);
  greet();
}

