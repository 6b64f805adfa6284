/**
 * The exclusion `$project` stage of MongoDB's aggregation (`{"a.b": 0}`), which mingo applies only one
 * array deep: a path is removed from every object under it, through arrays at any depth (`a: [[{b}]]`
 * too); other values stay. (Find projections do not reach into nested arrays, in MongoDB as in mingo.)
 */
import type { Doc } from "../types.js";

/** A path tree: `true` marks a removed field, a subtree a field some of whose fields are removed. */
type PathTree = Map<string, PathTree | true>;

function pathTree(paths: Iterable<string>): PathTree {
  const root: PathTree = new Map();
  for (const path of paths) {
    const segments = path.split(".");
    const last = segments.pop() as string;
    let node: PathTree | true = root;
    for (const segment of segments) {
      if (node === true) break;
      let child = node.get(segment);
      if (child === undefined) {
        child = new Map();
        node.set(segment, child);
      }
      node = child;
    }
    if (node !== true) node.set(last, true);
  }
  return root;
}

function without(value: unknown, tree: PathTree): unknown {
  if (Array.isArray(value)) return value.map((item) => without(item, tree));
  if (value === null || typeof value !== "object") return value;
  const kept: Array<[string, unknown]> = [];
  for (const [key, child] of Object.entries(value)) {
    const node = tree.get(key);
    if (node !== true) kept.push([key, node ? without(child, node) : child]);
  }
  return Object.fromEntries(kept);
}

/** Copies of the documents without the given dotted paths (the input is not changed). */
export function excludePaths(docs: readonly Doc[], paths: Iterable<string>): Doc[] {
  const tree = pathTree(paths);
  return docs.map((doc) => without(doc, tree) as Doc);
}

/** The paths of a `$project` stage that only excludes fields (every value 0 or false); else undefined. */
export function exclusionPaths(stage: Record<string, unknown> | undefined): string[] | undefined {
  const spec = stage && Object.keys(stage).length === 1 ? stage.$project : undefined;
  if (spec === null || typeof spec !== "object" || Array.isArray(spec)) return undefined;
  const entries = Object.entries(spec);
  return entries.length > 0 && entries.every(([, v]) => v === 0 || v === false) ? entries.map(([k]) => k) : undefined;
}
