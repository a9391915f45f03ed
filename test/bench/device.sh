#!/usr/bin/env bash
# The GPU benchmark on a machine with no Node and no registry (the device machine of ../shared/docs: an H200 with
# PyTorch). Two halves:
#   here:  test/bench/device.sh pack   bundles the benchmark, its runtime and this Node into .device/ (git-ignored,
#                                      about 50 MB compressed, under the 64 MiB a device call carries)
#   there: test/bench/device.sh run    (with .device carried) unpacks it and runs `npm run bench`'s figures at
#                                      64, 128 and 256 on the engine the chain picks, both WebGPU layouts, next to
#                                      PyTorch on the same GPU; each log goes to $OUT (or .device/out).
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=.device

case "${1:-}" in
pack)
  rm -rf "$dir"
  node esbuild.mjs --bench "$dir/stage" >/dev/null
  tar -C "$dir/stage" -cf - . | xz -T0 -6 >"$dir/bench.tar.xz"
  rm -rf "$dir/stage"
  xz -T0 -6 -c "$(readlink -f "$(command -v node)")" >"$dir/node.xz"
  # Dawn opens libvulkan.so.1; the GPU's driver brings the rest.
  (cd "$dir" && apt-get download libvulkan1 >/dev/null)
  du -ch "$dir"/* | tail -1
  ;;
run)
  out=${OUT:-$dir/out}
  mkdir -p "$out"
  tar -C "$dir" -xJf "$dir/bench.tar.xz"
  xz -dc "$dir/node.xz" >"$dir/node" && chmod +x "$dir/node"
  if ! ldconfig -p | grep -q libvulkan.so.1; then
    for f in "$dir"/*.deb; do dpkg -x "$f" /; done
    ldconfig
  fi
  if [ -d /usr/local/nvidia/share/vulkan/icd.d ] && [ -z "${VK_DRIVER_FILES:-}" ]; then
    export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  fi
  export MUNIT_BENCH_PYTHON=${MUNIT_BENCH_PYTHON:-python3}
  nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>&1 | tee "$out/gpu.txt" || true
  bench() { "$dir/node" "$dir/bench.js" "$@"; }
  # Each figure set is written as it ends, so a run cut short still brings back what it measured.
  bench --iters 5 --train 64,128,256 --translate 128,256 2>&1 | tee "$out/bench-nhwc.txt"
  MUNIT_WEBGPU_LAYOUT=NCHW bench --iters 5 --train 64,128,256 --translate 128 --no-reference 2>&1 | tee "$out/bench-nchw.txt"
  MUNIT_ENGINE=tfjs bench --iters 3 --train 64 --translate 128 --no-reference 2>&1 | tee "$out/bench-tfjs.txt"
  ;;
*)
  echo "usage: test/bench/device.sh pack|run" >&2
  exit 2
  ;;
esac
