import type { Logger } from "../deps";
import type { Mailer } from "./types";

/** The development mailer: writes each mail to the log instead of sending it. */
export function createConsoleMailer(log: Logger): Mailer {
  return {
    kind: "console",
    async send(mail) {
      log.info("mail (console provider: not sent)", {
        projectId: mail.projectId,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
      });
    },
  };
}
