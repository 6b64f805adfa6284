/** fast-check commands over the auth operations. */
import fc from "fast-check";
import { doConcurrent } from "./concurrent.js";
import type { Real } from "./harness.js";
import type { Model } from "./model.js";
import { checkCounter, judge, resolve, type Spec, send, settleMails } from "./ops.js";
import { compareState, snapshot } from "./state.js";

type Command = fc.AsyncCommand<Model, Real>;
const label = (name: string, ...args: unknown[]) => `${name}(${args.map((a) => JSON.stringify(a)).join(", ")})`;
function command(printed: string, run: (m: Model, r: Real) => Promise<void>): Command {
  return { check: () => true, run, toString: () => printed };
}

const e = fc.oneof(
  { weight: 5, arbitrary: fc.constant(0) },
  { weight: 3, arbitrary: fc.constant(1) },
  { weight: 1, arbitrary: fc.constant(2) },
);
const h = fc.nat({ max: 63 });
const pw = fc.integer({ min: 0, max: 2 });
const code = fc.constantFrom<"right" | "wrong" | "stale">("right", "right", "right", "wrong", "stale");

export const specArb: fc.Arbitrary<Spec> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      k: fc.constant("signup" as const),
      e,
      pw: fc.oneof({ weight: 9, arbitrary: pw }, { weight: 1, arbitrary: fc.constant(-1) }),
      shout: fc.boolean(),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      k: fc.constant("login" as const),
      e,
      pw: fc.oneof(
        { weight: 3, arbitrary: fc.constant("right" as const) },
        { weight: 3, arbitrary: fc.constant("wrong" as const) },
        { weight: 1, arbitrary: pw },
      ),
      shout: fc.boolean(),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      k: fc.constant("refresh" as const),
      h,
      which: fc.constantFrom("current", "current", "current", "current", "previous", "previous", "garbage"),
      via: fc.constantFrom("header", "body", "cookie"),
    }) as fc.Arbitrary<Spec>,
  },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant("logout" as const),
      h,
      which: fc.constantFrom("current", "previous", "none"),
      bearer: fc.boolean(),
    }) as fc.Arbitrary<Spec>,
  },
  {
    weight: 3,
    arbitrary: fc.record({
      k: fc.constant("me" as const),
      h,
      access: fc.constantFrom("latest", "latest", "first"),
    }) as fc.Arbitrary<Spec>,
  },
  {
    weight: 1,
    arbitrary: fc.record({ k: fc.constant("profile" as const), h, name: fc.constantFrom("Ann", "Bo", null) }),
  },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("changePw" as const), h, right: fc.boolean(), pw }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant("requestReset" as const), e, shout: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant("reset" as const), e, code, pw }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("resend" as const), e }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant("verify" as const), e, code }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("sessions" as const), h }) },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant("revoke" as const),
      h,
      target: fc.constantFrom("self", "other", "foreign", "unknown"),
    }) as fc.Arbitrary<Spec>,
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("delete" as const), e, stale: fc.boolean() }) },
);

async function runOne(m: Model, r: Real, spec: Spec) {
  const op = resolve(m, spec);
  judge(m, r, op, await send(r, op));
  settleMails(m, r);
  await checkCounter(m, r);
  compareState(m, r, await snapshot(r));
}

const single = specArb.map((s) => command(label(s.k, s), (m, r) => runOne(m, r, s)));

const advance = fc
  .oneof(
    { weight: 6, arbitrary: fc.constantFrom(1_000, 5_000, 9_000, 11_000) },
    { weight: 4, arbitrary: fc.constantFrom(61_000, 5 * 60_000) },
    { weight: 3, arbitrary: fc.constantFrom(10 * 60_000, 16 * 60_000) },
    { weight: 1, arbitrary: fc.constantFrom(3_600_000, 12 * 3_600_000, 7 * 24 * 3_600_000 + 1) },
  )
  .map((ms) =>
    command(label("advance", ms), async (m, r) => {
      r.clock.advance(ms);
      m.s.now += ms;
      r.trace.push(`-- advance ${ms} ms --`);
    }),
  );

/**
 * Groups no serial order can judge, left out: a signup and a resend for one email would leave two
 * codes in flight (which is current is not observable); a resend beside the right verification code
 * for one email may find the account unverified and mail a new code after the try verified it
 * (harmless: the account is verified either way, and a code for a verified account does nothing).
 */
const ambiguous = (specs: Spec[]) => {
  const emailsOf = (kind: Spec["k"], matches: (s: Spec) => boolean = () => true) =>
    new Set(specs.filter((s) => s.k === kind && matches(s)).map((s) => (s as { e: number }).e));
  const signups = emailsOf("signup");
  const verified = emailsOf("verify", (s) => (s as { code: string }).code === "right");
  return specs.some((s) => s.k === "resend" && (signups.has(s.e) || verified.has(s.e)));
};

const groupSpecs = fc
  .oneof(
    fc.array(specArb, { minLength: 2, maxLength: 4 }),
    fc.tuple(specArb, fc.integer({ min: 2, max: 4 })).map(([s, n]) => Array.from({ length: n }, () => s)),
  )
  .filter((specs) => !ambiguous(specs));

const group = groupSpecs.map((specs) =>
  command(label("concurrent", specs), async (m, r) => {
    const ops = specs.map((s) => resolve(m, s));
    await doConcurrent(m, r, ops);
    settleMails(m, r);
    await checkCounter(m, r);
    compareState(m, r, await snapshot(r));
  }),
);

/** One spec sent a few times in a row (budgets, throttles, rotation chains). */
const repeat = fc.tuple(specArb, fc.integer({ min: 2, max: 6 })).map(([s, n]) =>
  command(label("repeat", n, s), async (m, r) => {
    for (let i = 0; i < n; i++) await runOne(m, r, s);
  }),
);

/** Every run starts with ann signed up (and verified, and logged in). */
export async function prelude(m: Model, r: Real) {
  await runOne(m, r, { k: "signup", e: 0, pw: 0, shout: false });
  await runOne(m, r, { k: "verify", e: 0, code: "right" });
  await runOne(m, r, { k: "login", e: 0, pw: "right", shout: false });
}

export function commandsArb(concurrent: boolean, maxCommands: number) {
  const arbs = [single, single, single, single, single, single, single, single, repeat, advance, advance];
  if (concurrent) arbs.push(group, group, group, group);
  return fc.commands(arbs, { maxCommands, size: "max" });
}
