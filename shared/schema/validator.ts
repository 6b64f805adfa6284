/**
 * Document validators compiled once per collection definition (API.md §4.1, §5).
 *
 * System fields (`_id`, `createdAt`, `updatedAt`, `createdBy`) in a body are IGNORED: they are
 * dropped, at the top level, before validation, by insert, replace and patch alike; the server
 * sets them. Every key is checked first (assertSafeBody, then assertNoLookalikes against the
 * declared fields, the system fields and the rls owner field) → 400 INVALID_FIELD_NAME.
 * `null` for a declared field means "no value": insert/replace apply the default or leave it out
 * (required → VALIDATION_FAILED); patch removes it (required → VALIDATION_FAILED).
 */
import { ApiError } from "../errors.js";
import { MAX_MATCH_WORK, metered } from "../linear-regexp.js";
import { assertSafeBody, isPlainObject, lookalikeGuard } from "../sanitize.js";
import { type CollectionDef, definitionSize, type FieldDef, fieldPaths, SYSTEM_FIELDS } from "./definition.js";
import { keepStoredValues, keepsReadonly, keptTree, refuseReadonlyInsert } from "./kept-values.js";
import { createdByPrivate, privateTree, stripWith } from "./private-values.js";
import { budgetSpent, charge, MAX_PROBLEMS, withinProblemBudget } from "./problem-budget.js";
import { check, issueDetails, objectSchema, valueSchema } from "./value-schema.js";

/**
 * Runs one body's validation within its budgets: its pattern matches are charged together (past
 * about half a second of regex work in all — long values, many items, several patterns — it is 400,
 * whatever each match costs, and checking stops), and it looks for MAX_PROBLEMS problems at most
 * (see problem-budget.ts). A bulk insert runs all its items within one (nested runs charge both).
 */
export function withinBudgets<T>(validate: () => T): T {
  let total = 0;
  return withinProblemBudget(() =>
    metered((work) => {
      total += work;
      if (total > MAX_MATCH_WORK) {
        charge(MAX_PROBLEMS);
        throw new ApiError("VALIDATION_FAILED", "The values are too long to check against the collection's patterns");
      }
    }, validate),
  );
}

export interface Validators {
  /** Full validation of a new document; applies defaults (deep-cloned); returns the fields to store. */
  insert(body: Record<string, unknown>): Record<string, unknown>;
  /** Full validation of a replacement (PUT); defaults applied as on insert. */
  replace(body: Record<string, unknown>): Record<string, unknown>;
  /** Validates only the given fields (top-level merge); `null` → unset. No defaults. */
  patch(body: Record<string, unknown>): { set: Record<string, unknown>; unset: string[] };
  /** Removes private fields (nested too) unless the caller holds the secret key; never mutates `doc`. */
  strip(doc: Record<string, unknown>, opts: { isSecretKey: boolean }): Record<string, unknown>;
  /**
   * For publishable-key writes, before validation: the body with the stored document's private and
   * readonly values kept, 400 VALIDATION_FAILED where it changes a readonly value; `merge` for
   * PATCH-like writes, `blind` where the caller reads no document (see kept-values.ts).
   */
  keepStored(
    body: Record<string, unknown>,
    stored: Record<string, unknown>,
    options: { merge: boolean; blind: boolean },
  ): Record<string, unknown>;
  /** For publishable-key inserts: 400 VALIDATION_FAILED where the body names a readonly value other than its default. */
  refuseReadonly(body: Record<string, unknown>): void;
  /**
   * Refuses top-level body keys that look like a declared path (nested ones dotted) or the owner
   * field; the names are folded once per compiled definition, so a check costs O(keys in the body).
   */
  assertBodyKeys(body: Record<string, unknown>): void;
}

const invalid = (details: ReturnType<typeof issueDetails>) => new ApiError("VALIDATION_FAILED", undefined, { details });

/** Compiles a definition into its validators (zod schemas built here, once). */
export function compileValidators(def: CollectionDef): Validators {
  const opts = { additionalFields: def.additionalFields };
  const owner = def.rls.ownerField;
  const declared = new Set(def.fields.map((field) => field.name));
  const ownerRules = def.rls.enabled || Object.values(def.permissions).includes("owner");
  // The owner field is accepted even when undeclared: the server writes it on owner inserts.
  const implicitOwner = ownerRules && !declared.has(owner) && !SYSTEM_FIELDS.includes(owner);
  const fields: FieldDef[] = implicitOwner ? [...def.fields, { name: owner, type: "string" }] : def.fields;
  const documentSchema = objectSchema(fields, opts);
  const fieldSchemas = new Map(fields.map((field) => [field.name, { field, schema: valueSchema(field, opts) }]));
  const assertNoLookalikes = lookalikeGuard([...fields.map((field) => field.name), ...SYSTEM_FIELDS, owner]);
  const assertBodyKeys = lookalikeGuard([...fieldPaths(def).keys(), owner]);
  const hidden = privateTree(def.fields);
  if (createdByPrivate(def)) hidden.set("createdBy", null);
  const kept = keptTree(def.fields);
  const readonly = keepsReadonly(kept);

  /** Key checks, then the body without system fields. */
  function prepare(body: unknown): Record<string, unknown> {
    if (!isPlainObject(body)) throw invalid([{ path: "", message: "Expected a JSON object" }]);
    assertSafeBody(body);
    assertNoLookalikes(body);
    const clean: Record<string, unknown> = { ...body };
    for (const field of SYSTEM_FIELDS) delete clean[field];
    return clean;
  }

  function full(body: Record<string, unknown>): Record<string, unknown> {
    const clean = prepare(body);
    const result = withinBudgets(() => documentSchema.safeParse(clean));
    if (!result.success) throw invalid(issueDetails(result.error.issues));
    return result.data;
  }

  return {
    insert: full,
    replace: full,
    patch(body) {
      return withinBudgets(() => {
        const clean = prepare(body);
        const set: Record<string, unknown> = {};
        const unset: string[] = [];
        const details: ReturnType<typeof issueDetails> = [];
        const fail = (path: string, message: string) => {
          details.push({ path, message });
          return charge(1);
        };
        for (const key of Object.keys(clean)) {
          const value = clean[key];
          const known = fieldSchemas.get(key);
          let stop = false;
          if (value === null) {
            if (known?.field.required) stop = fail(key, "Required; cannot be removed");
            else if (!known && !def.additionalFields) stop = fail(key, "Unknown field");
            else unset.push(key);
          } else if (!known) {
            if (def.additionalFields)
              Object.defineProperty(set, key, { value, enumerable: true, writable: true, configurable: true });
            else stop = fail(key, "Unknown field");
          } else {
            const result = check(known.schema, value);
            if (result.success) set[key] = result.data;
            else {
              for (const d of issueDetails(result.error.issues))
                details.push({ ...d, path: d.path ? `${key}.${d.path}` : key });
              stop = budgetSpent();
            }
          }
          if (stop) break;
        }
        if (details.length > 0) throw invalid(details);
        return { set, unset };
      });
    },
    strip(doc, { isSecretKey }) {
      if (isSecretKey || hidden.size === 0) return doc;
      return stripWith(doc, hidden) as Record<string, unknown>;
    },
    assertBodyKeys,
    keepStored(body, stored, options) {
      return kept.size === 0 ? body : keepStoredValues(kept, body, stored, options);
    },
    refuseReadonly(body) {
      if (readonly) refuseReadonlyInsert(kept, body);
    },
  };
}

/** A bounded, least-recently-used cache of compiled validators, keyed by a caller-given version. */
export interface ValidatorCache {
  validatorsFor(def: CollectionDef, version: string): Validators;
  readonly size: number;
  /** The summed weight of the cached validators (see `validatorWeight`). */
  readonly weight: number;
}

/**
 * What a definition's compiled validators weigh in the cache, in units of at most ~8 KB of heap
 * (measured): one per field description (an email field, the heaviest, holds ~6–7 KB), one per 8
 * instructions of its patterns' RE2 programs (~500 B each once matched: the program and its
 * matcher), one per KiB of its JSON (the defaults and enums it keeps).
 */
export function validatorWeight(def: CollectionDef): number {
  const { fields, patternProgram } = definitionSize(def.fields);
  return 1 + fields + Math.ceil(patternProgram / 8) + Math.ceil(JSON.stringify(def).length / 1024);
}

/**
 * Creates a validator cache holding at most `maxEntries` compiled definitions weighing at most
 * `maxWeight` together: 12 000 units is under 100 MB at worst, room for 5 of the largest
 * definitions parseDefinition accepts (~2300 units) or hundreds of ordinary ones (20 fields ≈ 25).
 * The newest entry stays even when it alone weighs more (a definition stored before the bounds).
 */
export function createValidatorCache(maxEntries = 500, maxWeight = 12_000): ValidatorCache {
  const entries = new Map<string, { name: string; validators: Validators; weight: number }>();
  let total = 0;
  const drop = (version: string) => {
    total -= entries.get(version)?.weight ?? 0;
    entries.delete(version);
  };
  return {
    get size() {
      return entries.size;
    },
    get weight() {
      return total;
    },
    validatorsFor(def, version) {
      const hit = entries.get(version);
      if (hit && hit.name === def.name) {
        entries.delete(version);
        entries.set(version, hit);
        return hit.validators;
      }
      const validators = compileValidators(def);
      const weight = validatorWeight(def);
      drop(version);
      entries.set(version, { name: def.name, validators, weight });
      total += weight;
      while (entries.size > 1 && (entries.size > maxEntries || total > maxWeight)) {
        drop(entries.keys().next().value as string);
      }
      return validators;
    },
  };
}

const isolateCache = createValidatorCache();

/**
 * The validators of a definition, compiled once per isolate and version. `version` must identify
 * the project, the collection and its revision (e.g. `${projectId}/${name}/${version}`): a new
 * revision gets a new key, so a changed definition is never served stale validators.
 */
export function validatorsFor(def: CollectionDef, version: string): Validators {
  return isolateCache.validatorsFor(def, version);
}
