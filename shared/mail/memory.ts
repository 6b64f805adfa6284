import type { Clock } from "../deps.js";
import type { Mail, OutboxMail } from "./types.js";

/** Mails kept per project (the newest ones). */
export const OUTBOX_SIZE = 50;
/** Projects kept at once; the one written longest ago goes first. */
const MAX_PROJECTS = 1000;

/** A bounded in-memory outbox: the last OUTBOX_SIZE mails per project. */
export interface Outbox {
  add(mail: Mail): void;
  list(projectId: string): OutboxMail[];
}

/** Creates an empty outbox stamped with `clock`. */
export function createOutbox(clock: Clock): Outbox {
  const byProject = new Map<string, OutboxMail[]>();
  return {
    add(mail) {
      const kept = byProject.get(mail.projectId) ?? [];
      byProject.delete(mail.projectId);
      while (byProject.size >= MAX_PROJECTS) byProject.delete(byProject.keys().next().value as string);
      const entry = {
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        html: mail.html ?? null,
        otp: mail.otp ?? null,
        sentAt: new Date(clock.now()).toISOString(),
      };
      byProject.set(mail.projectId, [entry, ...kept].slice(0, OUTBOX_SIZE));
    },
    list: (projectId) => [...(byProject.get(projectId) ?? [])],
  };
}
