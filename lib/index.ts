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
  fullLike,
  arange,
  rand,
  randn,
  randint,
  randperm,
} from './tensor';
export {
  add, sub, mul, div, maximum, minimum, remainder, floorDivide, pow, equal, notEqual, less, lessEqual, greater, greaterEqual, where,
  neg, exp, log, tanh, sigmoid, relu, softplus, gelu, sqrt, abs, square, reciprocal, clamp,
  sin, cos, log1p, expm1, rsqrt, sign, floor, ceil, round, leakyRelu, elu, silu,
  erf, erfc, tan, asin, acos, atan, sinh, cosh, asinh, acosh, atanh, trunc, log2, log10, exp2,
  sum, prod, mean, max, min, cumsum, cumprod, reshape, permute, transpose, slice, flip, concat, stack, broadcastTo, clone, matmul,
} from './ops/core';
export {
  maskedFill, tril, triu, norm, normalize, cosineSimilarity, pairwiseDistance, isNaN, isInf, isFinite, isClose, allClose,
  logicalAnd, logicalOr, logicalXor, logicalNot, linspace, eye, outer, dot,
  logSigmoid, hardtanh, relu6, softsign, mish, hardswish, hardsigmoid, selu, glu, logit,
  celu, softshrink, hardshrink, tanhshrink, threshold, prelu, rrelu,
} from './ops/extra';
export { noGrad, isGradEnabled } from './autograd/graph';
export { valueAndGrad, grad, hvp } from './autograd/functional';
export { checkpoint, checkpointSequential } from './autograd/checkpoint';
export { customGrad } from './autograd/function';
export type { GradFunc } from './autograd/function';
export * as autograd from './autograd/api';
export type { HvpOptions, HvpMethod, TensorsLike } from './autograd/functional';
export type { DType, TypedArray, DataTypeMap, ConvertibleTypedArray, NestedArray, NestedInput, TensorLike, CreateOptions, RandomOptions } from './tensor';
export { tidy, keep, dispose } from './engine';
export { memory, resetPeakMemory } from './memory';
export type { MemoryInfo, DeviceMemoryInfo } from './memory';
export type { LinalgLibrary } from './device';
export { profile, time } from './profile';
export type { ProfileInfo, ProfileKernel, ProfileOptions, ProfileSummaryRow, TimingInfo } from './profile';
export { backends, getDefaultDevice, setDefaultDevice, synchronize, setNumThreads, emptyCache, preferredLinalgLibrary } from './device';
export { setSeed } from './random';
export { buildInfo } from './info';
export * as nn from './nn';
export * as optim from './optim';
export { softmax, softmin, logSoftmax, crossEntropy, mseLoss, embedding, dropout, layerNorm, batchNorm, groupNorm, instanceNorm, linear, bilinear } from './ops/nn';
export type { BatchNormOptions, GroupNormOptions, InstanceNormOptions } from './ops/nn';
export { interpolate, alphaDropout, featureAlphaDropout, dropout1d } from './ops/nn-extra';
export { dropout2d, dropout3d } from './ops/nn-extra';
export { pixelShuffle, pixelUnshuffle, channelShuffle } from './ops/nn-extra';
export type { InterpolateMode, InterpolateOptions, DropoutExtraOptions } from './ops/nn-extra';
export { gridSample, affineGrid, localResponseNorm } from './ops/grid';
export type { GridSampleMode, GridSamplePaddingMode, GridSampleOptions, AffineGridOptions, LocalResponseNormOptions } from './ops/grid';
export { embeddingBag } from './ops/embedding-bag';
export type { EmbeddingBagMode, EmbeddingBagOptions } from './ops/embedding-bag';
export { argmax, argmin, topk, sort, argsort, gather, scatter, scatterAdd, indexSelect, oneHot, multinomial } from './ops/indexing';
export type { TopkOptions, SortOptions } from './ops/indexing';
export { logSumExp, variance, std, any, all } from './ops/reductions';
export { squeeze, unsqueeze, expandDims, flatten, split, chunk, unstack, tile, pad, roll, select, narrow } from './ops/shape';
export type { PadMode, PadOptions } from './ops/shape';
export type { PairwiseDistanceOptions } from './ops/extra';
export { padSequence } from './ops/sequence';
// The op families below export everything they define (functions and option types).
export * from './ops/pointwise';
export * from './ops/statistics';
export * from './ops/products';
export * from './ops/selection';
export * from './ops/construct';
export { standardGamma, gammainc, gammaincc, poisson, binomial } from './ops/random-special';
export { conv1d, convTranspose1d, conv2d, convTranspose2d, unfold, fold } from './ops/conv';
export { maxPool1d, avgPool1d, adaptiveAvgPool1d, adaptiveMaxPool1d } from './ops/pool';
export type { MaxPool1dOptions, AvgPool1dOptions } from './ops/pool';
export { maxPool2d, avgPool2d, adaptiveAvgPool2d, adaptiveMaxPool2d } from './ops/pool';
export type { MaxPool2dOptions, AvgPool2dOptions, Size2d } from './ops/pool';
export { maxPool3d, avgPool3d, adaptiveAvgPool3d, adaptiveMaxPool3d } from './ops/pool';
export { maxUnpool1d, maxUnpool2d, maxUnpool3d } from './ops/unpool';
export type { MaxUnpoolOptions } from './ops/unpool';
export type { MaxPool3dOptions, AvgPool3dOptions, Size3d } from './ops/pool';
export { scaledDotProductAttention } from './ops/attention';
export type { ScaledDotProductAttentionOptions } from './ops/attention';
export type { Conv1dOptions, ConvTranspose1dOptions, Conv2dOptions, ConvTranspose2dOptions, UnfoldOptions } from './ops/conv';
export { conv3d, convTranspose3d } from './ops/conv';
export type { Conv3dOptions, ConvTranspose3dOptions } from './ops/conv';
export type { PadSequenceOptions, Lengths } from './ops/sequence';
export { PackedSequence, packPaddedSequence, padPackedSequence, packSequence, unpackSequence, unpadSequence } from './ops/packed';
export type { PackPaddedSequenceOptions, PadPackedSequenceOptions, PackSequenceOptions, UnpadSequenceOptions } from './ops/packed';
export { l1Loss, smoothL1Loss, huberLoss, binaryCrossEntropy, binaryCrossEntropyWithLogits, nllLoss, ctcLoss, klDiv, gaussianNllLoss, poissonNllLoss, marginRankingLoss, hingeEmbeddingLoss, softMarginLoss, cosineEmbeddingLoss, tripletMarginLoss, multiMarginLoss, multilabelSoftMarginLoss, multilabelMarginLoss } from './ops/losses';
export type { CtcLossOptions, KlDivOptions, KlDivReduction, GaussianNllOptions, PoissonNllOptions, MarginRankingLossOptions, HingeEmbeddingLossOptions, CosineEmbeddingLossOptions, TripletMarginLossOptions, MultiMarginLossOptions, MultilabelSoftMarginLossOptions } from './ops/losses';
export { fit, evaluate } from './train/fit';
export type { FitOptions, FitOptimizer, LossFn, ForwardOutput, History, Callbacks, Logs, BatchLogs, FitData, FitBatch, EvaluateOptions } from './train/fit';
export { save, saveAsync, load, loadAsync, parseSafetensors, serializeSafetensors } from './io';
export type { LoadOptions, SafetensorsContents } from './io';
export { sruRecurrence, sruRecurrenceReference } from './sru';
export type { SruRecurrenceOptions } from './sru';
export * as deer from './deer';
export * as linalg from './ops/linalg';
export * as distributions from './distributions';
export * as data from './data';
export * as signal from './signal';
export { hannWindow, hammingWindow, blackmanWindow, bartlettWindow, kaiserWindow, stft, istft } from './ops/signal';
export type { WindowOptions, HammingWindowOptions, KaiserWindowOptions, StftOptions, IstftOptions } from './ops/signal';
