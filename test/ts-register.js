// `node -r ./test/ts-register.js lib/cli.ts ...` runs the TypeScript sources
// directly (transpiled per file, no type check), so CLI tests spawn the code
// under test rather than a dist/ that may be stale.
'use strict';
const fs = require('node:fs');
const ts = require('typescript');

require.extensions['.ts'] = (module, filename) => {
  const { outputText } = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
    fileName: filename,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, sourceMap: false },
  });
  module._compile(outputText, filename);
};
