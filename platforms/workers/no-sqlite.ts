/** Stands in for @libsql/client in Worker bundles: Workers have no disk, so the embedded store runs in memory. */
export function createClient(): never {
  throw new Error("The on-disk embedded store is not available on Workers: set MONGODB_URI");
}
