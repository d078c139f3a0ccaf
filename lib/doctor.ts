/** The report behind `antler doctor`. */
import * as os from 'node:os';
import { backends } from './device';
import { buildInfo } from './info';
import { openmpWait } from './native';

export function doctorReport(): { text: string; json: Record<string, unknown>; ok: boolean } {
  const lines: string[] = [];
  const json: Record<string, unknown> = {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: os.cpus().length,
  };
  lines.push(`antler doctor`);
  lines.push(`  node            ${process.version} (N-API ${process.versions.napi}), ${process.platform}-${process.arch}, ${os.cpus().length} CPUs`);
  let info;
  try {
    info = buildInfo();
  } catch (e) {
    lines.push(`  addon           NOT LOADED`);
    lines.push(String((e as Error).message).replace(/^/gm, '    '));
    json.error = (e as Error).message;
    return { text: lines.join('\n'), json, ok: false };
  }
  const b = backends();
  json.build = info;
  json.backends = b;
  lines.push(`  antler          ${info.version}, built with ${info.buildSystem} (${info.compiler}), N-API ${info.napiVersion}`);
  lines.push(`  addon           ${info.path} (${info.source})`);
  lines.push(`  CPU backend     OpenMP ${info.openmp ? `on, ${b.cpu.threads} threads` : 'off (1 thread)'}`);
  if (info.openmp) {
    const wait = Object.entries(openmpWait.settings).map(([k, v]) => `${k}=${v}`).join(' ');
    lines.push(`  OpenMP wait     ${wait} (${openmpWait.chosenBy === 'antler' ? "antler's default; set OMP_WAIT_POLICY or GOMP_SPINCOUNT to choose" : 'set by you'})`);
    json.openmpWait = openmpWait;
  }
  lines.push(`  BLAS            ${info.blas}`);
  const c = b.cuda;
  if (!c.compiled) {
    lines.push(`  CUDA backend    not compiled in: ${c.reason}`);
  } else {
    const ver = (v?: number) => (v ? `${Math.floor(v / 1000)}.${(v % 1000) / 10}` : 'none');
    lines.push(`  CUDA backend    compiled for sm ${c.archs}; runtime ${ver(c.runtimeVersion)}, driver ${c.driverVersion ? ver(c.driverVersion) : 'not found'}`);
    if (!c.available) lines.push(`  CUDA status     unavailable: ${c.reason}`);
    for (const [i, d] of c.devices.entries())
      lines.push(`  cuda:${i}          ${d.name}, ${(d.memory / 2 ** 30).toFixed(1)} GiB, compute ${d.computeCapability}, ${d.multiprocessors} SMs`);
    if (c.available)
      lines.push(`  cuBLAS          ${c.cublas ? `loaded: ${c.cublasPath}` : `not found (${c.cublasPath}); matmul uses the built-in tiled kernel. Set ANTLER_CUBLAS=/path/to/libcublas.so.13`}`);
  }
  return { text: lines.join('\n'), json, ok: true };
}
