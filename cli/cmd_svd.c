/* prsvd svd FILE:/DS -k K -o OUT.h5: the randomized SVD of a dataset, written as /U, /S, /V. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "prsvd_h5.h"
#include "cli.h"
#include "config.h"
#include "error.h"
#include "fields.h"
#include "options.h"

struct svd_opts {
  int64_t rank, oversample, passes, memory, range_dim, core_dim, max_rank, block;
  int64_t sketch_memory, threads;
  uint64_t seed;
  double tol, conv_tol;
  const char *output, *onepass_method, *sketch, *checkpoint, *precision, *read, *panels, *grid;
  const char *power_iters, *rows_where;
  const char *sample_dim, *missing, *weights; /* the features (cli/fields.c) */
  struct prsvd_opt_list mpiio_hints;
  double checkpoint_every;
  int force, json, progress, quiet, debug, center, scale, scores, no_prefetch, transpose, allow_missing_sources;
  int anndata; /* pca --anndata: the result goes back into the input .h5ad (cli/pca_anndata.c) */
  int log1p;   /* pca --log1p, and --rows-where above: the source seen through prsvd_source_transform */
};

/* svd and pca share this table.  pca takes neither the single-pass nor the fixed-accuracy
 * methods (centering runs with subspace iteration only), nor --transpose or --panels (PCA
 * streams the samples as stored rows), nor --center (implied): those entries are SVD's
 * alone, and an option worded for PCA has an entry of its own. */
enum { SVD = 1, PCA = 2 };
#define SVD_ONLY PRSVD_OPT_FOR(SVD)
#define PCA_ONLY PRSVD_OPT_FOR(PCA)
#define O(f) offsetof(struct svd_opts, f)
static const struct prsvd_option svd_options[] = {
    {"rank", 'k', PRSVD_OPT_INT, "K", NULL, 1, 1e12, SVD_ONLY, "singular triplets to compute, 1..min(m, n) (required unless --tol)", O(rank)},
    {"rank", 'k', PRSVD_OPT_INT, "K", NULL, 1, 1e12, PCA_ONLY | PRSVD_OPT_REQUIRED, "principal components to compute, 1..min(m, n)", O(rank)},
    {"oversample", 'p', PRSVD_OPT_INT, "P", "10", 0, 1e6, 0, "extra sketch columns, at most min(m, n) - k; the default is cut to fit", O(oversample)},
    {"power-iters", 'q', PRSVD_OPT_STRING, "Q", "1", 0, 0, SVD_ONLY, "power iterations, 0..100 (the run reads A q + 1 times), or auto: until the top-k singular values change by less than --conv-tol from one pass to the next, at most 10", O(power_iters)},
    {"power-iters", 'q', PRSVD_OPT_STRING, "Q", "auto", 0, 0, PCA_ONLY, "power iterations, 0..100 (the run reads A q + 1 times), or auto: until the top-k singular values change by less than --conv-tol from one pass to the next, at most 10", O(power_iters)},
    {"conv-tol", 0, PRSVD_OPT_DOUBLE, "EPS", "1e-4", 1e-12, 0.5, 0, "with -q auto: the largest relative change of the top-k singular values between passes that ends the iterations", O(conv_tol)},
    {"passes", 0, PRSVD_OPT_INT, "N", NULL, 1, 101, SVD_ONLY, "reads of A instead of -q (N = q + 1); --passes 1: single-pass sketches", O(passes)},
    {"passes", 0, PRSVD_OPT_INT, "N", NULL, 2, 101, PCA_ONLY, "reads of A instead of -q (N = q + 1 >= 2)", O(passes)},
    {"onepass-method", 0, PRSVD_OPT_STRING, "M", "three", 0, 0, SVD_ONLY, "with --passes 1: three (TYUC 2019), two (TYUC 2017) or hmt", O(onepass_method)},
    {"sketch", 0, PRSVD_OPT_STRING, "KIND", "gaussian", 0, 0, SVD_ONLY, "single-pass test matrices: gaussian or sparse (sign maps)", O(sketch)},
    {"range-dim", 0, PRSVD_OPT_INT, "KS", NULL, 1, 1e9, SVD_ONLY, "single pass: range/co-range sketch size, k + 2 to min(m, n) (default 2k + 1, at most min(m, n))", O(range_dim)},
    {"core-dim", 0, PRSVD_OPT_INT, "S", NULL, 1, 1e9, SVD_ONLY, "single pass: core sketch size, 2 KS + 1 (two: KS + 2) to min(m, n) (default 2 KS + 1, at most min(m, n))", O(core_dim)},
    {"sketch-memory", 0, PRSVD_OPT_SIZE, "SIZE", NULL, 1, 0, SVD_ONLY, "with --passes 1: KS and S from this storage for Y, X, Z (TYUC 2019 eq. 5.6)", O(sketch_memory)},
    {"tol", 0, PRSVD_OPT_DOUBLE, "EPS", NULL, 1e-7, 0.999, SVD_ONLY, "fixed accuracy: the smallest rank with ||A - USV^T||_F <= EPS ||A||_F (adds blocks until met; with --passes N: within N passes)", O(tol)},
    {"max-rank", 0, PRSVD_OPT_INT, "R", NULL, 1, 1e9, SVD_ONLY, "with --tol: largest rank tried (default min(m, n, 256))", O(max_rank)},
    {"block", 0, PRSVD_OPT_INT, "B", "10", 1, 1e6, SVD_ONLY, "with --tol: columns added per step, at most the largest rank (without --passes: -q power iterations each)", O(block)},
    PRSVD_OPT_CHECKPOINT(struct svd_opts),
    {"transpose", 0, PRSVD_OPT_FLAG, NULL, NULL, 0, 0, SVD_ONLY, "decompose A^T: the stored rows become V's, without a copy", O(transpose)},
    {"no-prefetch", 0, PRSVD_OPT_FLAG, NULL, NULL, 0, 0, 0, "read panels on the main thread (default: a reader thread, two panels in --memory)", O(no_prefetch)},
    {"center", 0, PRSVD_OPT_FLAG, NULL, NULL, 0, 0, SVD_ONLY, "subtract the column means implicitly (PCA; prsvd pca implies it)", O(center)},
    {"scale", 0, PRSVD_OPT_FLAG, NULL, NULL, 0, 0, SVD_ONLY, "with --center: divide columns by their standard deviations", O(scale)},
    {"scale", 0, PRSVD_OPT_FLAG, NULL, NULL, 0, 0, PCA_ONLY, "divide columns by their standard deviations, which the first pass learns (needs q >= 1); writes /scale", O(scale)},
    {"scores", 0, PRSVD_OPT_FLAG, NULL, NULL, 0, 0, SVD_ONLY, "with --center: also write /scores = U S (m x k)", O(scores)},
    {"scores", 0, PRSVD_OPT_FLAG, NULL, NULL, 0, 0, PCA_ONLY, "also write /scores = U S (m x k)", O(scores)},
    {"rows-where", 0, PRSVD_OPT_STRING, "obs/COLUMN[=VALUE]", NULL, 0, 0, PCA_ONLY, "only the cells (samples) where this boolean column of the AnnData file's /obs is true (a categorical one: is VALUE), read without a copy", O(rows_where)},
    {"log1p", 0, PRSVD_OPT_FLAG, NULL, NULL, 0, 0, PCA_ONLY, "log(1 + x) of every entry as it is read (of a sparse matrix, of its stored entries), as scanpy.pp.log1p", O(log1p)},
    {"seed", 0, PRSVD_OPT_UINT64, "S", "0", 0, 0, 0, "seed of the Gaussian test matrix", O(seed)},
    {"memory", 0, PRSVD_OPT_SIZE, "SIZE", "512M", 1, 0, 0, "per-rank ceiling for row panels (K, M, G, T suffixes); panels stay near 4 MiB a compute thread", O(memory)},
    PRSVD_OPT_THREADS(struct svd_opts, "each multiplying its own rows of every panel with a one-thread BLAS"),
    {"grid", 0, PRSVD_OPT_STRING, "PRxPC", "auto", 0, 0, 0, "process grid of PR x PC ranks: rank (i, j) reads row block i, column block j and holds n/PC rows of X (subspace iteration, row panels); auto: P x 1 unless X (n x (k+p+10) doubles) exceeds --memory, then the smallest PC that fits", O(grid)},
    PRSVD_OPT_PRECISION(struct svd_opts),
    PRSVD_OPT_READ(struct svd_opts),
    PRSVD_OPT_PANELS_FOR(struct svd_opts, SVD_ONLY),
    PRSVD_OPT_ALLOW_MISSING_SOURCES(struct svd_opts),
    PRSVD_OPT_MPIIO_HINT(struct svd_opts),
    PRSVD_OPT_FEATURES(struct svd_opts),
    {"output", 'o', PRSVD_OPT_STRING, "OUT.h5", NULL, 0, 0, SVD_ONLY | PRSVD_OPT_REQUIRED, "output file: /U (m x k), /S (k), /V (n x k)", O(output)},
    {"output", 'o', PRSVD_OPT_STRING, "OUT.h5", NULL, 0, 0, PCA_ONLY, "output file: /U, /S, /V and the PCA datasets above (required unless --anndata)", O(output)},
    {"anndata", 0, PRSVD_OPT_FLAG, NULL, NULL, 0, 0, PCA_ONLY, "write the PCA into the input .h5ad itself, as scanpy.pp.pca stores it: obsm/X_pca, varm/PCs, uns/pca (replaced only with --force); instead of -o", O(anndata)},
    PRSVD_OPT_RUN_END(struct svd_opts, "no progress, plan or summary")};
#undef O

static const struct prsvd_command_doc svd_doc = {
    "svd", "FILE.h5:/DATASET -k K -o OUT.h5 [options]",
    "Truncated SVD A ~ U diag(S) V^T of the m x n dataset, by randomized subspace iteration\n"
    "(Halko, Martinsson & Tropp 2011), streaming row panels from the file q + 1 times (once\n"
    "more when the sketch is ill-conditioned).  --passes 1 reads A once (single-pass\n"
    "sketches); --tol chooses the rank for an accuracy, adding blocks to the basis until it\n"
    "is met (exit 8 if --max-rank is reached first, the partial result written).  Run under\n"
    "mpirun to use many ranks: each reads its own rows; the result does not depend on the\n"
    "number of ranks.  FILE may be HDF5, NetCDF-4, AnnData .h5ad (CSR or CSC), 10x or MATLAB\n"
    "v7.3.",
    1,
    "# the 100 leading singular triplets, 4 ranks\n"
    "mpirun -n 4 prsvd svd data.h5:/X -k 100 -o svd.h5\n"
    "# one read of A: single-pass sketches\n"
    "mpirun -n 4 prsvd svd data.h5:/X -k 100 --passes 1 -o svd.h5\n"
    "# the rank for an accuracy: ||A - U S V^T||_F <= 1e-3 ||A||_F\n"
    "mpirun -n 4 prsvd svd data.h5:/X --tol 1e-3 -o svd.h5\n"
    "# may be stopped: SIGUSR1 saves and exits 99, a rerun resumes\n"
    "prsvd svd data.h5:/X -k 100 --checkpoint svd.ckpt -o svd.h5",
    SVD};
/* fixed accuracy: randQB_FP (--passes given) or randQB_EI (adaptive) */
static int fixed_accuracy(const struct prsvd_svd_params *prm) {
  return prm->method == PRSVD_METHOD_QB || prm->method == PRSVD_METHOD_QB_EI;
}

/* --tol's largest rank tried, for the --block check before there is a plan (the library's
 * prsvd_svd_width says the same: the estimate reports it as width) */
static int64_t max_rank_of(const struct prsvd_svd_params *prm, int64_t mn) {
  return prm->max_rank ? prm->max_rank : (mn < 256 ? mn : 256);
}

/* The power iterations a run made: q, or as many as -q auto took (subspace iteration), or the
 * -q of each block (--tol). */
static int power_iters_of(const struct prsvd_svd_params *prm, const struct prsvd_svd_stats *st) {
  return prm->method == PRSVD_METHOD_SUBSPACE ? st->power_iters : prm->power_iters;
}

static const struct prsvd_command_doc pca_doc = {
    "pca", "FILE.h5:/DATASET -k K (-o OUT.h5 | --anndata) [options]",
    "Principal components of the m samples (rows) x n features (columns) dataset: the\n"
    "randomized SVD of A - 1 mu^T (with --scale, of (A - 1 mu^T) D^-1), centered implicitly:\n"
    "the means come from the first pass, no extra pass, never a dense copy, also for sparse\n"
    "input (AnnData .h5ad CSR or CSC).  Writes scikit-learn's PCA vocabulary (/components,\n"
    "/explained_variance, /explained_variance_ratio, /mean, /singular_values, /scale with\n"
    "--scale, /scores with --scores) beside /U, /S, /V, with components signed as\n"
    "scikit-learn's.  Subspace iteration only; prsvd svd --center is the same computation.",
    1,
    "# 50 components of an AnnData matrix (cells x genes), with scores\n"
    "mpirun -n 4 prsvd pca cells.h5ad:/X -k 50 --scores -o pca.h5\n"
    "# the same into cells.h5ad itself, where scanpy looks for it\n"
    "prsvd pca cells.h5ad:/X -k 50 --anndata\n"
    "# standardized PCA (of the correlation matrix), 3 power iterations\n"
    "prsvd pca data.h5:/X -k 20 -q 3 --scale -o pca.h5",
    PCA};

/* The explained variance S_j^2 / (m - 1) of each of the k components and its share of the
 * total variance (ratio; either may be NULL): for /explained_variance(_ratio), the summary and
 * --json alike. */
void prsvd_cli_pca_variance(const double *s, int64_t k, int64_t m, double total_variance, double *ev,
                            double *ratio) {
  for (int64_t j = 0; j < k; j++) {
    const double e = m > 1 ? s[j] * s[j] / (double)(m - 1) : 0.0;
    if (ev) ev[j] = e;
    if (ratio) ratio[j] = total_variance > 0 ? e / total_variance : 0.0;
  }
}

/* /components, /explained_variance(_ratio), /mean, /singular_values, /scale, /scores */
static int write_pca(prsvd_h5_writer *w, MPI_Comm comm, const struct svd_opts *o, int64_t m, int64_t n,
                     prsvd_svd *svd, const struct prsvd_svd_stats *st, const struct prsvd_h5_features *f,
                     int transposed) {
  int status = PRSVD_OK;
  const double *s, *u, *v, *mean, *scale;
  int64_t k, u0, ur, uld, v0, vr, vld;
  double *ev = NULL, *ratio = NULL, *vt = NULL, *us = NULL, *mu = NULL;
  const int shaped = prsvd_cli_features_active(f); /* /components and /mean in the feature shape */
  int64_t shape[PRSVD_H5_MAX_DIMS + 1];
  prsvd_h5_matrix *mat = NULL;
  PRSVD_CHECK(prsvd_svd_get_rank(svd, &k));
  PRSVD_CHECK(prsvd_svd_get_singular_values(svd, &s));
  PRSVD_CHECK(prsvd_svd_get_u(svd, &u, &u0, &ur, &uld));
  PRSVD_CHECK(prsvd_svd_get_v(svd, &v, &v0, &vr, &vld));
  PRSVD_CHECK(prsvd_svd_get_centering(svd, &mean, &scale));
  if (transposed) { /* a CSC X streamed as X^T (rows centred): X's U is the computed V */
    const double *t = u;
    int64_t t0 = u0, tr = ur, tld = uld;
    u = v, u0 = v0, ur = vr, uld = vld;
    v = t, v0 = t0, vr = tr, vld = tld;
  }
  PRSVD_ALLOC(ev, k);
  PRSVD_ALLOC(ratio, k);
  prsvd_cli_pca_variance(s, k, m, st->total_variance, ev, ratio);
  PRSVD_TRY(prsvd_h5_write_vector(w, "/explained_variance", k, ev));
  PRSVD_TRY(prsvd_h5_write_vector(w, "/explained_variance_ratio", k, ratio));
  PRSVD_TRY(prsvd_h5_write_vector(w, "/singular_values", k, s));
  if (shaped) { /* the mean of the data as given: unweighted, NaN at the dropped features */
    PRSVD_ALLOC(mu, n);
    memcpy(mu, mean, sizeof(double) * (size_t)n);
    prsvd_cli_features_unweight(f, mu, n);
    PRSVD_TRY(prsvd_h5_write_array(w, "/mean", prsvd_cli_feature_shape(f, 0, shape), shape, mu));
  } else {
    PRSVD_TRY(prsvd_h5_write_vector(w, "/mean", n, mean));
  }
  if (o->scale && shaped) { /* in the feature shape too, NaN at the dropped features */
    double *sc = NULL;
    PRSVD_ALLOC(sc, n);
    memcpy(sc, scale, sizeof(double) * (size_t)n);
    prsvd_cli_features_nan(f, sc, n);
    status = prsvd_h5_write_array(w, "/scale", prsvd_cli_feature_shape(f, 0, shape), shape, sc);
    free(sc);
    PRSVD_TRY(status);
  } else if (o->scale) {
    PRSVD_TRY(prsvd_h5_write_vector(w, "/scale", n, scale));
  }
  /* components = V^T (k x n): V is distributed by rows, so gather it (n x k, small) */
  PRSVD_ALLOC(vt, n * k);
  for (int64_t i = 0; i < vr; i++)
    for (int64_t j = 0; j < k; j++) vt[j * n + v0 + i] = v[j * vld + i];
  PRSVD_MPI(MPI_Allreduce(MPI_IN_PLACE, vt, (int)(n * k), MPI_DOUBLE, MPI_SUM, comm));
  if (shaped) { /* k x (the feature shape), weighted as eofs' solver.eofs() (docs/usage.md) */
    prsvd_cli_features_nan(f, vt, n * k);
    PRSVD_TRY(prsvd_h5_write_array(w, "/components", prsvd_cli_feature_shape(f, k, shape), shape, vt));
  } else {
    PRSVD_TRY(prsvd_h5_matrix_create(w, "/components", k, n, PRSVD_H5_FLOAT64, 0, 0, 0, &mat));
    int rank;
    MPI_Comm_rank(comm, &rank);
    PRSVD_TRY(prsvd_h5_matrix_write(mat, 0, rank == 0 ? k : 0, vt));
    prsvd_h5_matrix_close(&mat);
  }
  if (o->scores) { /* U S, this rank's rows */
    PRSVD_ALLOC(us, (ur > 0 ? ur : 1) * k);
    for (int64_t j = 0; j < k; j++)
      for (int64_t i = 0; i < ur; i++) us[j * (ur > 0 ? ur : 1) + i] = u[j * uld + i] * s[j];
    PRSVD_TRY(prsvd_h5_matrix_create(w, "/scores", m, k, PRSVD_H5_FLOAT64, 0, 0, 0, &mat));
    PRSVD_TRY(prsvd_h5_matrix_write_colmajor(mat, u0, ur, us, ur > 0 ? ur : 1));
    prsvd_h5_matrix_close(&mat);
  }
  PRSVD_TRY(prsvd_h5_attr_double(w, "/", "total_variance", st->total_variance));
  PRSVD_TRY(prsvd_h5_attr_int(w, "/", "zero_variance_columns", st->zero_variance_cols));
  PRSVD_TRY(prsvd_h5_attr_int(w, "/", "centered", 1));
  PRSVD_TRY(prsvd_h5_attr_int(w, "/", "scaled", o->scale));
done:
  prsvd_h5_matrix_close(&mat);
  free(ev), free(ratio), free(vt), free(us), free(mu);
  return status;
}

static int write_output(struct prsvd_cli *cli, const struct svd_opts *o,
                        const struct prsvd_svd_params *prm, const char *file, const char *dataset,
                        int64_t m, int64_t n, prsvd_svd *svd, const struct prsvd_svd_stats *st,
                        int transposed, int by_columns, const struct prsvd_h5_features *f) {
  const double *scree = NULL;
  int status = PRSVD_OK;
  prsvd_h5_writer *w = NULL;
  prsvd_h5_matrix *mat = NULL;
  const double *s, *u, *v;
  double *v_nan = NULL;
  int64_t k, u0, ur, uld, v0, vr, vld;
  const int shaped = prsvd_cli_features_active(f);
  PRSVD_CHECK(prsvd_svd_get_rank(svd, &k));
  PRSVD_CHECK(prsvd_svd_get_singular_values(svd, &s));
  PRSVD_CHECK(prsvd_svd_get_u(svd, &u, &u0, &ur, &uld));
  PRSVD_CHECK(prsvd_svd_get_v(svd, &v, &v0, &vr, &vld));
  if (shaped) { /* NaN in V's rows of the dropped features */
    PRSVD_CHECK(prsvd_cli_features_nan_rows(f, v, v0, vr, vld, k, &v_nan));
    if (v_nan) v = v_nan, vld = vr > 0 ? vr : 1;
  }
  if (transposed) { /* the source streamed X^T = V S U^T: X's U is the computed V */
    const double *t = u;
    int64_t t0 = u0, tr = ur, tld = uld, tm = m;
    u = v, u0 = v0, ur = vr, uld = vld, m = n;
    v = t, v0 = t0, vr = tr, vld = tld, n = tm;
  }
  PRSVD_CHECK(prsvd_h5_writer_create(cli->comm, o->output, o->force, &w));
  prsvd_profile_begin(PRSVD_EV_WRITE);
  PRSVD_TRY(prsvd_h5_matrix_create(w, "/U", m, k, PRSVD_H5_FLOAT64, 0, 0, 0, &mat));
  PRSVD_TRY(prsvd_h5_matrix_write_colmajor(mat, u0, ur, u, uld));
  prsvd_h5_matrix_close(&mat);
  PRSVD_TRY(prsvd_h5_write_vector(w, "/S", k, s));
  PRSVD_TRY(prsvd_h5_matrix_create(w, "/V", n, k, PRSVD_H5_FLOAT64, 0, 0, 0, &mat));
  PRSVD_TRY(prsvd_h5_matrix_write_colmajor(mat, v0, vr, v, vld));
  prsvd_h5_matrix_close(&mat);
  if (shaped) { /* V's rows are the features: their shape, on /V and on the file */
    PRSVD_TRY(prsvd_cli_features_attrs(w, "/V", f));
    PRSVD_TRY(prsvd_cli_write_features(w, f));
  }
  PRSVD_TRY(prsvd_h5_attr_string(w, "/", "prsvd_version", PACKAGE_VERSION));
  PRSVD_TRY(prsvd_h5_attr_string(w, "/", "command_line", cli->command_line));
  PRSVD_TRY(prsvd_h5_attr_string(w, "/", "input_file", file));
  PRSVD_TRY(prsvd_h5_attr_string(w, "/", "input_dataset", dataset));
  /* transposed: the factors are of the stored rows' transpose (CSC, MATLAB, --transpose),
   * whichever way the panels ran */
  PRSVD_TRY(prsvd_h5_attr_int(w, "/", "transposed", transposed ^ by_columns));
  PRSVD_TRY(prsvd_h5_attr_string(w, "/", "panels", by_columns ? "columns" : "rows"));
  if (prm->center) { /* pca --log1p and --rows-where: what the rows of /U and /scores are */
    PRSVD_TRY(prsvd_h5_attr_int(w, "/", "log1p", o->log1p));
    PRSVD_TRY(prsvd_h5_attr_string(w, "/", "rows_where", o->rows_where ? o->rows_where : ""));
  }
  PRSVD_TRY(prsvd_h5_attr_int(w, "/", "rows", m));
  PRSVD_TRY(prsvd_h5_attr_int(w, "/", "cols", n));
  PRSVD_TRY(prsvd_h5_attr_int(w, "/", "rank", k));
  PRSVD_TRY(prsvd_h5_attr_string(w, "/", "method", prsvd_cli_method_name(prm)));
  PRSVD_TRY(prsvd_cli_write_iterations(w, cli, prm, st, prm->oversample, power_iters_of(prm, st),
                                       prm->power_iters < 0, o->seed));
  PRSVD_TRY(prsvd_h5_attr_int(w, "/", "memory", o->memory));
  PRSVD_TRY(prsvd_h5_attr_double(w, "/", "elapsed_seconds", MPI_Wtime() - cli->t_start));
  PRSVD_TRY(prsvd_h5_attr_double(w, "/", "error_estimate", st->error_estimate));
  PRSVD_TRY(prsvd_h5_attr_double(w, "/", "error_estimate_fro", st->error_estimate_fro));
  if (prm->method == PRSVD_METHOD_ONEPASS) {
    PRSVD_TRY(prsvd_h5_attr_string(w, "/", "sketch", o->sketch));
    PRSVD_TRY(prsvd_h5_attr_int(w, "/", "range_dim", st->range_dim));
    PRSVD_TRY(prsvd_h5_attr_int(w, "/", "core_dim", st->core_dim));
    PRSVD_TRY(prsvd_h5_attr_double(w, "/", "error_ci_low", st->error_ci_low));
    PRSVD_TRY(prsvd_h5_attr_double(w, "/", "error_ci_high", st->error_ci_high));
    PRSVD_TRY(prsvd_h5_attr_double(w, "/", "norm_fro", st->norm_fro));
    PRSVD_TRY(prsvd_svd_get_scree(svd, &scree));
    if (scree) PRSVD_TRY(prsvd_h5_write_vector(w, "/scree", k, scree));
  }
  if (fixed_accuracy(prm)) {
    PRSVD_TRY(prsvd_h5_attr_int(w, "/", "qb_rank", st->qb_rank));
    PRSVD_TRY(prsvd_h5_attr_double(w, "/", "tol", prm->tol));
    PRSVD_TRY(prsvd_h5_attr_double(w, "/", "tol_achieved", st->tol_achieved));
    PRSVD_TRY(prsvd_h5_attr_int(w, "/", "tol_met", st->tol_met));
    PRSVD_TRY(prsvd_h5_attr_int(w, "/", "block", prm->block));
    PRSVD_TRY(prsvd_h5_attr_double(w, "/", "norm_fro", st->norm_fro));
  }
  if (prm->center) PRSVD_TRY(write_pca(w, cli->comm, o, m, n, svd, st, f, transposed));
  PRSVD_TRY(prsvd_h5_writer_commit(&w));
  prsvd_profile_end(PRSVD_EV_WRITE, 8.0 * (double)((m + n + 1) * k), 0.0);
done:
  prsvd_h5_matrix_close(&mat);
  prsvd_h5_writer_abort(&w);
  free(v_nan);
  return status;
}

static void print_plan(const struct prsvd_cli *cli, const char *spec, const struct prsvd_h5_info *in,
                       const struct svd_opts *o, const struct prsvd_svd_params *prm,
                       const struct prsvd_svd_estimate *est, const struct prsvd_h5_features *f) {
  char b1[32], mapping[1024];
  const struct prsvd_svd_plan *plan = &est->plan;
  const int64_t m = in->rows, n = in->cols;
  if (in->sparse)
    printf("prsvd %s %s: %lld x %lld sparse %s (%lld stored %s entries, %.3g%%) on %d rank%s\n",
           o->center ? "pca" : "svd", spec,
           (long long)m, (long long)n, in->format, (long long)in->nnz, in->type,
           100.0 * (double)in->nnz / ((double)m * (double)n), cli->nprocs, cli->nprocs > 1 ? "s" : "");
  else
    printf("prsvd %s %s: %lld x %lld %s on %d rank%s\n", o->center ? "pca" : "svd", spec,
           (long long)(in->by_columns ? n : m), (long long)(in->by_columns ? m : n), in->type, cli->nprocs,
           cli->nprocs > 1 ? "s" : "");
  if (prsvd_cli_features_active(f)) {
    prsvd_cli_features_describe(f, mapping, sizeof mapping);
    printf("  %s\n", mapping);
  }
  if (in->conventions[0]) printf("  %s\n", in->conventions);
  if (prm->method == PRSVD_METHOD_QB)
    printf("  tol = %g, block %lld, max rank %lld (randQB_FP), q = %d\n", prm->tol, (long long)prm->block,
           (long long)est->width, prm->power_iters);
  else if (prm->method == PRSVD_METHOD_QB_EI)
    printf("  tol = %g, blocks of %lld with q = %d, max rank %lld (randQB_EI)\n", prm->tol, (long long)prm->block,
           prm->power_iters, (long long)est->width);
  else if (prm->method == PRSVD_METHOD_ONEPASS) {
    int64_t ks = 0, cs = 0;
    (void)prsvd_onepass_sizes(prm, m, n, &ks, &cs); /* refused by prsvd_svd_plan if they fail */
    printf("  k = %lld, single pass, k_s %lld, s %lld (%s sketches, %s), %d probes\n", (long long)prm->rank,
           (long long)ks, (long long)cs, o->sketch, o->onepass_method, est->probes);
    if (o->sketch_memory)
      printf("  k_s and s from --sketch-memory %s (TYUC 2019 eq. 5.6): k_s (m + n) + s^2 = %lld of %lld numbers\n",
             prsvd_format_bytes((double)o->sketch_memory, b1, sizeof b1),
             (long long)(ks * (m + n) + cs * cs), (long long)(o->sketch_memory / 8));
  } else if (prm->power_iters < 0) {
    printf("  k = %lld, p = %lld, q = auto: up to %d passes (-q auto) over %s (one more if the "
           "sketch is ill-conditioned)\n",
           (long long)prm->rank, (long long)prm->oversample, prm->max_power_iters + 1,
           prsvd_format_bytes(est->pass_bytes, b1, sizeof b1));
    printf("  -q auto: power iterations until the top-%lld singular values change by less than %g "
           "between passes, at most %d\n",
           (long long)prm->rank, prm->conv_tol, prm->max_power_iters);
  } else
    printf("  k = %lld, p = %lld, q = %d (subspace iteration, l = %lld), %d probes\n", (long long)prm->rank,
           (long long)prm->oversample, prm->power_iters, (long long)est->width, est->probes);
  const char *arith = in->sparse ? "CSR, float64" : plan->single ? "float32 by SGEMM into float64 sketches" : "float64";
  if (in->by_columns)
    printf("  column panels: streaming the %lld x %lld transpose, U and V swapped on output\n", (long long)m,
           (long long)n);
  const char *path = !strcmp(prsvd_read_path(in, plan->single, plan->grid_cols), "mmap")
                         ? "mapped from the page cache, no copy"
                         : "copied";
  if (in->chunked)
    printf("  panels of %lld rows (chunks of %lld x %lld), %s, %s reads (%s)\n", (long long)plan->panel_rows,
           (long long)in->chunk_rows, (long long)in->chunk_cols, arith, o->read, path);
  else
    printf("  panels of %lld rows, %s, %s reads (%s)\n", (long long)plan->panel_rows, arith, o->read, path);
  if (in->mpiio_hints[0]) printf("  MPI-IO hints of the input (MPI_File_get_info): %s\n", in->mpiio_hints);
  printf("  process grid %d x %d (%s): each rank reads %lld of the %lld columns and holds that many "
         "rows of X\n", plan->grid_rows, plan->grid_cols, prm->grid_cols ? "--grid" : "auto",
         (long long)plan->x_rows, (long long)n);
}

static void print_summary(const struct prsvd_cli *cli, const struct svd_opts *o,
                          const struct prsvd_svd_params *prm, const struct prsvd_svd_estimate *est,
                          prsvd_svd *svd, const struct prsvd_svd_stats *st,
                          const struct prsvd_profile_row *rows, double elapsed, int64_t m) {
  const double *s;
  int64_t k;
  char b[32];
  double flops = 0;
  for (int e = 0; e < PRSVD_N_EVENTS; e++) flops += rows[e].flops;
  prsvd_svd_get_rank(svd, &k);
  prsvd_svd_get_singular_values(svd, &s);
  if (cli->rank) return;
  printf("singular values:");
  for (int64_t j = 0; j < k && j < 10; j++) printf(" %.6g", s[j]);
  printf(k > 10 ? " ... %.6g\n" : "\n", s[k - 1]);
  printf("passes %d%s, read %s of %s panels, %.2f GB/s, %.2f GFLOP/s, %.2f s\n", st->passes,
         st->extra_pass ? " (one to form B = Q^T A: R was ill-conditioned)" : "",
         prsvd_format_bytes((double)st->bytes_read, b, sizeof b), prsvd_precision_name(st->single),
         elapsed > 0 ? st->bytes_read / elapsed * 1e-9 : 0.0, elapsed > 0 ? flops / elapsed * 1e-9 : 0.0,
         elapsed);
  prsvd_cli_print_conv(prm, st, "singular values", k);
  if (prm->center) { /* PCA: the explained variance ratio of the top 10 and the share of all k */
    double total = 0.0, *ratio = malloc(sizeof(double) * (size_t)k);
    if (ratio) {
      prsvd_cli_pca_variance(s, k, m, st->total_variance, NULL, ratio);
      printf("explained variance ratio:");
      for (int64_t j = 0; j < k; j++) {
        if (j < 10) printf(" %.4g", ratio[j]);
        total += ratio[j];
      }
      printf("%s; the %lld component%s explain %.2f%% of the variance\n", k > 10 ? " ..." : "",
             (long long)k, k > 1 ? "s" : "", 100.0 * total);
      free(ratio);
    }
  }
  if (fixed_accuracy(prm))
    printf("rank %lld chosen for tol %g (of a QB of rank %lld): ||A - U S V^T||_F / ||A||_F = %.3e "
           "(indicator)%s\n", (long long)k, prm->tol, (long long)st->qb_rank, st->tol_achieved,
           st->tol_met ? "" : "  NOT REACHED: partial result");
  else if (prm->method == PRSVD_METHOD_ONEPASS)
    printf("error estimate: ||A - U S V^T||_F ~ %.3e, 95%% in [%.3e, %.3e] (%d Gaussian probes); ||A||_F = %.3e\n",
           st->error_estimate_fro, st->error_ci_low, st->error_ci_high, est->probes, st->norm_fro);
  else if (est->probes > 0)
    printf("error estimate: ||A - U S V^T||_2 <= %.3e (HMT eq. 4.3, %d probes), ||.||_F ~ %.3e\n",
           st->error_estimate, est->probes, st->error_estimate_fro);
  printf("orthonormalization: %ld CholeskyQR2, %ld shifted CholeskyQR3 (worst ||Q^T Q - I||_F %.1e), %ld Householder\n",
         st->qr_cholqr2, st->qr_shifted, st->qr_worst_orth, st->qr_householder);
  prsvd_profile_print(stdout, rows);
  printf("wrote %s\n", o->output);
}

/* svd's and pca's fields of --json, into j */
static void summary_json(json_object *j, const struct prsvd_cli *cli, const char *command, const char *spec,
                         const struct prsvd_h5_info *in, int64_t m, int64_t n, prsvd_svd *svd,
                         const struct prsvd_svd_stats *st, double elapsed, const struct svd_opts *o,
                         const struct prsvd_svd_params *prm, const struct prsvd_svd_estimate *est,
                         const struct prsvd_progress *progress) {
  const struct prsvd_svd_plan *plan = &est->plan;
  const double *s, *scree = NULL;
  int64_t k;
  prsvd_svd_get_rank(svd, &k);
  prsvd_svd_get_singular_values(svd, &s);
  prsvd_svd_get_scree(svd, &scree);
  json_object *sv = json_object_new_array();
  for (int64_t i = 0; i < k; i++) json_object_array_add(sv, prsvd_json_double(s[i]));
  json_object_object_add(j, "command", json_object_new_string(command));
  json_object_object_add(j, "method", json_object_new_string(prsvd_cli_method_name(prm)));
  json_object_object_add(j, "input", json_object_new_string(spec));
  json_object_object_add(j, "output", json_object_new_string(o->output));
  json_object_object_add(j, "rows", json_object_new_int64(m));
  json_object_object_add(j, "cols", json_object_new_int64(n));
  json_object_object_add(j, "rank", json_object_new_int64(k));
  json_object_object_add(j, "oversample", json_object_new_int64(prm->oversample));
  json_object_object_add(j, "power_iters", json_object_new_int64(power_iters_of(prm, st)));
  prsvd_cli_json_conv(j, prm, st, progress);
  json_object_object_add(j, "nprocs", json_object_new_int(cli->nprocs));
  json_object_object_add(j, "passes", json_object_new_int(st->passes));
  json_object_object_add(j, "extra_pass", json_object_new_boolean(st->extra_pass));
  json_object_object_add(j, "panel_rows", json_object_new_int64(st->panel_rows));
  json_object *gj = json_object_new_object(); /* the process grid and what it leaves per rank */
  json_object_object_add(gj, "rows", json_object_new_int(plan->grid_rows));
  json_object_object_add(gj, "cols", json_object_new_int(plan->grid_cols));
  json_object_object_add(gj, "chosen", json_object_new_string(prm->grid_cols ? "--grid" : "auto"));
  json_object_object_add(gj, "x_rows_per_rank", json_object_new_int64(plan->x_rows));
  json_object_object_add(j, "grid", gj);
  json_object_object_add(j, "bytes_read", json_object_new_int64(st->bytes_read));
  json_object_object_add(j, "file_bytes_read", json_object_new_int64(st->file_bytes));
  json_object_object_add(j, "precision", json_object_new_string(prsvd_precision_name(st->single)));
  json_object_object_add(j, "read", json_object_new_string(o->read));
  json_object_object_add(j, "read_path", json_object_new_string(prsvd_read_path(in, st->single, plan->grid_cols)));
  json_object_object_add(j, "mapped_bytes", json_object_new_int64(st->mapped_bytes));
  json_object_object_add(j, "panels", json_object_new_string(in->by_columns ? "columns" : "rows"));
  if (in->mpiio_hints[0]) json_object_object_add(j, "mpiio_hints", json_object_new_string(in->mpiio_hints));
  json_object_object_add(j, "elapsed_seconds", prsvd_json_double(elapsed));
  json_object_object_add(j, "error_estimate", prsvd_json_double(st->error_estimate));
  json_object_object_add(j, "error_estimate_fro", prsvd_json_double(st->error_estimate_fro));
  if (prm->method == PRSVD_METHOD_ONEPASS) {
    json_object *sc = json_object_new_array();
    for (int64_t i = 0; scree && i < k; i++) json_object_array_add(sc, prsvd_json_double(scree[i]));
    json_object_object_add(j, "error_ci", json_object_new_array());
    json_object_array_add(json_object_object_get(j, "error_ci"), prsvd_json_double(st->error_ci_low));
    json_object_array_add(json_object_object_get(j, "error_ci"), prsvd_json_double(st->error_ci_high));
    json_object_object_add(j, "scree", sc);
    json_object_object_add(j, "range_dim", json_object_new_int64(st->range_dim));
    json_object_object_add(j, "core_dim", json_object_new_int64(st->core_dim));
    json_object_object_add(j, "norm_fro", prsvd_json_double(st->norm_fro));
  }
  if (fixed_accuracy(prm)) {
    json_object_object_add(j, "qb_rank", json_object_new_int64(st->qb_rank));
    json_object_object_add(j, "tol", prsvd_json_double(prm->tol));
    json_object_object_add(j, "tol_achieved", prsvd_json_double(st->tol_achieved));
    json_object_object_add(j, "tol_met", json_object_new_boolean(st->tol_met));
    json_object_object_add(j, "norm_fro", prsvd_json_double(st->norm_fro));
  }
  json_object_object_add(j, "singular_values", sv);
  if (prm->center) { /* PCA: the explained variance ratio of the top 10 and the share of all k */
    double total = 0.0, *ratio = malloc(sizeof(double) * (size_t)k);
    json_object *rj = json_object_new_array();
    if (ratio) {
      prsvd_cli_pca_variance(s, k, prm->center_rows ? n : m, st->total_variance, NULL, ratio); /* samples */
      for (int64_t i = 0; i < k; i++) {
        if (i < 10) json_object_array_add(rj, json_object_new_double(ratio[i]));
        total += ratio[i];
      }
      free(ratio);
    }
    json_object_object_add(j, "explained_variance_ratio", rj);
    json_object_object_add(j, "explained_variance_ratio_total", json_object_new_double(total));
    json_object_object_add(j, "total_variance", json_object_new_double(st->total_variance));
  }
  json_object *qj = json_object_new_object();
  json_object_object_add(qj, "cholqr2", json_object_new_int64(st->qr_cholqr2));
  json_object_object_add(qj, "shifted_cholqr3", json_object_new_int64(st->qr_shifted));
  json_object_object_add(qj, "householder", json_object_new_int64(st->qr_householder));
  json_object_object_add(qj, "worst_orthogonality", prsvd_json_double(st->qr_worst_orth));
  json_object_object_add(j, "qr", qj);
}

/* Options into library parameters; the method follows from --passes and --tol. */
static int resolve(const struct svd_opts *o, int64_t m, int64_t n, const char *spec,
                   const char *q_default, struct prsvd_svd_params *prm) {
  const int64_t mn = m < n ? m : n;
  PRSVD_CHECK(prsvd_cli_method(o->passes, o->power_iters, q_default, o->conv_tol, o->tol, prm));
  prm->rank = o->rank;
  prm->center = o->center;
  prm->prefetch = !o->no_prefetch;
  prm->scale = o->scale;
  if ((o->scale || o->scores) && !o->center)
    PRSVD_ERR(PRSVD_ERR_USAGE, "--scale and --scores need --center (or prsvd pca)");
  prm->seed = o->seed;
  prm->memory = o->memory;
  PRSVD_CHECK(prsvd_cli_grid(o->grid, prm));
  PRSVD_CHECK(prsvd_precision_parse(o->precision, &prm->precision));
  PRSVD_CHECK(prsvd_cli_sketch(o->onepass_method, o->sketch, prm));
  prm->range_dim = o->range_dim;
  prm->core_dim = o->core_dim;
  if (o->sketch_memory && (o->passes != 1 || o->tol > 0))
    PRSVD_ERR(PRSVD_ERR_USAGE, "--sketch-memory sizes the single-pass sketches: it needs --passes 1 and -k, not --tol");
  if (o->sketch_memory && prm->onepass != PRSVD_ONEPASS_THREE)
    PRSVD_ERR(PRSVD_ERR_USAGE, "--sketch-memory sizes the three sketches of --onepass-method three; give --range-dim and --core-dim for '%s'",
              o->onepass_method);
  if (o->sketch_memory && (o->range_dim || o->core_dim))
    PRSVD_ERR(PRSVD_ERR_USAGE, "give either --sketch-memory or --range-dim/--core-dim, not both");
  if (o->tol > 0) {
    if (prm->power_iters < 0)
      PRSVD_ERR(PRSVD_ERR_USAGE,
                "-q auto needs -k (subspace iteration): with --tol, -q is the power iterations of "
                "each block");
    if (o->rank)
      PRSVD_ERR(PRSVD_ERR_USAGE, "--tol chooses the rank: give --max-rank R instead of -k");
    if (o->passes == 1 && !o->max_rank)
      PRSVD_ERR(PRSVD_ERR_USAGE,
                "--passes 1 with --tol needs --max-rank: a single pass must fix the sketch width before reading A");
    if (o->max_rank > mn)
      PRSVD_ERR(PRSVD_ERR_USAGE, "--max-rank %lld exceeds min(rows, cols) = %lld of '%s'",
                (long long)o->max_rank, (long long)mn, spec);
    if (!o->passes && o->checkpoint)
      PRSVD_ERR(PRSVD_ERR_USAGE, "--checkpoint with --tol needs --passes N (randQB_FP, whose sketch is fixed "
                                 "before reading A): the adaptive randQB_EI is not checkpointed");
    prm->tol = o->tol;
    prm->max_rank = o->max_rank;
    prm->block = o->block;
    /* the default block shrinks to a small matrix's largest rank; one given must fit it (each
     * step holds block x block scratch: --block 100000 asked for 80 GB) */
    if (prsvd_option_given(&o->block) && o->block > max_rank_of(prm, mn))
      PRSVD_ERR(PRSVD_ERR_USAGE, "--block %lld exceeds the largest rank tried on '%s', %lld (%s): at most %lld",
                (long long)o->block, spec, (long long)max_rank_of(prm, mn),
                o->max_rank ? "--max-rank" : "min(rows, cols, 256)", (long long)max_rank_of(prm, mn));
    return PRSVD_OK;
  }
  if (!o->rank) PRSVD_ERR(PRSVD_ERR_USAGE, "missing required option --rank (or --tol)");
  if (o->rank > mn)
    PRSVD_ERR(PRSVD_ERR_USAGE, "--rank %lld exceeds min(rows, cols) = %lld of '%s'",
              (long long)o->rank, (long long)mn, spec);
  /* the default oversampling shrinks to fit (svd_params warns); a -p given must fit */
  if (prm->method == PRSVD_METHOD_SUBSPACE && prsvd_option_given(&o->oversample) && o->rank + o->oversample > mn)
    PRSVD_ERR(PRSVD_ERR_USAGE, "--oversample %lld with --rank %lld exceeds min(rows, cols) = %lld of '%s': at most %lld",
              (long long)o->oversample, (long long)o->rank, (long long)mn, spec, (long long)(mn - o->rank));
  if (o->sketch_memory)
    PRSVD_CHECK(prsvd_onepass_budget(m, n, o->rank, o->sketch_memory / 8, &prm->range_dim, &prm->core_dim));
  return PRSVD_OK;
}

/* A run of svd or pca (cli.h, struct prsvd_cli_run): the run first, so the hooks' run is it. */
struct svd_run {
  struct prsvd_cli_run run;
  struct svd_opts o;
  struct prsvd_cli_select sel; /* pca --rows-where, --log1p */
  int swap; /* the factors are of the streamed matrix's transpose */
  struct prsvd_h5_features feat; /* --sample-dim, --missing, --weights */
  int pca;  /* prsvd pca: -q defaults to auto */
};

static int svd_params_of(struct prsvd_cli_run *run);

/* pca: --anndata's checks against the file's cells and genes, then --rows-where and --log1p
 * (the source seen through them, and the run's shape that of the cells kept), then the rest */
static int svd_params(struct prsvd_cli_run *run) {
  struct svd_run *r = (struct svd_run *)run;
  const int swap = run->info.transposed ^ r->o.transpose;
  if (r->o.anndata) PRSVD_CHECK(prsvd_cli_anndata_check(run, swap, r->o.force));
  if (r->o.rows_where || r->o.log1p) PRSVD_CHECK(prsvd_cli_select(run, swap, r->o.rows_where, r->o.log1p, &r->sel));
  return svd_params_of(run);
}

static int svd_params_of(struct prsvd_cli_run *run) {
  struct svd_run *r = (struct svd_run *)run;
  const struct svd_opts *o = &r->o;
  const struct prsvd_h5_info *info = &run->info;
  struct prsvd_cli *cli = run->cli;
  const int64_t m = info->rows, n = info->cols, mn = m < n ? m : n;
  /* the factors are of the matrix the user means: X^T streamed for CSC and MATLAB layouts,
   * and --transpose flips that once more */
  r->swap = info->transposed ^ o->transpose;
  PRSVD_CHECK(prsvd_cli_features_check(cli, run->spec, info, &r->feat, o->transpose, o->scale, o->checkpoint));
  if (prsvd_cli_features_active(&r->feat) && run->how.panels == PRSVD_H5_PANELS_COLUMNS)
    PRSVD_ERR(PRSVD_ERR_USAGE, "--panels columns: the features of '%s' (%s) are read by row panels", run->spec,
              r->feat.ndims > 2 ? "an N-D variable" : "--sample-dim, --missing drop, --weights");
  if (r->feat.w && strcmp(o->weights, "coslat")) { /* the weights' file is an input too */
    char *wfile = NULL, *wds = NULL;
    PRSVD_CHECK(prsvd_h5_parse_spec(o->weights, &wfile, &wds));
    const struct prsvd_h5_role weights[] = {{"weights", wfile}, {NULL, NULL}};
    const int checked = prsvd_h5_check_output(cli->comm, o->output, o->force, weights);
    free(wfile), free(wds);
    PRSVD_CHECK(checked);
  }
  const int matlab = !strcmp(info->format, "matlab");
  if (info->transposed && !info->by_columns && !o->quiet && !o->json)
    prsvd_cli_warn(cli, "'%s' is stored %s: streaming its transpose%s", run->spec,
                   matlab ? "in MATLAB's column-major orientation" : "column-compressed",
                   o->transpose ? " (and --transpose asks for that)" : " and swapping U and V");
  else if (matlab && info->by_columns && !o->quiet && !o->json)
    prsvd_cli_warn(cli, "'%s' is stored in MATLAB's column-major orientation: streaming its stored columns, the matrix's rows",
                   run->spec);
  PRSVD_CHECK(resolve(o, m, n, run->spec, r->pca ? "auto" : "1", &run->prm));
  /* a column-compressed (or MATLAB) X streamed as X^T: PCA centres the streamed rows
   * (center.c's row variant); --transpose and column panels still need the samples as rows */
  if (r->swap && o->center && info->transposed && !info->by_columns && !o->transpose) {
    if (o->scale)
      PRSVD_ERR(PRSVD_ERR_USAGE, "--scale of '%s', stored column-compressed, is not supported: scaling divides the "
                "streamed rows' centred values by their deviations, which needs a pass of its own (convert it to CSR)",
                run->spec);
    run->prm.center_rows = 1;
  } else if (r->swap && o->center) {
    PRSVD_ERR(PRSVD_ERR_USAGE, "'%s' is transposed (--transpose or --panels columns): PCA centers the columns of the streamed rows, so it needs the samples as stored rows", run->spec);
  }
  int64_t p_used = o->oversample;
  if (run->prm.method == PRSVD_METHOD_SUBSPACE && o->rank + o->oversample > mn) {
    p_used = mn - o->rank;
    prsvd_cli_warn(cli, "k + p = %lld exceeds min(rows, cols) = %lld: oversampling reduced to %lld",
                   (long long)(o->rank + o->oversample), (long long)mn, (long long)p_used);
  }
  run->prm.oversample = p_used;
  if (o->anndata) r->o.output = run->file; /* what the summary and --json name as written */
  return PRSVD_OK;
}

static void svd_plan(const struct prsvd_cli_run *run) {
  const struct svd_run *r = (const struct svd_run *)run;
  print_plan(run->cli, run->spec, &run->info, &r->o, &run->prm, &run->est, &r->feat);
  if (r->o.rows_where) /* pca: what the matrix is (cli/pca_anndata.c) */
    printf("  cells where %s: %lld of %lld, the others not read\n", r->o.rows_where, (long long)r->sel.selected,
           (long long)r->sel.cells);
  if (r->o.log1p) printf("  log1p of every %sentry as it is read\n", run->info.sparse ? "stored " : "");
  if (r->o.anndata)
    printf("  writes obsm/X_pca, varm/PCs, uns/pca into '%s': a new version of it, renamed over it when complete\n",
           run->file);
}

static void svd_identity(const struct prsvd_cli_run *run, char *buf, size_t size) {
  const struct svd_run *r = (const struct svd_run *)run;
  prsvd_cli_checkpoint_options(buf, size, prsvd_cli_method_name(&run->prm), &run->prm, r->o.sketch, r->o.precision,
                               run->info.by_columns);
  if (prsvd_cli_features_active(&r->feat)) { /* the matrix an N-D input or weights make */
    const size_t used = strlen(buf);
    snprintf(buf + used, size - used, ";sample_axis=%d;weights=%s", r->feat.sample_axis,
             r->feat.w ? r->feat.weights_from : "none");
  }
  if (r->o.log1p || r->o.rows_where) { /* they change the matrix: a resume must match them */
    const size_t used = strlen(buf);
    snprintf(buf + used, size - used, ";log1p=%d;rows_where=%s", r->o.log1p, r->o.rows_where ? r->o.rows_where : "");
  }
}

static int svd_write(struct prsvd_cli_run *run) {
  struct svd_run *r = (struct svd_run *)run;
  if (r->o.anndata) {
    const struct prsvd_cli_anndata a = {r->swap, r->o.force, r->o.scale, r->o.log1p, r->o.rows_where, &r->sel};
    return prsvd_cli_anndata_write(run, &a);
  }
  return write_output(run->cli, &r->o, &run->prm, run->file, run->dataset, run->info.rows, run->info.cols,
                      run->svd, &run->st, r->swap, run->info.by_columns, &r->feat);
}

static int svd_report(struct prsvd_cli_run *run, json_object *j) {
  const struct svd_run *r = (const struct svd_run *)run;
  const struct svd_opts *o = &r->o;
  const struct prsvd_svd_stats *st = &run->st;
  if (j)
    summary_json(j, run->cli, r->pca ? "pca" : "svd", run->spec, &run->info, run->info.rows, run->info.cols,
                 run->svd, st, run->elapsed, o, &run->prm, &run->est, &run->prog);
  else if (!o->quiet)
    print_summary(run->cli, o, &run->prm, &run->est, run->svd, st, run->rows, run->elapsed,
                  run->prm.center_rows ? run->info.cols : run->info.rows); /* the samples */
  if (j || !o->quiet) prsvd_cli_features_report(run->cli, &r->feat, j);
  if (fixed_accuracy(&run->prm) && !st->tol_met) {
    const int64_t cap = run->est.width;
    if (st->qb_rank < cap)
      PRSVD_ERR(PRSVD_ERR_TOL,
                "tolerance %g not reached: the error indicator stalled at %.3e at rank %lld, below --max-rank %lld (the rest of A is at rounding level); the rank-%lld result in '%s' is labelled tol_met = 0",
                o->tol, st->tol_achieved, (long long)st->qb_rank, (long long)cap, (long long)st->qb_rank, o->output);
    PRSVD_ERR(PRSVD_ERR_TOL,
              "tolerance %g not reached within --max-rank %lld (error indicator %.3e after %d passes): the rank-%lld result in '%s' is labelled tol_met = 0; raise --max-rank",
              o->tol, (long long)cap, st->tol_achieved, st->passes, (long long)cap, o->output);
  }
  return PRSVD_OK;
}

static int svd_main(struct prsvd_cli *cli, int argc, char **argv, const struct prsvd_command_doc *doc,
                    int pca) {
  static const struct prsvd_cli_run_hooks hooks = {svd_params, svd_plan, svd_identity, svd_write, svd_report, 1};
  struct svd_run r;
  const char *pos[1] = {NULL};
  memset(&r, 0, sizeof r);
  int status = prsvd_options_parse(doc, svd_options, argc, argv, &r.o, pos);
  if (status) return status;
  if (pca) r.o.center = 1;
  r.pca = pca;
  if (r.o.anndata && r.o.output)
    PRSVD_ERR(PRSVD_ERR_USAGE, "--anndata writes the PCA into the input file itself: give it or -o, not both");
  if ((r.o.anndata || r.o.rows_where) && (r.o.sample_dim || r.o.weights || strcmp(r.o.missing, "fail")))
    PRSVD_ERR(PRSVD_ERR_USAGE, "%s is for an AnnData matrix, --sample-dim, --weights and --missing drop for a "
              "gridded field: not both", r.o.anndata ? "--anndata" : "--rows-where");
  if (pca && !r.o.anndata && !r.o.output)
    PRSVD_ERR(PRSVD_ERR_USAGE, "missing required option --output (or --anndata) (usage: prsvd pca %s)", pca_doc.usage);

  if (!r.o.rank && r.o.tol <= 0) PRSVD_ERR(PRSVD_ERR_USAGE, "missing required option --rank (or --tol)");
  PRSVD_CHECK(prsvd_cli_input(r.o.read, r.o.panels, r.o.memory, &r.run.how));
  if (r.o.center && r.run.how.panels == PRSVD_H5_PANELS_AUTO) r.run.how.panels = PRSVD_H5_PANELS_ROWS; /* samples are rows */
  r.run.how.allow_missing_sources = r.o.allow_missing_sources;
  PRSVD_CHECK(prsvd_cli_features(r.o.sample_dim, r.o.missing, r.o.weights, &r.feat));
  r.run.how.features = &r.feat;
  r.run.hooks = &hooks;
  r.run.spec = pos[0];
  r.run.mpiio_hints = &r.o.mpiio_hints;
  r.run.output = r.o.output;
  if (r.o.anndata) r.run.output = NULL, r.run.updates_input = 1; /* set once the input is parsed */
  r.run.checkpoint = r.o.checkpoint;
  r.run.checkpoint_every = r.o.checkpoint_every;
  r.run.force = r.o.force, r.run.json = r.o.json, r.run.quiet = r.o.quiet, r.run.progress = r.o.progress;
  r.run.threads = (int)r.o.threads;
  status = prsvd_cli_run(cli, &r.run);
  prsvd_h5_features_free(&r.feat);
  prsvd_cli_select_free(&r.sel);
  return status;
}

int cmd_svd(struct prsvd_cli *cli, int argc, char **argv) {
  return svd_main(cli, argc, argv, &svd_doc, 0);
}

int cmd_pca(struct prsvd_cli *cli, int argc, char **argv) {
  return svd_main(cli, argc, argv, &pca_doc, 1);
}
