/**
 * Field definitions → zod schemas for document values (API.md §4.1 types and constraints).
 * Shared by the definition parser (checking `default` and `enum`) and the document validators.
 */
import { z } from "zod";
import type { ErrorDetail } from "../errors.js";
import { linearRegExp, RegexWorkError } from "../linear-regexp.js";
import { isPlainObject } from "../sanitize.js";
import type { FieldDef, ItemDef } from "./definition.js";
import { budgetSpent, charge } from "./problem-budget.js";

/** How nested objects treat undeclared keys: the collection's `additionalFields`. */
export interface ValueOptions {
  additionalFields: boolean;
}

const REF_ID = /^[0-9a-fA-F]{24}$/;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?([Zz]|[+-]\d{2}:?\d{2}))?$/;

/** An ISO string for epoch ms, only for years 0000–9999 (so stored dates sort as strings). */
function isoOf(ms: number): string | undefined {
  if (!Number.isFinite(ms)) return undefined;
  const date = new Date(ms);
  const year = date.getUTCFullYear();
  return Number.isNaN(year) || year < 0 || year > 9999 ? undefined : date.toISOString();
}

/**
 * A date as an ISO 8601 string (a date, or a date-time with `Z` or an offset) or epoch ms → the
 * normalized ISO string (UTC, milliseconds); undefined for anything else, impossible calendar
 * dates (2024-02-30) and years outside 0000–9999.
 */
export function toIsoDate(value: unknown): string | undefined {
  if (typeof value === "number") return isoOf(value);
  if (typeof value !== "string") return undefined;
  const m = ISO_DATE.exec(value);
  if (!m) return undefined;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const calendar = new Date(0);
  calendar.setUTCFullYear(year, month - 1, day);
  if (calendar.getUTCMonth() !== month - 1 || calendar.getUTCDate() !== day) return undefined;
  if (m[4] !== undefined && (Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6] ?? 0) > 59)) return undefined;
  return isoOf(Date.parse(value.toUpperCase()));
}

/** Whether a value matches a field's pattern; a value too long to match in time does not (see linear-regexp.ts). */
function matchesWithin(pattern: RegExp, value: string): boolean {
  try {
    return pattern.test(value);
  } catch (error) {
    if (error instanceof RegexWorkError) return false;
    throw error;
  }
}

/** Compiles a field's `pattern` (Unicode mode, matched in linear time); undefined when it does not compile. */
export function compilePattern(pattern: string): RegExp | undefined {
  try {
    return linearRegExp(pattern, "u");
  } catch {
    return undefined;
  }
}

const dateSchema = z.unknown().transform((value, ctx) => {
  const iso = toIsoDate(value);
  if (iso !== undefined) return iso;
  ctx.addIssue({ code: "custom", message: "Expected an ISO 8601 date (with Z or an offset) or epoch milliseconds" });
  return z.NEVER;
});

const refSchema = z
  .string()
  .regex(REF_ID, "Expected a 24-character hex id")
  .transform((id) => id.toLowerCase());

function withLength<S extends z.ZodString | z.ZodEmail | z.ZodURL>(schema: S, spec: ItemDef): S {
  let out = schema;
  if (spec.minLength !== undefined) out = out.min(spec.minLength) as S;
  if (spec.maxLength !== undefined) out = out.max(spec.maxLength) as S;
  const pattern = spec.pattern === undefined ? undefined : compilePattern(spec.pattern);
  if (pattern) out = out.refine((value) => matchesWithin(pattern, value), `Must match pattern ${spec.pattern}`) as S;
  return out;
}

function withRange(schema: z.ZodNumber, spec: ItemDef): z.ZodNumber {
  let out = schema;
  if (spec.min !== undefined) out = out.min(spec.min);
  if (spec.max !== undefined) out = out.max(spec.max);
  return out;
}

function baseSchema(spec: ItemDef, opts: ValueOptions): z.ZodType {
  switch (spec.type) {
    case "string":
      return withLength(z.string(), spec);
    case "email":
      return withLength(z.email("Invalid email address"), spec);
    case "url":
      return withLength(z.url({ protocol: /^https?$/, error: "Invalid URL (http or https only)" }), spec);
    case "number":
      return withRange(z.number(), spec);
    case "integer":
      return withRange(z.int(), spec);
    case "boolean":
      return z.boolean();
    case "date":
      return dateSchema;
    case "ref":
      return refSchema;
    case "array":
      return arraySchema(spec, opts);
    case "object":
      return spec.fields && spec.fields.length > 0
        ? objectSchema(spec.fields, opts)
        : z.custom<Record<string, unknown>>(isPlainObject, "Invalid input: expected object");
    default:
      return z.unknown();
  }
}

/** The zod schema for a present (non-null) value of a field: type, constraints, `enum`, nested fields, items. */
export function valueSchema(spec: ItemDef, opts: ValueOptions): z.ZodType {
  const base = baseSchema(spec, opts);
  const allowed = spec.enum;
  if (!allowed) return base;
  const shown = allowed.slice(0, 10).map((value) => JSON.stringify(value));
  const message = `Must be one of ${shown.join(", ")}${allowed.length > 10 ? ", …" : ""}`;
  const refined = base.refine((value) => allowed.includes(value), message);
  if (charging.has(base)) charging.add(refined);
  return refined;
}

/** The schemas built here that charge their own problems (objects and arrays): their parents do not again. */
const charging = new WeakSet<z.ZodType>();

/** A schema's check of a value, its problems charged unless the schema charged them itself. */
export function check<T extends z.ZodType>(schema: T, value: unknown): z.ZodSafeParseResult<z.output<T>> {
  const result = schema.safeParse(value);
  if (!result.success && !charging.has(schema)) charge(result.error.issues.length);
  return result;
}

type Context = z.core.$RefinementCtx;

/** Reports a checked value's problems under `prefix`; whether checking must stop. */
function carry(ctx: Context, issues: readonly z.core.$ZodIssue[], prefix: PropertyKey[]): boolean {
  for (const { message, path } of issues) ctx.addIssue({ code: "custom", message, path: [...prefix, ...path] });
  return budgetSpent();
}

/** A problem this level finds itself (an unknown key, a missing field); whether checking must stop. */
function problem(ctx: Context, message: string, path: PropertyKey[]): boolean {
  ctx.addIssue({ code: "custom", message, path });
  return charge(1);
}

function charges<T extends z.ZodType>(schema: T): T {
  charging.add(schema);
  return schema;
}

/** An array's length (zod's messages), then its items one by one, stopping when the budget is spent. */
function arraySchema(spec: ItemDef, opts: ValueOptions): z.ZodType {
  let shape = z.array(z.unknown());
  if (spec.minLength !== undefined) shape = shape.min(spec.minLength);
  if (spec.maxLength !== undefined) shape = shape.max(spec.maxLength);
  const item = spec.items ? valueSchema(spec.items, opts) : undefined;
  return charges(
    z.unknown().transform((value, ctx) => {
      const fits =
        Array.isArray(value) &&
        value.length >= (spec.minLength ?? 0) &&
        value.length <= (spec.maxLength ?? Number.POSITIVE_INFINITY);
      if (!fits) {
        const whole = check(shape, value);
        if (!whole.success) carry(ctx, whole.error.issues, []);
        return z.NEVER;
      }
      if (!item) return [...value];
      const out: unknown[] = [];
      let failed = false;
      for (const [i, entry] of value.entries()) {
        const result = check(item, entry);
        if (result.success) out.push(result.data);
        else {
          failed = true;
          if (carry(ctx, result.error.issues, [i])) break;
        }
      }
      return failed ? z.NEVER : out;
    }),
  );
}

/** Sets an own property; `__proto__` too (an assignment would set the prototype instead). */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__")
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/**
 * A declared field's value meaning "none, and no default either": what a publishable-key PUT or PATCH
 * keeps of a readonly value the stored object lacks (kept-values.ts). Never stored: the object is rebuilt.
 */
export const NO_VALUE: unique symbol = Symbol("no value");

/**
 * The zod schema for an object with declared fields. A missing or `null` field gets its default
 * (deep-cloned, then validated) or is left out; a required one without default → "Required";
 * NO_VALUE is left out.
 * Undeclared keys are kept when `additionalFields`, else each is reported as "Unknown field".
 */
export function objectSchema(fields: readonly FieldDef[], opts: ValueOptions): z.ZodType<Record<string, unknown>> {
  const compiled = fields.map((field) => ({ field, schema: valueSchema(field, opts) }));
  const declared = new Set(fields.map((field) => field.name));
  return charges(
    z.unknown().transform((value, ctx) => {
      if (!isPlainObject(value)) {
        problem(ctx, "Invalid input: expected object", []);
        return z.NEVER;
      }
      const out: Record<string, unknown> = {};
      for (const { field, schema } of compiled) {
        let input = Object.hasOwn(value, field.name) ? value[field.name] : undefined;
        if (input === NO_VALUE) continue;
        if (input === undefined || input === null) {
          if (field.default === undefined || field.default === null) {
            if (field.required && problem(ctx, "Required", [field.name])) return z.NEVER;
            continue;
          }
          // Each document gets its own copy of an object or array default; a scalar is its own copy.
          input = typeof field.default === "object" ? structuredClone(field.default) : field.default;
        }
        const result = check(schema, input);
        if (result.success) setOwn(out, field.name, result.data);
        else if (carry(ctx, result.error.issues, [field.name])) return z.NEVER;
      }
      for (const key of Object.keys(value)) {
        if (declared.has(key)) continue;
        if (opts.additionalFields) setOwn(out, key, value[key]);
        else if (problem(ctx, "Unknown field", [key])) return z.NEVER;
      }
      return out;
    }),
  );
}

/** zod issues → `details` entries in dot notation (array indexes as numbers); one entry per unknown key. */
export function issueDetails(issues: readonly z.core.$ZodIssue[]): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  for (const issue of issues) {
    const path = issue.path.map(String);
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) details.push({ path: [...path, key].join("."), message: "Unknown property" });
    } else {
      details.push({ path: path.join("."), message: issue.message });
    }
  }
  return details;
}
