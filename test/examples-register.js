// `node -r ./test/examples-register.js examples/x.ts ...` runs an example from
// its TypeScript source against the library's sources: the examples import
// '../dist/index' as a program depending on antler would, and this sends that
// import to lib/index.ts (transpiled by ts-register.js), so the example tests
// exercise the code under test rather than a dist/ that may be stale.
'use strict';
require('./ts-register');
const Module = require('node:module');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');
const lib = path.join(root, 'lib');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  if (parent && parent.filename && request.startsWith('.')) {
    const target = path.resolve(path.dirname(parent.filename), request);
    if (target === dist || target.startsWith(dist + path.sep)) return resolve.call(this, path.join(lib, path.relative(dist, target)) + '.ts', parent, ...rest);
  }
  return resolve.call(this, request, parent, ...rest);
};
