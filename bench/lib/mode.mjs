// The bench's sizes: the full run (`npm run bench`, whose budgets gate a release) or the quick one
// (`npm run bench:quick`: every scenario once, tiny, budgets reported but not enforced, so CI proves
// the bench still runs). Each size can be set by its environment variable.
export const QUICK = process.env.BENCH_QUICK === "1";

/** The size `name` (an environment variable) gives, else the full or the quick default. */
export const size = (name, full, quick) => Number(process.env[name] ?? (QUICK ? quick : full));
