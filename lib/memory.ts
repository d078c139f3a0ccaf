/** Memory accounting, as TensorFlow.js's tf.memory() with a per-device breakdown. */
import { native, NativeMemory } from './native';

export interface DeviceMemoryInfo {
  /** Live tensor handles (not disposed, not yet released after GC); a tensor autograd saved keeps its handle until the graph is freed. */
  numTensors: number;
  /** Distinct storage buffers (views share one). */
  numDataBuffers: number;
  /** Bytes in live buffers. */
  numBytes: number;
  /** Highest numBytes seen. */
  peakBytes: number;
  /** Bytes the device's allocator holds for reuse, beyond numBytes (emptyCache() releases them). */
  cachedBytes: number;
}

export interface MemoryInfo {
  numTensors: number;
  numDataBuffers: number;
  numBytes: number;
  /** Per device: 'cpu' always, 'cuda:N' for each GPU the addon sees. */
  devices: { cpu: DeviceMemoryInfo; [device: string]: DeviceMemoryInfo | undefined };
}

export function memory(): MemoryInfo {
  // Always has 'cpu' (with its buffer cache), even before the first CPU tensor.
  const devices = native().memory() as Record<string, NativeMemory>;
  const out: MemoryInfo = { numTensors: 0, numDataBuffers: 0, numBytes: 0, devices: {} as MemoryInfo['devices'] };
  for (const [name, m] of Object.entries(devices)) {
    out.devices[name] = { ...m };
    out.numTensors += m.numTensors;
    out.numDataBuffers += m.numDataBuffers;
    out.numBytes += m.numBytes;
  }
  return out;
}

/** Sets every device's peakBytes to its current numBytes, so the next peak measures what follows (torch.cuda.reset_peak_memory_stats). */
export function resetPeakMemory(): void {
  native().resetPeakMemory();
}
