#!/bin/sh
# End-to-end runs of the prsvd program (Debian's python3 with h5py and numpy as the client and
# the LAPACK reference).
exec /usr/bin/python3 "$top_srcdir/tests/cli/test_cli.py"
