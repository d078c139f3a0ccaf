/** Devices and backends. */
import { fail } from './errors';
import { native, NativeBackends } from './native';
import { checkDevice, describe } from './validate';

let defaultDevice = 'cpu';

/** Which backends this build has and whether each can run here. */
export function backends(): NativeBackends {
  return native().backends();
}

/** The device used when an op's options name none ('cpu' unless set). */
export function getDefaultDevice(): string {
  return defaultDevice;
}

/**
 * Sets the default device ('cpu', 'cuda', 'cuda:N'). Throws CUDA_UNAVAILABLE
 * with the reason when CUDA cannot be used here.
 */
export function setDefaultDevice(device: string): void {
  const d = checkDevice(device, 'setDefaultDevice');
  if (d !== 'cpu') {
    const cuda = backends().cuda;
    if (!cuda.available) fail('CUDA_UNAVAILABLE', `setDefaultDevice: ${d} is not available: ${cuda.reason}`);
    const index = Number(d.slice(5));
    if (index >= cuda.devices.length)
      fail('INVALID_ARGUMENT', `setDefaultDevice: ${d} does not exist; this machine has ${cuda.devices.length} CUDA device(s)`);
  }
  defaultDevice = d;
}

/** Waits for all queued work on a device. */
export function synchronize(device = defaultDevice): void {
  native().synchronize(checkDevice(device, 'synchronize'));
}

/** Sets the number of CPU threads (OpenMP and BLAS). */
export function setNumThreads(n: number): void {
  native().setNumThreads(n);
}

const LINALG_LIBRARIES = ['default', 'lapack', 'builtin'] as const;
/** Which code the CPU linear-algebra ops run (see {@link preferredLinalgLibrary}). */
export type LinalgLibrary = (typeof LINALG_LIBRARIES)[number];

/**
 * Gets, and with an argument first sets, which code the CPU linear-algebra ops run on (like
 * torch.backends.cuda.preferred_linalg_library): 'default' uses LAPACK from the OpenBLAS opened at run time
 * for matrices large enough that it is faster (eigh, SVD, LU, Cholesky, QR and the triangular solves), and the
 * built-in batched kernels for small matrices and where there is no LAPACK; 'lapack' uses LAPACK at every size
 * (NOT_SUPPORTED where it is missing: see backends().cpu.lapack); 'builtin' never uses it. Results agree to
 * rounding; the built-in Jacobi eigh and SVD give small eigenvalues of graded matrices relative accuracy,
 * LAPACK's (as torch's) absolute accuracy. The setting is per process.
 */
export function preferredLinalgLibrary(library?: LinalgLibrary): LinalgLibrary {
  if (library !== undefined) {
    const code = (LINALG_LIBRARIES as readonly unknown[]).indexOf(library);
    if (code < 0)
      fail('INVALID_ARGUMENT', `preferredLinalgLibrary: library must be one of ${LINALG_LIBRARIES.map((l) => `'${l}'`).join(', ')}; got ${describe(library)}`);
    if (library === 'lapack' && !backends().cpu.lapack)
      fail('NOT_SUPPORTED', `preferredLinalgLibrary: 'lapack' needs LAPACK from an OpenBLAS opened at run time; this process has none (${backends().cpu.blas})`);
    return LINALG_LIBRARIES[native().linalgLibrary(code)];
  }
  return LINALG_LIBRARIES[native().linalgLibrary()];
}

/** Releases the buffers the allocators keep for reuse: GPU memory to the driver, large CPU buffers to the C library (memory().devices[d].cachedBytes drops to 0). */
export function emptyCache(): void {
  native().emptyCache();
}

/** @internal How the CPU loops in use are named in reports: 'AVX2', 'x86-64 baseline', or 'portable' off x86-64. */
export function cpuLoopsLabel(isa: 'avx2' | 'baseline'): string {
  return isa === 'avx2' ? 'AVX2' : process.arch === 'x64' ? 'x86-64 baseline' : 'portable';
}
