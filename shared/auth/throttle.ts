/**
 * Per-email login throttling (API.md §6): at most `max` password checks per email in a 15-minute
 * window, counted for every email (registered or not) BEFORE the check, with one atomic increment,
 * so parallel guesses cannot slip past the limit. A successful login clears the count.
 */
import { ApiError } from "../errors.js";
import { newId } from "../ids.js";
import { DuplicateKeyError } from "../store/types.js";
import { LOGIN_WINDOW_MS } from "./settings.js";
import type { AuthCollections } from "./store.js";

type Cols = Pick<AuthCollections, "loginAttempts">;

/** Counts one password check for `email`; over `max` in the window → 429 RATE_LIMITED with Retry-After. */
export async function countLoginAttempt(cols: Cols, email: string, input: { now: number; max: number }) {
  const { now, max } = input;
  const cutoff = now - LOGIN_WINDOW_MS;
  let doc = await cols.loginAttempts.updateOne({ email, windowStart: { $gt: cutoff } }, { $inc: { count: 1 } });
  if (!doc) {
    doc = await cols.loginAttempts.updateOne(
      { email, windowStart: { $lte: cutoff } },
      { $set: { count: 1, windowStart: now } },
    );
  }
  if (!doc) {
    await cols.loginAttempts.deleteMany({ windowStart: { $lte: cutoff } });
    try {
      doc = await cols.loginAttempts.insertOne({ _id: newId(now), email, count: 1, windowStart: now });
    } catch (error) {
      if (!(error instanceof DuplicateKeyError)) throw error;
      // Someone started the window a moment ago: count into it.
      doc = await cols.loginAttempts.updateOne({ email }, { $inc: { count: 1 } });
    }
  }
  if (doc && (doc.count as number) > max) {
    const retryAfter = Math.max(1, Math.ceil(((doc.windowStart as number) + LOGIN_WINDOW_MS - now) / 1000));
    throw new ApiError("RATE_LIMITED", "Too many login attempts; try again later", {
      headers: { "retry-after": String(retryAfter) },
    });
  }
}

/** Clears the count of an email after a successful login. */
export async function clearLoginAttempts(cols: Cols, email: string): Promise<void> {
  await cols.loginAttempts.deleteOne({ email });
}
