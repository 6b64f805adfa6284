/**
 * A document store that records everything unsafe it is handed, for fuzz tests: keys starting with
 * `$` or holding `.` or NUL in stored documents, prototype keys anywhere, and filter operators outside
 * API.md §5.1's allowlist. It delegates to the real adapter; it never changes an answer.
 */
import type { Collection, Database, DocumentStore } from "../shared/store/types.js";
import { PROTOTYPE_KEYS, SPEC_FILTER_OPERATORS } from "./spec.js";

const UPDATE_OPERATORS = new Set(["$set", "$unset", "$inc"]);

type Check = (key: string, path: string) => string | undefined;

function walk(value: unknown, check: Check, path: string, found: string[]): void {
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) walk(item, check, `${path}[${i}]`, found);
    return;
  }
  if (value === null || typeof value !== "object") return;
  for (const key of Reflect.ownKeys(value)) {
    if (typeof key !== "string") continue;
    const problem = PROTOTYPE_KEYS.has(key) ? "prototype key" : check(key, path);
    if (problem) found.push(`${problem} "${key}" at ${path || "top"}`);
    walk((value as Record<string, unknown>)[key], check, path ? `${path}.${key}` : key, found);
  }
}

const storedKey: Check = (key) =>
  key.startsWith("$") || key.includes(".") || key.includes("\0") ? "unsafe stored key" : undefined;
const filterKey: Check = (key) => (key.startsWith("$") && !SPEC_FILTER_OPERATORS.has(key) ? "operator" : undefined);

function guardCollection(collection: Collection, found: string[]): Collection {
  const filter = (f: unknown) => walk(f, filterKey, "", found);
  const docs = (d: unknown) => walk(d, storedKey, "", found);
  /** Records what is unsafe in `checked`, then answers with the real call. */
  const seen = <T>(checked: () => void, answer: () => T): T => {
    checked();
    return answer();
  };
  return {
    find: (f, o) =>
      seen(
        () => filter(f),
        () => collection.find(f, o),
      ),
    findOne: (f, o) =>
      seen(
        () => filter(f),
        () => collection.findOne(f, o),
      ),
    count: (f, o) =>
      seen(
        () => filter(f),
        () => collection.count(f, o),
      ),
    insertOne: (d) =>
      seen(
        () => docs(d),
        () => collection.insertOne(d),
      ),
    insertMany: (d) =>
      seen(
        () => docs(d),
        () => collection.insertMany(d),
      ),
    updateOne: (f, u) => {
      filter(f);
      for (const [op, fields] of Object.entries(u)) {
        if (!UPDATE_OPERATORS.has(op)) found.push(`update operator "${op}"`);
        // $inc takes dotted counter paths (usage counters); user fields only ever reach $set/$unset.
        if (op === "$inc") walk(fields, (key) => (key.startsWith("$") ? "unsafe counter key" : undefined), "", found);
        else docs(fields);
      }
      return collection.updateOne(f, u);
    },
    replaceOne: (f, d) =>
      seen(
        () => {
          filter(f);
          docs(d);
        },
        () => collection.replaceOne(f, d),
      ),
    deleteOne: (f) =>
      seen(
        () => filter(f),
        () => collection.deleteOne(f),
      ),
    deleteMany: (f) =>
      seen(
        () => filter(f),
        () => collection.deleteMany(f),
      ),
    aggregate: (pipeline, o) => {
      walk(pipeline, () => undefined, "", found);
      return collection.aggregate(pipeline, o);
    },
    createIndex: (fields, o) => collection.createIndex(fields, o),
    dropIndex: (fields) => collection.dropIndex(fields),
    listIndexes: () => collection.listIndexes(),
  };
}

function guardDatabase(database: Database, found: string[]): Database {
  return {
    collection: (name) => guardCollection(database.collection(name), found),
    listCollections: () => database.listCollections(),
    dropCollection: (name) => database.dropCollection(name),
    drop: () => database.drop(),
  };
}

/** Wraps a store; `found` collects a line per unsafe thing that reached it. */
export function guardedStore(store: DocumentStore): DocumentStore & { found: string[] } {
  const found: string[] = [];
  return {
    found,
    kind: store.kind,
    platform: () => guardDatabase(store.platform(), found),
    tenant: (location) => guardDatabase(store.tenant(location), found),
    ping: () => store.ping(),
    close: () => store.close(),
  };
}
