import type { Deps } from "../../shared/deps.js";
import { readJson } from "../../shared/http.js";
import { authorize } from "../../shared/rules.js";
import type { Operation } from "../../shared/schema/definition.js";
import type { Epoch } from "../../shared/write-fence.js";
import { type Ctx, materialize, resolveTarget, type Target } from "./target.js";

/** A data write inside its collection's write fence: its target, the owner its rule confines it to, its prepared body. */
export interface EnteredWrite<T> {
  target: Target;
  ownerId: string | null;
  prepared: T;
  /** What to leave the fence with (`deps.collections.fence.leave`) once the write is done. */
  epoch: Epoch;
}

/**
 * Resolves a data write's target, authorizes it, reads its body and prepares it, then enters the
 * collection's write fence (shared/write-fence.ts). The body is read before, so a slow client never
 * holds a definition change up. When a change of the collection began since the target was resolved,
 * the write waits for it and is resolved, authorized and prepared again by the definition it left:
 * 404 when the collection went (a write held back by its deletion does not create it again). A
 * missing collection (an sk insert, `createIfMissing`) is created once the body passed.
 */
export async function enterWrite<T>(
  deps: Deps,
  c: Ctx,
  operation: Operation,
  prepare: (target: Target, body: unknown) => T,
  options: { createIfMissing?: boolean; readsBody?: boolean } = {},
): Promise<EnteredWrite<T>> {
  let target = await resolveTarget(deps, c, { createIfMissing: options.createIfMissing === true });
  let ownerId = authorize(target.caller, target.def, operation);
  const body = options.readsBody === false ? undefined : await readJson(c);
  let prepared = prepare(target, body);
  if (target.provisional) {
    target = await materialize(deps, c, target);
    ownerId = authorize(target.caller, target.def, operation);
    prepared = prepare(target, body);
  }
  const { fence } = deps.collections;
  const { project } = c.get("principal");
  for (;;) {
    const epoch = fence.enter(target.stamp, project, target.def.name);
    if (epoch) return { target, ownerId, prepared, epoch };
    await fence.settled(project, target.def.name);
    target = await resolveTarget(deps, c);
    ownerId = authorize(target.caller, target.def, operation);
    prepared = prepare(target, body);
  }
}
