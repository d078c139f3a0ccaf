/** DEER (parallel solution of nonlinear recurrences): its building blocks. */
export { elkStep, scan } from './scan';
export type { DeerNative } from './scan';
export { autoTuned, autoTuning, cellRecurrence, chooseMode, resetAutoTuning, WarmStart } from './solver';
export type { AutoChoice } from './solver';
export { jacobians } from './jacobians';
export { expm } from './expm';
export { solveIVP } from './ode';
export type { OdeFunc, OdeMethod, OdeOptions, OdeStats } from './ode';
export type { JacobianCell, JacobianOptions } from './jacobians';
export type { CellKind, DeerMode, DeerOptions, DeerStats } from './solver';
