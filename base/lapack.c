/* LAPACK calls whose workspace prsvd asks for and allocates in one place (blas.h). */
#include <stdlib.h>

#include "blas.h"

int prsvd_dsyevd(int n, double *a, double *w) {
  int info = 0, lwork = -1, liwork = -1, iwq = 0;
  double wq = 0.0;
  dsyevd_("V", "U", &n, a, &n, w, &wq, &lwork, &iwq, &liwork, &info);
  if (info) return info;
  lwork = (int)wq + 1, liwork = iwq + 1;
  double *work = malloc(sizeof(double) * (size_t)lwork);
  int *iwork = malloc(sizeof(int) * (size_t)liwork);
  if (work && iwork) dsyevd_("V", "U", &n, a, &n, w, work, &lwork, iwork, &liwork, &info);
  else info = PRSVD_DSYEVD_NOMEM;
  free(work), free(iwork);
  return info;
}
