/*
 * Symmetric matrices distributed 2-D block-cyclically over a near-square BLACS grid of every
 * rank, and their full eigendecomposition by ScaLAPACK's divide and conquer (PDSYEVD): the
 * exact decomposition of a K-FAC factor too large for one rank.
 *
 *   grid nprow x npcol = P, nprow the largest divisor of P not above sqrt(P)
 *   A = Z diag(w) Z^T      (PDSYEVD, w ascending, on every rank)
 *   U = the k columns of Z of largest w, replicated by summing each rank's disjoint pieces
 *
 * Assumptions: the caller stores every row of the blocks this rank holds (rows are dealt in
 * blocks of prsvd_smat_block() rows) before prsvd_smat_eigh; only the upper triangle is read.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "grid_impl.h"
#include "scalapack_impl.h"

struct prsvd_smat {
  MPI_Comm comm;
  int blacs_handle, ctxt;
  int nprow, npcol, myrow, mycol;
  int64_t n, nb, local_rows, local_cols;
  double *data; /* local_rows x local_cols, column-major */
  int desc[9];
};

/* Entries of a dimension of n split in blocks of nb over np processes that process p holds */
static int64_t local_count(int64_t n, int64_t nb, int p, int np) {
  const int64_t blocks = n / nb, extra = n % nb;
  int64_t count = (blocks / np) * nb;
  if (blocks % np > p) count += nb;
  else if (blocks % np == p) count += extra;
  return count;
}

/* The global index of local index l of process p (blocks of nb dealt over np processes) */
static int64_t global_index(int64_t l, int64_t nb, int p, int np) {
  return ((l / nb) * np + p) * nb + l % nb;
}

int prsvd_smat_create(MPI_Comm comm, int64_t n, prsvd_smat **out) {
  int status = PRSVD_OK, nprocs, rank, in, inb, lld, info, zero = 0;
  prsvd_smat *a = NULL;
  *out = NULL;
  PRSVD_ALLOC(a, 1);
  a->comm = comm;
  a->blacs_handle = -1;
  MPI_Comm_size(comm, &nprocs);
  MPI_Comm_rank(comm, &rank);
  a->nprow = 1;
  for (int p = 1; p * p <= nprocs; p++)
    if (nprocs % p == 0) a->nprow = p;
  a->npcol = nprocs / a->nprow;
  a->blacs_handle = Csys2blacs_handle(comm);
  a->ctxt = a->blacs_handle;
  Cblacs_gridinit(&a->ctxt, "R", a->nprow, a->npcol);
  int nprow, npcol;
  Cblacs_gridinfo(a->ctxt, &nprow, &npcol, &a->myrow, &a->mycol);
  if (nprow != a->nprow || npcol != a->npcol || a->myrow * a->npcol + a->mycol != rank)
    PRSVD_FAIL(PRSVD_ERR_MPI, "BLACS grid %d x %d (row %d, column %d) does not match %d x %d over %d MPI ranks (rank %d)",
               nprow, npcol, a->myrow, a->mycol, a->nprow, a->npcol, nprocs, rank);
  /* square blocks of at most 64, small enough that every process holds some */
  const int64_t spread = a->nprow > a->npcol ? a->nprow : a->npcol;
  a->n = n;
  a->nb = (n + spread - 1) / spread;
  if (a->nb > 64) a->nb = 64;
  if (a->nb < 1) a->nb = 1;
  a->local_rows = local_count(n, a->nb, a->myrow, a->nprow);
  a->local_cols = local_count(n, a->nb, a->mycol, a->npcol);
  PRSVD_TRY(prsvd_to_int(n, "matrix dimension", &in));
  PRSVD_TRY(prsvd_to_int(a->nb, "block size", &inb));
  PRSVD_TRY(prsvd_to_int(a->local_rows > 0 ? a->local_rows : 1, "local leading dimension", &lld));
  descinit_(a->desc, &in, &in, &inb, &inb, &zero, &zero, &a->ctxt, &lld, &info);
  if (info) PRSVD_FAIL(PRSVD_ERR_MPI, "DESCINIT rejected argument %d for a %d x %d matrix", -info, in, in);
  PRSVD_ALLOC(a->data, (a->local_rows > 0 ? a->local_rows : 1) * (a->local_cols > 0 ? a->local_cols : 1));
done:
  status = prsvd_error_agree(comm, status);
  if (!status) *out = a, a = NULL;
  prsvd_smat_destroy(&a);
  return status;
}

void prsvd_smat_destroy(prsvd_smat **a) {
  if (!a || !*a) return;
  if ((*a)->blacs_handle >= 0) {
    Cblacs_gridexit((*a)->ctxt);
    Cfree_blacs_system_handle((*a)->blacs_handle);
  }
  free((*a)->data);
  free(*a);
  *a = NULL;
}

int64_t prsvd_smat_block(const prsvd_smat *a) { return a->nb; }

int prsvd_smat_holds_row(const prsvd_smat *a, int64_t row) {
  return (int)((row / a->nb) % a->nprow) == a->myrow;
}

int prsvd_smat_set_rows(prsvd_smat *a, int64_t row0, int64_t nrows, const double *rows, int64_t ld) {
  const int64_t lld = a->local_rows > 0 ? a->local_rows : 1;
  if (row0 < 0 || nrows < 0 || row0 + nrows > a->n || ld < a->n)
    PRSVD_ERR(PRSVD_ERR_INTERNAL, "set rows [%lld, %lld) with stride %lld of a %lld x %lld matrix",
              (long long)row0, (long long)(row0 + nrows), (long long)ld, (long long)a->n, (long long)a->n);
  for (int64_t i = row0; i < row0 + nrows; i++) {
    if (!prsvd_smat_holds_row(a, i)) continue;
    const int64_t li = (i / (a->nb * a->nprow)) * a->nb + i % a->nb;
    for (int64_t lj = 0; lj < a->local_cols; lj++)
      a->data[lj * lld + li] = rows[(i - row0) * ld + global_index(lj, a->nb, a->mycol, a->npcol)];
  }
  return PRSVD_OK;
}

int prsvd_smat_eigh(prsvd_smat *a, int64_t k, double *lambda, double *u) {
  int status = PRSVD_OK, in, one = 1, info = 0, lwork = -1, liwork = -1, iwq = 0, count;
  double wq = 0.0, *w = NULL, *z = NULL, *work = NULL;
  int *iwork = NULL;
  const int64_t n = a->n, lld = a->local_rows > 0 ? a->local_rows : 1;
  if (k < 1 || k > n) PRSVD_ERR(PRSVD_ERR_INTERNAL, "%lld eigenvectors of a %lld x %lld matrix", (long long)k, (long long)n, (long long)n);
  PRSVD_CHECK(prsvd_to_int(n, "matrix dimension", &in));
  PRSVD_CHECK(prsvd_to_int(n * k, "eigenvector entries", &count));
  /* A = Z diag(w) Z^T: workspace query, then the solve (allocations agreed before each
   * collective step, so no rank is left waiting) */
  w = prsvd_calloc((size_t)n, sizeof *w);
  z = prsvd_calloc((size_t)(lld * (a->local_cols > 0 ? a->local_cols : 1)), sizeof *z);
  status = w && z ? PRSVD_OK : prsvd_error_set(PRSVD_ERR_NOMEM, __FILE__, __LINE__, __func__,
                                               "out of memory for the eigenvectors of a %lld x %lld factor", (long long)n, (long long)n);
  PRSVD_TRY(prsvd_error_agree(a->comm, status));
  pdsyevd_("V", "U", &in, a->data, &one, &one, a->desc, w, z, &one, &one, a->desc, &wq, &lwork, &iwq,
           &liwork, &info);
  PRSVD_TRY(prsvd_scalapack_info(info, "PDSYEVD workspace query"));
  /* the query under-counts on some grids (ScaLAPACK issue #74, PDSTEDC's PDLASRT; the
   * PDORMTR of the back-transformation): add what those two need on their own */
  const int64_t np = a->local_rows, nq = a->local_cols, nb = a->nb;
  const int64_t extra = (np + nq) * nb + nb * nb + np * (nb + nq) + n;
  PRSVD_TRY(prsvd_to_int((int64_t)wq + 1 + extra, "PDSYEVD workspace", &lwork));
  liwork = iwq > 7 * in + 8 * a->npcol + 2 ? iwq : 7 * in + 8 * a->npcol + 2;
  work = prsvd_calloc((size_t)lwork, sizeof *work);
  iwork = prsvd_calloc((size_t)liwork, sizeof *iwork);
  status = work && iwork ? PRSVD_OK : prsvd_error_set(PRSVD_ERR_NOMEM, __FILE__, __LINE__, __func__,
                                                      "out of memory for PDSYEVD's workspace (%d doubles)", lwork);
  PRSVD_TRY(prsvd_error_agree(a->comm, status));
  pdsyevd_("V", "U", &in, a->data, &one, &one, a->desc, w, z, &one, &one, a->desc, work, &lwork, iwork,
           &liwork, &info);
  PRSVD_TRY(prsvd_error_agree(a->comm, prsvd_scalapack_info(info, "PDSYEVD")));
  /* U(:, j) = Z(:, n - 1 - j): each rank its pieces, summed into every rank's copy */
  memset(u, 0, sizeof(double) * (size_t)(n * k));
  for (int64_t lj = 0; lj < a->local_cols; lj++) {
    const int64_t j = n - 1 - global_index(lj, a->nb, a->mycol, a->npcol);
    if (j >= k) continue;
    for (int64_t li = 0; li < a->local_rows; li++)
      u[j * n + global_index(li, a->nb, a->myrow, a->nprow)] = z[lj * lld + li];
  }
  info = MPI_Allreduce(MPI_IN_PLACE, u, count, MPI_DOUBLE, MPI_SUM, a->comm);
  if (info != MPI_SUCCESS) PRSVD_TRY(prsvd_mpi_check(info, __FILE__, __LINE__, __func__, "MPI_Allreduce"));
  /* every rank holds w; rank 0's copy makes the bits the same everywhere */
  for (int64_t j = 0; j < k; j++) lambda[j] = w[n - 1 - j];
  info = MPI_Bcast(lambda, (int)k, MPI_DOUBLE, 0, a->comm);
  if (info != MPI_SUCCESS) PRSVD_TRY(prsvd_mpi_check(info, __FILE__, __LINE__, __func__, "MPI_Bcast"));
done:
  free(w), free(z), free(work), free(iwork);
  return status;
}
