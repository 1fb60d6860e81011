#!/bin/sh
# End-to-end runs of the prsvd program (Debian's python3 with h5py and numpy as the client and
# the LAPACK reference): what the program says about itself (--help, the man page,
# docs/options.md), the solvers and the file formats.  tests/cli/workflows.sh holds the rest;
# make check runs the two side by side, since these runs mostly wait on mpirun and I/O.
exec "$top_srcdir/tests/cli/files.sh" test_help test_cli test_toolbox test_adaptive test_mmap test_sparse test_pca test_netcdf test_grid
