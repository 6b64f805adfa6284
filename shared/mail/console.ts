import type { Logger } from "../deps.js";
import { MailError, type Mailer } from "./types.js";

/** Why a production console mailer delivers nothing (the "mail failed" log line carries it). */
const NOT_DELIVERED =
  "Mail not delivered: no mail provider is configured (MAIL_PROVIDER is console, which sends nothing " +
  "and in production logs no codes; set MAIL_PROVIDER=resend with RESEND_API_KEY and MAIL_FROM)";

/**
 * The development mailer: writes each mail to the log instead of sending it. In production it never
 * writes a mail (its one-time code would sit in the platform's logs): each send fails with a MailError
 * naming MAIL_PROVIDER, which the sender logs without the mail.
 */
export function createConsoleMailer(log: Logger, options: { production?: boolean } = {}): Mailer {
  const mailer: Mailer = {
    kind: "console",
    async sendBatch(mails) {
      for (const mail of mails) await mailer.send(mail);
    },
    async send(mail) {
      if (options.production) throw new MailError(NOT_DELIVERED);
      log.info("mail (console provider: not sent)", {
        projectId: mail.projectId,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        ...(mail.html ? { html: mail.html } : {}),
      });
    },
  };
  return mailer;
}
