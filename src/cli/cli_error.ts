/** A usage or input error: printed as one line, exit code 2. */
export class CliError extends Error {
  override name = "CliError";
  constructor(message: string, readonly exitCode = 2) {
    super(message);
  }
}
