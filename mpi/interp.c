/* The row interpolative decomposition of a tall distributed matrix W (prsvd_grid.h):
 * the column-pivoted QR of W^T, on rank 0 (LAPACK's DGEQP3) or over a 1 x P grid (ScaLAPACK's
 * PDGEQPF), then T = [I  R11^-1 R12]^T in the original order, by W's row blocks.
 *
 * Both routes end the same way: each rank holds some columns of R (their positions in the
 * pivoted order, their original indices, the first k rows), R11, |diag R| and the first k
 * pivots are summed from their owners onto every rank, each rank solves R11 x = R(0:k, j) for
 * its own columns, and the coefficients travel to the ranks that own their original rows. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "error.h"
#include "grid_impl.h"
#include "scalapack_impl.h"

/* The columns of R a rank holds after the QR: positions [pos0, pos0 + nc) of W^T P, the first
 * k rows of each at r (ld ldr), and orig[c] the column of W^T that came to position pos0 + c. */
struct owned {
  int64_t pos0, nc, ldr;
  const double *r;
  int64_t *orig;
};

/* This rank's block of W (nr x l, ld) as its columns of W^T (l x nr, ld l). */
static void transpose_block(const prsvd_dmat *w, double *wt) {
  const int64_t l = w->cols;
  for (int64_t i = 0; i < w->local_rows; i++)
    for (int64_t c = 0; c < l; c++) wt[i * l + c] = w->data[c * w->ld + i];
}

/* W^T (l x N) gathered on rank 0 into *wt: each rank's columns are contiguous there. */
static int gather_root(const prsvd_dmat *w, double **wt) {
  int status = PRSVD_OK, mine, *counts = NULL, *displs = NULL;
  const prsvd_grid *g = w->grid;
  const int64_t l = w->cols, n = w->rows;
  double *local = NULL;
  int64_t total = 0;
  *wt = NULL;
  PRSVD_TRY(prsvd_to_int(w->local_rows * l, "a rank's block of the sketch", &mine));
  PRSVD_ALLOC(local, w->local_rows * l + 1);
  transpose_block(w, local);
  if (g->rank == 0) {
    if (__builtin_mul_overflow(n, l, &total) || total > 0x7fffffff)
      PRSVD_FAIL(PRSVD_ERR_USAGE, "the %lld x %lld sketch is too large to gather on one rank (2^31 entries); "
                 "use the distributed pivoted QR", (long long)l, (long long)n);
    PRSVD_ALLOC(*wt, total);
    PRSVD_ALLOC(counts, g->nprocs);
    PRSVD_ALLOC(displs, g->nprocs);
    for (int q = 0; q < g->nprocs; q++) { /* block q: columns [r0, r0 + lr) of W^T */
      int64_t r0, lr;
      prsvd_row_block(n, q, g->nprocs, &r0, &lr);
      counts[q] = (int)(lr * l), displs[q] = (int)(r0 * l);
    }
  }
  status = prsvd_error_agree(g->comm, status);
  if (!status)
    PRSVD_MPI_TRY(MPI_Gatherv(local, mine, MPI_DOUBLE, *wt, counts, displs, MPI_DOUBLE, 0, g->comm));
done:
  free(local), free(counts), free(displs);
  return status;
}

/* W^T gathered on rank 0 and factored there by DGEQP3. */
static int qr_on_root(const prsvd_dmat *w, double **wt, int **jpvt, struct owned *own) {
  int status = PRSVD_OK, il, in, info = 0, lwork = -1;
  const int64_t l = w->cols, n = w->rows;
  double *tau = NULL, *work = NULL, wq = 0.0;
  *jpvt = NULL;
  PRSVD_CHECK(prsvd_to_int(l, "sketch width", &il));
  PRSVD_CHECK(prsvd_to_int(n, "columns of the sketch", &in));
  PRSVD_CHECK(gather_root(w, wt));
  if (w->grid->rank == 0) {
    /* W^T P = Q R: jpvt = 0 leaves every column free to move */
    PRSVD_ALLOC(*jpvt, n);
    PRSVD_ALLOC(tau, l);
    dgeqp3_(&il, &in, *wt, &il, *jpvt, tau, &wq, &lwork, &info);
    lwork = (int)wq + 1;
    PRSVD_ALLOC(work, lwork);
    dgeqp3_(&il, &in, *wt, &il, *jpvt, tau, work, &lwork, &info);
    if (info < 0) PRSVD_FAIL(PRSVD_ERR_INTERNAL, "DGEQP3: illegal value in argument %d", -info);
    PRSVD_ALLOC(own->orig, n);
    for (int64_t j = 0; j < n; j++) own->orig[j] = (*jpvt)[j] - 1;
    own->pos0 = 0, own->nc = n, own->r = *wt, own->ldr = l;
  }
done:
  free(tau), free(work);
  return prsvd_error_agree(w->grid->comm, status);
}

/* W^T by column blocks over a 1 x P BLACS grid (each rank's block is its rows of W,
 * transposed), factored by PDGEQPF. */
static int qr_distributed(const prsvd_dmat *w, double **wt_out, int **ipiv_out, struct owned *own) {
  int status = PRSVD_OK, il, in, nb, info = 0, lwork = -1, one = 1, zero = 0, desc[9];
  const prsvd_grid *g = w->grid;
  const int64_t l = w->cols, n = w->rows, nr = w->local_rows;
  double *wt = NULL, *tau = NULL, *work = NULL, wq = 0.0;
  int *ipiv = NULL, handle, ctxt, nprow, npcol, myrow, mycol;
  MPI_Comm comm;
  PRSVD_CHECK(prsvd_to_int(l, "sketch width", &il));
  PRSVD_CHECK(prsvd_to_int(n, "columns of the sketch", &in));
  PRSVD_CHECK(prsvd_to_int(w->block_rows, "column block", &nb));
  /* a communicator of its own: BLACS hands out one system handle per communicator, and the
   * P x 1 grid's must outlive this one */
  PRSVD_MPI(MPI_Comm_dup(g->comm, &comm));
  handle = ctxt = Csys2blacs_handle(comm);
  Cblacs_gridinit(&ctxt, "R", 1, g->nprocs);
  Cblacs_gridinfo(ctxt, &nprow, &npcol, &myrow, &mycol);
  if (nprow != 1 || npcol != g->nprocs || mycol != g->rank)
    PRSVD_FAIL(PRSVD_ERR_MPI, "BLACS grid %d x %d (column %d) for %d ranks (rank %d)", nprow, npcol, mycol,
               g->nprocs, g->rank);
  descinit_(desc, &il, &in, &il, &nb, &zero, &zero, &ctxt, &il, &info);
  if (info) PRSVD_FAIL(PRSVD_ERR_MPI, "DESCINIT rejected argument %d for the %d x %d sketch", -info, il, in);
  PRSVD_ALLOC(wt, l * nr + l);
  PRSVD_ALLOC(ipiv, nr + 1);
  PRSVD_ALLOC(tau, nr + 1);
  transpose_block(w, wt);
  /* W^T P = Q R, the pivots chosen across the process row */
  pdgeqpf_(&il, &in, wt, &one, &one, desc, ipiv, tau, &wq, &lwork, &info);
  PRSVD_TRY(prsvd_scalapack_info(info, "PDGEQPF workspace query"));
  lwork = (int)wq + 1;
  PRSVD_ALLOC(work, lwork);
  pdgeqpf_(&il, &in, wt, &one, &one, desc, ipiv, tau, work, &lwork, &info);
  PRSVD_TRY(prsvd_scalapack_info(info, "PDGEQPF"));
  PRSVD_ALLOC(own->orig, nr + 1);
  for (int64_t c = 0; c < nr; c++) own->orig[c] = ipiv[c] - 1;
  own->pos0 = w->row0, own->nc = nr, own->r = wt, own->ldr = l;
done:
  Cblacs_gridexit(ctxt);
  Cfree_blacs_system_handle(handle);
  MPI_Comm_free(&comm);
  free(tau), free(work);
  *wt_out = wt, *ipiv_out = ipiv;
  return prsvd_error_agree(g->comm, status);
}

/* rdiag (l), selected (k) and R11 (k x k) on every rank, each entry from the rank holding its
 * column: one sum of zero-padded parts. */
static int share_leading(const prsvd_dmat *w, int64_t k, const struct owned *own, double *rdiag,
                         int64_t *selected, double *r11) {
  int status = PRSVD_OK, count;
  const int64_t l = w->cols;
  double *buf = NULL;
  PRSVD_CHECK(prsvd_to_int(l + k + k * k, "leading block of R", &count));
  PRSVD_ALLOC(buf, count);
  for (int64_t c = 0; c < own->nc; c++) {
    const int64_t j = own->pos0 + c;
    const double *col = own->r + c * own->ldr;
    if (j < l) buf[j] = fabs(col[j]);
    if (j < k) {
      buf[l + j] = (double)own->orig[c]; /* exact below 2^53 */
      for (int64_t i = 0; i <= j; i++) buf[l + k + j * k + i] = col[i];
    }
  }
  PRSVD_MPI_TRY(MPI_Allreduce(MPI_IN_PLACE, buf, count, MPI_DOUBLE, MPI_SUM, w->grid->comm));
  memcpy(rdiag, buf, sizeof(double) * (size_t)l);
  for (int64_t j = 0; j < k; j++) selected[j] = (int64_t)buf[l + j];
  memcpy(r11, buf + l + k, sizeof(double) * (size_t)(k * k));
done:
  free(buf);
  return status;
}

/* The coefficients of this rank's columns, (R11^-1 R(0:k, j)) or e_j for the first k, sent as
 * (original index, k values) to the owner of that row of T. */
static int solve_and_send(const prsvd_dmat *w, int64_t k, const struct owned *own, const double *r11,
                          prsvd_dmat *t) {
  int status = PRSVD_OK, ik, ins, *scount = NULL, *rcount = NULL, *sdispl = NULL, *rdispl = NULL;
  const prsvd_grid *g = w->grid;
  const int64_t rec = k + 1, n = w->rows;
  const int64_t block = t->block_rows;
  double *coef = NULL, *send = NULL, *recv = NULL;
  int64_t *fill = NULL;
  PRSVD_ALLOC(coef, k * own->nc + 1);
  for (int64_t c = 0; c < own->nc; c++) {
    const int64_t j = own->pos0 + c;
    for (int64_t i = 0; i < k; i++) coef[c * k + i] = j < k ? (double)(i == j) : own->r[c * own->ldr + i];
  }
  /* R11 X = R12 for the columns past the first k */
  const int64_t first = own->pos0 >= k ? 0 : (k - own->pos0 < own->nc ? k - own->pos0 : own->nc);
  PRSVD_TRY(prsvd_to_int(k, "rank", &ik));
  PRSVD_TRY(prsvd_to_int(own->nc - first, "columns to solve", &ins));
  if (ins > 0) {
    const double one = 1.0;
    dtrsm_("L", "U", "N", "N", &ik, &ins, &one, r11, &ik, coef + first * k, &ik);
  }
  /* by destination: the rank whose row block of T holds the original index */
  PRSVD_ALLOC(scount, g->nprocs);
  PRSVD_ALLOC(rcount, g->nprocs);
  PRSVD_ALLOC(sdispl, g->nprocs);
  PRSVD_ALLOC(rdispl, g->nprocs);
  PRSVD_ALLOC(fill, g->nprocs);
  for (int64_t c = 0; c < own->nc; c++) {
    if (own->orig[c] < 0 || own->orig[c] >= n)
      PRSVD_FAIL(PRSVD_ERR_INTERNAL, "pivoted QR: pivot %lld outside [0, %lld)", (long long)own->orig[c], (long long)n);
    fill[own->orig[c] / block]++;
  }
  int64_t off = 0;
  for (int q = 0; q < g->nprocs; q++) {
    PRSVD_TRY(prsvd_to_int(fill[q] * rec, "coefficients sent to one rank", &scount[q]));
    PRSVD_TRY(prsvd_to_int(off * rec, "coefficients sent", &sdispl[q]));
    off += fill[q];
    fill[q] = sdispl[q];
  }
  PRSVD_ALLOC(send, own->nc * rec + 1);
  for (int64_t c = 0; c < own->nc; c++) {
    double *at = send + fill[own->orig[c] / block];
    at[0] = (double)own->orig[c];
    memcpy(at + 1, coef + c * k, sizeof(double) * (size_t)k);
    fill[own->orig[c] / block] += rec;
  }
  status = prsvd_error_agree(g->comm, status);
  if (status) goto out;
  PRSVD_MPI_TRY(MPI_Alltoall(scount, 1, MPI_INT, rcount, 1, MPI_INT, g->comm));
  off = 0;
  for (int q = 0; q < g->nprocs; q++) rdispl[q] = (int)off, off += rcount[q];
  if (off != t->local_rows * rec)
    PRSVD_FAIL(PRSVD_ERR_INTERNAL, "pivoted QR: %lld coefficients for %lld rows", (long long)off, (long long)t->local_rows);
  PRSVD_ALLOC(recv, off + 1);
  PRSVD_MPI_TRY(MPI_Alltoallv(send, scount, sdispl, MPI_DOUBLE, recv, rcount, rdispl, MPI_DOUBLE, g->comm));
  for (int64_t e = 0; e < t->local_rows; e++) {
    const double *at = recv + e * rec;
    const int64_t row = (int64_t)at[0] - t->row0;
    for (int64_t i = 0; i < k; i++) t->data[i * t->ld + row] = at[1 + i];
  }
done:
  status = prsvd_error_agree(g->comm, status);
out:
  free(coef), free(send), free(recv), free(fill);
  free(scount), free(rcount), free(sdispl), free(rdispl);
  return status;
}

int prsvd_dmat_row_id(const prsvd_dmat *w, int64_t k, int distributed, int64_t *selected,
                      double *rdiag, prsvd_dmat **t) {
  int status = PRSVD_OK, *piv = NULL;
  double *wt = NULL, *r11 = NULL;
  struct owned own = {0, 0, 1, NULL, NULL};
  *t = NULL;
  if (k < 1 || k > w->cols || w->cols > w->rows)
    PRSVD_ERR(PRSVD_ERR_INTERNAL, "row ID of rank %lld of a %lld x %lld matrix", (long long)k,
              (long long)w->rows, (long long)w->cols);
  PRSVD_ALLOC(r11, k * k);
  if (distributed) PRSVD_TRY(qr_distributed(w, &wt, &piv, &own));
  else PRSVD_TRY(qr_on_root(w, &wt, &piv, &own));
  PRSVD_TRY(share_leading(w, k, &own, rdiag, selected, r11));
  PRSVD_TRY(prsvd_dmat_create(w->grid, w->rows, k, t));
  PRSVD_TRY(solve_and_send(w, k, &own, r11, *t));
done:
  if (status) prsvd_dmat_destroy(t);
  free(wt), free(piv), free(r11), free(own.orig);
  return status;
}
