/**
 * antler: CUDA-backed recurrent models for Node.js.
 *
 * Tensor handling follows TensorFlow.js (tensor, zeros, dataSync, tidy,
 * dispose, memory); training follows PyTorch.
 */
export { AntlerError } from './errors';
export type { ErrorCode } from './errors';
export {
  Tensor,
  tensor,
  zeros,
  ones,
  full,
  zerosLike,
  onesLike,
  arange,
  rand,
  randn,
  add,
  sub,
  mul,
  div,
  maximum,
  minimum,
  matmul,
} from './tensor';
export type { DType, TypedArray, NestedArray, TensorLike, CreateOptions, RandomOptions } from './tensor';
export { tidy, keep, dispose } from './engine';
export { memory } from './memory';
export type { MemoryInfo, DeviceMemoryInfo } from './memory';
export { backends, getDefaultDevice, setDefaultDevice, synchronize, setNumThreads, emptyCache } from './device';
export { setSeed } from './random';
export { buildInfo } from './info';
