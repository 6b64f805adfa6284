/** The property every model-based fuzz runs (data, auth, storage): one real app per command sequence. */
import fc from "fast-check";

export interface ModelRun<M extends object, R> {
  open(): Promise<R>;
  model(real: R): M;
  /** Steps both sides take before the commands (a sign-up the commands rely on). */
  before?(model: M, real: R): Promise<void>;
  /** Compares the real app with the model once the commands ran. */
  check(model: M, real: R): Promise<void>;
  close(real: R): Promise<void>;
}

/** Runs `numRuns` command sequences, each on a freshly opened real app and its model, checked after. */
export function runAgainstModel<M extends object, R>(
  commands: fc.Arbitrary<Iterable<fc.AsyncCommand<M, R>>>,
  numRuns: number,
  run: ModelRun<M, R>,
): Promise<void> {
  const property = fc.asyncProperty(commands, async (cmds) => {
    const real = await run.open();
    const model = run.model(real);
    try {
      await run.before?.(model, real);
      await fc.asyncModelRun(() => ({ model, real }), cmds);
      await run.check(model, real);
    } finally {
      await run.close(real);
    }
  });
  // A failure prints its seed: FC_SEED=<seed> replays it (with `-t` naming its test).
  const replay = process.env.FC_SEED ? { seed: Number(process.env.FC_SEED) } : {};
  return fc.assert(property, { numRuns, ...replay });
}
