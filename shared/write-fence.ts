import { databaseKey, type ResolvedProject } from "./principal.js";

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
 * waits for every write that entered before it began, whatever its collection.
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

/** Creates an instance's write fence (one per collection registry). */
export function writeFence(): WriteFence {
  let stamp = 0;
  let current: Epoch = { inside: 0 };
  /** Epochs before the current one that still have writes inside. */
  const draining = new Set<Epoch>();
  /** The collections whose definition is changing, and when that is done. */
  const held = new Map<string, Promise<void>>();

  const drained = (epoch: Epoch) =>
    new Promise<void>((resolve) => {
      const before = epoch.drained;
      epoch.drained = () => {
        before?.();
        resolve();
      };
    });

  return {
    get stamp() {
      return stamp;
    },
    get busy() {
      return held.size > 0;
    },
    enter(since, project, name) {
      if (since !== stamp || (held.size > 0 && held.has(collectionKey(project, name)))) return null;
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
    settled: async (project, name) => held.get(collectionKey(project, name)),
    async hold(project, name, change) {
      const key = collectionKey(project, name);
      let done!: () => void;
      held.set(key, new Promise((resolve) => (done = resolve)));
      stamp++;
      if (current.inside > 0) draining.add(current);
      current = { inside: 0 };
      try {
        await Promise.all([...draining].map(drained));
        return await change();
      } finally {
        held.delete(key);
        done();
      }
    },
  };
}
