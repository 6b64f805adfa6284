import { describe } from "vitest";
import { openMongoStore } from "../../shared/store/mongo.js";
import type { DocumentStore } from "../../shared/store/types.js";
import { storeContract } from "./contract.js";

const uri = process.env.MONGODB_URI;
const runId = `ebt${Date.now().toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
let opened = 0;

/** Delegates to `store`, remembering every project it was asked for so cleanup can drop its database. */
function tracking(store: DocumentStore, projects: Set<string>): DocumentStore {
  return {
    kind: store.kind,
    platform: () => store.platform(),
    tenant: (location) => {
      projects.add(location.projectId);
      return store.tenant(location);
    },
    ping: () => store.ping(),
    close: () => store.close(),
  };
}

// Runs only against a real MongoDB (MONGODB_URI); without one the suite is reported as skipped.
describe.skipIf(!uri)("mongo adapter (MONGODB_URI)", () => {
  storeContract(
    "mongo",
    async () => {
      const config = { uri: uri!, dbPrefix: `${runId}_${++opened}` };
      const projects = new Set<string>();
      let current = tracking(await openMongoStore(config), projects);
      return {
        store: current,
        reopen: async () => {
          await current.close();
          current = tracking(await openMongoStore(config), projects);
          return current;
        },
        cleanup: async () => {
          const admin = await openMongoStore(config);
          try {
            await admin.platform().drop();
            for (const projectId of projects) await admin.tenant({ projectId }).drop();
          } finally {
            await admin.close();
          }
        },
      };
    },
    { durable: true },
  );
});
