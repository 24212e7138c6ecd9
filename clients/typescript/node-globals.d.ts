// The two Node globals the examples use, so the client needs no @types/node.
declare const process: {
  env: Record<string, string | undefined>;
  argv: string[];
  exit(code?: number): never;
};
