// The slice of the Workers KV binding this Worker uses (instead of @cloudflare/workers-types).

export interface KVGetJsonOptions {
  type: "json";
  /** Seconds the edge location may serve the value from its cache (at least 60). */
  cacheTtl?: number;
}

export interface KVNamespace {
  get(key: string, options: KVGetJsonOptions): Promise<unknown>;
}
