// Preloaded into the local server by server.test.ts. The shutdown grace (10 s) lasts 300 ms, so the
// test need not wait 10 s for a request to be cut; and a request body that fails (its connection
// cut) fails its reader CUT_HANDLER_MS (200) later, as if the handler's cleanup were slow to start:
// a handler still running after its connection is gone. Other timers and reads are untouched.
const realSetTimeout = globalThis.setTimeout;
globalThis.setTimeout = (callback, ms, ...args) => realSetTimeout(callback, ms === 10_000 ? 300 : ms, ...args);

const realRead = ReadableStreamDefaultReader.prototype.read;
ReadableStreamDefaultReader.prototype.read = function read(...args) {
  return realRead.apply(this, args).catch(async (error) => {
    await new Promise((resolve) => realSetTimeout(resolve, Number(process.env.CUT_HANDLER_MS ?? 200)));
    throw error;
  });
};
