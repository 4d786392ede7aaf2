/**
 * The PyTorch side of bench/runtime and bench/train: the same Llama forward (and LoRA SFT step) in
 * torch, run by /usr/bin/python3 in the same benchmark run, on the same weights (written as raw f32
 * files). Torch runs tuned as the anchors in ORT-TRAINING.md: OPENBLAS_NUM_THREADS=1 and
 * torch.set_num_threads(threads).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const SCRIPT = String.raw`
import json, sys, time, math
import numpy as np, torch
import torch.nn.functional as F
args = json.loads(sys.argv[1])
torch.set_num_threads(args['threads'])
torch.manual_seed(0)
m = json.load(open(args['dir'] + '/manifest.json'))
c = m['config']
W = {}
for name, shape in m['tensors'].items():
    W[name] = torch.from_numpy(np.fromfile(args['dir'] + '/' + m['files'][name], dtype=np.float32).reshape(shape))
D, H, Hkv, L, V = c['hidden_size'], c['num_attention_heads'], c['num_key_value_heads'], c['num_hidden_layers'], c['vocab_size']
hd = D // H
eps = c.get('rms_norm_eps', 1e-5)
B, T = args['batch'], args['seq']
inv = 1.0 / (c.get('rope_theta', 10000.0) ** (torch.arange(0, hd, 2).float() / hd))
ang = torch.arange(T).float()[:, None] * inv[None, :]
ang = torch.cat([ang, ang], -1)
cos, sin = ang.cos(), ang.sin()
mask = torch.full((T, T), -1e9).triu(1)
head = W['lm_head.weight'] if 'lm_head.weight' in W else W['model.embed_tokens.weight']
lora = {}
targets = args.get('lora_targets', [])
r = args.get('lora_r', 8)
for l in range(L):
    for t in targets:
        w = W['model.layers.%d.self_attn.%s.weight' % (l, t)]
        A = torch.empty(r, w.shape[1]); torch.nn.init.kaiming_uniform_(A, a=math.sqrt(5))
        lora['%d.%s' % (l, t)] = (A.requires_grad_(), torch.zeros(w.shape[0], r).requires_grad_())
scale = args.get('lora_alpha', 16) / r
def rms(x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w
def rot(x):
    x1, x2 = x[..., :hd // 2], x[..., hd // 2:]
    return torch.cat([-x2, x1], -1)
def lin(x, l, name, mod):
    y = F.linear(x, W[name])
    key = '%d.%s' % (l, mod)
    if key in lora:
        A, Bm = lora[key]
        y = y + F.linear(F.linear(x, A), Bm) * scale
    return y
def forward(ids):
    x = W['model.embed_tokens.weight'][ids]
    for l in range(L):
        p = 'model.layers.%d.' % l
        h = rms(x, W[p + 'input_layernorm.weight'])
        q = lin(h, l, p + 'self_attn.q_proj.weight', 'q_proj').view(B, T, H, hd).transpose(1, 2)
        k = lin(h, l, p + 'self_attn.k_proj.weight', 'k_proj').view(B, T, Hkv, hd).transpose(1, 2)
        v = lin(h, l, p + 'self_attn.v_proj.weight', 'v_proj').view(B, T, Hkv, hd).transpose(1, 2)
        q = q * cos + rot(q) * sin
        k = k * cos + rot(k) * sin
        if Hkv != H:
            k = k.repeat_interleave(H // Hkv, 1); v = v.repeat_interleave(H // Hkv, 1)
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd) + mask, -1)
        o = (att @ v).transpose(1, 2).reshape(B, T, D)
        x = x + lin(o, l, p + 'self_attn.o_proj.weight', 'o_proj')
        h = rms(x, W[p + 'post_attention_layernorm.weight'])
        x = x + F.linear(F.silu(F.linear(h, W[p + 'mlp.gate_proj.weight'])) * F.linear(h, W[p + 'mlp.up_proj.weight']), W[p + 'mlp.down_proj.weight'])
    return F.linear(rms(x, W['model.norm.weight']), head)
ids = torch.randint(0, V, (B, T))
def loss_fn():
    logp = torch.log_softmax(forward(ids)[:, :-1], -1)
    return -logp.gather(-1, ids[:, 1:, None]).mean()
times = []
if args['mode'] == 'forward':
    with torch.no_grad():
        for i in range(args['reps'] + 2):
            t0 = time.perf_counter(); loss = loss_fn(); times.append(time.perf_counter() - t0)
else:
    params = [t for pair in lora.values() for t in pair]
    opt = torch.optim.AdamW(params, lr=1e-3)
    for i in range(args['reps'] + 2):
        t0 = time.perf_counter()
        loss = loss_fn(); loss.backward(); opt.step(); opt.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - t0)
times = sorted(times[2:])
print(json.dumps({'median_s': times[len(times) // 2], 'loss': float(loss)}))
`;

export function torchAvailable(): boolean {
  if (!existsSync('/usr/bin/python3')) return false;
  return spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
}

/** Writes weights as raw f32 files plus a manifest the script reads. */
export function writeTorchWeights(dir: string, config: Record<string, unknown>, weights: Map<string, { shape: number[]; data: Float32Array }>): void {
  mkdirSync(dir, { recursive: true });
  const files: Record<string, string> = {};
  const tensors: Record<string, number[]> = {};
  let i = 0;
  for (const [name, t] of weights) {
    files[name] = `t${i++}.f32`;
    tensors[name] = t.shape;
    writeFileSync(join(dir, files[name]!), new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ config, files, tensors }));
}

export interface TorchRun {
  dir: string;
  mode: 'forward' | 'train';
  threads: number;
  batch: number;
  seq: number;
  reps: number;
  lora_targets?: string[];
  lora_r?: number;
  lora_alpha?: number;
}

export function runTorch(run: TorchRun): { median_s: number; loss: number } | { error: string } {
  const result = spawnSync('/usr/bin/python3', ['-c', SCRIPT, JSON.stringify(run)], {
    encoding: 'utf8',
    env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: String(run.threads), MKL_NUM_THREADS: String(run.threads) },
    maxBuffer: 1 << 20,
  });
  if (result.status !== 0) return { error: (result.stderr || '').trim().split('\n').slice(-1)[0] ?? 'failed' };
  return JSON.parse(result.stdout.trim().split('\n').pop()!) as { median_s: number; loss: number };
}
