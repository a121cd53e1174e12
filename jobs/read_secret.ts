import { KQueueJob } from "../src/mod.ts";

/** Declares only ./storage/public, then tries to read the project's .env: the sandbox says no. */
export class ReadSecret extends KQueueJob {
  file = ".env";

  override isolated = true;
  override permissions = { read: ["./storage/public"] };

  override async handle(): Promise<void> {
    const text = await Deno.readTextFile(this.file);
    console.log(`read ${text.length} bytes`);
  }
}
