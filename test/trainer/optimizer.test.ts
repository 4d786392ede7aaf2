import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AdamW, clipGradNorm, decaysWeight } from '../../plugins/local/trainer/adamw.js';
import { Prng, deriveSeed } from '../../src/random.js';
import { learningRateAt, warmupSteps } from '../../plugins/local/trainer/schedule.js';

interface Reference {
  adamw: {
    sizes: number[];
    betas: [number, number];
    eps: number;
    weight_decay: number[];
    max_grad_norm: number;
    steps: Array<{ lr: number; grad_norm: number; params: number[][] }>;
  };
  schedules: Record<string, number[]>;
}
const reference = JSON.parse(readFileSync(new URL('./reference/torch-adamw.json', import.meta.url), 'utf8')) as Reference;

describe('AdamW', () => {
  it('follows torch.optim.AdamW with clip_grad_norm_ step by step (decayed and undecayed groups)', () => {
    const { sizes, betas, eps, weight_decay, max_grad_norm, steps } = reference.adamw;
    const params = sizes.map((n, i) => Float32Array.from({ length: n }, (_, j) => Math.cos(0.1 * j + i)));
    const optimizer = new AdamW(sizes, { beta1: betas[0], beta2: betas[1], eps, weight_decay: 0.1 }, weight_decay.map((wd) => wd > 0));
    steps.forEach((expected, t) => {
      const grads = sizes.map((n, i) => Float32Array.from({ length: n }, (_, j) => 3 * Math.sin(0.37 * (t + 1) * (j + 1) + i)));
      const norm = clipGradNorm(grads, max_grad_norm);
      expect(norm).toBeCloseTo(expected.grad_norm, 4);
      optimizer.update(params, grads, expected.lr);
      params.forEach((p, i) => p.forEach((value, j) => expect(Math.abs(value - expected.params[i][j])).toBeLessThan(2e-6)));
    });
    expect(optimizer.step).toBe(steps.length);
  });

  it('restores a snapshot exactly and continues identically', () => {
    const run = (restoreAt: number | null) => {
      const params = [Float32Array.from([0.5, -0.25, 1])];
      let optimizer = new AdamW([3], { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.01 });
      for (let t = 0; t < 6; t++) {
        if (t === restoreAt) {
          const saved = optimizer.snapshot();
          optimizer = new AdamW([3], { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.01 });
          optimizer.restore(saved);
        }
        optimizer.update(params, [Float32Array.from([Math.sin(t), Math.cos(t), t / 7])], 1e-2);
      }
      return Array.from(params[0]);
    };
    expect(run(3)).toEqual(run(null));
  });

  it('exempts biases and norms from weight decay, as the HF Trainer does', () => {
    expect(decaysWeight('model.layers.0.self_attn.q_proj.weight')).toBe(true);
    expect(decaysWeight('model.layers.0.input_layernorm.weight')).toBe(false);
    expect(decaysWeight('model.norm.weight')).toBe(false);
    expect(decaysWeight('model.layers.0.self_attn.q_proj.bias')).toBe(false);
    expect(decaysWeight('h.0.ln_1.weight')).toBe(false);
  });

  it('leaves gradients alone when their norm is under the limit or clipping is off', () => {
    const grads = [Float32Array.from([0.3, 0.4])];
    expect(clipGradNorm(grads, 1)).toBeCloseTo(0.5, 7);
    expect(Array.from(grads[0])).toEqual([Math.fround(0.3), Math.fround(0.4)]);
    const big = [Float32Array.from([30, 40])];
    expect(clipGradNorm(big, 0)).toBeCloseTo(50, 6);
    expect(Array.from(big[0])).toEqual([30, 40]);
  });
});

describe('learning-rate schedules', () => {
  for (const kind of ['cosine', 'linear'] as const) {
    it(`${kind}: warmup from 0 then the same decay as torch's scheduler`, () => {
      const expected = reference.schedules[`${kind}_total20_warmup4`];
      const schedule = { kind, base_lr: 2e-4, warmup_steps: 4, total_steps: 20 };
      [0, 5e-5, 1e-4, 1.5e-4].forEach((lr, k) => expect(learningRateAt(schedule, k)).toBeCloseTo(lr, 15));
      expected.forEach((lr, k) => expect(learningRateAt(schedule, 4 + k)).toBeCloseTo(lr, 12));
    });
  }

  it('constant holds the base rate after warmup; warmup steps round up like transformers', () => {
    const schedule = { kind: 'constant' as const, base_lr: 1e-3, warmup_steps: 2, total_steps: 10 };
    expect([0, 1, 2, 9].map((k) => learningRateAt(schedule, k))).toEqual([0, 5e-4, 1e-3, 1e-3]);
    expect(warmupSteps(100, 0.03)).toBe(3);
    expect(warmupSteps(10, 0.05)).toBe(1);
    expect(warmupSteps(10, 0)).toBe(0);
  });
});

describe('seeded PRNG', () => {
  it('is xoshiro128**: the reference output from state {1,2,3,4} (rand_xoshiro test vector)', () => {
    const rng = Prng.fromState([1, 2, 3, 4]);
    const out = Array.from({ length: 10 }, () => rng.nextUint32());
    expect(out).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849, 3729100597, 4258142804]);
  });

  it('resumes from a saved state and shuffles reproducibly', () => {
    const a = Prng.fromSeed(42);
    for (let i = 0; i < 5; i++) a.nextUint32();
    const b = Prng.fromState(a.state());
    expect(Array.from({ length: 5 }, () => a.nextFloat())).toEqual(Array.from({ length: 5 }, () => b.nextFloat()));
    const order = Prng.fromSeed(7).shuffle([...Array(20).keys()]);
    expect(order).toEqual(Prng.fromSeed(7).shuffle([...Array(20).keys()]));
    expect([...order].sort((x, y) => x - y)).toEqual([...Array(20).keys()]);
    expect(order).not.toEqual([...Array(20).keys()]);
    expect(deriveSeed(1, 2)).not.toBe(deriveSeed(1, 3));
  });
});
