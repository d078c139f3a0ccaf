/** The Simple Recurrent Unit: modules, the fused recurrence and its op-by-op reference. */
export { SRU, SRUCell, sruRecurrenceReference } from './module';
export type { SRUOptions, SRULayerOptions, SRUForwardOptions, SRUOutput, PackedSRUOutput, SRUImpl, SRUMode, SRUActivation } from './module';
export { sruRecurrence } from './recurrence';
export type { SruRecurrenceOptions } from './recurrence';
