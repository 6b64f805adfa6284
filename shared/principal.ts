/** Who is calling: the project an API key belongs to, and which kind of key it is. */
import type { SocialProvider } from "./settings.js";

export type KeyType = "publishable" | "secret";

/** Project settings (API.md §9); every group optional, merged deeply on PATCH. */
export type ProjectSettings = Record<string, unknown>;

/** A project as the request path sees it: resolved from a key, secrets already opened. */
export interface ResolvedProject {
  id: string;
  name: string;
  allowedOrigins: string[];
  settings: ProjectSettings;
  /** The per-project HS256 secret for end-user access tokens (plaintext, in memory only). */
  jwtSecret: string;
  /**
   * The per-project key of its one-time codes' hashes and of its Idempotency-Key ids (each under a
   * label of its own): the first jwtSecret, kept when that is renewed.
   */
  codeSecret: string;
  /** The project's own MongoDB URI (bring your own database), opened. */
  databaseUri: string | undefined;
  /** The social sign-in providers' OAuth client secrets, opened. */
  socialSecrets?: Partial<Record<SocialProvider, string>>;
}

/**
 * Names the database a project's data is in (the project and its own URI, if any), for what an
 * instance keeps per database: a project moved to another database starts afresh (in memory only:
 * it holds the URI).
 */
export const databaseKey = (project: ResolvedProject) => `${project.id}/${project.databaseUri ?? ""}`;

/** The caller of a project-facing request. */
export interface Principal {
  project: ResolvedProject;
  keyType: KeyType;
}
