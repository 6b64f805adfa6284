import { find as mingoFind } from "mingo";
import { Query } from "mingo/query";
import { newId } from "../../ids.js";
import { assertDefinedFilter, assertDefinedPipeline } from "../defined-filter.js";
import {
  assertIndexKey,
  type Collection,
  DOCUMENT_JSON,
  type Doc,
  DuplicateKeyError,
  type Filter,
  type FindOptions,
  type IndexFields,
  type IndexSpec,
  indexKeyName,
  type Projection,
  QueryTimeoutError,
  quotedFields,
  type Update,
} from "../types.js";
import { withinBudget } from "./budget.js";
import { exactConditions, exactCount, exactMatches, matchesExact, unlessWalked } from "./exact.js";
import { exclusionPaths } from "./exclude.js";
import { filterKey } from "./filter-key.js";
import { MINGO_CONTEXT } from "./mingo-context.js";
import type { PipelineJob } from "./pipeline.js";
import { type Plan, planQuery } from "./planner.js";
import { sortDocuments } from "./sort-documents.js";
import { indexValue, SortedIndex } from "./sorted-index.js";
import { TupleIndex } from "./tuple-index.js";
import { applyUpdate } from "./update.js";
import type { WriteOp } from "./write-ops.js";

/** What a collection needs from its database: loading, durable writes, and the catalog. */
export interface CollectionHost {
  readonly db: string;
  load(coll: string): Promise<{ docs: string[]; indexes: IndexSpec[] }>;
  /** Runs the aggregation `prepare` makes when its turn comes (in a worker thread where there is one). */
  aggregate(prepare: () => PipelineJob): Promise<Array<Record<string, unknown>>>;
  /** `work` as given; close() waits for it to settle (a collection's whole load, slices included). */
  holdClose<T>(work: Promise<T>): Promise<T>;
  /** Makes the ops durable (with the collection's creation when it is new); resolves once committed. */
  write(coll: string, ops: WriteOp[]): Promise<void>;
  assertOpen(): void;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object") {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/** The frozen document a stored JSON text stands for, carrying that text (see DOCUMENT_JSON). */
function storedDocument(json: string): Doc {
  const doc = JSON.parse(json) as Doc;
  Object.defineProperty(doc, DOCUMENT_JSON, { value: json });
  return deepFreeze(doc);
}

/** A stored, frozen document and the JSON it was made from (what goes to disk). */
function seal(doc: object): { doc: Doc; json: string } {
  const json = JSON.stringify(doc);
  return { doc: storedDocument(json), json };
}

/** The field of a single-field key (a SortedIndex's); undefined for a compound key (a TupleIndex's). */
const singleField = (fields: IndexFields): string | undefined => (fields.length === 1 ? fields[0] : undefined);

/** A collection held in memory, indexed, with mingo as the judge of MongoDB semantics. */
const MAX_CACHED_COUNTS = 256;
/** Documents parsed between two yields to the event loop while a collection loads. */
const LOAD_CHUNK = 5000;
/** Filters longer than this (as keys) are counted afresh: at most 256 × 1 KiB of keys per collection. */
const MAX_COUNT_KEY_LENGTH = 1024;

const MAX_CACHED_QUERIES = 256;
/** mingo queries by filter: building one costs about 20 µs, testing a document well under 1 µs. */
const queries = new Map<string, Query>();

/** mingo's query for a filter, reused when the same filter comes again. */
function mingoQuery(filter: Filter): Query {
  const key = filterKey(filter);
  if (key === undefined) return new Query(filter, { context: MINGO_CONTEXT });
  let query = queries.get(key);
  if (!query) {
    if (queries.size >= MAX_CACHED_QUERIES) queries.clear();
    query = new Query(filter, { context: MINGO_CONTEXT });
    queries.set(key, query);
  }
  return query;
}

/** `_id` and the named top-level fields of a document, in the document's order (as MongoDB returns them). */
function pick(doc: Doc, names: ReadonlySet<string>): Doc {
  const picked: Doc = { _id: doc._id };
  for (const key of Object.keys(doc)) if (names.has(key)) picked[key] = doc[key];
  return picked;
}

/** mingo's matcher for a filter. */
function queryTest(filter: Filter): (doc: Doc) => boolean {
  const query = mingoQuery(filter);
  return (doc) => query.test(doc);
}

/**
 * A pipeline's leading `$match` runs on this thread (the worker gets only what it finds): it gets a
 * list's 1 s at most, not the whole pipeline's time, so no filter holds the process longer than a list's.
 */
const leadingMatchMs = (left: number | undefined) => (left === undefined ? undefined : Math.min(left, 1000));

export class EmbeddedCollection implements Collection {
  private readonly docs = new Map<string, Doc>();
  /** Counts by filter, valid until the next write to this collection. */
  private readonly counts = new Map<string, number>();
  private readonly indexes = new Map<string, SortedIndex>([["_id", new SortedIndex("_id", true)]]);
  /** Compound (unique) indexes, by `indexKeyName`: checked on every write, never used by the query planner. */
  private readonly tuples = new Map<string, TupleIndex>();
  private loaded: Promise<void> | undefined;
  /** Moves on each clear(): a load that started before it must not fill the cleared collection. */
  private generation = 0;

  constructor(
    private readonly host: CollectionHost,
    readonly name: string,
  ) {}

  /**
   * Forgets every document and index, as a dropped collection: the object stays the collection's
   * handle (as a MongoDB handle is a name), so a later write through it re-creates the collection.
   */
  clear(): void {
    this.generation++;
    this.docs.clear();
    this.counts.clear();
    this.indexes.clear();
    this.indexes.set("_id", new SortedIndex("_id", true));
    this.tuples.clear();
    this.loaded = Promise.resolve();
  }

  private async ready(): Promise<void> {
    this.host.assertOpen();
    this.loaded ??= this.host.holdClose(this.load());
    await this.loaded;
  }

  private async load(): Promise<void> {
    const generation = this.generation;
    const { docs, indexes } = await this.host.load(this.name);
    if (generation !== this.generation) return; // dropped while it loaded
    for (let at = 0; at < docs.length; at++) {
      if (at > 0 && at % LOAD_CHUNK === 0) {
        // A large collection loads in slices, so other requests are served meanwhile.
        await new Promise((resolve) => setTimeout(resolve, 0));
        if (generation !== this.generation) return;
      }
      const doc = storedDocument(docs[at] as string);
      this.docs.set(doc._id, doc);
    }
    this.rebuild(this.indexes.get("_id") as SortedIndex);
    for (const spec of indexes) {
      const field = singleField(spec.fields);
      const index = field !== undefined ? new SortedIndex(field, spec.unique) : new TupleIndex(spec.fields);
      const clash = index instanceof SortedIndex ? this.rebuild(index) : index.rebuild(this.docs.values());
      // Only two processes on one data directory could have stored this; the index is kept, so a
      // write to either duplicate is refused until one of them is changed or removed.
      if (clash !== undefined)
        console.error(
          `Embedded store: unique index ${quotedFields(spec.fields)} of ${this.host.db}.${this.name} holds duplicate values (document ${clash} among them)`,
        );
      if (index instanceof SortedIndex) this.indexes.set(index.field, index);
      else this.tuples.set(indexKeyName(index.fields), index);
    }
  }

  private rebuild(index: SortedIndex): string | undefined {
    return index.rebuild(Array.from(this.docs.values(), (doc) => [doc._id, indexValue(doc, index.field)]));
  }

  /** The stored documents matching a query, in order, paged (no projection). */
  private select(filter: Filter, { sort, skip = 0, limit = 0 }: FindOptions = {}): Doc[] {
    assertDefinedFilter(filter);
    const exact = exactConditions(filter, this.indexes);
    const plan = planQuery(filter, sort, this.indexes);
    if (plan.kind === "walk") {
      const rest = exact && unlessWalked(exact, plan.index.field, plan.range);
      const test = rest ? (doc: Doc) => matchesExact(doc, rest) : queryTest(filter);
      const out: Doc[] = [];
      let skipped = 0;
      plan.index.walk(plan.direction, plan.range, (id) => {
        const doc = this.docs.get(id) as Doc;
        if (!test(doc) || skipped++ < skip) return true;
        out.push(doc);
        return out.length !== limit;
      });
      return out;
    }
    if (!sort) {
      if (exact?.length) return exactMatches(exact, this.docs).slice(skip, limit ? skip + limit : undefined);
      let cursor = mingoQuery(filter).find<Doc>(this.candidates(plan));
      if (skip) cursor = cursor.skip(skip);
      if (limit) cursor = cursor.limit(limit);
      return cursor.all();
    }
    // The index answers alone, in index order; else mingo tests the plan's candidates.
    const matched = exact?.length
      ? exactMatches(exact, this.docs)
      : mingoQuery(filter).find<Doc>(this.candidates(plan)).all();
    return sortDocuments(matched, sort, skip, limit);
  }

  /** The documents a plan hands to mingo: an index's candidates, or all of them. */
  private candidates(plan: Plan): Doc[] {
    if (plan.kind !== "candidates") return Array.from(this.docs.values());
    const { index, ranges } = plan.from;
    const ids = new Set(index.irregular.keys());
    index.walk(1, ranges, (id) => ids.add(id));
    return Array.from(ids, (id) => this.docs.get(id) as Doc);
  }

  /** Applies a projection; `_id` is always kept. mingo excludes by deleting, so exclusions work on copies. */
  private project(docs: Doc[], projection: Projection | undefined): Doc[] {
    const { _id, ...fields } = projection ?? {};
    const values = Object.values(fields);
    if (values.length === 0) return _id === 1 ? docs.map((doc) => ({ _id: doc._id })) : docs;
    const excludes = values.includes(0);
    const names = Object.keys(fields);
    // Top-level inclusions (the common `fields=a,b`) are picked directly: mingo takes about 3 µs a document.
    if (!excludes && !names.some((name) => name.includes("."))) {
      const wanted = new Set(names);
      return docs.map((doc) => pick(doc, wanted));
    }
    const source = excludes ? docs.map((doc) => structuredClone(doc)) : docs;
    return mingoFind(source, {}, fields).all() as Doc[];
  }

  private assertUnique(doc: Doc, isNew: boolean): void {
    if (isNew && this.docs.has(doc._id)) throw new DuplicateKeyError(["_id"]);
    for (const index of this.indexes.values()) {
      if (index.unique && index.field !== "_id" && index.clashes(doc._id, indexValue(doc, index.field))) {
        throw new DuplicateKeyError([index.field]);
      }
    }
    for (const index of this.tuples.values()) {
      if (index.clashes(doc._id, index.entryOf(doc))) throw new DuplicateKeyError(index.fields);
    }
  }

  private attach(doc: Doc): void {
    this.counts.clear();
    this.docs.set(doc._id, doc);
    for (const index of this.indexes.values()) index.add(doc._id, indexValue(doc, index.field));
    for (const index of this.tuples.values()) index.add(doc._id, index.entryOf(doc));
  }

  private detach(doc: Doc): void {
    this.counts.clear();
    this.docs.delete(doc._id);
    for (const index of this.indexes.values()) index.remove(doc._id, indexValue(doc, index.field));
    for (const index of this.tuples.values()) index.remove(doc._id, index.entryOf(doc));
  }

  /** Swaps a stored document for its new version, atomically with the unique checks. */
  private async swap(current: Doc, next: Record<string, unknown>): Promise<Doc> {
    const { _id: _kept, ...fields } = next;
    const { doc, json } = seal({ _id: current._id, ...fields });
    this.assertUnique(doc, false);
    this.counts.clear();
    this.docs.set(doc._id, doc);
    for (const index of this.indexes.values()) {
      const [before, after] = [indexValue(current, index.field), indexValue(doc, index.field)];
      // An unchanged key keeps its entry: moving it costs two splices of the whole index.
      if (before === after) continue;
      index.remove(doc._id, before);
      index.add(doc._id, after);
    }
    for (const index of this.tuples.values()) {
      const [before, after] = [index.entryOf(current), index.entryOf(doc)];
      if (before === after) continue;
      index.remove(doc._id, before);
      index.add(doc._id, after);
    }
    await this.host.write(this.name, [{ op: "put", id: doc._id, json }]);
    return doc;
  }

  async find(filter: Filter, options: FindOptions = {}): Promise<Doc[]> {
    await this.ready();
    const found = withinBudget(options.maxTimeMs, () => this.select(filter, options));
    return this.project(found, options.projection);
  }

  async findOne(filter: Filter, options: Pick<FindOptions, "projection" | "sort"> = {}): Promise<Doc | null> {
    const [doc] = await this.find(filter, { ...options, limit: 1 });
    return doc ?? null;
  }

  async count(filter: Filter = {}, options: Pick<FindOptions, "maxTimeMs"> = {}): Promise<number> {
    assertDefinedFilter(filter);
    await this.ready();
    if (Object.keys(filter).length === 0) return this.docs.size;
    // Paged lists ask for the same total again and again: answers hold until the next write.
    const key = filterKey(filter);
    const cached = key === undefined ? undefined : this.counts.get(key);
    if (cached !== undefined) return cached;
    const exact = exactConditions(filter, this.indexes);
    const count = exact?.length
      ? exactCount(exact, this.docs)
      : withinBudget(options.maxTimeMs, () => this.select(filter).length);
    if (key === undefined || key.length > MAX_COUNT_KEY_LENGTH) return count;
    if (this.counts.size >= MAX_CACHED_COUNTS) this.counts.clear();
    this.counts.set(key, count);
    return count;
  }

  async insertOne(input: Omit<Doc, "_id"> & { _id?: string }): Promise<Doc> {
    const [doc] = await this.insertMany([input]);
    return doc as Doc;
  }

  async insertMany(inputs: Array<Omit<Doc, "_id"> & { _id?: string }>): Promise<Doc[]> {
    await this.ready();
    const sealed = inputs.map(({ _id, ...fields }) => seal({ _id: _id ?? newId(), ...fields }));
    const attached: Doc[] = [];
    try {
      for (const { doc } of sealed) {
        this.assertUnique(doc, true);
        this.attach(doc);
        attached.push(doc);
      }
    } catch (error) {
      for (const doc of attached) this.detach(doc);
      throw error instanceof DuplicateKeyError ? new DuplicateKeyError(error.fields, attached.length) : error;
    }
    await this.host.write(
      this.name,
      sealed.map(({ doc, json }) => ({ op: "put", id: doc._id, json })),
    );
    return sealed.map(({ doc }) => doc);
  }

  async updateOne(filter: Filter, update: Update): Promise<Doc | null> {
    await this.ready();
    const [current] = this.select(filter, { limit: 1 });
    if (!current) return null;
    const next = structuredClone(current);
    applyUpdate(next, update);
    return this.swap(current, next);
  }

  async replaceOne(filter: Filter, replacement: Omit<Doc, "_id">): Promise<Doc | null> {
    await this.ready();
    const [current] = this.select(filter, { limit: 1 });
    return current ? this.swap(current, replacement) : null;
  }

  async deleteOne(filter: Filter): Promise<Doc | null> {
    await this.ready();
    const [doc] = this.select(filter, { limit: 1 });
    if (!doc) return null;
    this.detach(doc);
    await this.host.write(this.name, [{ op: "delete", id: doc._id }]);
    return doc;
  }

  async deleteMany(filter: Filter): Promise<number> {
    await this.ready();
    const docs = this.select(filter);
    for (const doc of docs) this.detach(doc);
    if (docs.length > 0)
      await this.host.write(
        this.name,
        docs.map((doc) => ({ op: "delete", id: doc._id }) as const),
      );
    return docs.length;
  }

  async aggregate(
    pipeline: Array<Record<string, unknown>>,
    options: { maxTimeMs?: number; maxBytes?: number } = {},
  ): Promise<Array<Record<string, unknown>>> {
    assertDefinedPipeline(pipeline);
    await this.ready();
    const [first, ...rest] = pipeline;
    const match = first && Object.keys(first).length === 1 ? (first.$match as Filter | undefined) : undefined;
    let stages = match ? rest : pipeline;
    // Leading exclusions run first, reaching into arrays of arrays as MongoDB's $project does (exclude.ts).
    const excluded: string[] = [];
    for (let paths = exclusionPaths(stages[0]); paths; paths = exclusionPaths(stages[0])) {
      excluded.push(...paths);
      stages = stages.slice(1);
    }
    const started = Date.now();
    /** What is left of the time limit, counted from the call (a turn waited for included). */
    const left = () => {
      if (options.maxTimeMs === undefined) return undefined;
      const ms = options.maxTimeMs - (Date.now() - started);
      if (ms <= 0) throw new QueryTimeoutError(options.maxTimeMs);
      return ms;
    };
    // Built when the aggregation's turn comes, so a waiting one holds no copies.
    return this.host.aggregate(() => {
      const source = match ? withinBudget(leadingMatchMs(left()), () => this.select(match)) : [...this.docs.values()];
      return { stages, source, excluded, maxTimeMs: left(), maxBytes: options.maxBytes };
    });
  }

  async createIndex(fields: IndexFields, options: { unique?: boolean } = {}): Promise<void> {
    const unique = options.unique === true;
    assertIndexKey(fields, { unique });
    await this.ready();
    const field = singleField(fields);
    if (field !== undefined) {
      if (field === "_id" || this.indexes.get(field)?.unique === unique) return;
      const index = new SortedIndex(field, unique);
      if (this.rebuild(index) !== undefined) throw new DuplicateKeyError(fields);
      this.indexes.set(field, index);
    } else {
      if (this.tuples.has(indexKeyName(fields))) return;
      const index = new TupleIndex([...fields]);
      if (index.rebuild(this.docs.values()) !== undefined) throw new DuplicateKeyError(fields);
      this.tuples.set(indexKeyName(fields), index);
    }
    await this.host.write(this.name, [{ op: "createIndex", fields: [...fields], unique }]);
  }

  async dropIndex(fields: IndexFields): Promise<void> {
    assertIndexKey(fields);
    await this.ready();
    const field = singleField(fields);
    const dropped =
      field !== undefined ? field !== "_id" && this.indexes.delete(field) : this.tuples.delete(indexKeyName(fields));
    if (dropped) await this.host.write(this.name, [{ op: "dropIndex", fields: [...fields] }]);
  }

  async listIndexes(): Promise<IndexSpec[]> {
    await this.ready();
    return [
      ...[...this.indexes.values()]
        .filter((i) => i.field !== "_id")
        .map((i) => ({ fields: [i.field], unique: i.unique })),
      ...[...this.tuples.values()].map((i) => ({ fields: [...i.fields], unique: true })),
    ];
  }
}
