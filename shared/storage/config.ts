import type { S3Config } from "./s3.js";

/** The values S3_FORCE_PATH_STYLE accepts (any case). */
const BOOLEANS = new Map([
  ["true", true],
  ["1", true],
  ["yes", true],
  ["false", false],
  ["0", false],
  ["no", false],
]);

/** Every variable loadS3Config reads. */
export const S3_VARIABLES: readonly string[] = [
  "S3_BUCKET",
  "S3_REGION",
  "S3_ENDPOINT",
  "S3_ACCESS_KEY_ID",
  "S3_SECRET_ACCESS_KEY",
  "S3_FORCE_PATH_STYLE",
];

/**
 * S3_BUCKET, S3_REGION, S3_ENDPOINT, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, S3_FORCE_PATH_STYLE.
 * With S3_ENDPOINT (R2, MinIO) the region defaults to `auto`; without it the bucket is on AWS, whose
 * endpoint names the region, so S3_REGION is required.
 */
export function loadS3Config(env: Record<string, string | undefined>): {
  s3: S3Config | undefined;
  problems: string[];
} {
  const value = (name: string) => env[name]?.trim() || undefined;
  const bucket = value("S3_BUCKET");
  if (!bucket) return { s3: undefined, problems: [] };
  const problems: string[] = [];
  const accessKeyId = value("S3_ACCESS_KEY_ID");
  const secretAccessKey = value("S3_SECRET_ACCESS_KEY");
  for (const [name, present] of [
    ["S3_ACCESS_KEY_ID", accessKeyId],
    ["S3_SECRET_ACCESS_KEY", secretAccessKey],
  ] as const) {
    if (!present) problems.push(`${name}: required when S3_BUCKET is set`);
  }
  const endpoint = value("S3_ENDPOINT");
  if (endpoint && !/^https?:\/\/\S+$/.test(endpoint)) problems.push("S3_ENDPOINT: must be an http(s) URL");
  const region = value("S3_REGION") ?? (endpoint ? "auto" : undefined);
  if (!region) {
    problems.push("S3_REGION: required when S3_BUCKET is set without S3_ENDPOINT (AWS S3, e.g. us-east-1)");
  } else if (!endpoint && region.toLowerCase() === "auto") {
    problems.push("S3_REGION: auto needs S3_ENDPOINT (R2); AWS S3 needs its region, e.g. us-east-1");
  }
  const pathStyle = value("S3_FORCE_PATH_STYLE");
  const forcePathStyle = pathStyle === undefined ? false : BOOLEANS.get(pathStyle.toLowerCase());
  if (forcePathStyle === undefined) problems.push("S3_FORCE_PATH_STYLE: must be true or false (or 1/0, yes/no)");
  const s3: S3Config = {
    bucket,
    region: region ?? "",
    endpoint,
    accessKeyId: accessKeyId ?? "",
    secretAccessKey: secretAccessKey ?? "",
    forcePathStyle: forcePathStyle ?? false,
  };
  return { s3: problems.length === 0 ? s3 : undefined, problems };
}
