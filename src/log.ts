/**
 * The one place KQueue names its logging package. A full `npm:` specifier on
 * purpose: a project that imports src/mod.ts resolves bare names through its
 * own deno.json, not ours.
 */
export * from "npm:@logtape/logtape@^2.4.2";
