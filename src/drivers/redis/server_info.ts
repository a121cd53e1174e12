/** What the driver needs to know about the server it talks to. */
import type { RedisLink } from "./redis_link.ts";

/**
 * `redis_version` from `INFO server`, as [major, minor, patch]; [0, 0, 0] when
 * not reported. An ACL user may not run INFO (NOPERM): ACLs exist from Redis 6,
 * so that answer means at least [6, 0, 0].
 */
export async function serverVersion(link: RedisLink): Promise<[number, number, number]> {
  let info: string;
  try {
    info = await link.client.info("server");
  } catch (error) {
    if (error instanceof Error && error.message.startsWith("NOPERM")) return [6, 0, 0];
    throw error;
  }
  const match = /^redis_version:(\d+)\.(\d+)\.(\d+)/m.exec(info);
  if (match === null) return [0, 0, 0];
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}
