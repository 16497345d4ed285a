#!/usr/bin/env node
// The `berth` command. The TypeScript sources compile to dist/ (`npm run build`).
import('../dist/cli/main.js').then((m) => m.main(process.argv.slice(2))).catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist')) {
    console.error('berth: dist/ is missing; run `npm run build` first (npm start does it for you)');
  } else {
    console.error(err);
  }
  process.exitCode = 1;
});
