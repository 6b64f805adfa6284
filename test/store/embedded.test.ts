import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openEmbeddedStore } from "../../shared/store/embedded";
import { storeContract } from "./contract";

storeContract("embedded, in memory", async () => ({ store: await openEmbeddedStore({ dataDir: null }) }), {
  durable: false,
});

storeContract(
  "embedded, on disk",
  async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "edgeback-store-"));
    let current = await openEmbeddedStore({ dataDir });
    return {
      store: current,
      reopen: async () => {
        await current.close();
        current = await openEmbeddedStore({ dataDir });
        return current;
      },
      cleanup: () => rm(dataDir, { recursive: true, force: true }),
    };
  },
  { durable: true },
);
