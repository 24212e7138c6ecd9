import { Validator } from "@cfworker/json-schema";
import { buildOpenApiDocument } from "../src/docs/openapi";

/**
 * Every answer of the integration suite (test/helpers.ts `call`) is checked against the OpenAPI
 * document: its status must be documented for that operation, its body must match the schema of that
 * response, and the documented headers must be there. Paths the document does not describe (pages,
 * /openapi.json itself, unknown routes) are not checked.
 */
const document = buildOpenApiDocument();
type Operation = { responses: Record<string, { content?: Record<string, { schema: object }>; headers?: object }> };

const routes = Object.entries(document.paths).map(([template, item]) => ({
  pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}$`),
  item: item as Record<string, Operation>,
}));
const validators = new Map<object, Validator>();

function validatorFor(schema: object): Validator {
  let v = validators.get(schema);
  if (!v) {
    v = new Validator({ ...schema, components: document.components } as never, "2020-12", false);
    validators.set(schema, v);
  }
  return v;
}

export async function checkAgainstDocument(method: string, path: string, res: Response): Promise<void> {
  const route = routes.find((r) => r.pattern.test(path.split("?")[0]));
  const operation = route?.item[method.toLowerCase()];
  if (!operation) return;
  const where = `${method} ${path.split("?")[0]} answered ${res.status}`;
  const documented = operation.responses[String(res.status)];
  if (!documented) throw new Error(`${where}, a status the OpenAPI document does not list`);
  for (const [header, spec] of Object.entries(documented.headers ?? {})) {
    const name = (spec as { $ref?: string }).$ref?.split("/").at(-1) ?? header;
    const required = (document.components.headers as Record<string, { required?: boolean }>)[name]?.required;
    if (required && !res.headers.has(header)) throw new Error(`${where} without its required ${header} header`);
  }
  const schema = documented.content?.["application/json"]?.schema;
  if (!schema) return;
  const body = await res.clone().json();
  const result = validatorFor(schema).validate(body);
  if (!result.valid) {
    const detail = result.errors
      .slice(-3)
      .map((e) => `${e.instanceLocation}: ${e.error}`)
      .join("; ");
    throw new Error(`${where} with a body that does not match the OpenAPI document: ${detail}`);
  }
}
