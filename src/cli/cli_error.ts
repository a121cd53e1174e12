import { StoreUnreachableError } from "../errors.ts";

/** A usage or input error: printed as one line, exit code 2. */
export class CliError extends Error {
  override name = "CliError";
  constructor(message: string, readonly exitCode = 2) {
    super(message);
  }
}

/**
 * A store that could not be opened at start-up: exit 1 when it could not be
 * reached (Redis down, the database locked), 2 when the config is wrong.
 */
export function openStoreError(error: unknown): CliError {
  const message = error instanceof Error ? error.message : String(error);
  return new CliError(message, error instanceof StoreUnreachableError ? 1 : 2);
}
