/**
 * Checks of an OpenAPI document for the openapi tests: the document is valid OpenAPI 3.1
 * (@apidevtools/swagger-parser), and a real answer or request body fits the schema the document
 * gives it (ajv, JSON Schema 2020-12 as OpenAPI 3.1 uses it; formats are descriptions here, not checked).
 */
import SwaggerParser from "@apidevtools/swagger-parser";
import { Ajv2020 } from "ajv/dist/2020.js";

type Doc = Record<string, unknown>;

/** The document's problems as the validator reports them, or "" when it is valid OpenAPI 3.1. */
export async function openApiProblems(doc: Doc): Promise<string> {
  // The parser dereferences what it is given: it gets a copy.
  return SwaggerParser.validate(structuredClone(doc) as never).then(
    () => "",
    (error: unknown) => String(error),
  );
}

/** JSON pointer escaping of one segment. */
const segment = (key: string) => key.replaceAll("~", "~0").replaceAll("/", "~1");

function docValidator(doc: Doc) {
  const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
  ajv.addSchema(doc, "doc");
  return ajv;
}

/**
 * A checker of request bodies against the document: `check(path, method, body)` gives ajv's errors
 * for the operation's JSON request body schema, or null when the body fits.
 */
export function bodyChecker(doc: Doc) {
  const ajv = docValidator(doc);
  return (path: string, method: string, body: unknown) => {
    const pointer = ["paths", path, method, "requestBody", "content", "application/json", "schema"].map(segment);
    const validate = ajv.compile({ $ref: `doc#/${pointer.join("/")}` });
    return validate(body) ? null : validate.errors;
  };
}

/**
 * A checker of answers against the document: `check(path, method, status, body)` gives ajv's errors
 * for the answer's schema (the status's, else `default`), or null when the body fits.
 */
export function answerChecker(doc: Doc) {
  const ajv = docValidator(doc);
  return (path: string, method: string, status: number, body: unknown) => {
    const responses = (doc.paths as Record<string, Record<string, { responses: Record<string, unknown> }>>)[path]?.[
      method
    ]?.responses;
    if (!responses) throw new Error(`no ${method} ${path} in the document`);
    const code = String(status) in responses ? String(status) : "default";
    const pointer = ["paths", path, method, "responses", code].map(segment).join("/");
    const schema =
      code === "default"
        ? { $ref: "doc#/components/schemas/api.Error" }
        : {
            $ref: `doc#/${pointer}/content/application~1json/schema`,
          };
    const validate = ajv.compile(schema);
    return validate(body) ? null : validate.errors;
  };
}
