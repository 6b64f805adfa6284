import type { StoreConfig } from "../config.js";
import type { DocumentStore } from "./types.js";

/** Opens the store a configuration names; adapters load lazily so a bundle carries only its own. */
export async function openStore(config: StoreConfig): Promise<DocumentStore> {
  if (config.kind === "mongo") {
    const { openMongoStore } = await import("./mongo.js");
    return openMongoStore(config);
  }
  const { openEmbeddedStore } = await import("./embedded/index.js");
  return openEmbeddedStore({ dataDir: config.dataDir });
}
