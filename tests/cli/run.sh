#!/bin/sh
# End-to-end runs of the prsvd program (Debian's python3 with h5py and numpy as the client and
# the LAPACK reference).
status=0
for t in test_cli test_toolbox test_adaptive test_pca test_checkpoint test_checkpoint_methods test_kfac test_sparse test_netcdf test_faults test_fashion test_kfac_train test_io; do
  echo "# $t"
  /usr/bin/python3 "$top_srcdir/tests/cli/$t.py" || status=1
done
exit $status
