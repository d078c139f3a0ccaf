import { native, nativeOrigin, NativeBuildInfo } from './native';

/** How the loaded addon was built, and where it was loaded from. */
export function buildInfo(): NativeBuildInfo & { path: string; source: string } {
  return { ...native().buildInfo(), ...nativeOrigin() };
}
