/**
 * The one place the Redis client is imported, with a full `npm:` specifier
 * so a project importing `src/mod.ts` needs no import map of its own. Only
 * the Redis driver imports this module: job modules (and isolated children)
 * never load ioredis (~90 ms and ~28 MB per process).
 */
export { Redis } from "npm:ioredis@^5.11.1";
export type { ChainableCommander, RedisOptions } from "npm:ioredis@^5.11.1";
