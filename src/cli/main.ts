/**
 * The CLI entry: the only place that reads Deno.args, installs signal
 * handlers and calls Deno.exit. Bad input → one line on stderr, exit 2.
 */
import {
  configure,
  dispose,
  getLogger,
  getStreamSink,
  getTextFormatter,
  jsonLinesFormatter,
} from "../log.ts";
import { setLogFormat, stderrLine } from "../log_line.ts";
import { CliError } from "./cli_error.ts";
import { dispatchCommand } from "./dispatch_command.ts";
import { helpText } from "./help.ts";
import { forgetCommand, retryCommand } from "./retry_commands.ts";
import { createTablesCommand, failedCommand } from "./tables_commands.ts";
import { work } from "./work.ts";

const SIGNALS: Deno.Signal[] = ["SIGTERM", "SIGINT", "SIGQUIT"];

function onSignals(handler: (signal: string) => void): () => void {
  const listeners = SIGNALS.map((signal) => {
    const listener = () => handler(signal);
    Deno.addSignalListener(signal, listener);
    return [signal, listener] as const;
  });
  return () =>
    listeners.forEach(([signal, listener]) => Deno.removeSignalListener(signal, listener));
}

async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  const print = (line: string) => console.log(line);
  // `kqueue work --help` is `kqueue help work`.
  if (
    command !== undefined && helpText(command) && (rest.includes("--help") || rest.includes("-h"))
  ) {
    print(helpText(command)!);
    return 0;
  }
  switch (command) {
    case undefined:
    case "help":
    case "--help":
    case "-h": {
      const text = helpText(rest[0]);
      if (!text) {
        throw new CliError(
          `Unknown command '${
            rest[0]
          }' (commands: work, dispatch, failed, retry, forget, create-tables, help)`,
        );
      }
      print(text);
      return 0;
    }
    case "work":
    case "queue:work": {
      const result = await work(rest, { log: getLogger(["kqueue"]), onSignals });
      return result.exitCode;
    }
    case "dispatch":
      await dispatchCommand(rest, print);
      return 0;
    case "failed":
    case "queue:failed":
      await failedCommand(rest, print);
      return 0;
    case "retry":
    case "queue:retry":
      await retryCommand(rest, print);
      return 0;
    case "forget":
    case "queue:forget":
      await forgetCommand(rest, print);
      return 0;
    case "create-tables":
      await createTablesCommand(rest, print);
      return 0;
    default:
      throw new CliError(
        `Unknown command '${command}' (commands: work, dispatch, failed, retry, forget, create-tables, help)`,
      );
  }
}

// `work --json`: the log on stderr is JSON lines too (read before parsing: the logger comes first).
const jsonLog = Deno.args[0] === "work" && Deno.args.includes("--json");
setLogFormat(jsonLog ? "json" : "text");
await configure({
  sinks: {
    stderr: getStreamSink(Deno.stderr.writable, {
      formatter: jsonLog ? jsonLinesFormatter : getTextFormatter({ timestamp: "date-time" }),
    }),
  },
  loggers: [
    { category: ["kqueue"], lowestLevel: "info", sinks: ["stderr"] },
    { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["stderr"] },
  ],
});
let code: number;
try {
  code = await main(Deno.args);
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  console.error(stderrLine("ERROR", `kqueue: ${message.split("\n")[0]}`));
  code = error instanceof CliError ? error.exitCode : 1;
}
await dispose();
Deno.exit(code);
