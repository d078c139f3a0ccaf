/**
 * The DEER benchmark's tables and its BENCHMARKS.md rewrite (lib/bench-deer.ts):
 * speedups are sequential time / mode time from rows of the same run, missing
 * times say why, and a run replaces only its own device's block.
 */
import { autoSummary, DeerBenchRow, deerSpeedupMarkdown, isAntlerCheckout, replaceDeerBlock } from '../../lib/bench-deer';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const row = (n: number, T: number, pass: 'fwd' | 'fwd+grad', impl: string, ms: number, extra: Partial<DeerBenchRow> = {}): DeerBenchRow => ({
  suite: 'deer', case: `n=${n} T=${T} ${pass}`, device: 'cpu', impl, ms, n, T, batch: 16, pass, status: Number.isFinite(ms) ? 'ok' : 'OOM', ...extra,
});

describe('bench deer tables', () => {
  const rows = [
    row(1, 1000, 'fwd', 'sequential', 12), row(1, 1000, 'fwd', 'deer', 0.1), row(1, 1000, 'fwd', 'quasi', 4),
    row(1, 1000, 'fwd+grad', 'sequential', 30), row(1, 1000, 'fwd+grad', 'deer', NaN), row(1, 1000, 'fwd+grad', 'quasi', 60),
    row(1, 1000, 'fwd', 'auto', 0.11, { mode: 'deer' }), row(1, 1000, 'fwd+grad', 'auto', 31, { mode: 'sequential' }),
  ];

  test("speedup table: the paper's shape, sequential / mode, OOM where there is no time", () => {
    expect(deerSpeedupMarkdown(rows, 'deer').split('\n')).toEqual([
      '| n \\ T | 1k |', '|---|---|', '| forward 1 | 120× |', '| fwd+grad 1 | OOM |',
    ]);
    expect(deerSpeedupMarkdown(rows, 'quasi').split('\n').slice(2)).toEqual(['| forward 1 | 3.0× |', '| fwd+grad 1 | 0.50× |']);
  });

  test("auto's choices are judged against the fastest mode of the same cell", () => {
    // fwd: auto chose deer, the fastest; fwd+grad: chose sequential, the fastest with a time.
    expect(autoSummary(rows)).toBe('auto chose deer 1×, sequential 1×; its choice was the fastest of sequential/deer/quasi (within 10%) in 2 of 2 measurements.');
  });

  test('BENCHMARKS.md: a new section goes before ## GPU; a rerun replaces only its own block', () => {
    const doc = '# Benchmarks\n\n## SRU\n\ntext\n\n## GPU\n\nnone yet\n';
    const once = replaceDeerBlock(doc, 'cpu', '### CPU: first');
    expect(once.indexOf('## DEER')).toBeGreaterThan(once.indexOf('## SRU'));
    expect(once.indexOf('## DEER')).toBeLessThan(once.indexOf('## GPU'));
    expect(once).toContain('<!-- deer:cpu -->\n### CPU: first\n<!-- /deer:cpu -->');
    const twice = replaceDeerBlock(replaceDeerBlock(once, 'gpu', '### GPU: H200'), 'cpu', '### CPU: second');
    expect(twice).not.toContain('first');
    expect(twice).toContain('### CPU: second');
    expect(twice).toContain('### GPU: H200');
    expect(twice.endsWith('## GPU\n\nnone yet\n')).toBe(true);
    expect(twice.match(/## DEER/g)).toHaveLength(1);
  });

  test("a full run rewrites BENCHMARKS.md only in antler's own checkout, not in a user's project that has one", () => {
    expect(isAntlerCheckout(path.join(__dirname, '..', '..'))).toBe(true);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'antler-bench-'));
    try {
      fs.writeFileSync(path.join(dir, 'BENCHMARKS.md'), '# Benchmarks of my web app\n');
      expect(isAntlerCheckout(dir)).toBe(false);
      fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'my-app' }));
      expect(isAntlerCheckout(dir)).toBe(false);
      fs.writeFileSync(path.join(dir, 'package.json'), '{ not json');
      expect(isAntlerCheckout(dir)).toBe(false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
