/** shared/in-flight.ts: the count a project's deletion waits on (HTTP cases: admin-delete-in-flight.test.ts). */
import { expect, it } from "vitest";
import { inFlightRequests } from "../shared/in-flight.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

it("a second deletion waiting when the first one's lease ends goes on then, as the requests are taken for cancelled", async () => {
  const inFlight = inFlightRequests(300);
  expect(inFlight.enter("p")).toBe(true);
  const first = inFlight.close("p"); // its lease ends at about 300 ms
  await sleep(200);
  const started = Date.now();
  const second = inFlight.close("p"); // its own would end at about 500 ms
  expect(await first).toBe(false);
  expect(await second).toBe(true);
  expect(Date.now() - started).toBeLessThan(250);
  inFlight.leave("p"); // the request ends after all: nothing is waiting, nothing breaks
  expect(await inFlight.close("p")).toBe(true);
  expect(inFlight.enter("p")).toBe(false);
});
