// Rewrites a native/cuda/*.cu file into host C++ for the emulation in
// cuda_emu.h (compiled with test/emu/include first on the include path, whose
// cuda_runtime.h stands in for CUDA's): relative includes become absolute,
// every launch statement
//   kernel<<<grid, block, shared, stream>>>(args)
// becomes emu::launch(kernel, grid, block, shared, args), and an
// `extern __shared__` array becomes a pointer to the block's emulated shared
// memory (a macro). The launch must sit on one line up to its `>>>(`; the rewrite fails
// loudly on anything it does not recognise.
// Usage: node transform.js native/cuda/scan.cu out.cpp
'use strict';
const fs = require('fs');
const path = require('path');

function transform(file) {
  const dir = path.dirname(path.resolve(file));
  const emuDir = __dirname;
  let launches = 0;
  const lines = fs.readFileSync(file, 'utf8').split('\n').map((line) => {
    const inc = /^#include "([^"]+)"\s*$/.exec(line);
    if (inc) {
      return `#include "${path.resolve(dir, inc[1])}"`;
    }
    const shared = /^(\s*)extern __shared__ (?:__align__\(\d+\) )?([\w:]+(?: [\w:]+)*) (\w+)\[\];\s*$/.exec(line);
    // A macro, not a variable: the block's shared memory moves with every block (and a namespace-scope
    // variable would be initialised once, before any launch).
    if (shared) return `#define ${shared[3]} (reinterpret_cast<${shared[2]}*>(::emu::shared))`;
    if (line.includes('extern __shared__')) throw new Error(`transform: unrecognised shared declaration: ${line}`);
    if (line.includes('<<<')) {
      const m = /^(\s*)(.+?)<<<(.+?), ([^,]+?)>>>\((.*)$/.exec(line);
      if (!m) throw new Error(`transform: unrecognised launch: ${line}`);
      const [, indent, kernel, config, , rest] = m;
      launches += 1;
      // config is "grid, block, shared" (the stream dropped); rest continues the argument list.
      const close = rest.trim() === '' ? ',' : `, ${rest}`;
      return `${indent}::emu::launch(${kernel}, ${config}${close}`;
    }
    return line;
  });
  if (launches === 0) throw new Error(`transform: no launch found in ${file}`);
  // The emulation first, so headers included before ops.cuh see its CUDA keywords.
  return [`#include "${path.join(emuDir, 'include', 'cuda_runtime.h')}"`, `#line 1 "${path.resolve(file)}"`, ...lines].join('\n');
}

if (require.main === module) {
  const [src, out] = process.argv.slice(2);
  fs.writeFileSync(out, transform(src));
}
module.exports = { transform };
