/* prsvd verify FILE:/DS OUT.h5: one streaming pass measuring how well OUT factors A. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "prsvd_h5.h"
#include "blas.h"
#include "cli.h"
#include "error.h"
#include "options.h"

struct verify_opts {
  int64_t memory;
  int json, quiet, debug, allow_missing_sources;
};

#define O(f) offsetof(struct verify_opts, f)
static const struct prsvd_option verify_options[] = {
    {"memory", 0, PRSVD_OPT_SIZE, "SIZE", "512M", 1, 0, 0, "per-rank budget for row panels", O(memory)},
    PRSVD_OPT_ALLOW_MISSING_SOURCES(struct verify_opts),
    PRSVD_OPT_JSON(struct verify_opts),
    PRSVD_OPT_QUIET(struct verify_opts, "print nothing on success"),
    PRSVD_OPT_DEBUG(struct verify_opts),
    PRSVD_OPT_END};
#undef O

static const struct prsvd_command_doc verify_doc = {
    "verify", "FILE.h5:/DATASET OUT.h5 [options]",
    "Read A once, distributed like svd, and report ||A - U S V^T||_F / ||A||_F,\n"
    "max|U^T U - I| and max|V^T V - I| for the /U, /S, /V in OUT.h5.  When the dataset\n"
    "carries a planted 'singular_values' attribute (prsvd gen), also compare S with it and\n"
    "the residual with the optimal ||A - A_k||_F.  Understands eig outputs (/U, /L) and PCA\n"
    "outputs (/mean, /scale: the residual of the centered, scaled matrix), telling them by\n"
    "the 'method' attribute svd, pca and eig write (without it, by the datasets: /S and /V,\n"
    "or /L, not both).  A NaN or Inf in U, S or V fails the check (exit 4), one in A exits 2;\n"
    "the report still shows what was measured (null in --json).",
    2,
    "# the residual and orthogonality of an svd, pca or eig output\n"
    "mpirun -n 4 prsvd verify data.h5:/X svd.h5",
    0};

struct verify_result {
  double norm_a, residual, orth_u, orth_v, sv_err, optimal;
  int64_t k, planted_n;
  char nonfinite[512]; /* the first NaN or Inf of A, S, U, V, named; "" if none */
  int nonfinite_code;  /* PRSVD_ERR_INPUT (in A) or PRSVD_ERR_NUMERIC (in the factors) */
};

/* max |G - I|; NaN if G holds one (fmax would skip it and report a NaN U as orthonormal) */
static double max_dev_identity(const double *g, int64_t k) {
  double mx = 0.0;
  for (int64_t i = 0; i < k; i++)
    for (int64_t j = 0; j < k; j++) {
      const double d = fabs(g[j * k + i] - (i == j ? 1.0 : 0.0));
      if (isnan(d)) return NAN;
      mx = fmax(mx, d);
    }
  return mx;
}

/* The first NaN or Inf of the count values x, the first being entry `first` of its matrix,
 * as a key that orders like the entries: entry * 4 + kind (0 NaN, 1 Inf, 2 -Inf); INT64_MAX
 * if every one is finite. */
static int64_t first_nonfinite(const double *x, int64_t count, int64_t first) {
  for (int64_t i = 0; i < count; i++)
    if (!isfinite(x[i])) return (first + i) * 4 + (isnan(x[i]) ? 0 : x[i] > 0 ? 1 : 2);
  return INT64_MAX;
}

/* Names the entry of key (first_nonfinite) in `what`, cols wide (0: a vector), unless an
 * earlier one is named. */
static void name_nonfinite(struct verify_result *res, int code, const char *what, int64_t key, int64_t cols) {
  static const char *const kinds[] = {"NaN", "Inf", "-Inf"};
  const long long at = (long long)(key / 4);
  if (res->nonfinite[0] || key == INT64_MAX) return;
  if (cols)
    snprintf(res->nonfinite, sizeof res->nonfinite, "%s holds %s at row %lld, column %lld", what, kinds[key % 4],
             at / cols, at % cols);
  else
    snprintf(res->nonfinite, sizeof res->nonfinite, "%s holds %s at entry %lld", what, kinds[key % 4], at);
  res->nonfinite_code = code;
}

/* Whether OUT.h5 holds an eig result (/U, /L) rather than an svd or pca one (/U, /S, /V):
 * from the 'method' attribute the three commands write.  A file without it (written by
 * another program) is taken by the datasets it holds, and refused when it holds both kinds.
 * Not collective. */
static int result_is_eig(const char *out, int *is_eig) {
  char method[64];
  PRSVD_CHECK(prsvd_h5_read_attr_string(out, "method", method, sizeof method));
  if (method[0]) {
    *is_eig = prsvd_eig_method(method, NULL);
    return PRSVD_OK;
  }
  const int l = prsvd_h5_has_dataset(out, "/L");
  const int sv = prsvd_h5_has_dataset(out, "/S") && prsvd_h5_has_dataset(out, "/V");
  if (l && sv)
    PRSVD_ERR(PRSVD_ERR_INPUT, "'%s' holds /S, /V and /L but no 'method' attribute: an svd result or an eig "
              "result? (set 'method' to the svd or eig method that wrote it)", out);
  if (!l && !sv)
    PRSVD_ERR(PRSVD_ERR_INPUT, "'%s' holds neither /S and /V (an svd result) nor /L (an eig result)", out);
  *is_eig = l;
  return PRSVD_OK;
}

/* The residual, ||A|| and max |U^T U - I| in one pass over A and U; bad[0] and bad[1] the
 * first NaN or Inf of A and of U (first_nonfinite's keys), over every rank. */
static int stream_residual(struct prsvd_cli *cli, prsvd_source *a, prsvd_source *u,
                           const double *s, const double *vt, int64_t k, int64_t memory,
                           const double *mean, const double *scale, struct verify_result *res,
                           int64_t bad[2]) {
  int status = PRSVD_OK;
  const int64_t m = prsvd_source_rows(a), n = prsvd_source_cols(a);
  double *panel = NULL, *ut = NULL, *t = NULL, *g = NULL, sums[2] = {0, 0};
  bad[0] = bad[1] = INT64_MAX;
  int64_t row0, local_rows, panel_rows = memory / prsvd_size_mul(8, n + 2 * k);
  int in, ik;
  prsvd_row_block(m, cli->rank, cli->nprocs, &row0, &local_rows);
  if (panel_rows < 1) panel_rows = 1;
  if (panel_rows > local_rows) panel_rows = local_rows > 0 ? local_rows : 1;
  PRSVD_TRY(prsvd_to_int(n, "columns", &in));
  PRSVD_TRY(prsvd_to_int(k, "rank", &ik));
  PRSVD_ALLOC(panel, panel_rows * n);
  PRSVD_ALLOC(ut, panel_rows * k);
  PRSVD_ALLOC(t, panel_rows * k);
  PRSVD_ALLOC(g, k * k);
  for (int64_t r = row0; r < row0 + local_rows; r += panel_rows) {
    int64_t nr = row0 + local_rows - r < panel_rows ? row0 + local_rows - r : panel_rows;
    int inr = (int)nr;
    const double one = 1.0, minus = -1.0;
    prsvd_profile_begin(PRSVD_EV_READ);
    PRSVD_TRY(prsvd_source_read(a, r, nr, panel));
    PRSVD_TRY(prsvd_source_read(u, r, nr, ut));
    prsvd_profile_end(PRSVD_EV_READ, 8.0 * (double)(nr * (n + k)), 0.0);
    if (bad[0] == INT64_MAX) bad[0] = first_nonfinite(panel, nr * n, r * n);
    if (bad[1] == INT64_MAX) bad[1] = first_nonfinite(ut, nr * k, r * k);
    prsvd_profile_begin(PRSVD_EV_SKETCH);
    if (mean) /* a PCA output factors (A - 1 mu^T) D^-1 */
      for (int64_t i = 0; i < nr; i++)
        for (int64_t j = 0; j < n; j++)
          panel[i * n + j] = (panel[i * n + j] - mean[j]) / (scale ? scale[j] : 1.0);
    for (int64_t i = 0; i < nr * n; i++) sums[1] += panel[i] * panel[i];
    /* T = diag(S) U_i^T;  A_i^T -= V T;  G += U_i^T U_i */
    for (int64_t i = 0; i < nr; i++)
      for (int64_t c = 0; c < k; c++) t[i * k + c] = s[c] * ut[i * k + c];
    dgemm_("T", "N", &in, &inr, &ik, &minus, vt, &ik, t, &ik, &one, panel, &in);
    for (int64_t i = 0; i < nr * n; i++) sums[0] += panel[i] * panel[i];
    dgemm_("N", "T", &ik, &ik, &inr, &one, ut, &ik, ut, &ik, &one, g, &ik);
    prsvd_profile_end(PRSVD_EV_SKETCH, 0.0, 2.0 * (double)(nr * n * k) + 2.0 * (double)(nr * k * k));
  }
done:
  status = prsvd_error_agree(cli->comm, status);
  if (!status) {
    MPI_Allreduce(MPI_IN_PLACE, sums, 2, MPI_DOUBLE, MPI_SUM, cli->comm);
    MPI_Allreduce(MPI_IN_PLACE, g, (int)(k * k), MPI_DOUBLE, MPI_SUM, cli->comm);
    MPI_Allreduce(MPI_IN_PLACE, bad, 2, MPI_INT64_T, MPI_MIN, cli->comm);
    res->residual = sqrt(sums[0]);
    res->norm_a = sqrt(sums[1]);
    res->orth_u = max_dev_identity(g, k);
  }
  free(panel);
  free(ut);
  free(t);
  free(g);
  return status;
}

static void report(const struct prsvd_cli *cli, const char *spec, const char *out,
                   const struct verify_result *r, const double *s, const double *planted,
                   int json) {
  if (cli->rank) return;
  const double rel = r->norm_a == 0.0 ? 0.0 : r->residual / r->norm_a; /* NaN stays NaN */
  if (json) {
    json_object *j = json_object_new_object();
    json_object_object_add(j, "input", json_object_new_string(spec));
    json_object_object_add(j, "result", json_object_new_string(out));
    json_object_object_add(j, "rank", json_object_new_int64(r->k));
    json_object_object_add(j, "norm_a_fro", prsvd_json_double(r->norm_a));
    json_object_object_add(j, "residual_fro", prsvd_json_double(r->residual));
    json_object_object_add(j, "relative_residual_fro", prsvd_json_double(rel));
    json_object_object_add(j, "orthogonality_u", prsvd_json_double(r->orth_u));
    json_object_object_add(j, "orthogonality_v", prsvd_json_double(r->orth_v));
    json_object_object_add(j, "finite", json_object_new_boolean(!r->nonfinite[0]));
    if (r->nonfinite[0]) json_object_object_add(j, "nonfinite", json_object_new_string(r->nonfinite));
    if (r->planted_n) {
      json_object_object_add(j, "singular_value_error", prsvd_json_double(r->sv_err));
      json_object_object_add(j, "optimal_residual_fro", prsvd_json_double(r->optimal));
      json_object_object_add(j, "residual_over_optimal",
                             prsvd_json_double(r->optimal > 0 ? r->residual / r->optimal : NAN));
    }
    prsvd_cli_print_json(cli, j);
    json_object_put(j);
    return;
  }
  printf("verify %s against %s (k = %lld)\n", out, spec, (long long)r->k);
  printf("  ||A - U S V^T||_F / ||A||_F   %.3e\n", rel);
  printf("  max |U^T U - I|               %.3e\n", r->orth_u);
  printf("  max |V^T V - I|               %.3e\n", r->orth_v);
  if (r->nonfinite[0]) printf("  FAILED: %s\n", r->nonfinite);
  if (r->planted_n) {
    printf("  ||A - U S V^T||_F / ||A - A_k||_F   %.6f   (1 is optimal)\n",
           r->optimal > 0 ? r->residual / r->optimal : NAN);
    printf("  max |S_j - sigma_j| / sigma_1       %.3e   (planted sigma)\n", r->sv_err);
    printf("     j      computed S_j       planted sigma_j\n");
    for (int64_t j = 0; j < r->k && j < 10; j++)
      printf("  %4lld  %18.12g  %18.12g\n", (long long)j + 1, s[j], planted[j]);
    if (r->k > 10) printf("   ...\n");
  }
}

int cmd_verify(struct prsvd_cli *cli, int argc, char **argv) {
  int status;
  struct verify_opts o;
  const char *pos[2] = {NULL, NULL};
  char *file = NULL, *dataset = NULL;
  prsvd_source *a = NULL, *u = NULL, *v = NULL;
  struct prsvd_h5_info ia, iu, iv;
  double *s = NULL, *vt = NULL, *g = NULL, *planted = NULL, *mean = NULL, *scale = NULL;
  int64_t ns = 0;
  struct verify_result res;
  memset(&res, 0, sizeof res);

  status = prsvd_options_parse(&verify_doc, verify_options, argc, argv, &o, pos);
  if (status) return status;
  PRSVD_TRY(prsvd_h5_parse_spec(pos[0], &file, &dataset));
  struct prsvd_h5_input how;
  PRSVD_TRY(prsvd_cli_input("posix", "rows", o.memory, &how));
  how.allow_missing_sources = o.allow_missing_sources;
  PRSVD_TRY(prsvd_h5_open_input(cli->comm, file, dataset, &how, &ia, &a));
  prsvd_cli_warn_missing_sources(cli, pos[0], &ia);
  /* an eig output holds /U and /L: A ~ U diag(L) U^T; a CSC input streams X^T = V S U^T */
  int is_eig = 0;
  status = result_is_eig(pos[1], &is_eig);
  PRSVD_TRY(prsvd_error_agree(cli->comm, status));
  double tr = 0.0;
  int swapped = 0;
  if (!is_eig && prsvd_h5_read_attr_double(pos[1], "transposed", &tr) == PRSVD_OK) swapped = tr != 0.0;
  prsvd_error_clear();
  const char *row_side = swapped ? "/V" : "/U";
  const char *col_side = is_eig ? "/U" : (swapped ? "/U" : "/V");
  PRSVD_TRY(prsvd_h5_open_source(cli->comm, pos[1], row_side, &iu, &u));
  PRSVD_TRY(prsvd_h5_open_source(cli->comm, pos[1], col_side, &iv, &v));
  const char *values = is_eig ? "/L" : "/S";
  status = prsvd_h5_read_vector(pos[1], values, &ns, &s);
  PRSVD_TRY(prsvd_error_agree(cli->comm, status));
  res.k = ns;
  if (iu.rows != ia.rows || iv.rows != ia.cols || iu.cols != ns || iv.cols != ns)
    PRSVD_FAIL(PRSVD_ERR_INPUT,
               "'%s' does not factor a %lld x %lld matrix: U is %lld x %lld, S has %lld, V is %lld x %lld",
               pos[1], (long long)ia.rows, (long long)ia.cols, (long long)iu.rows, (long long)iu.cols,
               (long long)ns, (long long)iv.rows, (long long)iv.cols);
  /* a rank above min(m, n) is no truncated factorization; below it, k x k and n x k fit as A does */
  if (ns > (ia.rows < ia.cols ? ia.rows : ia.cols))
    PRSVD_FAIL(PRSVD_ERR_INPUT, "'%s' has rank %lld, above min(rows, cols) = %lld of the %lld x %lld matrix", pos[1],
               (long long)ns, (long long)(ia.rows < ia.cols ? ia.rows : ia.cols), (long long)ia.rows,
               (long long)ia.cols);
  int ik, in;
  PRSVD_TRY(prsvd_to_int(ns, "rank of the result", &ik));
  PRSVD_TRY(prsvd_to_int(iv.rows, "rows of V", &in));
  /* V^T on every rank: V is n x k, small beside A */
  PRSVD_ALLOC(vt, iv.rows * ns);
  PRSVD_ALLOC(g, ns * ns);
  status = prsvd_source_read(v, 0, iv.rows, vt);
  PRSVD_TRY(prsvd_error_agree(cli->comm, status));
  {
    const double one = 1.0, zero = 0.0;
    dgemm_("N", "T", &ik, &ik, &in, &one, vt, &ik, vt, &ik, &zero, g, &ik);
    res.orth_v = max_dev_identity(g, ns);
  }
  if (prsvd_h5_has_dataset(pos[1], "/mean")) {
    int64_t nm = 0, nsc = 0;
    status = prsvd_h5_read_vector(pos[1], "/mean", &nm, &mean);
    if (!status && prsvd_h5_has_dataset(pos[1], "/scale")) status = prsvd_h5_read_vector(pos[1], "/scale", &nsc, &scale);
    if (!status && (nm != ia.cols || (scale && nsc != ia.cols)))
      status = prsvd_error_set(PRSVD_ERR_INPUT, __FILE__, __LINE__, __func__,
                               "'%s': /mean or /scale does not have %lld entries", pos[1], (long long)ia.cols);
    PRSVD_TRY(prsvd_error_agree(cli->comm, status));
  }
  int64_t bad[2];
  PRSVD_TRY(stream_residual(cli, a, u, s, vt, ns, o.memory, mean, scale, &res, bad));
  { /* the first NaN or Inf, of the input before the factors' */
    char what[4200];
    snprintf(what, sizeof what, "'%s'", pos[0]);
    name_nonfinite(&res, PRSVD_ERR_INPUT, what, bad[0], ia.cols);
    snprintf(what, sizeof what, "'%s' of '%s'", values, pos[1]);
    name_nonfinite(&res, PRSVD_ERR_NUMERIC, what, first_nonfinite(s, ns, 0), 0);
    snprintf(what, sizeof what, "'%s' of '%s'", row_side, pos[1]);
    name_nonfinite(&res, PRSVD_ERR_NUMERIC, what, bad[1], ns);
    snprintf(what, sizeof what, "'%s' of '%s'", col_side, pos[1]);
    name_nonfinite(&res, PRSVD_ERR_NUMERIC, what, first_nonfinite(vt, iv.rows * ns, 0), ns);
  }
  status = prsvd_h5_read_attr_vector(file, dataset, "singular_values", &res.planted_n, &planted);
  PRSVD_TRY(prsvd_error_agree(cli->comm, status));
  if (res.planted_n >= ns && ns > 0) {
    double tail = 0.0;
    /* eig outputs: |L_j| against the planted singular values (revd orders by magnitude) */
    for (int64_t j = 0; j < ns; j++) { /* a NaN S_j makes the error NaN (fmax would skip it) */
      const double e = fabs((is_eig ? fabs(s[j]) : s[j]) - planted[j]) / planted[0];
      res.sv_err = isnan(e) || isnan(res.sv_err) ? NAN : fmax(res.sv_err, e);
    }
    for (int64_t j = ns; j < res.planted_n; j++) tail += planted[j] * planted[j];
    res.optimal = sqrt(tail);
  } else {
    res.planted_n = 0;
  }
  if (!o.quiet) report(cli, pos[0], pos[1], &res, s, planted, o.json);
  if (res.nonfinite[0]) /* after the report: what could be measured is shown, then the failure */
    PRSVD_FAIL(res.nonfinite_code, "%s: %s", res.nonfinite_code == PRSVD_ERR_INPUT ? "the input is not finite"
               : "the factorization is not finite", res.nonfinite);
done:
  prsvd_source_destroy(&a);
  prsvd_source_destroy(&u);
  prsvd_source_destroy(&v);
  free(s);
  free(vt);
  free(g);
  free(planted);
  free(mean);
  free(scale);
  free(file);
  free(dataset);
  return status;
}
