/** Renders the results as a Markdown table with aligned columns (pastes into the README as is). */

export interface TableRow {
  readonly scenario: string;
  readonly kqueue: string;
  readonly peer: string;
  readonly ratio: string;
  readonly target: string;
}

const HEADERS: TableRow = {
  scenario: "scenario",
  kqueue: "KQueue: median (min–max of runs)",
  peer: "peer, same run",
  ratio: "KQueue ÷ peer",
  target: "target",
};
const COLUMNS = ["scenario", "kqueue", "peer", "ratio", "target"] as const;

export function renderTable(rows: readonly TableRow[]): string {
  const all = [HEADERS, ...rows];
  const widths = COLUMNS.map((column) => Math.max(...all.map((row) => row[column].length)));
  const line = (row: TableRow) =>
    `| ${COLUMNS.map((column, i) => row[column].padEnd(widths[i]!)).join(" | ")} |`;
  const rule = `|${widths.map((width) => "-".repeat(width + 2)).join("|")}|`;
  return [line(HEADERS), rule, ...rows.map(line)].join("\n");
}
