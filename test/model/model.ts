/**
 * The model: what the collection should hold, and the rules (API.md §4–§5 as refined by
 * docs/choices.md) that decide what a request may see and write.
 */
import { newId } from "../../shared/ids.js";
import { documentBytes } from "../../shared/quotas.js";
import { type Caller, FIELDS, INITIAL_SHAPE, type Real, type Shape, type User } from "./harness.js";

export type Body = Record<string, unknown>;
export type Doc = Body & { _id: string; createdAt: string; updatedAt: string };

const SYSTEM_FIELDS = ["_id", "createdAt", "updatedAt", "createdBy"];

/** The ETag of a document's version, derived from its updatedAt independently of the server. */
export const etagOf = (doc: { updatedAt: unknown }) => `"${Date.parse(doc.updatedAt as string).toString(36)}"`;

export class Model {
  docs = new Map<string, Doc>();
  /** Every id seen, deleted ones included, plus one that never existed. */
  known: string[] = [newId()];
  /** Every ETag a document had, oldest first. */
  etags = new Map<string, string[]>();
  /** Documents written, as the usage counts them. */
  written = 0;
  /** Usage counts were lost with an instance whose store was closed under it: not checked any more. */
  usageUnknown = false;
  /** Whether the quota counter must exist (a reservation happened since it was last counted afresh). */
  counterMade = false;
  /** Bytes the quota counter holds beyond the stored documents: reservations and releases a closed store cut. */
  leaked = 0;
  shape: Shape = { ...INITIAL_SHAPE };
  /** Judging one serial order of operations that ran together: the answers only a race gives are accepted. */
  inRace = false;

  /** A copy to try a serial order on. */
  trial(): Model {
    const copy = Object.assign(new Model(), this);
    copy.docs = new Map(this.docs);
    copy.known = [...this.known];
    copy.etags = new Map([...this.etags].map(([id, tags]) => [id, [...tags]]));
    copy.shape = { ...this.shape };
    copy.inRace = true;
    return copy;
  }
  /** Takes the state of a trial whose serial order explained the answers. */
  adopt(trial: Model): void {
    Object.assign(this, trial, { inRace: false });
  }

  /** Three picks in four address a live document (when there is one), the fourth any id ever seen. */
  pickId(pick: number): string {
    const live = [...this.docs.keys()];
    if (pick % 4 !== 0 && live.length > 0) return live[(pick >> 2) % live.length] as string;
    return this.known[(pick >> 2) % this.known.length] as string;
  }
  put(doc: Doc): void {
    if (!this.known.includes(doc._id)) this.known.push(doc._id);
    this.docs.set(doc._id, doc);
    this.etags.set(doc._id, [...(this.etags.get(doc._id) ?? []), etagOf(doc)]);
  }
  /** The bytes the quota counts for the stored documents. */
  bytes(): number {
    let n = 0;
    for (const doc of this.docs.values()) n += documentBytes(doc);
    return n;
  }
}

// ---------------------------------------------------------------- validation

const TYPES: Record<string, (v: unknown) => boolean> = {
  title: (v) => typeof v === "string" && [...v].length <= 8,
  n: (v) => typeof v === "number" && Number.isFinite(v),
  tag: (v) => typeof v === "string",
  slug: (v) => typeof v === "string",
  flag: (v) => typeof v === "boolean",
  userId: (v) => typeof v === "string",
};

const isField = (name: string) => (FIELDS as readonly string[]).includes(name);

/** The body's fields other than the system ones (which the server ignores in a body). */
const ownFields = (body: Body) => Object.entries(body).filter(([k]) => !SYSTEM_FIELDS.includes(k));

/** Insert and PUT: null is no value, title is required, unknown fields and wrong types are refused (undefined). */
export function validateFull(body: Body): Body | undefined {
  const out: Body = {};
  for (const [k, v] of ownFields(body)) {
    if (!isField(k)) return undefined;
    if (v === null) continue;
    if (!TYPES[k]!(v)) return undefined;
    out[k] = v;
  }
  return out.title === undefined ? undefined : out;
}

/** PATCH: null removes a field (not the required title); refused is undefined. */
export function validatePatch(body: Body): { set: Body; unset: string[] } | undefined {
  const set: Body = {};
  const unset: string[] = [];
  for (const [k, v] of ownFields(body)) {
    if (!isField(k)) return undefined;
    if (v === null) {
      if (k === "title") return undefined;
      unset.push(k);
    } else if (TYPES[k]!(v)) set[k] = v;
    else return undefined;
  }
  return { set, unset };
}

// ---------------------------------------------------------------- rules

export const isUser = (c: Caller): c is User => c === "A" || c === "B";

/** Whether the caller may read the document (public-read: anyone; private: the secret key and its owner). */
export function canSee(r: Real, caller: Caller, doc: Doc): boolean {
  if (caller === "sk" || r.mode === "public-read") return true;
  return isUser(caller) && doc.userId === r.uid[caller];
}

/** Whether a guest is refused outright (401) because the read rule needs a user. */
export const guestRefused = (r: Real, caller: Caller) => r.mode === "private" && caller === "guest";

/** Whether another document holds `slug` while slug is unique. */
export function slugTaken(m: Model, slug: unknown, except?: string): boolean {
  if (slug === undefined || m.shape.slug !== "unique") return false;
  for (const doc of m.docs.values()) if (doc._id !== except && doc.slug === slug) return true;
  return false;
}
