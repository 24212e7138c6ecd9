// What the Node-side global setup (test/hook-sink.mjs) provides to the tests.
declare module "vitest" {
  export interface ProvidedContext {
    /** Base URL of the local event-hook sink: GET /__received, POST /__fail?times=N. */
    hookSinkUrl: string;
  }
}

export {};
