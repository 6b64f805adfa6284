// Preloaded into the local server by server.test.ts: Resend answers after 1 s (an HTTPS round trip
// under load) and the mail is printed once received in full. Everything else goes to the real fetch.
const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init) => {
  if (!String(input).startsWith("https://api.resend.com/")) return realFetch(input, init);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  console.log(`DELIVERED ${JSON.parse(String(init?.body)).to}`);
  return new Response(JSON.stringify({ id: "mail_1" }), { status: 200 });
};
