// Types shared by the core and its chunks (erased at build time: a chunk that imports them
// bundles no core code).

/** The core's emit(): records an event of a docs/design.md type for the current page view. */
export type Emit = (type: string, data?: Record<string, any>) => void;

/** window.__oieIdle, dist/oie-idle.js: behaviour measured per page view outside the core. */
export interface IdleChunk {
  /** Start listening; called once, when the chunk has loaded. */
  start(emit: Emit): void;
  /** A new page view began (SPA route, back/forward cache restore): start the measures again. */
  reset(): void;
  /** page_exit's data with this page view's fields added (cumulative, like active_ms). */
  data(exit: Record<string, number>): Record<string, number>;
}
