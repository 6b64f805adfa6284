import { AsyncLocalStorage } from "node:async_hooks";
import type { Collection, Database, DocumentStore, TenantLocation } from "./types.js";

/**
 * A store that sends every call to the store of the request being served. On Cloudflare Workers a
 * socket may not outlive the request that opened it, so each request opens its own MongoDB client
 * (`run`), while the deps built on this store — and their caches — live as long as the isolate.
 */
export interface ScopedStore extends DocumentStore {
  /** Runs `handle` with `store` as the current store. */
  run<T>(store: DocumentStore, handle: () => Promise<T>): Promise<T>;
}

/** A scoped store of one kind (the kind of the stores `run` will be given). */
export function scopedStore(kind: DocumentStore["kind"]): ScopedStore {
  const current = new AsyncLocalStorage<DocumentStore>();
  const active = () => {
    const store = current.getStore();
    if (!store) throw new Error("No document store for this request (call it inside run())");
    return store;
  };
  const database = (open: (store: DocumentStore) => Database): Database => ({
    collection: (name) => collection(() => open(active()).collection(name)),
    listCollections: () => open(active()).listCollections(),
    dropCollection: (name) => open(active()).dropCollection(name),
    drop: () => open(active()).drop(),
  });
  return {
    kind,
    platform: () => database((store) => store.platform()),
    tenant: (location: TenantLocation) => database((store) => store.tenant(location)),
    ping: () => active().ping(),
    close: async () => {},
    run: (store, handle) => current.run(store, handle),
  };
}

/** A collection whose every method resolves the current request's collection first. */
function collection(resolve: () => Collection): Collection {
  return {
    find: (...args) => resolve().find(...args),
    findOne: (...args) => resolve().findOne(...args),
    count: (...args) => resolve().count(...args),
    insertOne: (...args) => resolve().insertOne(...args),
    insertMany: (...args) => resolve().insertMany(...args),
    updateOne: (...args) => resolve().updateOne(...args),
    replaceOne: (...args) => resolve().replaceOne(...args),
    deleteOne: (...args) => resolve().deleteOne(...args),
    deleteMany: (...args) => resolve().deleteMany(...args),
    aggregate: (...args) => resolve().aggregate(...args),
    createIndex: (...args) => resolve().createIndex(...args),
    dropIndex: (...args) => resolve().dropIndex(...args),
    listIndexes: () => resolve().listIndexes(),
  };
}
