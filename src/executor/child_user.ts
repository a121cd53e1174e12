/**
 * `--child-user`: the unprivileged uid/gid isolated children run as, an OS
 * layer under Deno's own permissions (a root-only file stays unreadable even
 * if a read grant covers it, and a granted program does not run as root).
 * Off by default; the daemon must run as root to use it.
 */

export interface ChildUser {
  readonly uid: number;
  readonly gid: number;
  /** As the user wrote it, for messages. */
  readonly spec: string;
}

const NUMBER = /^\d{1,10}$/;

/**
 * Parses `uid:gid`, `uid` (gid from /etc/passwd), `name` or `name:group`.
 * Names are looked up in /etc/passwd and /etc/group. Throws an Error naming
 * the problem and the fix; refuses root.
 */
export function parseChildUser(
  spec: string,
  files: { readonly passwd?: string; readonly group?: string } = {},
): ChildUser {
  const fail = (rule: string): never => {
    throw new Error(`--child-user=${spec} is not valid: ${rule}`);
  };
  const [userPart = "", groupPart, extra] = spec.split(":");
  if (userPart === "" || groupPart === "" || extra !== undefined) {
    fail("use uid:gid (e.g. 65534:65534), a user name, or name:group");
  }
  const passwd = () => readTable(files.passwd ?? "/etc/passwd", fail);
  let uid: number;
  let gid: number | undefined;
  if (NUMBER.test(userPart)) {
    uid = Number(userPart);
    if (groupPart === undefined) {
      const row = passwd().find((fields) => fields[2] === userPart);
      if (!row) fail(`uid ${uid} is not in /etc/passwd: give the group too, as ${uid}:<gid>`);
      gid = Number(row![3]);
    }
  } else {
    const row = passwd().find((fields) => fields[0] === userPart);
    if (!row) fail(`there is no user named ${userPart} in /etc/passwd`);
    uid = Number(row![2]);
    if (groupPart === undefined) gid = Number(row![3]);
  }
  if (groupPart !== undefined) {
    if (NUMBER.test(groupPart)) gid = Number(groupPart);
    else {
      const row = readTable(files.group ?? "/etc/group", fail)
        .find((fields) => fields[0] === groupPart);
      if (!row) fail(`there is no group named ${groupPart} in /etc/group`);
      gid = Number(row![2]);
    }
  }
  if (!Number.isSafeInteger(uid) || !Number.isSafeInteger(gid) || uid > 2 ** 32 - 2) {
    fail("the uid and gid must be numbers");
  }
  if (uid === 0 || gid === 0) {
    fail(`uid ${uid}, gid ${gid} is root: pick an unprivileged user (e.g. nobody, 65534:65534)`);
  }
  return { uid, gid: gid!, spec };
}

function readTable(path: string, fail: (rule: string) => never): string[][] {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (error) {
    return fail(`could not read ${path} to look the name up (${(error as Error).message})`);
  }
  return text.split("\n").filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => line.split(":"));
}
