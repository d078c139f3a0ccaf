/**
 * antler.data: PyTorch's torch.utils.data for Node training scripts —
 * datasets, samplers, DataLoader and collation.
 */
export { Dataset, IterableDataset, TensorDataset, Subset, ConcatDataset, randomSplit } from './datasets';
export type { RandomSplitOptions } from './datasets';
export { SequentialSampler, RandomSampler, SubsetRandomSampler, WeightedRandomSampler, BatchSampler, BucketBatchSampler } from './samplers';
export type { Sampler, Sized, RandomSamplerOptions, SubsetRandomSamplerOptions, WeightedRandomSamplerOptions, BucketBatchSamplerOptions } from './samplers';
export { defaultCollate, padCollate } from './collate';
export type { CollateFn, Collated, PadCollateOptions } from './collate';
export { DataLoader } from './loader';
export type { DataLoaderOptions } from './loader';
