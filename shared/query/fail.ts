/** The one error the query parser throws: 400 INVALID_QUERY naming the parameter. */
import { ApiError } from "../errors.js";

const shorten = (text: string) => (text.length > 80 ? `${text.slice(0, 77)}...` : text);

/** A 400 INVALID_QUERY whose message and details name the offending parameter. */
export function invalidQuery(param: string, message: string): ApiError {
  const name = shorten(param);
  return new ApiError("INVALID_QUERY", `Invalid query parameter "${name}": ${message}`, {
    details: [{ path: name, message }],
  });
}
