import { describe, expect, it } from 'vitest';
import { classifyTorchRuntime, describeTorchRuntime, JEMALLOC, torchTuningEnv } from '../../bench/_torch.js';

// Library lists as /proc/self/maps shows them in a python3 that imported Debian's python3-torch.
const COMMON = ['/usr/lib/x86_64-linux-gnu/libc.so.6', '/usr/lib/x86_64-linux-gnu/libtorch_cpu.so.1.13.1', '/usr/lib/x86_64-linux-gnu/lapack/liblapack.so.3.11.0'];
const NETLIB = '/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0';
const OPENBLAS = '/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3';
const DEBIAN_CONFIG = 'PyTorch built with:\n  - GCC 12.2\n  - BLAS_INFO=generic\n  - LAPACK_INFO=generic\n';

describe('classifyTorchRuntime', () => {
  it('calls a fresh Debian machine untuned: netlib reference BLAS and glibc malloc, and says how to tune it', () => {
    const runtime = classifyTorchRuntime({ libraries: [...COMMON, NETLIB], config: DEBIAN_CONFIG, version: '1.13.1' });
    expect(runtime.blas).toEqual({ kind: 'reference', library: NETLIB });
    expect(runtime.allocator).toEqual({ kind: 'glibc' });
    expect(runtime.tuned).toBe(false);
    expect(runtime.problems).toHaveLength(2);
    const line = describeTorchRuntime(runtime);
    expect(line).toMatch(/UNTUNED .*netlib reference.*glibc malloc.*no ratio printed/);
    expect(line).toContain('libopenblas0-pthread');
    expect(line).toContain('update-alternatives --display libblas.so.3-x86_64-linux-gnu');
  });

  it('still refuses OpenBLAS on glibc malloc, and accepts OpenBLAS with jemalloc', () => {
    const openblasOnly = classifyTorchRuntime({ libraries: [...COMMON, OPENBLAS, '/usr/lib/x86_64-linux-gnu/libopenblas.so.0'], config: DEBIAN_CONFIG, version: '1.13.1' });
    expect(openblasOnly.blas.kind).toBe('openblas');
    expect(openblasOnly.tuned).toBe(false);
    expect(openblasOnly.problems).toEqual([expect.stringMatching(/glibc malloc/)]);
    const tuned = classifyTorchRuntime({ libraries: [...COMMON, OPENBLAS, JEMALLOC], config: DEBIAN_CONFIG, version: '1.13.1' });
    expect(tuned).toMatchObject({ tuned: true, blas: { kind: 'openblas', library: OPENBLAS }, allocator: { kind: 'jemalloc', library: JEMALLOC } });
    expect(describeTorchRuntime(tuned)).toMatch(/: tuned$/);
  });

  it('reads a wheel’s statically linked MKL from torch.__config__, and knows BLIS and tcmalloc', () => {
    const wheel = classifyTorchRuntime({
      libraries: ['/venv/lib/python3.11/site-packages/torch/lib/libtorch_cpu.so', '/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4'],
      config: 'PyTorch built with:\n  - Intel(R) oneAPI Math Kernel Library Version 2024.2\n  - BLAS_INFO=mkl\n',
      version: '2.5.0',
    });
    expect(wheel).toMatchObject({ tuned: true, blas: { kind: 'mkl' }, allocator: { kind: 'tcmalloc' } });
    const blis = classifyTorchRuntime({ libraries: [...COMMON, '/usr/lib/x86_64-linux-gnu/blis-openmp/libblas.so.3', JEMALLOC], config: DEBIAN_CONFIG, version: '1.13.1' });
    expect(blis.blas.kind).toBe('blis');
    expect(blis.tuned).toBe(true);
  });

  it('refuses when it cannot tell the BLAS', () => {
    const runtime = classifyTorchRuntime({ libraries: [...COMMON, JEMALLOC], config: DEBIAN_CONFIG, version: '1.13.1' });
    expect(runtime.blas.kind).toBe('unknown');
    expect(runtime.tuned).toBe(false);
  });
});

describe('torchTuningEnv', () => {
  it('preloads jemalloc when installed and the user set no preload of their own', () => {
    expect(torchTuningEnv(2, {}, true)).toMatchObject({ OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '2', LD_PRELOAD: JEMALLOC, MALLOC_CONF: expect.stringContaining('oversize_threshold:0') });
    expect(torchTuningEnv(1, {}, false).LD_PRELOAD).toBeUndefined();
    expect(torchTuningEnv(1, { LD_PRELOAD: '/opt/tcmalloc.so' }, true).LD_PRELOAD).toBeUndefined();
  });
});
