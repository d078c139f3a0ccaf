/** antler.nn: modules and functional ops (PyTorch's torch.nn / torch.nn.functional). */
export { Module, parameter } from './module';
export type { ForwardHook, ForwardPreHook, RemovableHandle } from './module';
export {
  Linear, Conv1d, ConvTranspose1d, Embedding, EmbeddingBag, Dropout, LayerNorm, BatchNorm1d, GroupNorm, InstanceNorm1d, MaxPool1d, AvgPool1d, AdaptiveAvgPool1d, AdaptiveMaxPool1d, Sequential, ModuleList, ReLU, Tanh, Sigmoid, GELU, LeakyReLU, ELU, SiLU, Softplus,
  LogSigmoid, Hardtanh, ReLU6, Softsign, Mish, Hardswish, Hardsigmoid, SELU, GLU, CELU, Softshrink, Hardshrink, Tanhshrink, Threshold, RReLU, PReLU, Bilinear,
} from './layers';
export { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, AdaptiveMaxPool2d, BatchNorm2d, InstanceNorm2d } from './layers';
export { Conv2d, ConvTranspose2d, Unfold, Fold } from './layers';
export { ModuleDict, ParameterList, ParameterDict } from './containers';
export type { DictInput } from './containers';
export { softmax, softmin, logSoftmax, crossEntropy, mseLoss, embedding, dropout, dropoutMask, layerNorm, batchNorm, groupNorm, instanceNorm, linear, bilinear } from '../ops/nn';
export { prelu, celu, softshrink, hardshrink, tanhshrink, threshold, rrelu } from '../ops/extra';
export type { Reduction, BatchNormOptions, GroupNormOptions, InstanceNormOptions } from '../ops/nn';
export { embeddingBag } from '../ops/embedding-bag';
export type { EmbeddingBagMode, EmbeddingBagOptions } from '../ops/embedding-bag';
export type { EmbeddingBagModuleOptions, BatchNorm1dOptions, GroupNormModuleOptions, InstanceNorm1dOptions, Conv1dModuleOptions, Conv1dPaddingMode, ConvTranspose1dModuleOptions } from './layers';
export type { Conv2dModuleOptions, ConvTranspose2dModuleOptions } from './layers';
export { l1Loss, smoothL1Loss, huberLoss, binaryCrossEntropy, binaryCrossEntropyWithLogits, nllLoss, ctcLoss, gaussianNllLoss, poissonNllLoss, klDiv, marginRankingLoss, hingeEmbeddingLoss, softMarginLoss, cosineEmbeddingLoss, tripletMarginLoss, multiMarginLoss, multilabelSoftMarginLoss, multilabelMarginLoss } from '../ops/losses';
export type { KlDivOptions, KlDivReduction } from '../ops/losses';
export { oneHot } from '../ops/indexing';
export { conv1d, convTranspose1d, conv2d, convTranspose2d, unfold, fold } from '../ops/conv';
export { maxPool1d, avgPool1d, adaptiveAvgPool1d, adaptiveMaxPool1d } from '../ops/pool';
export type { MaxPool1dOptions, AvgPool1dOptions } from '../ops/pool';
export { maxPool2d, avgPool2d, adaptiveAvgPool2d, adaptiveMaxPool2d } from '../ops/pool';
export type { MaxPool2dOptions, AvgPool2dOptions, Size2d } from '../ops/pool';
export { SRU, SRUCell } from '../sru';
export { GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell } from './rnn';
export type { RNNForwardOptions, RNNCellBaseOptions, RNNCellOptions } from './rnn';
export { NeuralODE } from './ode';
export { Identity, Flatten, Unflatten, Softmax, Softmin, LogSoftmax, Loss, CrossEntropyLoss, NLLLoss, MSELoss, L1Loss, SmoothL1Loss, HuberLoss, BCELoss, BCEWithLogitsLoss, CTCLoss, GaussianNLLLoss, PoissonNLLLoss, KLDivLoss, MarginRankingLoss, HingeEmbeddingLoss, SoftMarginLoss, CosineEmbeddingLoss, TripletMarginLoss, MultiMarginLoss, MultiLabelSoftMarginLoss, MultiLabelMarginLoss } from './losses';
export { PairwiseDistance, CosineSimilarity, ConstantPad1d, ZeroPad1d, ReflectionPad1d, ReplicationPad1d, CircularPad1d, Upsample, AlphaDropout, FeatureAlphaDropout, Dropout1d } from './extra-layers';
export { pairwiseDistance, cosineSimilarity } from '../ops/extra';
export type { PairwiseDistanceOptions } from '../ops/extra';
export { interpolate, alphaDropout, featureAlphaDropout, dropout1d } from '../ops/nn-extra';
export { dropout2d } from '../ops/nn-extra';
export { Dropout2d } from './extra-layers';
export type { InterpolateMode, InterpolateOptions, DropoutExtraOptions } from '../ops/nn-extra';
export * as init from './init';
export * as utils from './utils';
export { MultiheadAttention, generateSquareSubsequentMask } from './attention';
export type { MultiheadAttentionOptions, MultiheadAttentionForwardOptions } from './attention';
export { scaledDotProductAttention } from '../ops/attention';
export type { ScaledDotProductAttentionOptions } from '../ops/attention';
export type { NeuralODEOptions, NeuralODEOutput } from './ode';
export type { LSTMOptions, LSTMOutput, RNNBaseOptions, RNNOptions, RNNOutput, PackedRNNOutput, PackedLSTMOutput, ForwardResult, RNNForwardOptionsFor } from './rnn';
export type { SRUOptions, SRULayerOptions, SRUForwardOptions, SRUOutput, PackedSRUOutput, SRUImpl, SRUActivation } from '../sru';
export { TransformerEncoderLayer, TransformerEncoder, TransformerDecoderLayer, TransformerDecoder, Transformer } from './transformer';
export type { TransformerEncoderLayerOptions, TransformerEncoderForwardOptions, TransformerDecoderForwardOptions, TransformerOptions, TransformerForwardOptions, TransformerActivation } from './transformer';
