// The installed headers from C++ (tests/lib/run.sh runs it at one rank): every header compiles
// under -std=c++11 -pedantic-errors (built again as C++20 where the compiler has it), every
// function links with C linkage (a header without extern "C" fails here, at link time, on a
// mangled name), and the defaults agree: prsvd_svd_params_default() everywhere, and under
// C++20 the designated initializers PRSVD_SVD_PARAMS_INIT and PRSVD_KFAC_PARAMS_INIT too.
// Links the shared libprsvd, so it calls only what libprsvd exports.  Exits 1 on a failure.
#include <prsvd.h>
#include <prsvd_h5.h>
#include <prsvd_kfac.h>
#include <prsvd_planted.h>

#include <cmath>
#include <cstdio>

static int failures = 0;

static void check(bool ok, const char *what) {
  std::printf("%s - %s\n", ok ? "ok" : "not ok", what);
  if (!ok) failures++;
}

#if __cplusplus >= 202002L
#define SAME(a, b, f) ((a).f == (b).f)
static void defaults_match_initializers() {
  const prsvd_svd_params init = PRSVD_SVD_PARAMS_INIT, fn = prsvd_svd_params_default();
  check(SAME(init, fn, rank) && SAME(init, fn, oversample) && SAME(init, fn, power_iters) &&
            SAME(init, fn, seed) && SAME(init, fn, memory) && SAME(init, fn, n_probes) &&
            SAME(init, fn, rcond_min) && SAME(init, fn, check_finite) && SAME(init, fn, method) &&
            SAME(init, fn, onepass) && SAME(init, fn, test_matrix) && SAME(init, fn, range_dim) &&
            SAME(init, fn, core_dim) && SAME(init, fn, tol) && SAME(init, fn, prefetch) &&
            SAME(init, fn, center) && SAME(init, fn, scale) && SAME(init, fn, sym_tol) &&
            SAME(init, fn, max_rank) && SAME(init, fn, block) && SAME(init, fn, precision) &&
            SAME(init, fn, progress) && SAME(init, fn, progress_arg) &&
            SAME(init, fn, checkpoint) && SAME(init, fn, grid_rows) && SAME(init, fn, grid_cols),
        "C++20: PRSVD_SVD_PARAMS_INIT equals prsvd_svd_params_default()");
  const prsvd_kfac_params kinit = PRSVD_KFAC_PARAMS_INIT, kfn = prsvd_kfac_params_default();
  check(SAME(kinit, kfn, decay) && SAME(kinit, kfn, damping) && SAME(kinit, kfn, damping_kind) &&
            SAME(kinit, kfn, pi_split) && SAME(kinit, kfn, method) && SAME(kinit, kfn, rank) &&
            SAME(kinit, kfn, oversample) && SAME(kinit, kfn, power_iters) &&
            SAME(kinit, kfn, seed) && SAME(kinit, kfn, factor_period) &&
            SAME(kinit, kfn, inverse_period) && SAME(kinit, kfn, distribute_dim) &&
            SAME(kinit, kfn, memory) && SAME(kinit, kfn, sym_tol) &&
            SAME(kinit, kfn, apply_through_vectors),
        "C++20: PRSVD_KFAC_PARAMS_INIT equals prsvd_kfac_params_default()");
}
#endif

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
#if __cplusplus >= 202002L
  defaults_match_initializers();
#endif
  // prsvd.h: A = diag(4, 3, 2, 1) padded to 6 x 4, rank 2 with a full sketch (l = 4): S = (4, 3)
  // and U, V gathered whole on rank 0 are the first unit vectors
  double a[6 * 4] = {0};
  for (int i = 0; i < 4; i++) a[i * 4 + i] = 4 - i;
  prsvd_source *src = NULL;
  prsvd_svd *svd = NULL;
  prsvd_svd_params prm = prsvd_svd_params_default();
  prm.rank = 2;
  prm.oversample = 2;
  prm.power_iters = 1;
  int status = prsvd_source_memory(6, 4, a, 4, &src);
  if (!status) status = prsvd_svd_create(MPI_COMM_WORLD, &svd);
  if (!status) status = prsvd_svd_set_params(svd, &prm);
  if (!status) status = prsvd_svd_solve(svd, src);
  check(status == PRSVD_OK, "prsvd.h: a solve of an in-memory matrix");
  if (status) std::printf("#   %s\n", prsvd_error_message());
  const double *s = NULL;
  double *u = NULL, *v = NULL;
  int64_t k = 0, urows = 0, uld = 0, vrows = 0, vld = 0;
  if (!status) status = prsvd_svd_get_rank(svd, &k);
  if (!status) status = prsvd_svd_get_singular_values(svd, &s);
  if (!status) status = prsvd_svd_gather_u(svd, 0, &u, &urows, &uld);
  if (!status) status = prsvd_svd_gather_v(svd, 0, &v, &vrows, &vld);
  check(status == PRSVD_OK && k == 2 && std::fabs(s[0] - 4) < 1e-12 && std::fabs(s[1] - 3) < 1e-12,
        "prsvd.h: S = (4, 3)");
  check(status == PRSVD_OK && u && v && urows == 6 && uld == 6 && vrows == 4 && vld == 4 &&
            std::fabs(u[0] - 1) < 1e-12 && std::fabs(u[uld + 1] - 1) < 1e-12 &&
            std::fabs(v[0] - 1) < 1e-12 && std::fabs(v[vld + 1] - 1) < 1e-12,
        "prsvd.h: U and V gathered on rank 0 are e_1, e_2");
  prsvd_svd_free_gathered(&u);
  prsvd_svd_free_gathered(&v);
  prsvd_svd_destroy(&svd);
  prsvd_source_destroy(&src);
  check(!u && !v && !svd && !src, "prsvd.h: free and destroy set the handles to NULL");

  // prsvd_kfac.h, prsvd_planted.h, prsvd_h5.h: one call each
  prsvd_kfac *kf = NULL;
  prsvd_kfac_params kp = prsvd_kfac_params_default();
  status = prsvd_kfac_create(MPI_COMM_WORLD, &kf);
  if (!status) status = prsvd_kfac_set_params(kf, &kp);
  prsvd_kfac_destroy(&kf);
  check(status == PRSVD_OK && !kf, "prsvd_kfac.h: create, set the default params, destroy");
  prsvd_planted_params pp = prsvd_planted_params();
  pp.rows = pp.cols = 10;
  pp.spectrum = PRSVD_SPECTRUM_POLY;
  pp.decay = 2.0;
  check(std::fabs(prsvd_planted_sigma(&pp, 1) - 0.25) < 1e-15, "prsvd_planted.h: sigma_2 = 2^-2");
  const char *h5 = prsvd_h5_version();
  check(h5 && h5[0] == 'H', "prsvd_h5.h: prsvd_h5_version()");
  MPI_Finalize();
  return failures ? 1 : 0;
}
