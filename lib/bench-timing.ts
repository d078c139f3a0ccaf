/** Timing shared by the benchmark suites: warm-up, then the median of synchronized repeats. */
import { synchronize } from './device';

export function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median wall time of fn in ms, waiting for the device after each run. */
export function timeIt(fn: () => void, device: string, repeats: number): number {
  fn();
  synchronize(device);
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = process.hrtime.bigint();
    fn();
    synchronize(device);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(times);
}

/** One measurement, as printed by `antler bench` and written to bench/results. */
export interface BenchRow {
  suite: string;
  case: string;
  device: string;
  impl: string;
  ms: number;
  gflops?: number;
}
