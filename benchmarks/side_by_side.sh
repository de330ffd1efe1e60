#!/bin/bash
# Several trainings side by side on one accelerator (how the VSR/inpainting settings were swept on an H100), each
# run's eval lines printed at the end. RUNS is a file of lines "NAME CONFIG [--set key=value ...]".
#
#   bash benchmarks/side_by_side.sh RUNS [WORKDIR_ROOT]      # e.g. a line: vsr_ema99 vsr_photos --set ema.decay=0.99
#
# Each process gets MEM_FRACTION of the GPU's memory (default 0.07, for up to ~12 small runs) and at most LIMIT_S
# seconds (default 500).
set -u
runs=$1
root=${2:-/tmp/side_by_side}
mkdir -p "$root"
export XLA_PYTHON_CLIENT_MEM_FRACTION=${MEM_FRACTION:-0.07}
while read -r name config rest; do
  [ -z "$name" ] && continue
  # shellcheck disable=SC2086  # rest holds several --set arguments.
  timeout "${LIMIT_S:-500}" python -m mmgen_jax.cli train "$config" $rest --workdir "$root/$name" --no-progress \
    > "$root/$name.log" 2>&1 &
done < "$runs"
wait
for f in "$root"/*.log; do
  name=$(basename "$f" .log)
  echo "== $name: $(grep -h steps_per_s "$root/$name/metrics.jsonl" 2>/dev/null | tail -1 | grep -o '"steps_per_s": [0-9.]*')"
  grep -h '"eval/' "$root/$name/metrics.jsonl" 2>/dev/null | cut -c1-150
  grep -q Traceback "$f" && tail -3 "$f"
done
