#!/usr/bin/env node
// `npm run check:node`: npm scripts run under the project's own Node (the `node` devDependency puts
// its binary first on the PATH of every npm script), whatever Node runs npm itself.
const wanted = 24;
const major = Number(process.versions.node.split(".")[0]);
if (major !== wanted) {
  console.error(`npm scripts run under Node ${process.version}, not ${wanted}: run npm ci (the node devDependency)`);
  process.exit(1);
}
console.log(`ok   npm scripts run under Node ${process.version}`);
