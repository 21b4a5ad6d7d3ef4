import { memory, noGrad, setBackend, tensor, tidy } from '@andes/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { Embedding } from './embedding.js';
import { Linear } from './linear.js';
import { Module, ModuleList } from './module.js';
import { RMSNorm } from './rms-norm.js';

beforeAll(async () => {
  await setBackend('cpu');
});

class Pair extends Module {
  readonly a: Linear;
  readonly b: Linear;
  constructor() {
    super();
    this.a = this.registerModule('a', new Linear(3, 2, { seed: 1 }));
    this.b = this.registerModule('b', new Linear(2, 4, { bias: true, seed: 2 }));
  }
}

describe('Module', () => {
  it('lists parameters with dotted names through ModuleList and exposes them via stateDict', () => {
    const list = new ModuleList([new Pair(), new Pair()]);
    expect(list.namedParameters().map(([n]) => n)).toEqual([
      '0.a.weight',
      '0.b.weight',
      '0.b.bias',
      '1.a.weight',
      '1.b.weight',
      '1.b.bias',
    ]);
    expect(list.numParameters()).toBe(2 * (6 + 8 + 4));
    expect(list.length).toBe(2);
    expect(() => list.at(2)).toThrow(/index 2 out of range \[0, 2\)/);
    expect(list.namedModules().map(([n]) => n)).toEqual(['', '0', '0.a', '0.b', '1', '1.a', '1.b']);
    list.dispose();
  });

  it('parameters survive an enclosing tidy (modules own them)', () => {
    const before = memory().tensors;
    const layer = tidy(() => new Linear(4, 4));
    expect(layer.weight.isDisposed).toBe(false);
    layer.dispose();
    expect(memory().tensors).toBe(before);
  });

  it('rejects duplicate names and non-float parameters', () => {
    class Bad extends Module {
      constructor(kind: 'dup' | 'int') {
        super();
        if (kind === 'dup') {
          this.registerModule('x', new RMSNorm(2));
          this.registerModule('x', new RMSNorm(2));
        } else {
          this.registerParameter('w', tensor([1], [1], { dtype: 'int32' }));
        }
      }
    }
    expect(() => new Bad('dup')).toThrow(/duplicate name 'x'/);
    expect(() => new Bad('int')).toThrow(/'w' must be float32, got int32/);
  });

  it('loads a plain object of host entries and checks value counts', async () => {
    const layer = new Linear(2, 2);
    layer.loadStateDict({ weight: { shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) } });
    expect([...((await layer.weight.data()) as Float32Array)]).toEqual([1, 2, 3, 4]);
    expect(() => layer.loadStateDict({ weight: { shape: [2, 2], data: new Float32Array(3) } })).toThrow(
      /'weight' has 3 values for shape \[2, 2\] \(4\)/,
    );
    layer.dispose();
  });
});

describe('layers vs direct computation', () => {
  it('Linear computes x·Wᵀ + b for [..., in] inputs', async () => {
    const layer = new Linear(3, 2, { bias: true });
    layer.loadStateDict({
      weight: { shape: [2, 3], data: Float32Array.from([1, 2, 3, -1, 0, 2]) },
      bias: { shape: [2], data: Float32Array.from([0.5, -0.5]) },
    });
    const x = tensor(
      [
        [
          [1, 0, 2],
          [0, 1, -1],
        ],
      ],
      [1, 2, 3],
    );
    const y = noGrad(() => layer.forward(x));
    expect(y.shape).toEqual([1, 2, 2]);
    // [1,0,2]·[1,2,3] = 7 (+.5); [1,0,2]·[-1,0,2] = 3 (-.5); [0,1,-1]·[1,2,3] = -1 (+.5); [0,1,-1]·[-1,0,2] = -2 (-.5)
    expect([...((await y.data()) as Float32Array)]).toEqual([7.5, 2.5, -0.5, -2.5]);
    expect(() => layer.forward(tensor([1, 2], [1, 2]))).toThrow(/does not end in inFeatures=3/);
    layer.dispose();
  });

  it('Embedding gathers rows and RMSNorm normalises by the root mean square', async () => {
    const emb = new Embedding(3, 2);
    emb.loadStateDict({ weight: { shape: [3, 2], data: Float32Array.from([0, 1, 2, 3, 4, 5]) } });
    const rows = noGrad(() => emb.forward(tensor([2, 0], [2], { dtype: 'int32' })));
    expect([...((await rows.data()) as Float32Array)]).toEqual([4, 5, 0, 1]);
    const norm = new RMSNorm(2, 0);
    const y = noGrad(() => norm.forward(tensor([3, 4], [1, 2])));
    const r = Math.sqrt((9 + 16) / 2);
    const got = (await y.data()) as Float32Array;
    expect(got[0]).toBeCloseTo(3 / r, 6);
    expect(got[1]).toBeCloseTo(4 / r, 6);
    emb.dispose();
    norm.dispose();
  });
});
