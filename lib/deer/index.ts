/** DEER (parallel solution of nonlinear recurrences): its building blocks. */
export { scan } from './scan';
export type { DeerNative } from './scan';
