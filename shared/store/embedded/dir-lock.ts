import { open, readFile, rm } from "node:fs/promises";
import { join } from "node:path";

/** Whether a process with this id is running on this machine. */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Takes `dir/edgeback.lock` for this process (its pid inside), so a second process never opens the
 * same data directory: the embedded store serves reads and unique checks from memory, and two
 * processes on one file would each lose the other's acknowledged writes. A lock whose process is
 * gone (killed without closing) is taken over. Returns the release.
 */
export async function lockDataDir(dir: string): Promise<() => Promise<void>> {
  const path = join(dir, "edgeback.lock");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const file = await open(path, "wx");
      await file.writeFile(`${process.pid}\n`);
      await file.close();
      return () => rm(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = Number.parseInt(await readFile(path, "utf8").catch(() => ""), 10);
      if (holder > 0 && running(holder)) {
        throw new Error(`DATA_DIR ${dir} is in use by process ${holder} (one Edgeback process per data directory)`);
      }
      await rm(path, { force: true });
    }
  }
  throw new Error(`DATA_DIR ${dir} is being opened by another process`);
}
