/*
 * @conduit/protocol: what the SDK and the collector agree on, written once. TypeScript source,
 * bundled by each side; `"sideEffects": false` and one export per rule let a bundle keep only
 * what its code uses.
 */
export { type BackoffPolicy, backoff } from "./backoff";
export { mergeMissing, UNSAFE_KEYS } from "./batch";
export * from "./limits";
export { httpDate, retryAfterMs } from "./retry-after";
export * from "./wire";
