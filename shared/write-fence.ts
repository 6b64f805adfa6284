import { databaseKey, type ResolvedProject } from "./principal.js";
import { waitAtMost } from "./wait-at-most.js";

/** One collection of a project's database, as the registry's cache, queue and fence key it. */
export const collectionKey = (project: ResolvedProject, name: string) => `${databaseKey(project)}/${name}`;

/** The data writes that entered the fence while it was current. */
export interface Epoch {
  inside: number;
  /** Set by the changes that wait for this epoch: called when its last write leaves. */
  drained?: () => void;
}

/**
 * Keeps the data writes of a collection and the changes of its definition apart, on one instance.
 * A write takes a stamp before it resolves the definition, enters with it once its body is read and
 * prepared, and leaves after its store write. A change (`hold`) waits for the writes inside to leave
 * and holds back new writes of its collection until it is done: a write that could not enter waits
 * for `settled`, then resolves the definition again. Writes are counted per epoch, not per
 * collection, so entering while no change is under way is a comparison and an increment; a change
 * waits for every write that entered before it began, whatever its collection. Each side waits for
 * the other at most its lease (WRITES_LEASE_MS, CHANGE_LEASE_MS), with a timer of its own pending:
 * on Workers a request cancelled mid-way never leaves or lets go (see waitAtMost).
 */
export interface WriteFence {
  /** Changes begun so far: taken before a write resolves its definition. */
  readonly stamp: number;
  /** Whether a change is under way (a definition read now may be about to change). */
  readonly busy: boolean;
  /** Enters a write resolved since `stamp`: its epoch, or null when a change of any collection began since or one of this collection is under way. */
  enter(stamp: number, project: ResolvedProject, name: string): Epoch | null;
  /** Leaves the fence (once per `enter` that returned an epoch). */
  leave(epoch: Epoch): void;
  /** When the change of this collection under way (if any) is done. */
  settled(project: ResolvedProject, name: string): Promise<void>;
  /** Runs a change of the collection's definition alone with its writes; changes of one collection must not overlap (run them in turn). */
  hold<T>(project: ResolvedProject, name: string, change: () => Promise<T>): Promise<T>;
}

/**
 * How long a change waits for the writes inside, and writes wait for a change of their collection:
 * past it the other is taken for cancelled (a request cancelled on Workers never leaves or lets go,
 * see waitAtMost) and no longer waited on. Writes are short store writes; a change may build an index.
 */
export const WRITES_LEASE_MS = 5_000;
export const CHANGE_LEASE_MS = 10_000;

interface Hold {
  done: Promise<void>;
  /** When the change is taken for cancelled (Date.now() time). */
  until: number;
}

/** Creates an instance's write fence (one per collection registry). */
export function writeFence(leases = { writes: WRITES_LEASE_MS, change: CHANGE_LEASE_MS }): WriteFence {
  let stamp = 0;
  let current: Epoch = { inside: 0 };
  /** Epochs before the current one that still have writes inside. */
  const draining = new Set<Epoch>();
  /** The collections whose definition is changing, and when that is done. */
  const held = new Map<string, Hold>();

  const drained = (epoch: Epoch) =>
    new Promise<void>((resolve) => {
      const before = epoch.drained;
      epoch.drained = () => {
        before?.();
        resolve();
      };
    });

  /** The change of this collection under way, if any; one past its lease is forgotten. */
  const holdOf = (key: string): Hold | undefined => {
    const hold = held.get(key);
    if (hold && hold.until <= Date.now()) held.delete(key);
    return held.get(key);
  };

  return {
    get stamp() {
      return stamp;
    },
    get busy() {
      for (const key of held.keys()) holdOf(key);
      return held.size > 0;
    },
    enter(since, project, name) {
      if (since !== stamp || (held.size > 0 && holdOf(collectionKey(project, name)))) return null;
      current.inside++;
      return current;
    },
    leave(epoch) {
      epoch.inside--;
      if (epoch.inside === 0 && epoch.drained) {
        draining.delete(epoch);
        epoch.drained();
      }
    },
    async settled(project, name) {
      const hold = holdOf(collectionKey(project, name));
      if (hold) await waitAtMost(hold.done, hold.until - Date.now());
    },
    async hold(project, name, change) {
      const key = collectionKey(project, name);
      let done!: () => void;
      const hold: Hold = { done: new Promise((resolve) => (done = resolve)), until: Date.now() + leases.change };
      held.set(key, hold);
      stamp++;
      if (current.inside > 0) draining.add(current);
      current = { inside: 0 };
      try {
        // Writes still inside past the lease were cancelled (or are stuck): not waited on again.
        if (!(await waitAtMost(Promise.all([...draining].map(drained)), leases.writes))) draining.clear();
        hold.until = Date.now() + leases.change; // the change's own lease starts now
        return await change();
      } finally {
        // A write that resolved its definition while the change ran (from the cache) resolves it again.
        stamp++;
        if (held.get(key) === hold) held.delete(key);
        done();
      }
    },
  };
}
