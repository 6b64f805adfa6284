/**
 * POST /api/mail/send (urBackend's `mail.send`, not in API.md): the app's own mail, sent from the
 * server's sender with the secret key. Each recipient gets a mail of their own, all handed to the
 * provider in one batch; every mail counts against the project's monthly allowance
 * (shared/mail/allowance.ts). Templates are not offered.
 */
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../../shared/app.js";
import { emailSchema } from "../../shared/auth/bodies.js";
import { ApiError } from "../../shared/errors.js";
import { ok, parseWith } from "../../shared/http.js";
import { reserveMails } from "../../shared/mail/allowance.js";
import { assertSafeBody } from "../../shared/sanitize.js";
import type { AuthRuntime } from "./context.js";
import { readObject } from "./inputs.js";

/** Recipients of one request (Resend's limit for one mail). */
export const MAX_RECIPIENTS = 50;
/** Characters of a text or html body. */
const MAX_CONTENT = 256 * 1024;

const TEMPLATES = "templates are not supported: send subject with text or html";
/** Fields of urBackend's payload (or its SDK's examples) that Edgeback does not take, and why. */
const UNSUPPORTED: Record<string, string> = {
  templateId: TEMPLATES,
  templateName: TEMPLATES,
  variables: TEMPLATES,
  from: "the sender is the server's (MAIL_FROM)",
  cc: "not supported: list every recipient in to (each gets a mail of their own)",
  bcc: "not supported: list every recipient in to (each gets a mail of their own)",
};

const sendMailSchema = z
  .strictObject({
    to: z
      .union([emailSchema, z.array(emailSchema).min(1).max(MAX_RECIPIENTS)])
      .transform((to) => [...new Set(Array.isArray(to) ? to : [to])]),
    subject: z
      .string()
      .trim()
      .min(1)
      .max(998)
      .refine((s) => !/\p{Cc}/u.test(s), "must be one line without control characters"),
    text: z.string().max(MAX_CONTENT).optional(),
    html: z.string().max(MAX_CONTENT).optional(),
  })
  .refine((mail) => Boolean(mail.text || mail.html), { path: ["text"], message: "give text, html or both" });

export function mailRoutes(rt: AuthRuntime): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();

  routes.post("/send", async (c) => {
    const { project, keyType } = c.get("principal");
    if (keyType !== "secret") throw new ApiError("WRITE_BLOCKED", "Sending mail needs the secret key");
    const body = await readObject(c);
    assertSafeBody(body);
    const unsupported = Object.keys(body).filter((key) => Object.hasOwn(UNSUPPORTED, key));
    if (unsupported.length > 0) {
      const details = unsupported.map((path) => ({ path, message: UNSUPPORTED[path] as string }));
      throw new ApiError("VALIDATION_FAILED", undefined, { details });
    }
    const { to, subject, text, html } = parseWith(sendMailSchema, body);

    const reservation = await reserveMails(rt.deps, project, to.length);
    const mails = to.map((address) => ({ projectId: project.id, to: address, subject, text: text ?? "", html }));
    try {
      await rt.deps.mailer.sendBatch(mails);
    } catch (error) {
      rt.deps.log.error("mail failed", { projectId: project.id, purpose: "app", error });
      await reservation.giveBack(to.length);
      throw new ApiError("SERVICE_UNAVAILABLE", "The mail provider did not accept the mail; nothing was counted");
    }
    rt.deps.usage.count(project.id, "mails", to.length);
    const data = { id: null, provider: "default", monthlyUsage: reservation.used, monthlyLimit: reservation.limit };
    return ok(c, data, 200, "Mail sent");
  });

  return routes;
}
