/**
 * time() (and profile() with sync) waits for every CUDA device fn used, one that fn is the first to
 * use included (memory() lists a device only from its first allocation, so
 * the first CUDA work of a process appears while fn runs). No GPU needed:
 * the addon is seen through a stand-in whose backends() says CUDA is
 * available, whose memory() lists 'cuda:0' once fn has "used" it, and whose
 * synchronize() records the devices waited for.
 */
import type { NativeAddon } from '../../lib/native';

const fake = { cudaUsed: false, waited: [] as string[] };

jest.mock('../../lib/native', () => {
  const real = jest.requireActual('../../lib/native');
  let profiled: NativeAddon | null = null;
  const addon = (): NativeAddon => real.rawNative();
  const stand = new Proxy({} as NativeAddon, {
    get(_t, key) {
      const a = addon() as unknown as Record<PropertyKey, unknown>;
      if (key === 'backends') return () => {
        const b = (a.backends as () => Record<string, Record<string, unknown>>).call(a);
        return { ...b, cuda: { ...b.cuda, available: true } };
      };
      if (key === 'memory') return () => {
        const m = (a.memory as () => Record<string, unknown>).call(a);
        return fake.cudaUsed ? { ...m, 'cuda:0': m.cpu } : m;
      };
      if (key === 'synchronize') return (d: string) => {
        fake.waited.push(d);
        if (!d.startsWith('cuda')) (a.synchronize as (d: string) => void).call(a, d);
      };
      const v = Reflect.get(a, key);
      return typeof v === 'function' ? v.bind(a) : v;
    },
  });
  return { ...real, rawNative: () => stand, native: () => profiled ?? stand, setProfiledAddon: (p: NativeAddon | null) => { profiled = p; } };
});

import * as antler from '../../lib';

describe('time() and a CUDA device first used inside fn', () => {
  beforeEach(() => {
    fake.cudaUsed = false;
    fake.waited = [];
  });

  test.each([true, false])('sync %s: the device fn starts using is waited for (after its ops with sync, and at the end)', (sync) => {
    const x = antler.tensor([1, 2, 3], [3]);
    try {
      const t = antler.time(() => {
        fake.cudaUsed = true; // fn's first op "allocates on cuda:0"
        return antler.tidy(() => antler.sum(antler.exp(x)));
      }, { sync });
      t.result.dispose();
      expect(t.ops).toBe(2);
      const cudaWaits = fake.waited.filter((d) => d === 'cuda:0').length;
      // Before the fix: 0 (the device list was read once, before fn). Now: after each op with sync, and the final wait.
      expect(cudaWaits).toBe(sync ? 3 : 1);
    } finally {
      x.dispose();
    }
  });

  test('a device in use before fn is waited for before fn starts too', () => {
    fake.cudaUsed = true;
    const t = antler.time(() => 7);
    expect(t.result).toBe(7);
    expect(fake.waited.filter((d) => d === 'cuda:0').length).toBe(2);
  });

  test('profile() with sync waits for it after each op too', () => {
    const x = antler.tensor([1, 2, 3], [3]);
    try {
      const info = antler.profile(() => {
        fake.cudaUsed = true;
        return antler.tidy(() => antler.sum(antler.exp(x)));
      });
      info.result.dispose();
      expect(info.kernels.length).toBe(2);
      expect(fake.waited.filter((d) => d === 'cuda:0').length).toBe(2);
    } finally {
      x.dispose();
    }
  });
});
