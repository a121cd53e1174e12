/**
 * An inline job's stray throw (in a timer) or an unawaited rejection would end
 * the process and every other job in it: catch both while the daemon runs and
 * report them instead, as Laravel's worker reports exceptions and goes on.
 */

/** Installs the catchers; returns their remover. */
export function catchStrayErrors(report: (error: Error) => void): () => void {
  const toError = (thrown: unknown) =>
    thrown instanceof Error ? thrown : new Error(describe(thrown));
  const onError = (event: ErrorEvent) => {
    event.preventDefault();
    report(toError(event.error ?? event.message));
  };
  const onRejection = (event: PromiseRejectionEvent) => {
    event.preventDefault();
    report(toError(event.reason));
  };
  globalThis.addEventListener("error", onError);
  globalThis.addEventListener("unhandledrejection", onRejection);
  return () => {
    globalThis.removeEventListener("error", onError);
    globalThis.removeEventListener("unhandledrejection", onRejection);
  };
}

function describe(thrown: unknown): string {
  if (typeof thrown === "string") return thrown;
  try {
    return `a non-Error value was thrown: ${JSON.stringify(thrown)}`;
  } catch {
    return `a non-Error value was thrown: ${String(thrown)}`;
  }
}
