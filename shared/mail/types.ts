/** The mailer port (API.md §6 "Mail"): one narrow interface, adapters `console`, `memory`, `resend`. */

/** One mail to one recipient, on behalf of a project: an OTP mail, or the app's own (POST /api/mail/send). */
export interface Mail {
  projectId: string;
  to: string;
  subject: string;
  /** The plain-text body; an app mail may have only `html` (then this is ""). */
  text: string;
  html?: string;
  /** The one-time code the mail carries: kept for the development outbox, never sent on its own. */
  otp?: string;
}

/** A mail as the development outbox shows it. */
export interface OutboxMail {
  to: string;
  subject: string;
  text: string;
  html: string | null;
  otp: string | null;
  sentAt: string;
}

/** Sends mail; `outbox` exists only where sent mail is kept (memory, and every provider outside production). */
export interface Mailer {
  readonly kind: "console" | "memory" | "resend";
  send(mail: Mail): Promise<void>;
  /** Sends several mails in one call to the provider (Resend's batch endpoint: all or none). */
  sendBatch(mails: Mail[]): Promise<void>;
  /** The last mails sent for a project, newest first. */
  outbox?(projectId: string): OutboxMail[];
}

/** Thrown by an adapter when the provider refuses or cannot be reached; never shown to clients. */
export class MailError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "MailError";
  }
}
