/** The report behind `antler doctor`. */
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import { backends, cpuLoopsLabel } from './device';
import { buildInfo } from './info';
import { asDependency, openmpWait } from './native';

/** The first line of `cmd --version` for each tool a build uses, or null where it is missing. */
function buildTools(): Record<string, string | null> {
  const first = (cmd: string, args: string[], pick = /\S/): string | null => {
    const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 10_000 });
    return r.status === 0 ? (r.stdout || r.stderr).split('\n').find((l) => pick.test(l))?.trim() ?? cmd : null;
  };
  return {
    'cmake': first('cmake', ['--version']),
    'nvcc': first('nvcc', ['--version'], /release/),
    'c++': first(process.env.CXX ?? 'c++', ['--version']),
    'python3': first('python3', ['--version']),
    'make': first('make', ['--version']),
  };
}

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
    // What a rebuild would find.
    const tools = buildTools();
    json.buildTools = tools;
    lines.push('  build tools (what a rebuild would use):');
    for (const [name, found] of Object.entries(tools)) lines.push(`    ${name.padEnd(12)}${found ?? 'not found'}`);
    return { text: lines.join('\n'), json, ok: false };
  }
  const b = backends();
  json.build = info;
  json.backends = b;
  lines.push(`  antler          ${info.version}, built with ${info.buildSystem} (${info.compiler}), N-API ${info.napiVersion}`);
  lines.push(`  addon           ${info.path} (${info.source})`);
  lines.push(`  CPU backend     OpenMP ${info.openmp ? `on, ${b.cpu.threads} thread${b.cpu.threads === 1 ? '' : 's'}` : 'off (1 thread)'}`);
  lines.push(`  CPU loops       ${
    b.cpu.isa === 'avx2'
      ? 'AVX2 (ANTLER_CPU_ISA=baseline runs the x86-64 baseline copy)'
      : b.cpu.avx2Supported
        ? 'x86-64 baseline, chosen by ANTLER_CPU_ISA=baseline (unset it for AVX2)'
        : `${cpuLoopsLabel('baseline')} (this CPU or build has no AVX2 copy)`
  }`);
  if (info.openmp) {
    const wait = Object.entries(openmpWait.settings).map(([k, v]) => `${k}=${v}`).join(' ');
    const whose = { antler: "antler's default; set OMP_WAIT_POLICY or GOMP_SPINCOUNT to choose", user: 'set by you', unapplied: "the runtime's own: antler was first loaded in a worker thread, which cannot set its default; set GOMP_SPINCOUNT=10000" };
    lines.push(`  OpenMP wait     ${wait || 'unset'} (${whose[openmpWait.chosenBy]})`);
    json.openmpWait = openmpWait;
  }
  const gyp = /gyp/i.test(info.buildSystem);
  const rebuildCmd = asDependency() ? 'npm rebuild antler' : 'npm run build';
  lines.push(`  BLAS            ${info.blas}`);
  const c = b.cuda;
  if (!c.compiled) {
    const reason = gyp
      ? `node-gyp builds are CPU only; with cmake >= 3.21 and nvcc on the PATH, ${rebuildCmd} builds the CUDA backend`
      : (c.reason ?? '').replace('npm run build', rebuildCmd);
    lines.push(`  CUDA backend    not compiled in: ${reason}`);
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
