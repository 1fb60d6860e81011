#!/usr/bin/env bash
# prsvd must also build and run with MPICH (Debian's mpich, libscalapack-mpich-dev,
# libhdf5-mpich-dev; tools/setup installs them).  This builds a copy of the distributed
# sources (make distdir) with MPICC=mpicc.mpich, runs the distributed Check suite at 2 ranks
# under mpiexec.mpich, and checks a 2-rank svd against the planted spectrum and against the
# Open MPI build's result on the same file: the factors must agree to 1e-10, since neither
# the generator nor the partition depends on the MPI library.
#
# Ends with "N passed, M failed".  PRSVD_TEST_MPICH=0 skips it (exit 77).  Files:
# tests/mpich/tmp/ in the build directory.
set -uo pipefail

[ "${PRSVD_TEST_MPICH:-1}" = 0 ] && { echo "# PRSVD_TEST_MPICH=0: skipped"; exit 77; }
srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
builddir=${top_builddir:-$srcdir}
PY=/usr/bin/python3
export OPENBLAS_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
tmp=$builddir/tests/mpich/tmp
passed=0 failed=0 n=0
ok() { n=$((n + 1)); passed=$((passed + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; [ $# -gt 1 ] && printf '%s\n' "$2" | sed 's/^/#   /'; }
finish() { echo "$passed passed, $failed failed"; [ "$failed" = 0 ]; exit $?; }

for tool in mpicc.mpich mpiexec.mpich; do
  command -v $tool >/dev/null || { not_ok "$tool on PATH" "install mpich libmpich-dev (tools/setup does)"; finish; }
done

rm -rf "$tmp" && mkdir -p "$tmp"
if out=$(make -s -C "$builddir" distdir distdir="$tmp/src" 2>&1); then ok "make distdir"
else not_ok "make distdir" "$out"; finish; fi

cd "$tmp/src" || finish
if out=$(./configure -q MPICC=mpicc.mpich 2>&1 && make -s -j"$(nproc)" prsvd tests/mpi/test_dist 2>&1); then
  if grep -qE "^SCALAPACK_LIBS = -lscalapack-mpich" Makefile && grep -qE "^HDF5_CFLAGS = .*mpich" Makefile; then
    ok "configure and build with MPICH (ScaLAPACK and HDF5 for MPICH chosen)"
  else not_ok "configure chose the MPICH builds of ScaLAPACK and HDF5" "$(grep -E '^(SCALAPACK_LIBS|HDF5_CFLAGS) =' Makefile)"; fi
else not_ok "configure and build with MPICH" "$out"; finish; fi

mpich=$tmp/src/prsvd
# what the program itself reports running with (ldd of libtool's binary is not reliable under
# make distcheck)
if out=$("$mpich" --version 2>&1) && grep -q "MPI .*MPICH" <<<"$out"; then
  ok "prsvd --version reports MPICH"
else not_ok "prsvd --version reports MPICH" "$out"; fi

if out=$(mpiexec.mpich -n 2 tests/mpi/test_dist 2>&1) && grep -q "Failures: 0, Errors: 0" <<<"$out"; then
  ok "test_dist at 2 ranks under mpiexec.mpich"
else not_ok "test_dist at 2 ranks under mpiexec.mpich" "$out"; fi

a=$tmp/a.h5
if out=$(mpiexec.mpich -n 2 "$mpich" gen "$a:/A" --rows 4000 --cols 300 --spectrum poly --decay 2 --chunk 500x300 2>&1 \
         && mpiexec.mpich -n 2 "$mpich" svd "$a:/A" -k 12 -q 2 -o "$tmp/mpich.h5" --quiet 2>&1 \
         && mpiexec.mpich -n 2 "$mpich" verify "$a:/A" "$tmp/mpich.h5" --json 2>&1 >"$tmp/verify.json"); then
  ok "gen, svd and verify at 2 ranks under mpiexec.mpich"
else not_ok "gen, svd and verify at 2 ranks under mpiexec.mpich" "$out"; finish; fi

if out=$($PY - "$tmp/verify.json" <<'EOF' 2>&1
import json, sys
r = json.load(open(sys.argv[1]))
assert r["residual_over_optimal"] <= 1.01, r
assert r["orthogonality_u"] < 1e-12 and r["orthogonality_v"] < 1e-12, r
assert r["singular_value_error"] < 1e-6, r
EOF
); then ok "MPICH result: residual within 1% of optimal, orthonormal, planted spectrum"
else not_ok "MPICH result: residual within 1% of optimal, orthonormal, planted spectrum" "$out"; fi

# The Open MPI build of this tree on the same file.
ompi_run=(${MPIEXEC:-mpirun} ${MPIEXEC_FLAGS---oversubscribe})
if out=$("${ompi_run[@]}" -n 2 "$builddir/prsvd" svd "$a:/A" -k 12 -q 2 -o "$tmp/ompi.h5" --quiet 2>&1) \
   && out=$($PY - "$tmp/mpich.h5" "$tmp/ompi.h5" <<'EOF' 2>&1
import sys, h5py, numpy as np
m, o = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
for name in ("S", "U", "V"):
    d = np.max(np.abs(m[name][...] - o[name][...]))
    assert d < 1e-10, f"{name} differs by {d:.3e}"
EOF
); then ok "MPICH and Open MPI builds give the same S, U, V to 1e-10"
else not_ok "MPICH and Open MPI builds give the same S, U, V to 1e-10" "$out"; fi

finish
