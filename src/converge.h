/*
 * -q auto: when the power iterations of subspace iteration (rsvd.c) stop, judged from
 * estimates made between passes, without a pass of their own (converge.c says which estimates
 * and why they may decide).
 *
 *   prsvd_conv_init(&cv, svd, k, l, symmetric, single);
 *   after each pass j:  prsvd_conv_grams(&cv, ...)    X_j^T H_j (and Y_j^T H_j), before the
 *                                                     QR of H_j overwrites it
 *                       QR of H_j = X_{j+1} R_H
 *                       prsvd_conv_step(&cv, svd, R_H, j, &stop)
 *   prsvd_conv_free(&cv);
 *
 * cv.prev (the k estimates of the last pass, NaN before the first, and their change: k + 1
 * values) is the state a checkpoint carries.
 */
#ifndef PRSVD_CONVERGE_H
#define PRSVD_CONVERGE_H

#include "svd_impl.h"

struct prsvd_conv {
  int64_t k, l;
  int symmetric; /* revd: eigenvalues of Q^T A Q, not singular values of Q^T A */
  double floor;  /* c: directions and values below c times the largest are rounding's */
  double *g;     /* l x l: X^T H = Y^T Y */
  double *c;     /* symmetric: l x l Y^T H = Y^T A Y */
  double *prev;  /* k estimates of the previous pass (prev[0] NaN: none yet), and their change */
  double *now;   /* k estimates of this pass */
  double change; /* max relative change of the last step (NaN: none yet) */
};

int prsvd_conv_init(struct prsvd_conv *cv, int64_t k, int64_t l, int symmetric, int single);
void prsvd_conv_free(struct prsvd_conv *cv);
/* Collective: the l x l Grams of pass j before H is orthonormalized: X^T H from X's rows
 * [x_row0, x_row0 + ldx) (replicated within a 2-D grid's process column) and H (distributed);
 * symmetric: Y^T H too (Y and H on the same P x 1 row blocks). */
int prsvd_conv_grams(struct prsvd_conv *cv, const prsvd_svd *svd, const double *x, int64_t x_row0,
                     int64_t ldx, const prsvd_dmat *y, const prsvd_dmat *h);
/* Collective: this pass's estimates from the Grams and R_H (H = X_{j+1} R_H, l x l upper,
 * replicated), reported through params.estimate; *stop = 1 when they changed by less than
 * params.conv_tol since the previous pass's (the same decision on every rank). */
int prsvd_conv_step(struct prsvd_conv *cv, prsvd_svd *svd, const double *r_h, int power_iters,
                    int *stop);

#endif
