import type { Config } from "../config.js";
import type { Clock, Logger } from "../deps.js";
import { createConsoleMailer } from "./console.js";
import { createOutbox } from "./memory.js";
import { createResendMailer } from "./resend.js";
import type { Mailer } from "./types.js";

export type { Mail, Mailer, OutboxMail } from "./types.js";

/**
 * The mailer MAIL_PROVIDER names. `memory` only keeps mail; outside production every provider
 * also keeps the last mails per project, so the development outbox endpoint works with any of them.
 */
export function createMailer(config: Config, deps: { clock: Clock; log: Logger; fetch?: typeof fetch }): Mailer {
  const { provider, from, resendApiKey } = config.mail;
  const outbox = provider === "memory" || !config.production ? createOutbox(deps.clock) : undefined;
  const inner: Mailer | undefined =
    provider === "console"
      ? createConsoleMailer(deps.log, { production: config.production })
      : provider === "resend"
        ? createResendMailer({
            apiKey: resendApiKey ?? "",
            from: from ?? "",
            ...(deps.fetch ? { fetch: deps.fetch } : {}),
          })
        : undefined;
  if (!outbox) return inner as Mailer;
  return {
    kind: provider,
    async send(mail) {
      outbox.add(mail);
      await inner?.send(mail);
    },
    async sendBatch(mails) {
      for (const mail of mails) outbox.add(mail);
      await inner?.sendBatch(mails);
    },
    outbox: (projectId) => outbox.list(projectId),
  };
}
