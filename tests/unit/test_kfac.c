/* The K-FAC preconditioner on one rank, against LAPACK: damped inverses and inverse roots
 * through low-rank eigendecompositions against dense solves, randomized eigenvalues of
 * exponentially averaged factors against dsyevd, factor averaging, and one K-FAC step of a
 * two-layer network against the explicit Kronecker-factored formula in vec form. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "kfac_impl.h"
#include "prsvd_kfac.h"
#include "rng.h"
#include "suites.h"

void dposv_(const char *uplo, const int *n, const int *nrhs, double *a, const int *lda, double *b,
            const int *ldb, int *info);
void dgesv_(const int *n, const int *nrhs, double *a, const int *lda, int *ipiv, double *b,
            const int *ldb, int *info);

static const enum prsvd_kfac_method all_methods[] = {PRSVD_KFAC_EIG, PRSVD_KFAC_REVD,
                                                     PRSVD_KFAC_NYSTROM, PRSVD_KFAC_RSVD};
static const char *method_name[] = {"eig", "revd", "nystrom", "rsvd"};

/* Q (n x k) with orthonormal columns, column-major */
static double *orthonormal(int n, int k, uint64_t seed) {
  double *q = malloc(sizeof(double) * n * k), *tau = malloc(sizeof(double) * k), work[4096];
  int info, lwork = 4096;
  prsvd_rng_fill(seed, 0, 0, n, 0, k, q, n);
  dgeqrf_(&n, &k, q, &n, tau, work, &lwork, &info);
  ck_assert_int_eq(info, 0);
  dorgqr_(&n, &k, &k, q, &n, tau, work, &lwork, &info);
  ck_assert_int_eq(info, 0);
  free(tau);
  return q;
}

/* PSD n x n of rank k with eigenvalues ev (symmetric, so row- and column-major agree) */
static double *psd(int n, int k, const double *ev, uint64_t seed) {
  double *q = orthonormal(n, k, seed), *a = calloc((size_t)n * n, sizeof(double));
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++)
      for (int t = 0; t < k; t++) a[j * n + i] += q[t * n + i] * ev[t] * q[t * n + j];
  for (int i = 0; i < n; i++) /* exactly symmetric */
    for (int j = 0; j < i; j++) a[j * n + i] = a[i * n + j];
  free(q);
  return a;
}

/* y = (a + delta I)^s x by dsyevd of the dense matrix (column-major n x m) */
static void dense_power(int n, const double *a, double delta, double s, int m, const double *x,
                        double *y) {
  double *v = malloc(sizeof(double) * n * n), *w = malloc(sizeof(double) * n), wq, *work;
  int info, lwork = -1, liwork = -1, iwq, *iwork;
  for (int i = 0; i < n * n; i++) v[i] = a[i];
  for (int i = 0; i < n; i++) v[i * n + i] += delta;
  dsyevd_("V", "U", &n, v, &n, w, &wq, &lwork, &iwq, &liwork, &info);
  lwork = (int)wq, liwork = iwq;
  work = malloc(sizeof(double) * lwork), iwork = malloc(sizeof(int) * liwork);
  dsyevd_("V", "U", &n, v, &n, w, work, &lwork, iwork, &liwork, &info);
  ck_assert_int_eq(info, 0);
  for (int c = 0; c < m; c++)
    for (int i = 0; i < n; i++) {
      double acc = 0;
      for (int t = 0; t < n; t++) {
        double vtx = 0;
        for (int j = 0; j < n; j++) vtx += v[t * n + j] * x[c * n + j];
        acc += v[t * n + i] * pow(w[t], s) * vtx;
      }
      y[c * n + i] = acc;
    }
  free(v), free(w), free(work), free(iwork);
}

static double max_abs(int n, const double *x) {
  double m = 0;
  for (int i = 0; i < n; i++) m = fmax(m, fabs(x[i]));
  return m;
}

static double max_diff(int n, const double *x, const double *y) {
  double m = 0;
  for (int i = 0; i < n; i++) m = fmax(m, fabs(x[i] - y[i]));
  return m;
}

/* (A + lambda I)^-1 X through a rank-r decomposition equals LAPACK's dposv solve when
 * r >= rank(A), for every method; and is only approximate when r < rank(A). */
START_TEST(damped_inverse_exact_at_full_rank) {
  enum { N = 40, K = 6, M = 3 };
  const double ev[K] = {10, 5, 2, 1, 0.5, 0.25}, delta = 0.05;
  double *a = psd(N, K, ev, 11), x[N * M], y[N * M], ref[N * M], chol[N * N];
  int n = N, m = M, info;
  prsvd_rng_fill(12, 0, 0, N, 0, M, x, N);
  memcpy(ref, x, sizeof x);
  memcpy(chol, a, sizeof chol);
  for (int i = 0; i < N; i++) chol[i * N + i] += delta;
  dposv_("U", &n, &m, chol, &n, ref, &n, &info);
  ck_assert_int_eq(info, 0);
  for (int t = 0; t < 4; t++) {
    struct prsvd_kfac_params p = PRSVD_KFAC_PARAMS_INIT;
    double *u, *lam;
    int64_t r;
    p.method = all_methods[t];
    p.rank = K; /* = rank(A) */
    p.oversample = 4;
    p.power_iters = 2;
    ck_assert_int_eq(prsvd_kfac_eigh(&p, "A", N, a, N, &r, &u, &lam), 0);
    ck_assert_int_eq(r, all_methods[t] == PRSVD_KFAC_EIG ? N : K);
    for (int j = 0; j < K; j++) ck_assert_double_le(fabs(lam[j] - ev[j]), 1e-12 * ev[0]);
    memcpy(y, x, sizeof x);
    ck_assert_int_eq(prsvd_kfac_apply_power(N, r, u, lam, delta, -1.0, M, y, N), 0);
    double err = max_diff(N * M, y, ref) / max_abs(N * M, ref);
    if (err > 1e-11) ck_abort_msg("%s: (A + lambda I)^-1 X off by %g relative", method_name[t], err);
    /* the row-major (strided) layout gives the same: X^T (A + lambda I)^-1 */
    double xt[M * N];
    for (int i = 0; i < N; i++)
      for (int c = 0; c < M; c++) xt[i * M + c] = x[c * N + i];
    ck_assert_int_eq(prsvd_kfac_apply_power_layout(PRSVD_KFAC_VECTORS_STRIDED, N, r, u, lam, delta,
                                                   -1.0, M, xt, M), 0);
    for (int i = 0; i < N; i++)
      for (int c = 0; c < M; c++) ck_assert_double_le(fabs(xt[i * M + c] - ref[c * N + i]), 1e-11 * max_abs(N * M, ref));
    /* one eigenpair short of rank(A): visibly wrong (the test can fail) */
    if (r > 1 && all_methods[t] != PRSVD_KFAC_EIG) {
      memcpy(y, x, sizeof x);
      ck_assert_int_eq(prsvd_kfac_apply_power(N, K - 1, u, lam, delta, -1.0, M, y, N), 0);
      ck_assert_double_ge(max_diff(N * M, y, ref) / max_abs(N * M, ref), 1e-3);
    }
    free(u), free(lam);
  }
  free(a);
}
END_TEST

/* (A + lambda I)^(-1/p) X through the decomposition equals the dense root for p = 2, 4. */
START_TEST(damped_inverse_root_exact_at_full_rank) {
  enum { N = 30, K = 5, M = 4 };
  const double ev[K] = {3, 1, 0.3, 0.1, 0.03}, delta = 0.01;
  double *a = psd(N, K, ev, 21), x[N * M], y[N * M], ref[N * M];
  prsvd_rng_fill(22, 0, 0, N, 0, M, x, N);
  const double ps[] = {2.0, 4.0};
  for (int ip = 0; ip < 2; ip++) {
    dense_power(N, a, delta, -1.0 / ps[ip], M, x, ref);
    for (int t = 0; t < 4; t++) {
      struct prsvd_kfac_params p = PRSVD_KFAC_PARAMS_INIT;
      double *u, *lam;
      int64_t r;
      p.method = all_methods[t];
      p.rank = K + 2;
      p.oversample = 3;
      ck_assert_int_eq(prsvd_kfac_eigh(&p, "A", N, a, N, &r, &u, &lam), 0);
      memcpy(y, x, sizeof x);
      ck_assert_int_eq(prsvd_kfac_apply_power(N, r, u, lam, delta, -1.0 / ps[ip], M, y, N), 0);
      double err = max_diff(N * M, y, ref) / max_abs(N * M, ref);
      if (err > 1e-11) ck_abort_msg("%s: root p = %g off by %g relative", method_name[t], ps[ip], err);
      free(u), free(lam);
    }
  }
  free(a);
}
END_TEST

/* Activations with a decaying spectrum: a_b = Q diag(0.6^j) z_b, z_b Gaussian. */
static void decaying_batch(int batch, int d, const double *q, int step, double *a) {
  double *z = malloc(sizeof(double) * batch * d);
  prsvd_rng_fill(100 + step, 0, 0, d, 0, batch, z, d); /* z[b * d + j] */
  for (int b = 0; b < batch; b++)
    for (int i = 0; i < d; i++) {
      double acc = 0;
      for (int j = 0; j < d; j++) acc += q[j * d + i] * pow(0.6, j) * z[b * d + j];
      a[b * d + i] = acc;
    }
  free(z);
}

/* The factor after two updates is rho F_1 + (1 - rho) F_2 with the bias entry appended. */
START_TEST(factor_average_with_bias) {
  enum { B = 7, DI = 4, DO = 3 };
  double a1[B * DI], g1[B * DO], a2[B * DI], g2[B * DO];
  const double rho = 0.8;
  prsvd_rng_fill(31, 0, 0, DI, 0, B, a1, DI), prsvd_rng_fill(32, 0, 0, DO, 0, B, g1, DO);
  prsvd_rng_fill(33, 0, 0, DI, 0, B, a2, DI), prsvd_rng_fill(34, 0, 0, DO, 0, B, g2, DO);
  prsvd_kfac *kf = NULL;
  struct prsvd_kfac_params p = PRSVD_KFAC_PARAMS_INIT;
  int layer;
  p.decay = rho;
  ck_assert_int_eq(prsvd_kfac_create(MPI_COMM_WORLD, &kf), 0);
  ck_assert_int_eq(prsvd_kfac_set_params(kf, &p), 0);
  ck_assert_int_eq(prsvd_kfac_add_layer(kf, DI, DO, 1, &layer), 0);
  /* the first batch in two calls (they add up), then the second */
  ck_assert_int_eq(prsvd_kfac_accumulate(kf, layer, 3, a1, DI, g1, DO), 0);
  ck_assert_int_eq(prsvd_kfac_accumulate(kf, layer, B - 3, a1 + 3 * DI, DI, g1 + 3 * DO, DO), 0);
  ck_assert_int_eq(prsvd_kfac_update_factors(kf), 0);
  ck_assert_int_eq(prsvd_kfac_accumulate(kf, layer, B, a2, DI, g2, DO), 0);
  ck_assert_int_eq(prsvd_kfac_update_factors(kf), 0);
  const double *fa, *fg;
  int64_t da, dg;
  ck_assert_int_eq(prsvd_kfac_get_factor(kf, layer, PRSVD_KFAC_A, &da, &fa), 0);
  ck_assert_int_eq(prsvd_kfac_get_factor(kf, layer, PRSVD_KFAC_G, &dg, &fg), 0);
  ck_assert_int_eq(da, DI + 1);
  ck_assert_int_eq(dg, DO);
  for (int i = 0; i <= DI; i++)
    for (int j = 0; j <= DI; j++) {
      double s1 = 0, s2 = 0;
      for (int b = 0; b < B; b++) {
        s1 += (i < DI ? a1[b * DI + i] : 1.0) * (j < DI ? a1[b * DI + j] : 1.0);
        s2 += (i < DI ? a2[b * DI + i] : 1.0) * (j < DI ? a2[b * DI + j] : 1.0);
      }
      ck_assert_double_le(fabs(fa[i * da + j] - (rho * s1 / B + (1 - rho) * s2 / B)), 1e-14);
    }
  for (int i = 0; i < DO; i++)
    for (int j = 0; j < DO; j++) {
      double s1 = 0, s2 = 0;
      for (int b = 0; b < B; b++) s1 += g1[b * DO + i] * g1[b * DO + j], s2 += g2[b * DO + i] * g2[b * DO + j];
      ck_assert_double_le(fabs(fg[i * dg + j] - (rho * s1 / B + (1 - rho) * s2 / B)), 1e-14);
    }
  /* an update with no statistics anywhere is refused */
  ck_assert_int_eq(prsvd_kfac_update_factors(kf), PRSVD_ERR_USAGE);
  prsvd_kfac_destroy(&kf);
  ck_assert_ptr_null(kf);
}
END_TEST

/* revd, nystrom and rsvd eigenvalues of an exponentially averaged factor with a decaying
 * spectrum agree with dsyevd's leading ones. */
START_TEST(randomized_eigenvalues_of_averaged_factor) {
  enum { D = 60, B = 80, STEPS = 6, R = 10 };
  /* relative to lambda_1 (observed: revd, rsvd 3e-16; nystrom, with no power iterations, 7e-9) */
  const double tol[4] = {0, 1e-12, 1e-7, 1e-12};
  double *q = orthonormal(D, D, 41), a[B * D], g[B * 2];
  prsvd_kfac *kf = NULL;
  struct prsvd_kfac_params p = PRSVD_KFAC_PARAMS_INIT;
  int layer;
  p.decay = 0.9;
  ck_assert_int_eq(prsvd_kfac_create(MPI_COMM_WORLD, &kf), 0);
  ck_assert_int_eq(prsvd_kfac_set_params(kf, &p), 0);
  ck_assert_int_eq(prsvd_kfac_add_layer(kf, D, 2, 0, &layer), 0);
  for (int s = 0; s < STEPS; s++) {
    decaying_batch(B, D, q, s, a);
    prsvd_rng_fill(200 + s, 0, 0, 2, 0, B, g, 2);
    ck_assert_int_eq(prsvd_kfac_accumulate(kf, layer, B, a, D, g, 2), 0);
    ck_assert_int_eq(prsvd_kfac_update_factors(kf), 0);
  }
  const double *f;
  int64_t d;
  ck_assert_int_eq(prsvd_kfac_get_factor(kf, layer, PRSVD_KFAC_A, &d, &f), 0);
  double ref[D], *uref, *lref;
  int64_t rref;
  p.method = PRSVD_KFAC_EIG;
  ck_assert_int_eq(prsvd_kfac_eigh(&p, "A", D, f, D, &rref, &uref, &lref), 0);
  memcpy(ref, lref, sizeof ref);
  ck_assert_double_le(ref[R] / ref[0], 1e-3); /* the spectrum does decay */
  for (int t = 1; t < 4; t++) {
    double *u, *lam;
    int64_t r;
    p.method = all_methods[t];
    p.rank = R;
    p.oversample = 10;
    p.power_iters = 3;
    ck_assert_int_eq(prsvd_kfac_eigh(&p, "A", D, f, D, &r, &u, &lam), 0);
    ck_assert_int_eq(r, R);
    double worst = 0;
    for (int j = 0; j < R; j++) worst = fmax(worst, fabs(lam[j] - ref[j]) / ref[0]);
    if (worst > tol[t]) ck_abort_msg("%s: eigenvalues off by %g lambda_1 (allowed %g)", method_name[t], worst, tol[t]);
    free(u), free(lam);
  }
  free(uref), free(lref), free(q);
  prsvd_kfac_destroy(&kf);
}
END_TEST

/* A two-layer network x -> relu(W1 [x; 1]) -> W2 [h; 1] -> softmax cross-entropy: one K-FAC
 * step per layer equals vec(Delta W) = ((A + lA I) kron (G + lG I))^-1 vec(grad W), solved by
 * dgesv on the explicit Kronecker product. */
static void kron_solve(int da, int dg, const double *a, double la, const double *g, double lg,
                       const double *grad, double *dw) {
  const int n = da * dg, one = 1;
  int info, *ipiv = malloc(sizeof(int) * n);
  double *k = malloc(sizeof(double) * n * n), *v = malloc(sizeof(double) * n);
  /* K[(ja dg + ig), (jb dg + ih)] = (A + la I)[ja][jb] (G + lg I)[ig][ih], column-major */
  for (int ja = 0; ja < da; ja++)
    for (int jb = 0; jb < da; jb++)
      for (int ig = 0; ig < dg; ig++)
        for (int ih = 0; ih < dg; ih++)
          k[(jb * dg + ih) * n + ja * dg + ig] =
              (a[ja * da + jb] + (ja == jb) * la) * (g[ig * dg + ih] + (ig == ih) * lg);
  for (int j = 0; j < da; j++)
    for (int i = 0; i < dg; i++) v[j * dg + i] = grad[i * da + j]; /* vec: columns stacked */
  dgesv_(&n, &one, k, &n, ipiv, v, &n, &info);
  ck_assert_int_eq(info, 0);
  for (int j = 0; j < da; j++)
    for (int i = 0; i < dg; i++) dw[i * da + j] = v[j * dg + i];
  free(ipiv), free(k), free(v);
}

static void two_layer_case(enum prsvd_kfac_method method, int pi_split,
                           enum prsvd_kfac_damping kind) {
  enum { B = 9, D0 = 4, D1 = 5, D2 = 3 };
  double x[B * D0], w1[D1 * (D0 + 1)], w2[D2 * (D1 + 1)], h[B * D1], z[B * D1], logit[B * D2];
  double g2[B * D2], g1[B * D1], grad1[D1 * (D0 + 1)], grad2[D2 * (D1 + 1)];
  int label[B];
  prsvd_rng_fill(51, 0, 0, D0, 0, B, x, D0);
  prsvd_rng_fill(52, 0, 0, D0 + 1, 0, D1, w1, D0 + 1);
  prsvd_rng_fill(53, 0, 0, D1 + 1, 0, D2, w2, D1 + 1);
  for (int b = 0; b < B; b++) label[b] = b % D2;
  /* forward */
  for (int b = 0; b < B; b++) {
    for (int i = 0; i < D1; i++) {
      double acc = w1[i * (D0 + 1) + D0];
      for (int j = 0; j < D0; j++) acc += w1[i * (D0 + 1) + j] * x[b * D0 + j];
      z[b * D1 + i] = acc, h[b * D1 + i] = acc > 0 ? acc : 0;
    }
    double mx = -1e300, sum = 0;
    for (int i = 0; i < D2; i++) {
      double acc = w2[i * (D1 + 1) + D1];
      for (int j = 0; j < D1; j++) acc += w2[i * (D1 + 1) + j] * h[b * D1 + j];
      logit[b * D2 + i] = acc, mx = fmax(mx, acc);
    }
    for (int i = 0; i < D2; i++) sum += exp(logit[b * D2 + i] - mx);
    /* backward, per sample: g = d loss_b / d pre-activation */
    for (int i = 0; i < D2; i++) g2[b * D2 + i] = exp(logit[b * D2 + i] - mx) / sum - (i == label[b]);
    for (int j = 0; j < D1; j++) {
      double acc = 0;
      for (int i = 0; i < D2; i++) acc += w2[i * (D1 + 1) + j] * g2[b * D2 + i];
      g1[b * D1 + j] = z[b * D1 + j] > 0 ? acc : 0;
    }
  }
  /* grad W = (1/B) sum_b g_b [a_b; 1]^T */
  memset(grad1, 0, sizeof grad1), memset(grad2, 0, sizeof grad2);
  for (int b = 0; b < B; b++) {
    for (int i = 0; i < D1; i++)
      for (int j = 0; j <= D0; j++) grad1[i * (D0 + 1) + j] += g1[b * D1 + i] * (j < D0 ? x[b * D0 + j] : 1.0) / B;
    for (int i = 0; i < D2; i++)
      for (int j = 0; j <= D1; j++) grad2[i * (D1 + 1) + j] += g2[b * D2 + i] * (j < D1 ? h[b * D1 + j] : 1.0) / B;
  }
  prsvd_kfac *kf = NULL;
  struct prsvd_kfac_params p = PRSVD_KFAC_PARAMS_INIT;
  int l1, l2;
  p.method = method;
  p.rank = 8; /* >= every dimension: the randomized methods are exact */
  p.oversample = 2;
  p.damping = kind == PRSVD_KFAC_DAMPING_ABSOLUTE ? 0.03 : 0.1;
  p.damping_kind = kind;
  p.pi_split = pi_split;
  p.factor_period = p.inverse_period = 1;
  ck_assert_int_eq(prsvd_kfac_create(MPI_COMM_WORLD, &kf), 0);
  ck_assert_int_eq(prsvd_kfac_set_params(kf, &p), 0);
  ck_assert_int_eq(prsvd_kfac_add_layer(kf, D0, D1, 1, &l1), 0);
  ck_assert_int_eq(prsvd_kfac_add_layer(kf, D1, D2, 1, &l2), 0);
  ck_assert_int_eq(prsvd_kfac_precondition(kf, l1, grad1, D0 + 1, grad1, D0 + 1), PRSVD_ERR_USAGE);
  ck_assert_int_eq(prsvd_kfac_wants_statistics(kf), 1);
  ck_assert_int_eq(prsvd_kfac_accumulate(kf, l1, B, x, D0, g1, D1), 0);
  ck_assert_int_eq(prsvd_kfac_accumulate(kf, l2, B, h, D1, g2, D2), 0);
  ck_assert_int_eq(prsvd_kfac_step(kf), 0);
  const int da[2] = {D0 + 1, D1 + 1}, dg[2] = {D1, D2}, ls[2] = {l1, l2};
  double *grads[2] = {grad1, grad2};
  for (int t = 0; t < 2; t++) {
    const double *fa, *fg, *u, *lam;
    double la, lg, out[D2 * (D1 + 1) > D1 * (D0 + 1) ? D2 * (D1 + 1) : D1 * (D0 + 1)], ref[sizeof out / sizeof out[0]];
    int64_t d, r;
    ck_assert_int_eq(prsvd_kfac_get_factor(kf, ls[t], PRSVD_KFAC_A, &d, &fa), 0);
    ck_assert_int_eq(prsvd_kfac_get_factor(kf, ls[t], PRSVD_KFAC_G, &d, &fg), 0);
    ck_assert_int_eq(prsvd_kfac_get_inverse(kf, ls[t], PRSVD_KFAC_A, &d, &r, &u, &lam, &la), 0);
    const double top_a = lam[0];
    ck_assert_int_eq(prsvd_kfac_get_inverse(kf, ls[t], PRSVD_KFAC_G, &d, &r, &u, &lam, &lg), 0);
    const double top_g = lam[0];
    /* the dampings by their definitions */
    if (!pi_split) {
      const double want_a = kind == PRSVD_KFAC_DAMPING_ABSOLUTE ? 0.03 : 0.1 * top_a;
      const double want_g = kind == PRSVD_KFAC_DAMPING_ABSOLUTE ? 0.03 : 0.1 * top_g;
      ck_assert_double_le(fabs(la - want_a), 1e-15 * want_a);
      ck_assert_double_le(fabs(lg - want_g), 1e-15 * want_g);
    } else {
      double tra = 0, trg = 0;
      for (int i = 0; i < da[t]; i++) tra += fa[i * da[t] + i];
      for (int i = 0; i < dg[t]; i++) trg += fg[i * dg[t] + i];
      const double gamma = kind == PRSVD_KFAC_DAMPING_ABSOLUTE ? 0.03 : 0.1 * top_a * top_g;
      const double pi = sqrt((tra / da[t]) / (trg / dg[t]));
      ck_assert_double_le(fabs(la - pi * sqrt(gamma)), 1e-14 * la);
      ck_assert_double_le(fabs(lg - sqrt(gamma) / pi), 1e-14 * lg);
      ck_assert_double_le(fabs(la * lg - gamma), 1e-14 * gamma);
    }
    kron_solve(da[t], dg[t], fa, la, fg, lg, grads[t], ref);
    ck_assert_int_eq(prsvd_kfac_precondition(kf, ls[t], grads[t], da[t], out, da[t]), 0);
    const int n = da[t] * dg[t];
    double err = max_diff(n, out, ref) / max_abs(n, ref);
    if (err > 1e-12)
      ck_abort_msg("%s%s: layer %d differs from the Kronecker formula by %g relative",
                   method_name[method], pi_split ? " (pi split)" : "", t, err);
  }
  struct prsvd_kfac_stats st;
  ck_assert_int_eq(prsvd_kfac_get_stats(kf, &st), 0);
  ck_assert_int_eq(st.steps, 1);
  ck_assert_int_eq(st.factor_updates, 1);
  ck_assert_int_eq(st.refreshes, 1);
  prsvd_kfac_destroy(&kf);
}

START_TEST(kfac_step_equals_kronecker_formula) {
  for (int t = 0; t < 4; t++) two_layer_case(all_methods[t], 0, PRSVD_KFAC_DAMPING_ABSOLUTE);
  two_layer_case(PRSVD_KFAC_EIG, 0, PRSVD_KFAC_DAMPING_RELATIVE);
  two_layer_case(PRSVD_KFAC_EIG, 1, PRSVD_KFAC_DAMPING_ABSOLUTE);
  two_layer_case(PRSVD_KFAC_REVD, 1, PRSVD_KFAC_DAMPING_RELATIVE);
}
END_TEST

/* out = (G + lg I)^s X (A + la I)^s from dsyevd of each dense factor (X row-major dg x da) */
static void kron_power(int da, int dg, const double *a, double la, const double *g, double lg,
                       double s, const double *x, double *out) {
  double *ia = calloc((size_t)da * da, sizeof(double)), *ig = calloc((size_t)dg * dg, sizeof(double));
  double *pa = malloc(sizeof(double) * da * da), *pg = malloc(sizeof(double) * dg * dg);
  for (int i = 0; i < da; i++) ia[i * da + i] = 1.0;
  for (int i = 0; i < dg; i++) ig[i * dg + i] = 1.0;
  dense_power(da, a, la, s, da, ia, pa);
  dense_power(dg, g, lg, s, dg, ig, pg);
  for (int i = 0; i < dg; i++)
    for (int j = 0; j < da; j++) {
      double acc = 0.0;
      for (int k = 0; k < dg; k++)
        for (int t = 0; t < da; t++) acc += pg[k * dg + i] * x[k * da + t] * pa[j * da + t];
      out[i * da + j] = acc;
    }
  free(ia), free(ig), free(pa), free(pg);
}

/* One object of two layers with planted factors: layer 0 has d_a = 13, d_out = 5 (A of rank
 * 5), layer 1 d_a = 5, d_out = 13 (G of rank 5).  apply_through_vectors as given. */
enum { CA = 13, CG = 5 };
static prsvd_kfac *planted_object(enum prsvd_kfac_method method, int64_t rank, int vectors,
                                  double damping, double **f) {
  struct prsvd_kfac_params p = PRSVD_KFAC_PARAMS_INIT;
  const double ev_big[CG] = {4, 2, 1, 0.5, 0.25}, ev_small[CG] = {3, 1.5, 0.7, 0.2, 0.1};
  double ev_full[CA];
  prsvd_kfac *kf = NULL;
  int layer;
  for (int i = 0; i < CA; i++) ev_full[i] = pow(0.7, i);
  p.method = method;
  p.rank = rank;
  p.oversample = 2;
  p.power_iters = 2;
  p.damping = damping;
  p.damping_kind = PRSVD_KFAC_DAMPING_ABSOLUTE;
  p.apply_through_vectors = vectors;
  f[0] = psd(CA, CG, ev_big, 31);   /* layer 0 A: 13 x 13 of rank 5 */
  f[1] = psd(CG, CG, ev_small, 32); /* layer 0 G: 5 x 5, full rank */
  f[2] = psd(CG, CG, ev_small, 33); /* layer 1 A: 5 x 5 */
  f[3] = psd(CA, CA, ev_full, 34);  /* layer 1 G: 13 x 13, full rank */
  if (method != PRSVD_KFAC_EIG) { free(f[3]); f[3] = psd(CA, CG, ev_big, 35); } /* rank 5 */
  ck_assert_int_eq(prsvd_kfac_create(MPI_COMM_SELF, &kf), 0);
  ck_assert_int_eq(prsvd_kfac_set_params(kf, &p), 0);
  ck_assert_int_eq(prsvd_kfac_add_layer(kf, CA - 1, CG, 1, &layer), 0);
  ck_assert_int_eq(prsvd_kfac_add_layer(kf, CG - 1, CA, 1, &layer), 0);
  ck_assert_int_eq(prsvd_kfac_set_factor(kf, 0, PRSVD_KFAC_A, f[0], CA), 0);
  ck_assert_int_eq(prsvd_kfac_set_factor(kf, 0, PRSVD_KFAC_G, f[1], CG), 0);
  ck_assert_int_eq(prsvd_kfac_set_factor(kf, 1, PRSVD_KFAC_A, f[2], CG), 0);
  ck_assert_int_eq(prsvd_kfac_set_factor(kf, 1, PRSVD_KFAC_G, f[3], CA), 0);
  ck_assert_int_eq(prsvd_kfac_refresh(kf), 0);
  return kf;
}

/* Precondition every layer of kf (power -1/p) and compare with LAPACK: kron_solve for p = 1,
 * kron_power otherwise. */
static void check_planted(prsvd_kfac *kf, double **f, double damping, double p, const char *what) {
  const int da[2] = {CA, CG}, dg[2] = {CG, CA};
  for (int l = 0; l < 2; l++) {
    const int n = da[l] * dg[l];
    double *x = malloc(sizeof(double) * n), *y = malloc(sizeof(double) * n), *ref = malloc(sizeof(double) * n);
    prsvd_rng_fill(40 + l, 0, 0, n, 0, 1, x, n);
    if (p == 1.0) {
      kron_solve(da[l], dg[l], f[2 * l], damping, f[2 * l + 1], damping, x, ref);
      ck_assert_int_eq(prsvd_kfac_precondition(kf, l, x, da[l], y, da[l]), 0);
    } else {
      kron_power(da[l], dg[l], f[2 * l], damping, f[2 * l + 1], damping, -1.0 / p, x, ref);
      ck_assert_int_eq(prsvd_kfac_precondition_root(kf, l, p, x, da[l], y, da[l]), 0);
    }
    const double err = max_diff(n, y, ref) / max_abs(n, ref);
    if (err > 1e-10) ck_abort_msg("%s, layer %d, p = %g, damping %g: off LAPACK by %g relative", what, l, p, damping, err);
    free(x), free(y), free(ref);
  }
}

/* A complete decomposition applied through its cached dense damped power equals the
 * eigenvector path and LAPACK's dense (F + lambda I)^-1 and inverse roots, also when one side
 * of a layer is low-rank (revd: the 5 x 5 factors fall back to the exact solver); a damping
 * change after a refresh, and a refresh, re-form the power (a stale one is off by far more
 * than 1e-10). */
START_TEST(dense_power_cache) {
  const enum prsvd_kfac_method ms[2] = {PRSVD_KFAC_EIG, PRSVD_KFAC_REVD};
  for (int t = 0; t < 2; t++) {
    double *f[4], *g[4];
    prsvd_kfac *dense = planted_object(ms[t], CG, 0, 0.05, f), *vec = planted_object(ms[t], CG, 1, 0.05, g);
    const char *name = ms[t] == PRSVD_KFAC_EIG ? "eig" : "revd";
    check_planted(dense, f, 0.05, 1.0, name);
    check_planted(dense, f, 0.05, 4.0, name);
    check_planted(dense, f, 0.05, 1.0, name); /* back to the inverse after a root */
    check_planted(vec, g, 0.05, 1.0, name);
    /* dense and eigenvector paths agree */
    for (int l = 0; l < 2; l++) {
      const int n = CA * CG, da = l ? CG : CA;
      double x[CA * CG], y[CA * CG], z[CA * CG];
      prsvd_rng_fill(50 + l, 0, 0, n, 0, 1, x, n);
      ck_assert_int_eq(prsvd_kfac_precondition(dense, l, x, da, y, da), 0);
      ck_assert_int_eq(prsvd_kfac_precondition(vec, l, x, da, z, da), 0);
      ck_assert_double_le(max_diff(n, y, z), 1e-10 * max_abs(n, z));
      memcpy(z, x, sizeof x); /* in place (out = grad) gives the same */
      ck_assert_int_eq(prsvd_kfac_precondition(dense, l, z, da, z, da), 0);
      ck_assert_double_le(max_diff(n, y, z), 1e-13 * max_abs(n, y));
    }
    /* a new damping after the refresh: the cached powers must be re-formed */
    struct prsvd_kfac_params p = PRSVD_KFAC_PARAMS_INIT;
    int64_t d, r;
    const double *u, *lam;
    double used;
    p.method = ms[t], p.rank = CG, p.oversample = 2, p.power_iters = 2;
    p.damping = 0.7, p.damping_kind = PRSVD_KFAC_DAMPING_ABSOLUTE;
    ck_assert_int_eq(prsvd_kfac_set_params(dense, &p), 0);
    ck_assert_int_eq(prsvd_kfac_get_inverse(dense, 1, PRSVD_KFAC_A, &d, &r, &u, &lam, &used), 0);
    ck_assert_double_eq(used, 0.7);
    check_planted(dense, f, 0.7, 1.0, name);
    check_planted(dense, f, 0.7, 2.0, name);
    /* new factors and a refresh at the same damping: the powers must be re-formed too */
    const int dims[4] = {CA, CG, CG, CA};
    for (int i = 0; i < 4; i++) {
      for (int k = 0; k < dims[i] * dims[i]; k++) f[i][k] *= 3.0;
      ck_assert_int_eq(prsvd_kfac_set_factor(dense, i / 2, i % 2 ? PRSVD_KFAC_G : PRSVD_KFAC_A, f[i], dims[i]), 0);
    }
    ck_assert_int_eq(prsvd_kfac_refresh(dense), 0);
    check_planted(dense, f, 0.7, 2.0, name);
    struct prsvd_kfac_stats st;
    ck_assert_int_eq(prsvd_kfac_get_stats(dense, &st), 0);
    ck_assert_int_eq(st.refreshes, 2);
    prsvd_kfac_destroy(&dense);
    prsvd_kfac_destroy(&vec);
    for (int i = 0; i < 4; i++) free(f[i]), free(g[i]);
  }
}
END_TEST

/* Bad values are refused with messages that name them. */
/* One layer's factors, top eigenvalues and preconditioned gradient after two updates of a
 * batch statistics on `threads` compute threads (method as given), into the arrays given. */
enum { TB = 37, TI = 29, TO = 13, TA = TI + 1 };
static void threaded_run(enum prsvd_kfac_method method, int threads, double *fa, double *fg, double *lam,
                         double *out) {
  double a[TB * TI], g[TB * TO], grad[TO * TA];
  struct prsvd_kfac_params p = PRSVD_KFAC_PARAMS_INIT;
  struct prsvd_kfac_stats st;
  prsvd_kfac *kf = NULL;
  const double *f, *u, *l;
  double damping;
  int64_t d, r;
  int layer;
  p.method = method, p.rank = 6, p.oversample = 4, p.power_iters = 2, p.decay = 0.5, p.threads = threads;
  ck_assert_int_eq(prsvd_kfac_create(MPI_COMM_SELF, &kf), 0);
  ck_assert_int_eq(prsvd_kfac_set_params(kf, &p), 0);
  ck_assert_int_eq(prsvd_kfac_add_layer(kf, TI, TO, 1, &layer), 0);
  for (int step = 0; step < 2; step++) {
    prsvd_rng_fill(60 + step, 0, 0, TI, 0, TB, a, TI), prsvd_rng_fill(70 + step, 0, 0, TO, 0, TB, g, TO);
    /* 33 rows, then 4: with 5 threads one has no row of the second call */
    ck_assert_int_eq(prsvd_kfac_accumulate(kf, layer, 33, a, TI, g, TO), 0);
    ck_assert_int_eq(prsvd_kfac_accumulate(kf, layer, TB - 33, a + 33 * TI, TI, g + 33 * TO, TO), 0);
    ck_assert_int_eq(prsvd_kfac_update_factors(kf), 0);
  }
  ck_assert_int_eq(prsvd_kfac_refresh(kf), 0);
  ck_assert_int_eq(prsvd_kfac_get_factor(kf, layer, PRSVD_KFAC_A, &d, &f), 0);
  memcpy(fa, f, sizeof(double) * TA * TA);
  ck_assert_int_eq(prsvd_kfac_get_factor(kf, layer, PRSVD_KFAC_G, &d, &f), 0);
  memcpy(fg, f, sizeof(double) * TO * TO);
  ck_assert_int_eq(prsvd_kfac_get_inverse(kf, layer, PRSVD_KFAC_A, &d, &r, &u, &l, &damping), 0);
  memcpy(lam, l, sizeof(double) * 6);
  prsvd_rng_fill(80, 0, 0, TO * TA, 0, 1, grad, TO * TA);
  ck_assert_int_eq(prsvd_kfac_precondition(kf, layer, grad, TA, out, TA), 0);
  ck_assert_int_eq(prsvd_kfac_get_stats(kf, &st), 0);
  ck_assert_int_eq(st.threads, threads);
  prsvd_kfac_destroy(&kf);
}

/* The statistics split among 2, 3 and 5 compute threads (5: a thread without a row of a
 * 4-row call), then the decompositions (eig, revd) and the preconditioned gradient on those
 * threads, agree with 1 thread to rounding; 3 threads give the same bits run after run. */
START_TEST(threads_agree_with_one) {
  const enum prsvd_kfac_method methods[2] = {PRSVD_KFAC_EIG, PRSVD_KFAC_REVD};
  const int counts[4] = {1, 2, 3, 5};
  double fa[4][TA * TA], fg[4][TO * TO], lam[4][6], out[4][TO * TA];
  double fa3[TA * TA], fg3[TO * TO], lam3[6], out3[TO * TA];
  for (int m = 0; m < 2; m++) {
    for (int c = 0; c < 4; c++) threaded_run(methods[m], counts[c], fa[c], fg[c], lam[c], out[c]);
    for (int c = 1; c < 4; c++) {
      const double ea = max_diff(TA * TA, fa[c], fa[0]) / max_abs(TA * TA, fa[0]);
      const double eg = max_diff(TO * TO, fg[c], fg[0]) / max_abs(TO * TO, fg[0]);
      const double el = max_diff(6, lam[c], lam[0]) / lam[0][0];
      const double eo = max_diff(TO * TA, out[c], out[0]) / max_abs(TO * TA, out[0]);
      if (ea > 1e-14 || eg > 1e-14 || el > 1e-12 || eo > 1e-10)
        ck_abort_msg("%s, %d threads against 1: factors %g, %g, eigenvalues %g, preconditioned %g relative",
                     method_name[methods[m] == PRSVD_KFAC_EIG ? 0 : 1], counts[c], ea, eg, el, eo);
    }
    threaded_run(methods[m], 3, fa3, fg3, lam3, out3);
    ck_assert_mem_eq(fa3, fa[2], sizeof fa3);
    ck_assert_mem_eq(fg3, fg[2], sizeof fg3);
    ck_assert_mem_eq(out3, out[2], sizeof out3);
  }
}
END_TEST

START_TEST(kfac_rejects_bad_input) {
  struct prsvd_kfac_params p = PRSVD_KFAC_PARAMS_INIT;
  double f[9] = {1, 0, 0, 0, NAN, 0, 0, 0, 1}, *u, *lam;
  int64_t r;
  prsvd_kfac *kf = NULL;
  p.method = PRSVD_KFAC_EIG;
  ck_assert_int_eq(prsvd_kfac_eigh(&p, "fc1/A", 3, f, 3, &r, &u, &lam), PRSVD_ERR_INPUT);
  ck_assert_str_eq(prsvd_error_message(), "'fc1/A' has NaN at row 1, column 1");
  f[4] = -2.0; /* indefinite */
  ck_assert_int_eq(prsvd_kfac_eigh(&p, "fc1/A", 3, f, 3, &r, &u, &lam), PRSVD_ERR_INPUT);
  ck_assert_ptr_nonnull(strstr(prsvd_error_message(), "is not positive semidefinite"));
  ck_assert_int_eq(prsvd_kfac_create(MPI_COMM_WORLD, &kf), 0);
  p.decay = 1.0;
  ck_assert_int_eq(prsvd_kfac_set_params(kf, &p), PRSVD_ERR_USAGE);
  p.decay = 0.5, p.damping = 0.0;
  ck_assert_int_eq(prsvd_kfac_set_params(kf, &p), PRSVD_ERR_USAGE);
  p.damping = 1.0, p.inverse_period = 0;
  ck_assert_int_eq(prsvd_kfac_set_params(kf, &p), PRSVD_ERR_USAGE);
  p.inverse_period = 1, p.threads = -1;
  ck_assert_int_eq(prsvd_kfac_set_params(kf, &p), PRSVD_ERR_USAGE);
  ck_assert_str_eq(prsvd_error_message(), "-1 compute threads a rank: expected 1 to 1024 (0: automatic)");
  p.threads = PRSVD_MAX_THREADS + 1;
  ck_assert_int_eq(prsvd_kfac_set_params(kf, &p), PRSVD_ERR_USAGE);
  int layer;
  ck_assert_int_eq(prsvd_kfac_add_layer(kf, 0, 3, 1, &layer), PRSVD_ERR_USAGE);
  ck_assert_int_eq(prsvd_kfac_accumulate(kf, 0, 1, f, 3, f, 3), PRSVD_ERR_USAGE); /* no layer 0 */
  ck_assert_int_eq(prsvd_kfac_refresh(kf), PRSVD_ERR_USAGE);
  prsvd_kfac_destroy(&kf);
  prsvd_kfac_destroy(&kf); /* accepts NULL */
}
END_TEST

Suite *kfac_suite(void) {
  Suite *s = suite_create("kfac");
  TCase *t = tcase_create("inverses");
  tcase_set_timeout(t, 120);
  tcase_add_test(t, damped_inverse_exact_at_full_rank);
  tcase_add_test(t, damped_inverse_root_exact_at_full_rank);
  tcase_add_test(t, randomized_eigenvalues_of_averaged_factor);
  suite_add_tcase(s, t);
  t = tcase_create("preconditioner");
  tcase_set_timeout(t, 120);
  tcase_add_test(t, factor_average_with_bias);
  tcase_add_test(t, kfac_step_equals_kronecker_formula);
  tcase_add_test(t, dense_power_cache);
  tcase_add_test(t, threads_agree_with_one);
  tcase_add_test(t, kfac_rejects_bad_input);
  suite_add_tcase(s, t);
  return s;
}
