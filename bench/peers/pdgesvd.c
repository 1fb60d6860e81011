/*
 * ScaLAPACK's full PDGESVD as an in-memory reference: every singular value of an HDF5
 * dataset, on a P x 1 BLACS grid (64 x 64 blocks), singular vectors not formed.
 *
 * usage: mpirun -n P pdgesvd FILE.h5 /DATASET
 * Each rank reads its block-cyclic rows with one strided HDF5 hyperslab (any float type,
 * converted to double by HDF5), then PDGESVD runs.  Rank 0 prints one JSON line: the load
 * and compute times, the singular values, and, when the dataset has the attribute
 * 'singular_values' (prsvd gen), the largest error against them relative to sigma_1.
 * Peak memory is measured from outside (bench/peers/memwatch.py).
 */
#include <hdf5.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../mpi/scalapack_impl.h"

int numroc_(const int *n, const int *nb, const int *iproc, const int *isrcproc, const int *nprocs);
void pdgesvd_(const char *jobu, const char *jobvt, const int *m, const int *n, double *a,
              const int *ia, const int *ja, const int *desca, double *s, double *u, const int *iu,
              const int *ju, const int *descu, double *vt, const int *ivt, const int *jvt,
              const int *descvt, double *work, const int *lwork, int *info);

#define NB 64

static void die(const char *what) {
  fprintf(stderr, "pdgesvd: %s\n", what);
  MPI_Abort(MPI_COMM_WORLD, 2);
}

/* This rank's block-cyclic rows (blocks of NB, rank r holds blocks r, r + P, ...), column-major
 * into a (lld x n). */
static void read_rows(const char *file, const char *dset, int rank, int nprocs, int m, int n,
                      int lrows, double *a, int lld, double **planted, int *n_planted) {
  hid_t f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) die("cannot open the file");
  hid_t d = H5Dopen2(f, dset, H5P_DEFAULT);
  if (d < 0) die("cannot open the dataset");
  double *rows = malloc(sizeof(double) * ((size_t)lrows * n + 1));
  if (!rows) die("out of memory for the rows");
  if (lrows > 0) {
    hid_t fs = H5Dget_space(d);
    H5Sselect_none(fs);
    for (int b = rank; (long)b * NB < m; b += nprocs) {
      hsize_t start[2] = {(hsize_t)b * NB, 0}, count[2] = {(hsize_t)(m - b * NB < NB ? m - b * NB : NB), (hsize_t)n};
      H5Sselect_hyperslab(fs, H5S_SELECT_OR, start, NULL, count, NULL);
    }
    hsize_t mdims[2] = {(hsize_t)lrows, (hsize_t)n};
    hid_t ms = H5Screate_simple(2, mdims, NULL);
    if (H5Dread(d, H5T_NATIVE_DOUBLE, ms, fs, H5P_DEFAULT, rows) < 0) die("cannot read the rows");
    H5Sclose(ms);
    H5Sclose(fs);
  }
  for (int i = 0; i < lrows; i++) /* row-major rows -> column-major local block */
    for (int j = 0; j < n; j++) a[(size_t)j * lld + i] = rows[(size_t)i * n + j];
  free(rows);
  *planted = NULL, *n_planted = 0;
  if (H5Aexists(d, "singular_values") > 0) {
    hid_t at = H5Aopen(d, "singular_values", H5P_DEFAULT), sp = H5Aget_space(at);
    *n_planted = (int)H5Sget_simple_extent_npoints(sp);
    *planted = malloc(sizeof(double) * (size_t)(*n_planted + 1));
    if (!*planted || H5Aread(at, H5T_NATIVE_DOUBLE, *planted) < 0) die("cannot read 'singular_values'");
    H5Sclose(sp);
    H5Aclose(at);
  }
  H5Dclose(d);
  H5Fclose(f);
}

static int dims_of(const char *file, const char *dset, int *m, int *n) {
  hid_t f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) return -1;
  hid_t d = H5Dopen2(f, dset, H5P_DEFAULT);
  if (d < 0) return -1;
  hid_t s = H5Dget_space(d);
  hsize_t dims[2];
  int ok = H5Sget_simple_extent_ndims(s) == 2 && H5Sget_simple_extent_dims(s, dims, NULL) == 2;
  H5Sclose(s);
  H5Dclose(d);
  H5Fclose(f);
  if (!ok || dims[0] > 2147483647u || dims[1] > 2147483647u) return -1;
  *m = (int)dims[0], *n = (int)dims[1];
  return 0;
}

static int descending(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return (a < b) - (a > b);
}

int main(int argc, char **argv) {
  int rank, nprocs, m, n, ctxt, nprow, npcol, myrow, mycol, info, izero = 0, ione = 1, nb = NB;
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &nprocs);
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  if (argc != 3) {
    if (!rank) fprintf(stderr, "usage: mpirun -n P pdgesvd FILE.h5 /DATASET\n");
    MPI_Finalize();
    return 1;
  }
  if (dims_of(argv[1], argv[2], &m, &n)) die("cannot read the shape of the dataset (2-D, < 2^31 a side)");
  double t0 = MPI_Wtime();
  ctxt = Csys2blacs_handle(MPI_COMM_WORLD);
  Cblacs_gridinit(&ctxt, "R", nprocs, 1);
  Cblacs_gridinfo(ctxt, &nprow, &npcol, &myrow, &mycol);
  const int lrows = numroc_(&m, &nb, &myrow, &izero, &nprow);
  const int lld = lrows > 1 ? lrows : 1;
  int desc[9];
  descinit_(desc, &m, &n, &nb, &nb, &izero, &izero, &ctxt, &lld, &info);
  if (info) die("descinit failed");
  const int r = m < n ? m : n;
  double *a = malloc(sizeof(double) * ((size_t)lld * n)), *s = malloc(sizeof(double) * (size_t)r);
  double *planted = NULL;
  int n_planted = 0;
  if (!a || !s) die("out of memory for A");
  read_rows(argv[1], argv[2], myrow, nprow, m, n, lrows, a, lld, &planted, &n_planted);
  MPI_Barrier(MPI_COMM_WORLD);
  double t1 = MPI_Wtime();
  /* workspace query, then every singular value (no vectors) */
  double wq, dummy = 0.0;
  int lwork = -1;
  pdgesvd_("N", "N", &m, &n, a, &ione, &ione, desc, s, &dummy, &ione, &ione, desc, &dummy, &ione,
           &ione, desc, &wq, &lwork, &info);
  if (info) die("workspace query failed");
  lwork = (int)wq + 1;
  double *work = malloc(sizeof(double) * (size_t)lwork);
  if (!work) die("out of memory for the workspace");
  pdgesvd_("N", "N", &m, &n, a, &ione, &ione, desc, s, &dummy, &ione, &ione, desc, &dummy, &ione,
           &ione, desc, work, &lwork, &info);
  double t2 = MPI_Wtime();
  if (!rank) {
    double err = -1.0;
    if (planted && n_planted >= r) {
      qsort(planted, (size_t)n_planted, sizeof(double), descending);
      err = 0.0;
      for (int j = 0; j < r; j++) err = fmax(err, fabs(s[j] - planted[j]) / planted[0]);
    }
    printf("{\"method\": \"ScaLAPACK pdgesvd\", \"status\": \"%s\", \"info\": %d, \"ranks\": %d, "
           "\"grid\": \"%dx1\", \"block\": %d, \"rows\": %d, \"cols\": %d, \"load_seconds\": %.6f, "
           "\"compute_seconds\": %.6f, \"workspace_doubles\": %d, \"max_sigma_error_over_sigma1\": ",
           info ? "failed" : "ok", info, nprocs, nprocs, NB, m, n, t1 - t0, t2 - t1, lwork);
    if (err >= 0) printf("%.6e", err);
    else printf("null");
    printf(", \"singular_values\": [");
    for (int j = 0; j < r; j++) printf("%s%.17g", j ? ", " : "", s[j]);
    printf("]}\n");
  }
  free(work);
  free(a);
  free(s);
  free(planted);
  Cblacs_gridexit(ctxt);
  MPI_Finalize();
  return info ? 4 : 0;
}
