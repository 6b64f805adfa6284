/**
 * Runs the tasks given the same key one after another, on this instance (a promise chain per key);
 * tasks of other keys run alongside. Across instances a task still needs its own guard (a
 * conditional write): this only spares one instance's tasks from racing each other.
 */
export function oneAtATime(): <T>(key: string, task: () => Promise<T>) => Promise<T> {
  const tails = new Map<string, Promise<unknown>>();
  return (key, task) => {
    const result = (tails.get(key) ?? Promise.resolve()).then(task, task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    tails.set(key, tail);
    void tail.then(() => {
      if (tails.get(key) === tail) tails.delete(key);
    });
    return result;
  };
}
