#!/usr/bin/env bash
# The single-pass toolbox benchmark: accuracy against storage for --onepass-method three, two
# and hmt on TYUC 2019's test families (a PNG), Gaussian against sparse sketch maps per pass
# at 100000 x 4000, and one pass against subspace iteration (q = 1) on the same file; see
# bench/README.md.  Writes bench/out/toolbox/ (scratch, gitignored, about 3.3 GB), its section
# of bench/RESULTS.md and bench/toolbox-storage.png.  About 4 minutes on 2 idle cores.
#
#   bench/toolbox.sh                 # REPS=3 runs of each timed configuration
#   REPS=5 ROWS=100000 COLS=4000 bench/toolbox.sh
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
OUT=$HERE/out/toolbox
[ -x "$ROOT/prsvd" ] || { echo "toolbox.sh: $ROOT/prsvd not found; build prsvd first" >&2; exit 1; }
command -v gnuplot >/dev/null || { echo "toolbox.sh: gnuplot not found (tools/setup installs gnuplot-nox)" >&2; exit 1; }
mkdir -p "$OUT"
# the build's prsvd (the library's code linked in), copied so that a rebuild meanwhile cannot mix in
rm -rf "$OUT/build" && mkdir -p "$OUT/build"
cp "$ROOT/prsvd" "$OUT/build/"
PRSVD=$OUT/build/prsvd
/usr/bin/python3 "$HERE/toolbox.py" --prsvd "$PRSVD" --out "$OUT" --results "$HERE/RESULTS.md" \
  --reps "${REPS:-3}" --rows "${ROWS:-100000}" --cols "${COLS:-4000}"
