/**
 * A process for the tests of one process per data directory. Each line on stdin is a command:
 * "open" opens the data directory named by argv[2], "close" closes it; each prints what came of it.
 */
import { createInterface } from "node:readline";
import { openSqlitePersistence } from "../../shared/store/embedded/sqlite.js";
import type { Persistence } from "../../shared/store/embedded/write-ops.js";

const dir = process.argv[2] as string;
let held: Persistence | undefined;
for await (const line of createInterface({ input: process.stdin })) {
  if (line === "open") {
    try {
      held = await openSqlitePersistence(dir);
      console.log("open");
    } catch (error) {
      console.log(`refused: ${(error as Error).message}`);
    }
  } else if (line === "close") {
    await held?.close();
    held = undefined;
    console.log("closed");
  }
}
