import { KQueueJob } from "../src/mod.ts";

/** CPU-heavy work belongs in a child process: it would otherwise freeze every inline job. */
export class ComputePrimes extends KQueueJob {
  below = 1_000_000;

  override isolated = true;
  override permissions = { write: ["./storage/primes"] };
  override timeout = 30;
  override memoryLimit = 256;

  override async handle(): Promise<void> {
    const sieve = new Uint8Array(this.below);
    let count = 0;
    for (let i = 2; i < this.below; i++) {
      if (sieve[i]) continue;
      count++;
      for (let j = i * i; j < this.below; j += i) sieve[j] = 1;
    }
    await Deno.writeTextFile(`./storage/primes/below-${this.below}.txt`, `${count}\n`);
  }
}
