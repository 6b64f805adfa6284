import { open, readFile, rm } from "node:fs/promises";
import { join } from "node:path";

/** Data directories this process holds (a second open of one in the same process is refused too). */
const held = new Set<string>();

/**
 * Who holds a lock: the pid and, on Linux, the process's start time (clock ticks after boot), so a
 * pid used again by another process (a restarted container is pid 1 again) is not taken for it.
 */
async function identity(pid: number): Promise<string | null> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => null);
  if (stat === null) return null;
  // Field 22 (starttime), counted after the parenthesised command name, which may hold spaces.
  const start = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  return `${pid} ${start}`;
}

/** Whether the process named in a lock file is still the one that wrote it. */
async function alive(recorded: string): Promise<boolean> {
  const pid = Number.parseInt(recorded, 10);
  if (!(pid > 0)) return false;
  const now = await identity(pid);
  if (now !== null) return recorded === now;
  if (!recorded.includes(" ") && process.platform !== "linux") {
    try {
      process.kill(pid, 0); // no /proc: the pid alone
      return true;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === "EPERM";
    }
  }
  return false;
}

/** The data directory is another process's: the message says which and what to do. */
export class DataDirInUseError extends Error {
  override name = "DataDirInUseError";
}

/**
 * Takes `dir/edgeback.lock` for this process, so a second process never opens the same data
 * directory: the embedded store serves reads and unique checks from memory, and two processes on
 * one file would each lose the other's acknowledged writes. A lock whose process is gone (killed
 * without closing, its pid perhaps reused since) is taken over. Returns the release.
 */
export async function lockDataDir(dir: string): Promise<() => Promise<void>> {
  if (held.has(dir)) throw new Error(`DATA_DIR ${dir} is already open in this process`);
  const path = join(dir, "edgeback.lock");
  const me = (await identity(process.pid)) ?? String(process.pid);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const file = await open(path, "wx");
      await file.writeFile(`${me}\n`);
      await file.close();
      held.add(dir);
      return async () => {
        held.delete(dir);
        await rm(path, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const recorded = (await readFile(path, "utf8").catch(() => "")).trim();
      if (recorded !== me && (await alive(recorded))) {
        throw new DataDirInUseError(
          `DATA_DIR ${dir} is in use by process ${Number.parseInt(recorded, 10)} (one Edgeback process per data directory): stop it, or start this one with another DATA_DIR`,
        );
      }
      await rm(path, { force: true });
    }
  }
  throw new DataDirInUseError(`DATA_DIR ${dir} is being opened by another process`);
}
