#!/usr/bin/env node
// The riposte CLI. Riposte is TypeScript run by Node 24's type stripping, so it needs Node 24 or later:
// npm scripts (npm start, npm run riposte -- ...) and npx use the project's pinned Node 24.
const major = Number(process.versions.node.split(".")[0]);
if (major < 24) {
  process.stderr.write(
    `riposte needs Node.js 24 or later, this is ${process.version}: run it through npm (npm run riposte -- <args>) or npx riposte, which use the project's Node 24\n`,
  );
  process.exit(1);
}
await import("../services/cli/main.ts");
