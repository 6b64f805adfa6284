import { MAX_BULK } from "../../shared/documents.js";
import { ApiError, type ErrorDetail } from "../../shared/errors.js";
import { budgetSpent } from "../../shared/schema/problem-budget.js";
import { withinBudgets } from "../../shared/schema/validator.js";
import { type Collection, DuplicateKeyError } from "../../shared/store/types.js";

type Prepared = Record<string, unknown>;

/**
 * Prepares every item of a bulk body, all or nothing, within one body's budgets (validator.ts).
 * Every failing item is reported (until a budget is spent), each detail carrying its `index` and a
 * path prefixed with it (`3.title`); the error's code is that of the first failing item (VALIDATION_FAILED,
 * INVALID_FIELD_NAME, ...). Any other failure (a denial, 403; an item too large, 413) stops at once:
 * it is the answer unless items before it failed already.
 */
export function prepareBulk(body: unknown, prepare: (item: unknown) => Prepared): Prepared[] {
  if (!Array.isArray(body) || body.length < 1 || body.length > MAX_BULK) {
    throw new ApiError("VALIDATION_FAILED", `Body must be an array of 1 to ${MAX_BULK} documents`, {
      details: [{ path: "", message: `Expected an array of 1 to ${MAX_BULK} documents` }],
    });
  }
  const details: ErrorDetail[] = [];
  let first: ApiError | undefined;
  const rejected = () =>
    new ApiError((first as ApiError).code, "Bulk insert rejected; nothing was inserted", { details });
  const docs: Prepared[] = [];
  withinBudgets(() => {
    for (const [index, item] of body.entries()) {
      try {
        docs.push(prepare(item));
      } catch (error) {
        if (!(error instanceof ApiError) || error.status >= 500) throw error;
        if (error.status !== 400) {
          if (first) throw rejected();
          const detail = { path: String(index), message: error.message, index };
          throw new ApiError(error.code, error.message, { details: [detail] });
        }
        first ??= error;
        for (const d of error.details ?? [{ path: "", message: error.message }]) {
          details.push({ ...d, path: d.path ? `${index}.${d.path}` : String(index), index });
        }
        if (budgetSpent()) break;
      }
    }
  });
  if (first) throw rejected();
  return docs;
}

const valueAt = (doc: Prepared, path: string): unknown =>
  path.split(".").reduce<unknown>((value, key) => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
    return Object.hasOwn(value, key) ? (value as Prepared)[key] : undefined;
  }, doc);

/**
 * A unique index refused a bulk insert (nothing was stored): 409 DUPLICATE_VALUE naming the item —
 * the later of two equal items in the batch, or the first item that clashes with a stored document.
 */
export async function bulkDuplicate(error: unknown, docs: Prepared[], collection: Collection): Promise<never> {
  if (!(error instanceof DuplicateKeyError)) throw error;
  const field = error.field;
  const values = docs.map((doc) => valueAt(doc, field));
  const seen = new Map<string, number>();
  let index = -1;
  values.forEach((value, i) => {
    if (value === undefined || index >= 0) return;
    const key = JSON.stringify(value);
    if (seen.has(key)) index = i;
    else seen.set(key, i);
  });
  if (index < 0) {
    const present = values.filter((value) => value !== undefined);
    const clash = present.length > 0 ? await collection.findOne({ [field]: { $in: present } }) : null;
    const held = clash ? JSON.stringify(valueAt(clash, field)) : undefined;
    index = held === undefined ? -1 : values.findIndex((value) => JSON.stringify(value) === held);
  }
  const details =
    index < 0
      ? [{ path: field, message: "must be unique" }]
      : [{ path: `${index}.${field}`, message: "must be unique", index }];
  throw new ApiError("DUPLICATE_VALUE", `A document with this ${field} already exists; nothing was inserted`, {
    details,
  });
}
