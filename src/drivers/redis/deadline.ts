/** Waiting with a bound, leaving no timer behind. */

/** Resolves when `promise` settles or at `deadline` (a `performance.now()` time), whichever is first. */
export function withDeadline(promise: Promise<unknown>, deadline: number): Promise<unknown> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise((resolve) => {
    timer = setTimeout(resolve, Math.max(0, deadline - performance.now()));
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}
