/*
 * U and V whole on one rank or on every rank, from the row blocks the solver leaves on each
 * rank (prsvd_svd_get_u/v): one MPI_Gatherv (MPI_Allgatherv for every rank) with no packing.
 *
 * A "row" of a column-major block with leading dimension ld is k doubles ld apart: a vector
 * type resized to the extent of one double, so that count r of it starting at row i are rows
 * i .. i + r - 1.  Each rank sends local_rows such rows of its block (stride ld); the
 * receiving rank takes them as rows of the rows x k result (stride rows) at displacement row0.
 * The blocks of U live on the solver's P x 1 grid and those of V on a 2-D grid's by_cols grid
 * (another order of the same ranks), so each rank's row0 is read, never assumed.
 *
 * Assumptions: the row blocks cover [0, rows) without overlap (every matrix of the solver is
 * distributed by row blocks); rows and ld fit MPI's int counts and strides.
 */
#include <stdlib.h>

#include "error.h"
#include "svd_impl.h"

/* A row of a column-major matrix with k columns and leading dimension ld, as one element. */
static int row_type(int k, int ld, MPI_Datatype *type) {
  MPI_Datatype vec;
  PRSVD_MPI(MPI_Type_vector(k, 1, ld, MPI_DOUBLE, &vec));
  int rc = MPI_Type_create_resized(vec, 0, (MPI_Aint)sizeof(double), type);
  MPI_Type_free(&vec);
  PRSVD_MPI(rc);
  PRSVD_MPI(MPI_Type_commit(type));
  return PRSVD_OK;
}

static int gather(const prsvd_svd *svd, const char *what, const double *local, int64_t row0,
                  int64_t local_rows, int64_t ld, int64_t rows, int root, double **out,
                  int64_t *out_rows, int64_t *out_ld) {
  int status = PRSVD_OK, rank, nprocs;
  int *pairs = NULL, *counts, *displs, mine[2];
  double *full = NULL;
  MPI_Datatype send_row = MPI_DATATYPE_NULL, recv_row = MPI_DATATYPE_NULL;
  const int64_t k = svd->k;
  *out = NULL;
  *out_rows = *out_ld = rows;
  MPI_Comm_rank(svd->comm, &rank);
  MPI_Comm_size(svd->comm, &nprocs);
  /* the same on every rank: no agreement needed */
  if (root < PRSVD_ALL_RANKS || root >= nprocs)
    PRSVD_ERR(PRSVD_ERR_USAGE, "cannot gather %s on rank %d: ranks are 0 .. %d, or %d for all",
              what, root, nprocs - 1, PRSVD_ALL_RANKS);
  if (rows > 2147483647 || k > 2147483647)
    PRSVD_ERR(PRSVD_ERR_USAGE, "cannot gather %s: %lld x %lld exceeds MPI's int counts", what,
              (long long)rows, (long long)k);
  const int receives = root == PRSVD_ALL_RANKS || root == rank;
  /* this rank's own: the stride of its block, the result's memory */
  if (ld > 2147483647)
    status = prsvd_error_set(PRSVD_ERR_USAGE, __FILE__, __LINE__, __func__,
                             "cannot gather %s: leading dimension %lld exceeds MPI's int strides",
                             what, (long long)ld);
  if (!status && receives) {
    full = prsvd_malloc(sizeof(double) * (size_t)(rows * k > 0 ? rows * k : 1));
    if (!full) status = prsvd_error_push(PRSVD_ERR_NOMEM, __FILE__, __LINE__, __func__);
  }
  if (!status) {
    pairs = prsvd_malloc(sizeof(int) * 4 * (size_t)nprocs);
    if (!pairs) status = prsvd_error_push(PRSVD_ERR_NOMEM, __FILE__, __LINE__, __func__);
  }
  PRSVD_TRY(prsvd_error_agree(svd->comm, status));
  /* every rank's (rows, first row): the receive counts and displacements, in rows */
  mine[0] = (int)local_rows;
  mine[1] = (int)row0;
  PRSVD_MPI_TRY(MPI_Allgather(mine, 2, MPI_INT, pairs, 2, MPI_INT, svd->comm));
  counts = pairs + 2 * nprocs;
  displs = counts + nprocs;
  for (int r = 0; r < nprocs; r++) counts[r] = pairs[2 * r], displs[r] = pairs[2 * r + 1];
  PRSVD_TRY(row_type((int)k, ld > 0 ? (int)ld : 1, &send_row));
  PRSVD_TRY(row_type((int)k, rows > 0 ? (int)rows : 1, &recv_row));
  if (root == PRSVD_ALL_RANKS)
    PRSVD_MPI_TRY(MPI_Allgatherv(local, (int)local_rows, send_row, full, counts, displs, recv_row,
                                 svd->comm));
  else
    PRSVD_MPI_TRY(MPI_Gatherv(local, (int)local_rows, send_row, full, counts, displs, recv_row,
                              root, svd->comm));
  *out = full;
  full = NULL;
done:
  if (send_row != MPI_DATATYPE_NULL) MPI_Type_free(&send_row);
  if (recv_row != MPI_DATATYPE_NULL) MPI_Type_free(&recv_row);
  free(pairs);
  free(full);
  return status;
}

int prsvd_svd_gather_u(const prsvd_svd *svd, int root, double **u, int64_t *rows, int64_t *ld) {
  const double *local;
  int64_t row0, local_rows, local_ld;
  *u = NULL;
  PRSVD_CHECK(prsvd_svd_get_u(svd, &local, &row0, &local_rows, &local_ld));
  PRSVD_CHECK(gather(svd, "U", local, row0, local_rows, local_ld, prsvd_dmat_rows(svd->u), root, u,
                     rows, ld));
  return PRSVD_OK;
}

int prsvd_svd_gather_v(const prsvd_svd *svd, int root, double **v, int64_t *rows, int64_t *ld) {
  const double *local;
  int64_t row0, local_rows, local_ld;
  *v = NULL;
  PRSVD_CHECK(prsvd_svd_get_v(svd, &local, &row0, &local_rows, &local_ld));
  const prsvd_dmat *whole = svd->v ? svd->v : svd->u; /* symmetric methods: V = U */
  PRSVD_CHECK(gather(svd, "V", local, row0, local_rows, local_ld, prsvd_dmat_rows(whole), root, v,
                     rows, ld));
  return PRSVD_OK;
}

void prsvd_svd_free_gathered(double **a) {
  if (!a) return;
  free(*a);
  *a = NULL;
}
