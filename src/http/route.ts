/** An OpenAPI operation object (the document's `paths.<path>.<method>`). */
export type Operation = Record<string, unknown> & { operationId: string };

/**
 * One endpoint, described once: app.ts registers it, answers 405 for its paths' other methods, and
 * the OpenAPI document (src/docs/openapi.ts) is built from the same list (src/routes/api-routes.ts).
 */
export interface ApiRoute {
  method: "get" | "post" | "put" | "delete";
  /** Hono path patterns (`:id`); the first is the main one, the others are the vendor's older paths. */
  paths: readonly string[];
  /** From `createFactory<AppEnv>().createHandlers(...)`, which keeps each handler's validated types. */
  handlers: readonly unknown[];
  operation: Operation;
  /** Named JSON schemas the operation refers to (`#/components/schemas/<name>`). */
  schemas?: Record<string, Record<string, unknown>>;
}
