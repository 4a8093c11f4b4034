#!/usr/bin/env node
// The one `gatehouse` bin. The sources are TypeScript run by Node's own type stripping, which needs
// Node >= 22.19 (npm scripts use Node 24 from the `node` devDependency).
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  process.stderr.write(
    `gatehouse needs Node.js >= 22.19 (this is ${process.version}); ` +
      'run it through npm (`npm start`, `npx gatehouse`), which uses Node 24 from node_modules.\n',
  );
  process.exit(2);
}
const { main } = await import('./cli.ts');
process.exitCode = await main(process.argv.slice(2));
