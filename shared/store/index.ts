import type { StoreConfig } from "../config";
import type { DocumentStore } from "./types";

/** Opens the store a configuration names; adapters load lazily so a bundle carries only its own. */
export async function openStore(config: StoreConfig): Promise<DocumentStore> {
  if (config.kind === "mongo") {
    const { openMongoStore } = await import("./mongo");
    return openMongoStore(config);
  }
  const { openEmbeddedStore } = await import("./embedded");
  return openEmbeddedStore({ dataDir: config.dataDir });
}
