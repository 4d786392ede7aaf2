#!/usr/bin/env bash
# bench/gpu.sh: the local engine on a machine with an NVIDIA GPU (issue 17).
#
# Installs what it needs from the npm registry only (the repo's locked dependencies; onnxruntime-node's
# npm tarball carries the CPU and WebGPU (Dawn) binaries), checks that the WebGPU provider's training
# step gives the CPU provider's loss and gradients on stories260K (LoRA and QLoRA), and prints
# training tokens/s per provider, next to PyTorch on CUDA where the machine's Python has torch with CUDA.
#
# CUDA: onnxruntime-node's CUDA provider (libonnxruntime_providers_cuda.so) is not in the npm tarball;
# its install script fetches it from NuGet, outside the npm registry, so this script does not install
# it. It runs the cuda provider only when those files are already beside the binding (the engine
# then offers cuda) and the CUDA 12 / cuDNN 9 libraries load; `--providers cuda` asks for it explicitly.
#
# Usage: bash bench/gpu.sh [options]
#   --providers LIST   GPU providers to check, comma-separated: webgpu, cuda (default: webgpu, plus cuda when installed)
#   --shapes LIST      s260k (default), s15m, s110m, smol135m
#   --approaches LIST  lora,qlora (default both)
#   --steps N          timed steps per item (default 10)
#   --warmup N         untimed steps first (default 2)
#   --threads N        CPU threads for the cpu provider (default: all cores)
#   --tolerance X      largest relative gradient error against cpu (default 1e-3)
#   --out DIR          where gpu-summary.json and log.txt go (default $OUT, else ./gpu-results)
#   --python PATH      the Python with torch for the PyTorch CUDA row (default: python3 on PATH)
#   --cpu-only         no GPU provider: runs the same path on cpu alone (a dry run on any machine)
#   --skip-install     use node_modules as they are
#   -h, --help         this text
# Exit status: 0 ok, 2 bad arguments or missing prerequisite, 3 a gradient check failed, 4 the check
# crashed, 5 a provider or the PyTorch reference could not run (no adapter, missing libraries).
set -uo pipefail

usage() { sed -n '2,/^set -uo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
die() { echo "gpu.sh: $*" >&2; exit 2; }

providers=""; shapes="s260k"; approaches="lora,qlora"; steps=10; warmup=2; threads="$(nproc 2>/dev/null || echo 1)"
tolerance="1e-3"; out="${OUT:-}"; python="$(command -v python3 || true)"; cpu_only=0; install=1
while [ $# -gt 0 ]; do
  case "$1" in
    --providers|--shapes|--approaches|--steps|--warmup|--threads|--tolerance|--out|--python)
      [ $# -ge 2 ] && [ -n "$2" ] || die "$1 needs a value (see --help)"
      case "$1" in
        --providers) providers="$2" ;; --shapes) shapes="$2" ;; --approaches) approaches="$2" ;;
        --steps) steps="$2" ;; --warmup) warmup="$2" ;; --threads) threads="$2" ;;
        --tolerance) tolerance="$2" ;; --out) out="$2" ;; --python) python="$2" ;;
      esac
      shift 2 ;;
    --cpu-only) cpu_only=1; shift ;;
    --skip-install) install=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
for n in steps warmup threads; do
  [[ "${!n}" =~ ^[0-9]+$ ]] || die "--$n must be a whole number, got '${!n}'"
done
[ "$steps" -ge 1 ] || die "--steps must be at least 1"
[ "$threads" -ge 1 ] || die "--threads must be at least 1"
[[ "$tolerance" =~ ^[0-9.]+([eE]-?[0-9]+)?$ ]] || die "--tolerance must be a number, got '$tolerance'"
for s in ${shapes//,/ }; do case "$s" in s260k|s15m|s110m|smol135m) ;; *) die "unknown shape '$s' (s260k, s15m, s110m, smol135m)" ;; esac; done
for a in ${approaches//,/ }; do case "$a" in lora|qlora) ;; *) die "unknown approach '$a' (lora, qlora)" ;; esac; done
for p in ${providers//,/ }; do case "$p" in webgpu|cuda) ;; *) die "unknown provider '$p' (webgpu, cuda)" ;; esac; done

cd "$(dirname "$0")/.." || die "cannot enter the repository root"
out="${out:-$PWD/gpu-results}"
mkdir -p "$out" || die "cannot create $out"
log="$out/log.txt"
exec > >(tee -a "$log") 2>&1
echo "== bench/gpu.sh $(date -u +%FT%TZ) on $(hostname)"

command -v node >/dev/null || die "node is not installed: install Node.js 20, 22 or 24 first (the npm registry cannot provide node without npm)"
major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$major" -ge 20 ] || die "node $(node -v) is too old: Node.js 20 or later is needed"
echo "node $(node -v), npm $(npm -v 2>/dev/null || echo none)"

if [ "$cpu_only" = 0 ]; then
  if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
  else
    echo "no nvidia-smi: no NVIDIA driver here; continuing with what the providers report"
  fi
  # WebGPU (Dawn) reaches the GPU through Vulkan: the loader and NVIDIA's ICD
  if ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1'; then echo "Vulkan loader: present"
  else echo "Vulkan loader (libvulkan.so.1): MISSING: webgpu will find no adapter (Debian: apt-get install libvulkan1)"; fi
  for icd in /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json; do
    if [ -f "$icd" ]; then echo "NVIDIA Vulkan ICD: $icd"; export VK_DRIVER_FILES="${VK_DRIVER_FILES:-$icd}"; break; fi
  done
fi

if [ "$install" = 1 ]; then
  echo "== npm ci (npm registry only; onnxruntime-node's CUDA download skipped)"
  npm ci --no-audit --no-fund --onnxruntime-node-install=skip || die "npm ci failed"
fi
[ -d node_modules/onnxruntime-node ] || die "node_modules/onnxruntime-node is missing: run without --skip-install"

if [ "$cpu_only" = 1 ]; then
  providers=""
elif [ -z "$providers" ]; then
  providers="webgpu"
  if ls node_modules/onnxruntime-node/bin/*/linux/x64/libonnxruntime_providers_cuda.so >/dev/null 2>&1; then providers="webgpu,cuda"
  else echo "cuda provider: not installed (its files come from NuGet, not npm); skipped"; fi
fi
echo "providers: cpu${providers:+,$providers}; shapes: $shapes; approaches: $approaches"

opts="$(node -e '
const [providers, shapes, approaches, steps, warmup, threads, tolerance, out] = process.argv.slice(1);
const list = (s) => s.split(",").filter(Boolean);
console.log(JSON.stringify({ providers: list(providers), shapes: list(shapes), approaches: list(approaches), steps: +steps, warmup: +warmup, threads: +threads, tolerance: +tolerance, out }));
' "$providers" "$shapes" "$approaches" "$steps" "$warmup" "$threads" "$tolerance" "$out")"

BENCH_PYTHON="$python" node --import tsx bench/_gpu-check.ts "$opts"
status=$?
case "$status" in
  0) echo "== done: $out/gpu-summary.json" ;;
  3) echo "== gradient check failed: see $out/gpu-summary.json" ;;
  5) echo "== a provider could not run (its error is in the table and in $out/gpu-summary.json)" ;;
  *) echo "== the check crashed (exit $status)"; status=4 ;;
esac
exit "$status"
