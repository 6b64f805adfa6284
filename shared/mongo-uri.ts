import { MongoClient } from "mongodb";

/** Why the driver refuses a URI, in words of ours: the driver's own message can quote the password. */
export const DRIVER_REFUSES_URI =
  "is not a URI MongoDB's driver takes (percent-encode reserved characters such as @ : / in the user name and password)";

/** The driver's reading of a URI (parsing connects nothing); undefined when the driver refuses it. */
export function driverOptions(uri: string): MongoClient["options"] | undefined {
  // An `@` left unencoded in the password: the driver takes the rest of it for the host, and its
  // errors then quote that ("getaddrinfo ENOTFOUND <the rest of the password>").
  if (/^[^:]+:\/\/[^/?#]*@[^/?#]*@/.test(uri)) return undefined;
  // Nor a space in the user name or password (unencoded): a log line could not tell where the URI's
  // credentials begin, to leave them out.
  if (/^[^:]+:\/\/[^/?#@]*\s[^/?#@]*@/.test(uri)) return undefined;
  try {
    return new MongoClient(uri).options;
  } catch {
    return undefined;
  }
}
