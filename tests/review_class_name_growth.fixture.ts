/** Review fixture (run with --expose-gc): prints how much the heap keeps after reading 1,000 distinct 64 KiB class names. */
import { unserializePhp } from "../src/payload/php_unserialize.ts";

const gc = (globalThis as { gc?: () => void }).gc!;
gc();
const before = Deno.memoryUsage().heapUsed;
const filler = "A".repeat(64 * 1024);
for (let i = 0; i < 1000; i++) {
  const className = `${filler}${i}`; // a valid PHP class name
  unserializePhp(`O:${className.length}:"${className}":0:{}`);
}
gc();
console.log(Deno.memoryUsage().heapUsed - before);
