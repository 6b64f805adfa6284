/** fast-check commands over the storage model's operations, and the arbitraries that generate them. */
import fc from "fast-check";
import { doCloseMidFlight, doConcurrent } from "./concurrent.js";
import { type Caller, type Real, type RealOptions, restart } from "./harness.js";
import type { Content, Kind, Model } from "./model.js";
import { type Abstract, doSerial, type FolderChoice } from "./ops.js";
import { checkState } from "./state.js";

type Command = fc.AsyncCommand<Model, Real>;

/** A command; its label is how a counterexample prints it. */
function command(printed: string, run: (m: Model, r: Real) => Promise<void>): Command {
  return { check: () => true, run, toString: () => printed };
}
const show = (a: unknown) => JSON.stringify(a);
const weighted = <T>(...choices: Array<[number, fc.Arbitrary<T>]>) =>
  fc.oneof(...choices.map(([weight, arbitrary]) => ({ weight, arbitrary })));

const anyCallerArb = weighted<Caller>(
  [4, fc.constant("sk")],
  [3, fc.constant("A")],
  [3, fc.constant("B")],
  [5, fc.constantFrom("guest", "badToken", "none", "Qsk", "Qpk")],
);

const TEXT_NAMES = [
  "notes",
  "notes",
  "notes",
  "a.txt",
  "../../up.txt",
  "日本語.txt",
  "résumé.txt",
  ".hidden",
  "a b.TXT",
];
const NAMES: Record<Kind, string> = {
  text: "",
  png: "p.png",
  fakepng: "p.png",
  html: "x.html",
  octetpng: "o.png",
  bin: "o.bin",
};
const kindArb = weighted<Kind>(
  [6, fc.constant("text")],
  [3, fc.constant("png")],
  [4, fc.constantFrom("fakepng", "html", "octetpng", "bin")],
);
const contentArbOf = (names: string[], kinds: fc.Arbitrary<Kind>): fc.Arbitrary<Content> =>
  fc
    .tuple(
      kinds,
      weighted([6, fc.integer({ min: 8, max: 30 })], [2, fc.integer({ min: 0, max: 60 })]),
      fc.nat(),
      fc.constantFrom(...names),
    )
    .map(([kind, size, seed, textName]) => ({ kind, size, seed, name: kind === "text" ? textName : NAMES[kind] }));

const collideArb = fc.constantFrom<FolderChoice>("collideReady", "collideReadyDeep", "collidePending", "collideGone");
const anyFolderArb = weighted<FolderChoice>(
  [8, fc.constant("none")],
  [2, fc.constantFrom("empty", "docs", "docs/sub", "x/y/z")],
  [1, fc.constantFrom("w/x/y/z", "users", "users/x", "a b", "../etc")],
  [6, collideArb],
);

const rangeArb = weighted(
  [6, fc.constant({})],
  [
    4,
    fc.constantFrom(
      ...["bytes=0-3", "bytes=2-", "bytes=-5", "bytes=5-2", "bytes=100-", "bytes=0-0", "bytes=-0"].map((header) => ({
        header,
      })),
      ...["bytes=0-1,3-4", "items=0-1", "bytes=3-1000", "bytes=-100"].map((header) => ({ header })),
      { header: "bytes=0-3", ifRange: true },
    ),
  ],
);

/**
 * The operations; `folders` biases them to the fs store's folder/file name collisions: the secret
 * key, names without a dot (a stored path that is a valid folder), colliding folders.
 */
function abstractArbOf(folders: boolean): fc.Arbitrary<Abstract> {
  const caller = folders ? weighted([8, fc.constant<Caller>("sk")], [1, anyCallerArb]) : anyCallerArb;
  const content = folders ? contentArbOf(["notes"], fc.constant("text")) : contentArbOf(TEXT_NAMES, kindArb);
  const folder = folders ? weighted([1, anyFolderArb], [3, collideArb]) : anyFolderArb;
  const pick = fc.nat();
  return weighted<Abstract>(
    [4, fc.record({ caller, content, folder }).map((a) => ({ kind: "upload", ...a }))],
    [
      3,
      fc
        .record({ route: fc.constantFrom("upload-url", "upload-request"), caller, content, folder })
        .map((a) => ({ kind: "presign", ...a })),
    ],
    [
      4,
      fc
        .record({
          pick,
          variant: weighted(
            [6, fc.constant("good" as const)],
            [1, fc.constantFrom("short", "long", "wrongType", "badMagic", "paramType")],
          ),
        })
        .map((a) => ({ kind: "put", ...a })),
    ],
    [
      2,
      fc
        .record({ caller, pick, size: fc.constantFrom("right", "right", "wrong") })
        .map((a) => ({ kind: "confirm", ...a })),
    ],
    [
      4,
      fc
        .record({ caller, pick, method: fc.constantFrom("GET", "GET", "HEAD"), range: rangeArb })
        .map((a) => ({ kind: "read", ...a })),
    ],
    [3, fc.record({ caller, pick }).map((a) => ({ kind: "delete", ...a }))],
  );
}

export type RunOptions = RealOptions & { concurrent?: boolean; folders?: boolean };

export function commandsArb(options: RunOptions, maxCommands: number) {
  const abstractArb = abstractArbOf(options.folders === true);
  const groupArb = fc.array(abstractArb, { minLength: 2, maxLength: 3 });
  const choices: Array<[number, fc.Arbitrary<Command>]> = [
    [20, abstractArb.map((a) => command(`op(${show(a)})`, (m, r) => doSerial(m, r, a)))],
    [2, abstractArb.map((a) => command(`releaseRefused(${show(a)})`, (m, r) => doSerial(m, r, a, true)))],
    [
      2,
      fc.constantFrom(1_000, 60_000, 901_000, 901_000).map((ms) =>
        command(`advance(${ms})`, async (m, r) => {
          r.clock.advance(ms);
          m.s.nowMs += ms;
          r.trace.push(`-- clock +${ms} ms --`);
        }),
      ),
    ],
    [
      1,
      fc.boolean().map((on) =>
        command(`setPublic(${on})`, async (m, r) => {
          await r.deps.projects.update(r.P.id, { settings: { storage: { public: on } } });
          m.s.isPublic = on;
          r.trace.push(`-- public: ${on} --`);
        }),
      ),
    ],
  ];
  if (options.onDisk) {
    const restarted = command("restart()", async (m, r) => {
      await restart(r);
      await checkState(m, r, "restart");
    });
    choices.push([1, fc.constant(restarted)]);
  }
  if (options.concurrent) {
    choices.push([5, groupArb.map((as) => command(`together(${show(as)})`, (m, r) => doConcurrent(m, r, as)))]);
    choices.push([
      2,
      groupArb.map((as) => command(`togetherReleaseRefused(${show(as)})`, (m, r) => doConcurrent(m, r, as, true))),
    ]);
    if (options.onDisk) {
      const closeArb = fc.tuple(fc.array(abstractArb, { minLength: 1, maxLength: 3 }), fc.integer({ min: 0, max: 12 }));
      choices.push([
        1,
        closeArb.map(([as, turns]) =>
          command(`closeMidFlight(${show(as)}, ${turns})`, (m, r) => doCloseMidFlight(m, r, as, turns)),
        ),
      ]);
    }
  }
  return fc.commands(
    choices.flatMap(([weight, arbitrary]) => Array.from({ length: weight }, () => arbitrary)),
    { maxCommands, size: "max" },
  );
}
