/** Reading and writing tensors to files. */
export { save, saveAsync, load, loadAsync, parseSafetensors, serializeSafetensors } from './safetensors';
export type { LoadOptions, SafetensorsContents } from './safetensors';
