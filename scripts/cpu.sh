#!/usr/bin/env bash
# The machine a benchmark ran on, for BENCHMARKS.md: CPU model, cores, vector extensions, and
# whether bf16 runs natively (codeframe refuses --precision bf16 where it does not).
set -euo pipefail
MODEL=$(awk -F: '/model name/ {gsub(/^ +/, "", $2); print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
FLAGS=$(awk -F: '/^flags/ {print $2; exit}' /proc/cpuinfo 2>/dev/null | tr ' ' '\n' | grep -E '^(avx|amx|fma$)' | tr '\n' ' ' || true)
BF16=no
case " $FLAGS " in *" avx512_bf16 "*|*" amx_bf16 "*) BF16=yes ;; esac
echo "[cpu] ${MODEL:-unknown CPU}, $(nproc) cores; flags: ${FLAGS:-none}; native bf16: $BF16" >&2
