import { MailError, type Mailer } from "./types";

/** Resend's send endpoint. */
export const RESEND_ENDPOINT = "https://api.resend.com/emails";
/** A provider that does not answer within this long has failed. */
const TIMEOUT_MS = 10_000;

/** Sends through Resend's HTTP API with fetch (every runtime). `endpoint` and `fetch` are for tests. */
export function createResendMailer(options: {
  apiKey: string;
  from: string;
  endpoint?: string;
  fetch?: typeof fetch;
}): Mailer {
  const send = options.fetch ?? fetch;
  const endpoint = options.endpoint ?? RESEND_ENDPOINT;
  return {
    kind: "resend",
    async send(mail) {
      let response: Response;
      try {
        response = await send(endpoint, {
          method: "POST",
          headers: { authorization: `Bearer ${options.apiKey}`, "content-type": "application/json" },
          body: JSON.stringify({
            from: options.from,
            to: [mail.to],
            subject: mail.subject,
            ...(mail.text ? { text: mail.text } : {}),
            ...(mail.html ? { html: mail.html } : {}),
          }),
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
      } catch (error) {
        throw new MailError("Resend could not be reached", { cause: error });
      }
      if (!response.ok) {
        const detail = (await response.text().catch(() => "")).slice(0, 200);
        throw new MailError(`Resend answered ${response.status}: ${detail}`);
      }
      await response.body?.cancel();
    },
  };
}
