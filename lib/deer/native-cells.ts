/**
 * The native DEER cell kernels (native/core/cells.cpp, math in
 * native/kernels/cells.h): GRU, LSTM and Elman RNN steps with PyTorch's
 * equations, given the precomputed input projection xp = W_ih x + b_ih.
 * G and n follow the kind: GRU G = 3H, n = H (gates r, z, n); LSTM G = 4H,
 * n = 2H with the state y = [h, c] (gates i, f, g, o); RNN G = n = H.
 * The previous state of step t is y0 at t = 0 and y[t − 1] after.
 */
import { native, NativeHandle } from '../native';

export type CellKind = 'gru' | 'lstm' | 'rnn_tanh' | 'rnn_relu';

export interface CellNative {
  /**
   * xp [T, B, G], Whh [G, H], bhh [G] or null (zeros), y0 [B, n], y [T, B, n] ->
   * f [T, B, n] with f_t = cell(y_{t−1}, xp_t); J = ∂f_t/∂y_{t−1}, dense [T, B, n, n]
   * (row-major, J[i][j] = ∂f_i/∂y_j) or its diagonal [T, B, n]; bOff = f − J·y_{t−1}
   * (diagonal: f − J ⊙ y_{t−1}). With 'none', J and bOff are null.
   */
  cellLinearize(
    kind: CellKind, xp: NativeHandle, Whh: NativeHandle, bhh: NativeHandle | null, y0: NativeHandle, y: NativeHandle,
    jacobian: 'none' | 'diagonal' | 'dense',
  ): [NativeHandle, NativeHandle | null, NativeHandle | null];
  /** The sequential walk y_t = cell(y_{t−1}, xp_t) -> y [T, B, n], one launch. */
  cellSequential(
    kind: CellKind, xp: NativeHandle, Whh: NativeHandle, bhh: NativeHandle | null, y0: NativeHandle,
  ): NativeHandle;
  /**
   * The whole 'deer' (jacobian 'dense') or 'quasi' ('diagonal') Newton solve in one call
   * (native/kernels/deer_fused.h), from the first guess [T, B, n], judging each sequence as
   * lib/deer/solver.ts's solveChunk does -> [y [T, B, n] (each sequence's last judged iterate),
   * status float64 [B, 3]: code (0 converged, 1 diverged, 2 stalled, 3 out of iterations), the
   * Newton steps taken, the last residual]. On CUDA: dense for n <= 16, diagonal for H <= 32;
   * a small batch's sequences split over up to maxSegments blocks each (0 or absent: as many as
   * fill the device; 1: a block per sequence).
   */
  cellDeerSolve(
    kind: CellKind, xp: NativeHandle, Whh: NativeHandle, bhh: NativeHandle | null, y0: NativeHandle, guess: NativeHandle,
    jacobian: 'dense' | 'diagonal', atol: number, rtol: number, maxIters: number, growthFactor: number, stallIters: number,
    stallFloor: number, eps: number, maxSegments?: number,
  ): [NativeHandle, NativeHandle];
  /**
   * The adjoint at the solution y for g = ∂loss/∂y [T, B, n] in one call -> λ [T, B, n],
   * λ_t = g_t + J_{t+1}ᵀ λ_{t+1} (no [T, B, n, n] Jacobian); on CUDA for n <= 16, maxSegments as
   * cellDeerSolve's.
   */
  cellDeerAdjoint(
    kind: CellKind, xp: NativeHandle, Whh: NativeHandle, bhh: NativeHandle | null, y0: NativeHandle, y: NativeHandle,
    g: NativeHandle, maxSegments?: number,
  ): NativeHandle;
  /**
   * From the solution y -> [gxp [T, B, G], ghh [T, B, G], gy0 [B, n]], ghh being the
   * gradient of the step's Whh·h + bhh (so gWhh = Σ ghhᵀ·h_{t−1}, gbhh = Σ ghh).
   * adjoint false: g = ∂loss/∂y and the kernel walks back through time;
   * adjoint true: g is the adjoint λ_t = ∂loss/∂y_t + J_{t+1}ᵀ λ_{t+1} and every step is independent.
   */
  cellBackward(
    kind: CellKind, xp: NativeHandle, Whh: NativeHandle, bhh: NativeHandle | null, y0: NativeHandle, y: NativeHandle,
    g: NativeHandle, adjoint: boolean,
  ): [NativeHandle, NativeHandle, NativeHandle];
}

export const cellNative = (): CellNative => native() as unknown as CellNative;
