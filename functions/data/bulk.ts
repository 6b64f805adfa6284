import { MAX_BULK } from "../../shared/documents.js";
import { ApiError, type ErrorDetail } from "../../shared/errors.js";
import { budgetSpent } from "../../shared/schema/problem-budget.js";
import { withinBudgets } from "../../shared/schema/validator.js";
import { DuplicateKeyError } from "../../shared/store/types.js";
import { duplicateDetails, duplicateMessage } from "./duplicate.js";

type Prepared = Record<string, unknown>;

/** A bulk body's items: an array of 1 to MAX_BULK, else 400. */
export function bulkItems(body: unknown): unknown[] {
  if (!Array.isArray(body) || body.length < 1 || body.length > MAX_BULK) {
    throw new ApiError("VALIDATION_FAILED", `Body must be an array of 1 to ${MAX_BULK} documents`, {
      details: [{ path: "", message: `Expected an array of 1 to ${MAX_BULK} documents` }],
    });
  }
  return body;
}

/**
 * Prepares every item of a bulk body (`bulkItems`), all or nothing, within one body's budgets (validator.ts).
 * Every failing item is reported (until a budget is spent), each detail carrying its `index` and a
 * path prefixed with it (`3.title`); the error's code is that of the first failing item (VALIDATION_FAILED,
 * INVALID_FIELD_NAME, ...). Any other failure (a denial, 403; an item too large, 413) stops at once:
 * it is the answer unless items before it failed already.
 */
export function prepareBulk(items: unknown[], prepare: (item: unknown) => Prepared): Prepared[] {
  const details: ErrorDetail[] = [];
  let first: ApiError | undefined;
  const rejected = () =>
    new ApiError((first as ApiError).code, "Bulk insert rejected; nothing was inserted", { details });
  const docs: Prepared[] = [];
  withinBudgets(() => {
    for (const [index, item] of items.entries()) {
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

/**
 * A unique index refused a bulk insert (nothing was stored): 409 DUPLICATE_VALUE naming the item the
 * store refused — the later of two items holding the same values in the batch, or the first item
 * that clashes with a stored document.
 */
export function bulkDuplicate(error: unknown): never {
  if (!(error instanceof DuplicateKeyError)) throw error;
  throw new ApiError("DUPLICATE_VALUE", `${duplicateMessage(error.fields)}; nothing was inserted`, {
    details: duplicateDetails(error.fields, error.index),
  });
}
