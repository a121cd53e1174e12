/** The one clock seam: milliseconds since the epoch. Tests pass their own. */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();

/** Whole unix seconds, as Laravel stores times. */
export function unixSeconds(clock: Clock): number {
  return Math.floor(clock() / 1000);
}
