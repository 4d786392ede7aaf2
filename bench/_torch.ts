/**
 * The PyTorch side of bench/runtime and bench/train: the same Llama forward (and LoRA SFT step) in
 * torch, run by /usr/bin/python3 in the same benchmark run, on the same weights (written as raw f32
 * files). Torch runs tuned as the anchors in ORT-TRAINING.md: OPENBLAS_NUM_THREADS=1,
 * torch.set_num_threads(threads) and jemalloc when installed. The process reports the libraries it
 * mapped; a reference on the netlib BLAS or glibc malloc is untuned, and the benchmarks print no
 * ratio against it (classifyTorchRuntime).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const SCRIPT = String.raw`
import json, os, sys, time, math, resource
import numpy as np, torch
import torch.nn.functional as F
args = json.loads(sys.argv[1])
torch.set_num_threads(args['threads'])
torch.manual_seed(0)
# device 'cuda' (bench/gpu.sh): every tensor is made there (torch >= 2.0); timings wait for the GPU
dev = args.get('device', 'cpu')
if dev != 'cpu':
    torch.set_default_device(dev)
def sync():
    if dev != 'cpu':
        torch.cuda.synchronize()
m = json.load(open(args['dir'] + '/manifest.json'))
c = m['config']
W = {}
for name, shape in m['tensors'].items():
    W[name] = torch.from_numpy(np.fromfile(args['dir'] + '/' + m['files'][name], dtype=np.float32).reshape(shape)).to(dev)
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
        w = c['hidden_size']; o = (H if t in ('q_proj', 'o_proj') else Hkv) * (D // H)
        A = torch.empty(r, w); torch.nn.init.kaiming_uniform_(A, a=math.sqrt(5))
        lora['%d.%s' % (l, t)] = (A.requires_grad_(), torch.zeros(o, r).requires_grad_())
scale = args.get('lora_alpha', 16) / r
# QLoRA as bitsandbytes runs it on a CPU (backends/default/ops.py quantize_4bit / dequantize_4bit,
# MatMul4Bit): linear weights held as packed NF4 codes + float32 absmax per 64 values, dequantised in
# the forward and again in the backward (dx = dy @ W), never kept in float32.
CODE = torch.tensor([-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
                     -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
                     0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
                     0.7229568362236023, 1.0])
Q = {}
if args.get('qlora'):
    for name in list(W):
        parts = name.split('.')
        if parts[-1] != 'weight' or parts[-2] not in ('q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'):
            continue
        w = W.pop(name)
        blocks = w.reshape(-1, 64)
        absmax = blocks.abs().max(-1)[0]
        scaled = torch.clamp(blocks * (1 / absmax)[:, None], -1, 1).reshape(-1)
        codes = torch.cat([torch.argmin((c[:, None] - CODE).abs(), -1) for c in scaled.split(1 << 20)]).to(torch.uint8)
        Q[name] = ((codes[::2] << 4) | codes[1::2], absmax, w.shape)
def deq(name):
    packed, absmax, shape = Q[name]
    codes = torch.empty(packed.numel() * 2, dtype=torch.long)
    codes[::2] = packed >> 4
    codes[1::2] = packed & 15
    return (CODE[codes].view(-1, 64) * absmax[:, None]).view(shape)
class Linear4(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, name):
        ctx.name = name
        return F.linear(x, deq(name))
    @staticmethod
    def backward(ctx, g):
        return g @ deq(ctx.name), None
def dense(x, name):
    return Linear4.apply(x, name) if name in Q else F.linear(x, W[name])
def rms(x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w
def rot(x):
    x1, x2 = x[..., :hd // 2], x[..., hd // 2:]
    return torch.cat([-x2, x1], -1)
def lin(x, l, name, mod):
    y = dense(x, name)
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
        x = x + dense(F.silu(dense(h, p + 'mlp.gate_proj.weight')) * dense(h, p + 'mlp.up_proj.weight'), p + 'mlp.down_proj.weight')
    return F.linear(rms(x, W['model.norm.weight']), head)
ids = torch.randint(0, V, (B, T))
def loss_fn():
    logp = torch.log_softmax(forward(ids)[:, :-1], -1)
    return -logp.gather(-1, ids[:, 1:, None]).mean()
times = []
if args['mode'] == 'forward':
    with torch.no_grad():
        for i in range(args['reps'] + args.get('warmup', 2)):
            t0 = time.perf_counter(); loss = loss_fn(); sync(); times.append(time.perf_counter() - t0)
else:
    params = [t for pair in lora.values() for t in pair]
    opt = torch.optim.AdamW(params, lr=1e-3)
    for i in range(args['reps'] + args.get('warmup', 2)):
        t0 = time.perf_counter()
        loss = loss_fn(); loss.backward(); opt.step(); opt.zero_grad(set_to_none=True); sync()
        times.append(time.perf_counter() - t0)
times = sorted(times[args.get('warmup', 2):])
# What this process really runs on: the shared libraries mapped into it (BLAS, allocator) and torch's build config.
libs = sorted({line.split()[-1] for line in open('/proc/self/maps') if '.so' in line.split()[-1]}) if os.path.exists('/proc/self/maps') else []
runtime = {'libraries': libs, 'config': torch.__config__.show(), 'version': torch.__version__}
print(json.dumps({'median_s': times[len(times) // 2], 'loss': float(loss), 'runtime': runtime, 'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 'device': dev}))
`;

/** What the reference process loaded, as it reported it. */
export interface TorchRuntimeReport {
  /** Paths of the shared libraries mapped into the process (/proc/self/maps). */
  libraries: string[];
  /** torch.__config__.show(): the build's BLAS_INFO among others. */
  config: string;
  version: string;
}

export interface TorchRuntime {
  version: string;
  blas: { kind: 'openblas' | 'mkl' | 'blis' | 'atlas' | 'reference' | 'unknown'; library?: string };
  allocator: { kind: 'jemalloc' | 'tcmalloc' | 'mimalloc' | 'glibc'; library?: string };
  /** True when both the BLAS and the allocator are fast ones: only then is a ratio against it a result. */
  tuned: boolean;
  /** Why it is untuned, one line each. */
  problems: string[];
}

/** Where Debian's jemalloc lives; preloaded into the reference when installed. */
export const JEMALLOC = '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2';

export const TUNING_HINT =
  'Tune the reference (FACTS.md): `apt-get install -y libopenblas0-pthread libjemalloc2` ' +
  '(`update-alternatives --display libblas.so.3-x86_64-linux-gnu` shows which BLAS libblas.so.3 is); ' +
  `the benchmark then preloads ${JEMALLOC} with MALLOC_CONF=oversize_threshold:0,dirty_decay_ms:-1,muzzy_decay_ms:-1,thp:always and OPENBLAS_NUM_THREADS=1.`;

/**
 * Classifies the BLAS and the allocator a PyTorch process ran on, from the libraries mapped into it
 * (Debian's python3-torch links the generic libblas.so.3, which is the netlib reference BLAS, ~5×
 * slower, unless OpenBLAS is installed; glibc malloc costs ~20 %) and, for wheels that link their
 * BLAS statically, from torch's build config.
 */
export function classifyTorchRuntime(report: TorchRuntimeReport): TorchRuntime {
  const find = (pattern: RegExp) => report.libraries.find((path) => pattern.test(path));
  let blas: TorchRuntime['blas'] = { kind: 'unknown' };
  const mapped: Array<[TorchRuntime['blas']['kind'], RegExp]> = [
    ['openblas', /openblas/i],
    ['mkl', /libmkl_/],
    ['blis', /blis/i],
    ['atlas', /atlas/i],
    // The netlib reference: Debian's /usr/lib/<triplet>/blas/libblas.so.3, or a bare libblas.so.3 (or librefblas).
    ['reference', /\/blas\/libblas\.so|librefblas|\/libblas\.so(\.\d+)*$/],
  ];
  for (const [kind, pattern] of mapped) {
    const library = find(pattern);
    if (library) {
      blas = { kind, library };
      break;
    }
  }
  if (blas.kind === 'unknown') {
    // Wheels link MKL (or OpenBLAS) into libtorch_cpu itself; the build config names it.
    const info = /BLAS_INFO=(\w+)/.exec(report.config)?.[1]?.toLowerCase();
    if (info === 'mkl' || /Math Kernel Library/.test(report.config)) blas = { kind: 'mkl' };
    else if (info === 'open' || info === 'openblas') blas = { kind: 'openblas' };
  }
  let allocator: TorchRuntime['allocator'] = { kind: 'glibc' };
  for (const kind of ['jemalloc', 'tcmalloc', 'mimalloc'] as const) {
    const library = find(new RegExp(`lib${kind}`));
    if (library) {
      allocator = { kind, library };
      break;
    }
  }
  const problems: string[] = [];
  if (blas.kind === 'reference') problems.push(`BLAS is the netlib reference (${blas.library}), ~5× slower than OpenBLAS`);
  else if (blas.kind === 'atlas') problems.push(`BLAS is ATLAS (${blas.library}), not a tuned OpenBLAS/MKL/BLIS`);
  else if (blas.kind === 'unknown') problems.push('no BLAS library found in the process and none named in torch.__config__');
  if (allocator.kind === 'glibc') problems.push('memory allocator is glibc malloc (~20 % slower than jemalloc here)');
  return { version: report.version, blas, allocator, tuned: problems.length === 0, problems };
}

/** One line for the benchmark's output: what the reference ran on, and whether a ratio against it means anything. */
export function describeTorchRuntime(runtime: TorchRuntime): string {
  const lib = (x: { kind: string; library?: string }) => (x.library ? `${x.kind} (${x.library})` : x.kind);
  const head = `PyTorch ${runtime.version} reference: BLAS ${lib(runtime.blas)}, allocator ${lib(runtime.allocator)}`;
  return runtime.tuned ? `${head}: tuned` : `${head}: UNTUNED (${runtime.problems.join('; ')}); no ratio printed. ${TUNING_HINT}`;
}

/** Prints what the reference ran on (once per distinct answer); true when a ratio against it may be printed. */
export function announceTorchRuntime(runtime: TorchRuntime, seen: Set<string>): boolean {
  const line = describeTorchRuntime(runtime);
  if (!seen.has(line)) console.log(line);
  seen.add(line);
  return runtime.tuned;
}

/** Environment that tunes the reference: one BLAS thread per torch thread and, when installed, jemalloc. */
export function torchTuningEnv(threads: number, env: Readonly<Record<string, string | undefined>> = process.env, hasJemalloc = existsSync(JEMALLOC)): Record<string, string> {
  const tuned: Record<string, string> = { OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) };
  // A preload the user chose stays theirs; the check below reports what it gave.
  if (hasJemalloc && !env.LD_PRELOAD) {
    tuned.LD_PRELOAD = JEMALLOC;
    tuned.MALLOC_CONF = env.MALLOC_CONF ?? 'oversize_threshold:0,dirty_decay_ms:-1,muzzy_decay_ms:-1,thp:always';
  }
  return tuned;
}

/** The Python that runs the reference: BENCH_PYTHON, else Debian's /usr/bin/python3. */
const python = (): string => process.env.BENCH_PYTHON || '/usr/bin/python3';

export function torchAvailable(device: 'cpu' | 'cuda' = 'cpu'): boolean {
  if (!existsSync(python())) return false;
  const probe = device === 'cuda' ? 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' : 'import torch';
  return spawnSync(python(), ['-c', probe], { stdio: 'ignore' }).status === 0;
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
  /** Linear weights as NF4 (bitsandbytes' CPU kernels' algorithm), dequantised in forward and backward. */
  qlora?: boolean;
  /** Untimed steps before the timed ones (default 2). */
  warmup?: number;
  /** 'cuda' runs the reference on the GPU (needs torch ≥ 2.0 built with CUDA). */
  device?: 'cpu' | 'cuda';
}

export function runTorch(run: TorchRun): { median_s: number; loss: number; runtime: TorchRuntime; peak_rss_mb: number } | { error: string } {
  const result = spawnSync(python(), ['-c', SCRIPT, JSON.stringify(run)], {
    encoding: 'utf8',
    env: { ...process.env, ...torchTuningEnv(run.threads) },
    maxBuffer: 1 << 22,
  });
  if (result.status !== 0) return { error: (result.stderr || '').trim().split('\n').slice(-1)[0] ?? 'failed' };
  const out = JSON.parse(result.stdout.trim().split('\n').pop()!) as { median_s: number; loss: number; runtime: TorchRuntimeReport; peak_rss_mb: number };
  return { median_s: out.median_s, loss: out.loss, runtime: classifyTorchRuntime(out.runtime), peak_rss_mb: out.peak_rss_mb };
}
