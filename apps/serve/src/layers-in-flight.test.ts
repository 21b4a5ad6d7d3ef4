import { describe, expect, it } from 'vitest';
import { LayersInFlight } from './layers-in-flight.js';

/** A fence per call whose completion the test controls, and a log of what happened in order. */
function fakeDevice() {
  const log: string[] = [];
  const finish: (() => void)[] = [];
  const fail: ((e: Error) => void)[] = [];
  const fence = () => {
    const layer = finish.length;
    log.push(`submit ${layer}`);
    return new Promise<void>((resolve, reject) => {
      finish.push(() => {
        log.push(`done ${layer}`);
        resolve();
      });
      fail.push(reject);
    });
  };
  return { log, finish, fail, fence };
}

/** Lets every settled promise run its continuations. */
const settle = () => new Promise((r) => setTimeout(r, 0));

describe('LayersInFlight', () => {
  for (const depth of [0, 1, 2]) {
    it(`with depth ${depth}, the boundary after layer L returns once layer L-${depth} is done, not before`, async () => {
      const device = fakeDevice();
      const layers = new LayersInFlight(depth, device.fence);
      for (let layer = 0; layer < 5; layer++) {
        let passed = false;
        const boundary = layers.boundary().then(() => {
          passed = true;
        });
        await settle();
        const waitsFor = layer - depth;
        // Every layer up to L-depth-1 finished at an earlier boundary: only L-depth can hold this one.
        expect(passed).toBe(waitsFor < 0);
        if (waitsFor >= 0) {
          device.finish[waitsFor]!();
          await settle();
          expect(passed).toBe(true);
        }
        await boundary;
      }
      expect(device.log.filter((l) => l.startsWith('submit'))).toHaveLength(5);
      // Layer L+1 is only submitted once layer L-depth is done.
      for (let layer = depth; layer < 4; layer++) {
        expect(device.log.indexOf(`done ${layer - depth}`)).toBeLessThan(device.log.indexOf(`submit ${layer + 1}`));
      }
    });
  }

  it('with depth Infinity never fences nor waits (the step runs as a plain one)', async () => {
    const device = fakeDevice();
    const layers = new LayersInFlight(Infinity, device.fence);
    for (let layer = 0; layer < 3; layer++) await layers.boundary();
    expect(device.log).toEqual([]);
  });

  it("rejects with the device's error of a layer it waits for; one it left in flight fails nobody", async () => {
    const device = fakeDevice();
    const layers = new LayersInFlight(1, device.fence);
    await layers.boundary(); // layer 0 left in flight
    const second = layers.boundary(); // waits for layer 0
    device.fail[0]!(new Error('device lost'));
    await expect(second).rejects.toThrow(/device lost/);
    // Layer 1 fails while nobody waits for it: no unhandled rejection (the step would see it at its readback).
    device.fail[1]!(new Error('device lost again'));
    await settle();
  });

  it('rejects a depth that is not a whole number ≥ 0 or Infinity, naming it', () => {
    for (const bad of [-1, 0.5, Number.NaN]) {
      expect(() => new LayersInFlight(bad)).toThrow(
        `layers in flight must be a whole number ≥ 0 or Infinity, got ${bad}`,
      );
    }
  });
});
