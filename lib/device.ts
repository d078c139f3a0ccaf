/** Devices and backends. */
import { fail } from './errors';
import { native, NativeBackends } from './native';
import { checkDevice } from './validate';

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

/** Releases the buffers the allocators keep for reuse: GPU memory to the driver, large CPU buffers to the C library (memory().devices[d].cachedBytes drops to 0). */
export function emptyCache(): void {
  native().emptyCache();
}

/** @internal How the CPU loops in use are named in reports: 'AVX2', 'x86-64 baseline', or 'portable' off x86-64. */
export function cpuLoopsLabel(isa: 'avx2' | 'baseline'): string {
  return isa === 'avx2' ? 'AVX2' : process.arch === 'x64' ? 'x86-64 baseline' : 'portable';
}
