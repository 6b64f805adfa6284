import type { Doc } from "../types.js";
import { indexValue } from "./sorted-index.js";

/**
 * A compound index, always unique (the port makes no other): several (dotted) fields whose values
 * count together (`["listingId", "buyerId"]`). It holds only documents that have every field, so one
 * lacking any of them never clashes (MongoDB's unique index partial on `$exists` for each field);
 * `null` is a value like any other. It answers only "is this combination taken": the query planner
 * does not use it (a filter or sort on one of its fields uses that field's own index, when it has one).
 */
export class TupleIndex {
  /** Entry → the documents holding it (more than one only in a data directory two processes wrote). */
  private readonly holders = new Map<string, Set<string>>();

  constructor(readonly fields: readonly string[]) {}

  /**
   * A document's entry: its values as JSON, so values are equal as MongoDB compares these scalars
   * (1 and 1.0 are one number; "a" and "A", 1 and "1" differ); undefined when it lacks a field.
   */
  entryOf(doc: Doc): string | undefined {
    const values = this.fields.map((field) => indexValue(doc, field));
    return values.includes(undefined) ? undefined : JSON.stringify(values);
  }

  /** Adds a document (uniqueness already checked). */
  add(id: string, entry: string | undefined): void {
    if (entry === undefined) return;
    const ids = this.holders.get(entry);
    if (ids) ids.add(id);
    else this.holders.set(entry, new Set([id]));
  }

  /** Removes a document's entry as it was added. */
  remove(id: string, entry: string | undefined): void {
    if (entry === undefined) return;
    const ids = this.holders.get(entry);
    ids?.delete(id);
    if (ids?.size === 0) this.holders.delete(entry);
  }

  /** Whether another document already holds `entry`. */
  clashes(id: string, entry: string | undefined): boolean {
    if (entry === undefined) return false;
    const ids = this.holders.get(entry);
    return ids !== undefined && (ids.size > 1 || !ids.has(id));
  }

  /** Replaces the whole content; returns the id of a clashing document, if any. */
  rebuild(docs: Iterable<Doc>): string | undefined {
    this.holders.clear();
    let clash: string | undefined;
    for (const doc of docs) {
      const entry = this.entryOf(doc);
      if (clash === undefined && this.clashes(doc._id, entry)) clash = doc._id;
      this.add(doc._id, entry);
    }
    return clash;
  }
}
