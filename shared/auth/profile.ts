/**
 * Profile fields of end users: whatever `/api/schemas` declares for `users` (API.md §4), minus the
 * fields auth owns. No definition → any profile field is accepted (schemaless, as `additionalFields`
 * defaults for a collection without fields). Private fields, at any depth (object `fields`, array
 * `items` and their `fields`), are settable and visible with the secret key only, and never public;
 * readonly ones are changed with the secret key only (a pk body may carry one unchanged:
 * shared/schema/readonly-values.ts).
 */
import type { Deps } from "../deps.js";
import { ApiError, type ErrorDetail } from "../errors.js";
import type { KeyType, ResolvedProject } from "../principal.js";
import { type CollectionDef, type FieldDef, fieldPaths, outermostPrivatePaths } from "../schema/definition.js";
import { carries } from "../schema/readonly-values.js";
import { validatorsFor } from "../schema/validator.js";
import { isAuthOwned } from "./fields.js";
import { AUTH_USER_INDEXES } from "./store.js";

/**
 * Whether a users definition may give a field auth owns `rule`: its name, type and `index`, and
 * the rules auth applies itself (urBackend's contract has apps declare `email` required and unique
 * and `password` required; auth's unique indexes). The profile rules leave these fields out, so
 * any other rule would be stored and shown but never applied.
 */
const declarable = (field: string, rule: string) =>
  ["name", "type", "index"].includes(rule) ||
  (rule === "unique" && AUTH_USER_INDEXES.get(field) === true) ||
  (rule === "required" && ["email", "password"].includes(field));

/**
 * 400 VALIDATION_FAILED for the fields of a users definition being written that give a field auth
 * owns a rule auth does not apply (`username` required, a `pattern`, a `default`, `private`…), one
 * detail per field at `<key>.<i>`. Only writes are checked: a definition stored before still loads,
 * its rules left out as ever. A PATCH passes the fields it names, at their positions in its list
 * (`undefined` where an entry removes one).
 */
export function assertAuthFieldsDeclarable(fields: ReadonlyArray<FieldDef | undefined>, key = "fields"): void {
  const details = fields.flatMap((field, i) => {
    if (!field || !isAuthOwned(field.name)) return [];
    // false asks for nothing (`required: false`, urBackend's `unique: false`); a default of false is one.
    const rules = Object.entries(field)
      .filter(([rule, value]) => value !== undefined && (value !== false || rule === "default"))
      .map(([rule]) => rule)
      .filter((rule) => !declarable(field.name, rule));
    if (rules.length === 0) return [];
    const message =
      `"${field.name}" belongs to auth, which applies its own rules to it and would not apply ` +
      `${rules.join(", ")}: declare it with its type only`;
    return [{ path: `${key}.${i}`, message }];
  });
  if (details.length > 0) throw new ApiError("VALIDATION_FAILED", undefined, { details });
}

/** A project's profile rules, compiled from its `users` definition. */
export interface ProfileSchema {
  /** Validates a signup's profile fields and applies defaults; problems go into `details`. */
  create(body: Record<string, unknown>, keyType: KeyType, details: ErrorDetail[]): Record<string, unknown>;
  /**
   * Validates an update-profile body (top-level merge; null removes) over the stored account
   * `current`: with the publishable key, the account's private and readonly values are kept
   * (shared/schema/kept-values.ts). Problems go into `details`.
   */
  update(
    body: Record<string, unknown>,
    keyType: KeyType,
    current: Record<string, unknown>,
    details: ErrorDetail[],
  ): { set: Record<string, unknown>; unset: string[] };
  /** An account view as a key may see it: private profile fields (nested too) only with the secret key. */
  view(doc: Record<string, unknown>, keyType: KeyType): Record<string, unknown>;
}

/** Collects the details of a validation failure instead of throwing it. */
function collect<T>(details: ErrorDetail[], fallback: T, run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof ApiError && error.code === "VALIDATION_FAILED") {
      details.push(...(error.details ?? [{ path: "", message: error.message }]));
      return fallback;
    }
    throw error;
  }
}

/** Outermost private paths in dot notation (`bio.phone`, `links.secret` for array items): the declared tree. */
function privatePaths(def: CollectionDef): string[][] {
  return outermostPrivatePaths(fieldPaths(def)).map((path) => path.split("."));
}

/** The profile rules of a project, from its current `users` definition (cached by the registry). */
export async function profileSchema(deps: Pick<Deps, "collections">, project: ResolvedProject): Promise<ProfileSchema> {
  const entry = await deps.collections.get(project, "users");
  const declared = entry?.def;
  const def: CollectionDef = {
    name: "users",
    fields: (declared?.fields ?? []).filter((field) => !isAuthOwned(field.name)),
    additionalFields: declared?.additionalFields ?? true,
    rls: { enabled: false, mode: "public-read", ownerField: "_id" },
    permissions: {},
  };
  const validators = validatorsFor(def, `${project.id}/users/${entry?.revision ?? "none"}/profile`);
  const hidden = privatePaths(def);

  /**
   * With a publishable key, private fields cannot be written (not even `null`): one detail per path.
   * The readonly checks then see the body without them (a readonly field under a private one is
   * refused as that, once).
   */
  const withoutPrivate = (body: Record<string, unknown>, details: ErrorDetail[]) => {
    for (const path of hidden) {
      if (carries(body, path))
        details.push({ path: path.join("."), message: "is private: only the secret key can set it" });
    }
    return validators.strip(body, { isSecretKey: false });
  };

  return {
    create(body, keyType, details) {
      if (keyType !== "secret") {
        const visible = withoutPrivate(body, details);
        collect(details, undefined, () => validators.refuseReadonly(visible));
      }
      return collect(details, {}, () => validators.insert(body));
    },
    update(body, keyType, current, details) {
      const options = { merge: true, blind: false };
      const kept = () =>
        keyType === "secret" ? body : validators.keepStored(withoutPrivate(body, details), current, options);
      return collect(details, { set: {}, unset: [] }, () => validators.patch(kept()));
    },
    view: (doc, keyType) => validators.strip(doc, { isSecretKey: keyType === "secret" }),
  };
}
