// Rewrites a native/cuda/*.cu file into host C++ for the emulation in
// cuda_emu.h (compiled with test/emu/include first on the include path, whose
// cuda_runtime.h stands in for CUDA's): relative includes become absolute,
// every launch statement
//   kernel<<<grid, block, shared, stream>>>(args)
// becomes emu::launch(kernel, grid, block, shared, args), and an
// `extern __shared__` array becomes a pointer to the block's emulated shared
// memory (a macro). The kernel must be a name with optional template
// arguments; the rewrite fails loudly on anything it does not recognise.
// Usage: node transform.js native/cuda/scan.cu out.cpp
'use strict';
const fs = require('fs');
const path = require('path');

// Moves start past the switch labels, `else` and `if (…)` heads that an
// unbraced launch statement may follow.
function skipPrefixes(text, start, end) {
  for (;;) {
    const head = text.slice(start, end);
    const label = /^\s*(?:case [\w:]+|default)\s*:(?!:)|^\s*else\b/.exec(head);
    if (label) {
      start += label[0].length;
      continue;
    }
    const cond = /^\s*if\s*\(/.exec(head);
    if (!cond) return start;
    let i = start + cond[0].length;
    for (let depth = 1; depth > 0; i += 1) {
      if (i >= end) throw new Error('transform: unbalanced if (…) before a launch');
      if (text[i] === '(') depth += 1;
      else if (text[i] === ')') depth -= 1;
    }
    start = i;
  }
}

function transform(file, { launchesRequired = true } = {}) {
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
    return line;
  });
  // Launches, over the whole text (a kernel name may end one line and `<<<` start the next):
  //   KERNEL <<<CONFIG, STREAM>>>(   ->   ::emu::launch(KERNEL, CONFIG,
  // where KERNEL runs from the start of the statement (after the last ; { or }, and after any
  // case label, `else` or `if (…)` of an unbraced statement).
  let text = lines.join('\n');
  for (;;) {
    const at = text.indexOf('<<<');
    if (at < 0) break;
    const close = text.indexOf('>>>(', at);
    if (close < 0) throw new Error(`transform: a launch without >>>( in ${file}`);
    let start = at;
    while (start > 0 && !';{}'.includes(text[start - 1])) start -= 1;
    start = skipPrefixes(text, start, at);
    const kernel = text.slice(start, at).trim();
    if (!/^[\w:]+(<[\w:, ()]+>)?$/.test(kernel)) throw new Error(`transform: unrecognised kernel '${kernel}' in ${file}`);
    const config = text.slice(at + 3, close);
    const stream = config.lastIndexOf(',');
    if (stream < 0 || !config.slice(stream).includes('stream'))
      throw new Error(`transform: launch configuration without a stream last: <<<${config}>>> in ${file}`);
    const lead = text.slice(start, at).match(/^\s*/)[0];
    const rest = text.slice(close + 4);
    const sep = rest.trimStart().startsWith(')') ? '' : ', ';
    text = `${text.slice(0, start)}${lead}::emu::launch(${kernel}, ${config.slice(0, stream)}${sep}${rest}`;
    launches += 1;
  }
  if (launches === 0 && launchesRequired) throw new Error(`transform: no launch found in ${file}`);
  // The emulation first, so headers included before ops.cuh see its CUDA keywords.
  return [`#include "${path.join(emuDir, 'include', 'cuda_runtime.h')}"`, `#line 1 "${path.resolve(file)}"`, text].join('\n');
}

if (require.main === module) {
  const [src, out] = process.argv.slice(2);
  fs.writeFileSync(out, transform(src));
}
module.exports = { transform };
