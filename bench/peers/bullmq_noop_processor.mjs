/** BullMQ's sandboxed processor for the bench: a no-op, run in BullMQ's child processes. */
export default async function noop() {}
