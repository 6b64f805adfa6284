import { type Mail, MailError, type Mailer } from "./types.js";

/** Resend's send endpoint; `/batch` after it sends up to 100 mails in one request. */
export const RESEND_ENDPOINT = "https://api.resend.com/emails";
/**
 * A provider that does not answer within this long has failed: well inside the 10 s a function may
 * run on Lambda and Vercel, so an app mail request still answers (and gives back its allowance).
 */
const TIMEOUT_MS = 5_000;

/** Sends through Resend's HTTP API with fetch (every runtime). `endpoint` and `fetch` are for tests. */
export function createResendMailer(options: {
  apiKey: string;
  from: string;
  endpoint?: string;
  fetch?: typeof fetch;
}): Mailer {
  const send = options.fetch ?? fetch;
  const endpoint = options.endpoint ?? RESEND_ENDPOINT;
  const message = (mail: Mail) => ({
    from: options.from,
    to: [mail.to],
    subject: mail.subject,
    ...(mail.text ? { text: mail.text } : {}),
    ...(mail.html ? { html: mail.html } : {}),
  });
  const post = async (url: string, body: unknown) => {
    let response: Response;
    try {
      response = await send(url, {
        method: "POST",
        headers: { authorization: `Bearer ${options.apiKey}`, "content-type": "application/json" },
        body: JSON.stringify(body),
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
  };
  return {
    kind: "resend",
    send: (mail) => post(endpoint, message(mail)),
    // One request for all (Resend allows 2 requests a second per account, shared by every project).
    sendBatch: (mails) => post(`${endpoint}/batch`, mails.map(message)),
  };
}
