// The AVX2 copy of the CPU's compute-bound loops (native/cpu/isa.h): chosen
// at run time, bit-identical to the x86-64 baseline copy, and linked so that
// baseline code never runs an AVX2 instruction.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { backends, buildInfo } from '../../lib';
import { runSeed } from '../helpers';

const root = path.resolve(__dirname, '..', '..');
const SEED = runSeed();

/** Runs test/isa-fixture.ts in a child with ANTLER_CPU_ISA set as given (undefined: unset). */
function fixture(isa: string | undefined): { cpuIsa: string; digests: Record<string, string> } {
  const env = { ...process.env };
  if (isa === undefined) delete env.ANTLER_CPU_ISA;
  else env.ANTLER_CPU_ISA = isa;
  const r = spawnSync(process.execPath, ['-r', path.join(root, 'test', 'ts-register.js'), path.join(root, 'test', 'isa-fixture.ts'), String(SEED)], {
    cwd: root, env, encoding: 'utf8', timeout: 180_000, maxBuffer: 1 << 26,
  });
  if (r.status !== 0) throw new Error(`isa-fixture.ts (ANTLER_CPU_ISA=${isa}) failed: ${r.error ?? ''}${r.stderr}`);
  return JSON.parse(r.stdout);
}

describe(`CPU loops: the AVX2 copy (seed ${SEED})`, () => {
  const cpu = backends().cpu;

  test('backends().cpu.isa is the copy in use: AVX2 where supported, the baseline with ANTLER_CPU_ISA=baseline', () => {
    expect(['avx2', 'baseline']).toContain(cpu.isa);
    if (process.env.ANTLER_CPU_ISA !== 'baseline') expect(cpu.isa).toBe(cpu.avx2Supported ? 'avx2' : 'baseline');
    if (process.arch !== 'x64' || !/^g\+\+/.test(buildInfo().compiler)) expect(cpu.avx2Supported).toBe(false);
  });

  // Skipped, with the reason in its name, on a CPU (or build) without the AVX2 copy.
  (cpu.avx2Supported ? test : test.skip)(
    `the AVX2 and baseline copies give the same bytes for the unary, softmax, cross-entropy, layer-norm and embedding kernels, every op of the registry and the SRU, GRU, LSTM and RNN modules, forward and backward, float32 and float64${cpu.avx2Supported ? '' : ' (no AVX2 copy here)'}`,
    () => {
      const avx2 = fixture(undefined), base = fixture('baseline');
      expect(avx2.cpuIsa).toBe('avx2');
      expect(base.cpuIsa).toBe('baseline');
      const names = Object.keys(base.digests);
      expect(names.length).toBeGreaterThan(500);
      expect(Object.keys(avx2.digests)).toEqual(names);
      expect(names.filter((n) => avx2.digests[n] !== base.digests[n])).toEqual([]);
    },
    240_000,
  );

  // The wrappers' objects, where this checkout built them (not for an installed prebuilt binary).
  const buildDir = path.dirname(path.dirname(buildInfo().path));
  const wrappers = fs.readdirSync(path.join(root, 'native', 'cpu')).filter((f) => f.endsWith('_avx2.cpp')).map((f) => f.replace(/\.cpp$/, '')).sort();
  const objectName = (o: string) => path.basename(o).replace(/\.(cpp\.)?o$/, '');
  // Objects of this checkout's wrappers only (a build directory may keep those of removed ones).
  const objects = (function find(dir: string, depth: number): string[] {
    if (depth > 8 || !fs.existsSync(dir)) return [];
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? find(path.join(dir, e.name), depth + 1) : /_avx2\.(cpp\.)?o$/.test(e.name) ? [path.join(dir, e.name)] : []);
  })(buildDir, 0).filter((o) => wrappers.includes(objectName(o)));
  const tools = spawnSync('objdump', ['--version']).status === 0 && spawnSync('nm', ['--version']).status === 0;
  const checkable = cpu.avx2Supported && objects.length > 0 && tools;

  (checkable ? test : test.skip)(
    `no function of the AVX2 objects that the linker may share with baseline code (weak: inline functions, templates) uses an instruction beyond x86-64, and their only global functions are the isa_avx2 entry points${checkable ? '' : ' (objects or binutils not found)'}`,
    () => {
      expect(objects.map(objectName).sort()).toEqual(wrappers);
      expect(wrappers).toEqual(['cells_avx2', 'grid_sample_avx2', 'rows_avx2', 'sru_avx2', 'unary_avx2']);
      const beyondBaseline = /^\s*[0-9a-f]+:\s+(v[a-z0-9]+|popcnt|lzcnt|tzcnt|andn|bextr|shlx|shrx|sarx|pdep|pext|rorx|mulx|crc32)\b/;
      for (const obj of objects) {
        const symbols = spawnSync('nm', ['--defined-only', '-P', obj], { encoding: 'utf8' }).stdout.trim().split('\n').map((l) => l.split(' '));
        const weak = new Set(symbols.filter(([, type]) => type === 'W' || type === 'V' || type === 'u').map(([name]) => name));
        const globals = symbols.filter(([, type]) => type === 'T').map(([name]) => name);
        expect({ obj, globals: globals.filter((name) => !name.includes('8isa_avx2')) }).toEqual({ obj, globals: [] });
        expect(globals.length).toBeGreaterThan(0);
        const bad = new Set<string>();
        let current = '';
        for (const line of spawnSync('objdump', ['-d', '--no-show-raw-insn', obj], { encoding: 'utf8', maxBuffer: 1 << 28 }).stdout.split('\n')) {
          const head = /^[0-9a-f]+ <(.+)>:$/.exec(line);
          if (head) current = head[1];
          else if (weak.has(current) && beyondBaseline.test(line)) bad.add(current);
        }
        expect({ obj, weakFunctionsUsingAvx: [...bad] }).toEqual({ obj, weakFunctionsUsingAvx: [] });
      }
    },
  );
});
