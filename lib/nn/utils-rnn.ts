/** antler.nn.utils.rnn (torch.nn.utils.rnn): packed and padded batches of sequences of different lengths. */
export { PackedSequence, packPaddedSequence, padPackedSequence, packSequence, unpackSequence, unpadSequence } from '../ops/packed';
export type { PackPaddedSequenceOptions, PadPackedSequenceOptions, PackSequenceOptions, UnpadSequenceOptions } from '../ops/packed';
export { padSequence } from '../ops/sequence';
export type { PadSequenceOptions } from '../ops/sequence';
