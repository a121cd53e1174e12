/**
 * Holds SQLite's write lock on a file from another process: BEGIN IMMEDIATE,
 * prints "locked", commits when a line arrives on stdin, prints "committed".
 */
import { DatabaseSync } from "node:sqlite";

const db = new DatabaseSync(Deno.args[0]!, { timeout: 5000 });
db.exec("BEGIN IMMEDIATE");
console.log("locked");
const reader = Deno.stdin.readable.getReader();
await reader.read();
db.exec("COMMIT");
db.close();
console.log("committed");
