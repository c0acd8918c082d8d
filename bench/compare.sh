#!/usr/bin/env bash
# palimpsest against Python PyTorch on the same shapes, run alternately so both see the same machine:
# scoring forward in fp32 and bf16 (PyTorch: torch.autocast) and training steps in fp32 and bf16.
# Prints each median and the ratio palimpsest / PyTorch. Needs: apt install python3-torch libopenblas0-pthread.
#   bench/compare.sh [ROUNDS]   (default 3; extra palimpsest shape options via PALIMPSEST_BENCH_ARGS)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROUNDS="${1:-3}"
PY="${PYTHON:-/usr/bin/python3}"
export OMP_WAIT_POLICY=PASSIVE
ours() { "$ROOT/palimpsest" bench "$1" --dtype "$2" --repeats 3 --json ${PALIMPSEST_BENCH_ARGS:-} | tail -1; }
peer() { "$PY" "$ROOT/bench/torch_peer.py" --mode "$1" --dtype "$2" --repeats 3 --json; }
key() { "$PY" -c "import json,sys; print(json.loads(sys.stdin.read())['$1'])"; }
median() { "$PY" -c "import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))" "$@"; }
printf '%-22s %14s %14s %8s\n' "benchmark" "palimpsest" "pytorch" "ratio"
for spec in "forward score float32 float32 scoreTokensPerSecond" "forward score bfloat16 bfloat16 scoreTokensPerSecond" \
            "train train float32 float32 trainTokensPerSecond" "train train bfloat16 bfloat16 trainTokensPerSecond"; do
  read -r cmd mode ourType peerType field <<<"$spec"
  a=(); b=()
  for ((r = 0; r < ROUNDS; r++)); do
    a+=("$(ours "$cmd" "$ourType" | key "$field")")
    b+=("$(peer "$mode" "$peerType" | key "$field")")
  done
  ma=$(median "${a[@]}"); mb=$(median "${b[@]}")
  printf '%-22s %14.0f %14.0f %8.2f\n' "$cmd $ourType" "$ma" "$mb" "$("$PY" -c "print($ma / $mb)")"
done
