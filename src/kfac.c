/*
 * The K-FAC preconditioner object: layers, factor statistics averaged over the ranks, the
 * refresh that spreads the eigendecompositions over the ranks, and the preconditioned
 * gradient (prsvd_kfac.h).  The decompositions and damped powers are in kfac_inverse.c.
 *
 *   A_batch = (1/B) sum_b [a_b; 1][a_b; 1]^T,  G_batch = (1/B) sum_b g_b g_b^T
 *             (B: the samples of all ranks; one MPI_Allreduce of packed upper triangles)
 *   F <- rho F + (1 - rho) F_batch                         (the first update sets F)
 *   F ~ U diag(Lambda) U^T on its owner rank, then broadcast; or, for a factor of dimension
 *   >= distribute_dim or given as a source, by all ranks together (kfac_inverse.c)
 *   Delta W = (G + lambda_G I)^s grad_W (A + lambda_A I)^s  (s = -1, or -1/p for roots)
 *
 * A rank's compute threads (params.threads; 0: the count prsvd_threads_choose gave at create)
 * are a pool on the object: the statistics of an accumulate split by rows among them
 * (kfac_statistics.c), the decompositions and the preconditioning run on that many threads.
 *
 * Assumptions: every rank adds the same layers with the same parameters; statistics are
 * finite.  Owners depend only on the layer sizes, the parameters, the number of ranks and
 * the factors given as sources, so the decompositions, and therefore every preconditioned
 * gradient, are the same bits on every rank.  A factor's d x d storage is allocated when it
 * first receives values, so a factor given as a source never costs d^2 memory.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "error.h"
#include "kfac_impl.h"
#include "prsvd_kfac.h"
#include "source_impl.h"
#include "threads.h"

struct kfac_factor {
  int64_t d;
  double *f;             /* d x d, both triangles (NULL until the factor receives values) */
  double *sum;           /* d x d statistics since the last update (upper triangle, col-major) */
  int64_t n_updates;     /* updates or set_factor calls this factor has had (this rank) */
  prsvd_source *src;     /* the caller's source of the factor, or NULL (then f holds it) */
  int owner;             /* the rank that decomposes it, -1 for all ranks together */
  int64_t r;             /* the decomposition in use: U (d x r column-major), Lambda (r) */
  double *u, *lambda;
  double trace, damping;
  double *power;         /* r = d: U (Lambda + damping)^power_s U^T (d x d), or NULL; formed
                          * when first applied, dropped by a refresh, re-formed when the
                          * damping or the power changes */
  double power_delta, power_s;
};

struct kfac_layer {
  int64_t d_in, d_out;
  int bias;
  int64_t batch;         /* samples accumulated on this rank since the last update */
  char name[512];
  struct kfac_factor fac[2];
};

struct prsvd_kfac {
  MPI_Comm comm;
  int rank, nprocs;
  struct prsvd_kfac_params params;
  struct kfac_layer *layers;
  int n_layers, capacity;
  int64_t step;
  int have_inverses;
  double *stats_buf;     /* the packed statistics of one update (stats_cap doubles) */
  int64_t stats_cap;
  double *work;          /* precondition: one gradient-sized product (work_cap doubles) */
  int64_t work_cap;
  int auto_threads;      /* the automatic count, chosen over comm at create */
  int threads;           /* in use: params.threads, or auto_threads for 0 */
  struct prsvd_pool *pool; /* threads - 1 workers (NULL for one thread) */
  struct prsvd_kfac_stats stats;
};

static const char *factor_label[2] = {"A", "G"};

struct prsvd_kfac_params prsvd_kfac_params_default(void) {
  const struct prsvd_kfac_params init = PRSVD_KFAC_PARAMS_INIT;
  return init;
}

int prsvd_kfac_create(MPI_Comm comm, prsvd_kfac **out) {
  int status = PRSVD_OK;
  prsvd_kfac *kf = NULL;
  prsvd_svd *warm = NULL;
  struct prsvd_threads_choice tc;
  *out = NULL;
  PRSVD_ALLOC(kf, 1);
  kf->params = prsvd_kfac_params_default();
  kf->comm = MPI_COMM_NULL;
  PRSVD_MPI_TRY(MPI_Comm_dup(comm, &kf->comm));
  MPI_Comm_rank(kf->comm, &kf->rank);
  MPI_Comm_size(kf->comm, &kf->nprocs);
  /* BLACS initialises itself collectively on first use: do it here, on every rank, before
   * the owners of factors run solvers on MPI_COMM_SELF alone */
  status = prsvd_svd_create(MPI_COMM_SELF, &warm);
  prsvd_svd_destroy(&warm);
  PRSVD_TRY(prsvd_error_agree(kf->comm, status));
  PRSVD_TRY(prsvd_threads_choose(kf->comm, 0, &tc));
  kf->auto_threads = kf->threads = tc.threads;
  PRSVD_TRY(prsvd_pool_create(kf->threads, &kf->pool));
  *out = kf;
  return PRSVD_OK;
done:
  prsvd_kfac_destroy(&kf);
  return status;
}

static int set_damping(const prsvd_kfac *kf, struct kfac_layer *l);

int prsvd_kfac_set_params(prsvd_kfac *kf, const struct prsvd_kfac_params *p) {
  if (!(p->decay >= 0.0 && p->decay < 1.0))
    PRSVD_ERR(PRSVD_ERR_USAGE, "K-FAC decay %g must be in [0, 1)", p->decay);
  if (!(p->damping > 0.0) || !isfinite(p->damping))
    PRSVD_ERR(PRSVD_ERR_USAGE, "K-FAC damping %g must be positive", p->damping);
  if (p->method < PRSVD_KFAC_EIG || p->method > PRSVD_KFAC_RSVD)
    PRSVD_ERR(PRSVD_ERR_USAGE, "unknown K-FAC method %d", (int)p->method);
  if (p->method != PRSVD_KFAC_EIG && p->rank < 1)
    PRSVD_ERR(PRSVD_ERR_USAGE, "K-FAC rank %lld must be at least 1", (long long)p->rank);
  if (p->oversample < 0 || p->power_iters < 0)
    PRSVD_ERR(PRSVD_ERR_USAGE, "K-FAC oversample %lld and power iterations %d must be >= 0",
              (long long)p->oversample, p->power_iters);
  if (p->factor_period < 1 || p->inverse_period < 1)
    PRSVD_ERR(PRSVD_ERR_USAGE, "K-FAC periods (factors %d, inverses %d) must be at least 1",
              p->factor_period, p->inverse_period);
  if (p->distribute_dim < 0)
    PRSVD_ERR(PRSVD_ERR_USAGE, "K-FAC distribute_dim %lld must be >= 0 (0: never)", (long long)p->distribute_dim);
  if (p->memory < 1) PRSVD_ERR(PRSVD_ERR_USAGE, "K-FAC memory %lld bytes must be positive", (long long)p->memory);
  if (!(p->sym_tol >= 0.0)) PRSVD_ERR(PRSVD_ERR_USAGE, "K-FAC sym_tol %g must be >= 0", p->sym_tol);
  if (p->threads < 0 || p->threads > PRSVD_MAX_THREADS)
    PRSVD_ERR(PRSVD_ERR_USAGE, "%d compute threads a rank: expected 1 to %d (0: automatic)", p->threads,
              PRSVD_MAX_THREADS);
  const int threads = p->threads ? p->threads : kf->auto_threads;
  struct prsvd_pool *pool = NULL; /* a new pool for a new count, installed with the params */
  if (threads != kf->threads) PRSVD_CHECK(prsvd_pool_create(threads, &pool));
  const struct prsvd_kfac_params old = kf->params;
  kf->params = *p;
  /* a new damping applies to the decompositions in hand at once */
  for (int i = 0; kf->have_inverses && i < kf->n_layers; i++) {
    const int status = set_damping(kf, &kf->layers[i]);
    if (status) { /* keep the old parameters and their dampings */
      kf->params = old;
      for (int j = 0; j < kf->n_layers; j++) set_damping(kf, &kf->layers[j]);
      prsvd_pool_destroy(&pool);
      return status;
    }
  }
  if (threads != kf->threads) {
    prsvd_pool_destroy(&kf->pool);
    kf->pool = pool;
    kf->threads = threads;
  }
  return PRSVD_OK;
}

static int check_layer(const prsvd_kfac *kf, int layer) {
  if (layer < 0 || layer >= kf->n_layers)
    PRSVD_ERR(PRSVD_ERR_USAGE, "K-FAC layer %d does not exist (%d layers)", layer, kf->n_layers);
  return PRSVD_OK;
}

int prsvd_kfac_add_layer(prsvd_kfac *kf, int64_t d_in, int64_t d_out, int bias, int *layer) {
  if (d_in < 1 || d_out < 1)
    PRSVD_ERR(PRSVD_ERR_USAGE, "K-FAC layer of %lld inputs and %lld outputs: both must be >= 1",
              (long long)d_in, (long long)d_out);
  if (kf->n_layers == kf->capacity) {
    int cap = kf->capacity ? 2 * kf->capacity : 8;
    struct kfac_layer *grown = realloc(kf->layers, sizeof *grown * (size_t)cap);
    if (!grown) PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory adding a K-FAC layer");
    kf->layers = grown;
    kf->capacity = cap;
  }
  struct kfac_layer *l = &kf->layers[kf->n_layers];
  memset(l, 0, sizeof *l);
  l->d_in = d_in;
  l->d_out = d_out;
  l->bias = bias ? 1 : 0;
  snprintf(l->name, sizeof l->name, "layer %d", kf->n_layers);
  l->fac[0].d = d_in + l->bias;
  l->fac[1].d = d_out;
  kf->n_layers++;
  *layer = kf->n_layers - 1;
  return PRSVD_OK;
}

/* The factor's d x d storage, allocated (zero) when it first receives values. */
static int ensure_storage(struct kfac_factor *f) {
  int status = PRSVD_OK;
  if (!f->f) PRSVD_ALLOC(f->f, f->d * f->d);
  if (!f->sum) PRSVD_ALLOC(f->sum, f->d * f->d);
done:
  return status;
}

int prsvd_kfac_set_layer_name(prsvd_kfac *kf, int layer, const char *name) {
  PRSVD_CHECK(check_layer(kf, layer));
  snprintf(kf->layers[layer].name, sizeof kf->layers[layer].name, "%s", name);
  return PRSVD_OK;
}

int prsvd_kfac_accumulate(prsvd_kfac *kf, int layer, int64_t batch, const double *a, int64_t lda,
                          const double *g, int64_t ldg) {
  int narrow; /* the sizes the BLAS takes as int (kfac_statistics.c) */
  PRSVD_CHECK(check_layer(kf, layer));
  struct kfac_layer *l = &kf->layers[layer];
  if (batch < 0 || lda < l->d_in || ldg < l->d_out)
    PRSVD_ERR(PRSVD_ERR_USAGE, "%s: batch %lld with row strides %lld, %lld (need >= %lld, %lld)",
              l->name, (long long)batch, (long long)lda, (long long)ldg, (long long)l->d_in,
              (long long)l->d_out);
  if (batch == 0) return PRSVD_OK;
  if (l->fac[0].src || l->fac[1].src)
    PRSVD_ERR(PRSVD_ERR_USAGE, "%s: a factor given as a source takes no statistics", l->name);
  PRSVD_CHECK(ensure_storage(&l->fac[0]));
  PRSVD_CHECK(ensure_storage(&l->fac[1]));
  PRSVD_CHECK(prsvd_to_int(batch, "batch", &narrow));
  PRSVD_CHECK(prsvd_to_int(l->d_in, "layer inputs", &narrow));
  PRSVD_CHECK(prsvd_to_int(l->d_out, "layer outputs", &narrow));
  PRSVD_CHECK(prsvd_to_int(lda, "activation row stride", &narrow));
  PRSVD_CHECK(prsvd_to_int(ldg, "gradient row stride", &narrow));
  PRSVD_CHECK(prsvd_to_int(l->fac[0].d, "factor dimension", &narrow));
  /* sum += X^T X of each factor, its columns split among the threads, each on a one-thread BLAS */
  const int blas_before = prsvd_blas_threads_set(1);
  prsvd_kfac_gram_add(kf->pool, batch, l->d_in, l->bias, a, lda, l->fac[0].sum);
  prsvd_kfac_gram_add(kf->pool, batch, l->d_out, 0, g, ldg, l->fac[1].sum);
  if (blas_before > 0) prsvd_blas_threads_set(blas_before);
  l->batch += batch;
  return PRSVD_OK;
}

/* Storage for every factor that takes statistics, and the packed buffer: sample counts,
 * then the upper triangles.  Local; *len receives the buffer's length. */
static int prepare_update(prsvd_kfac *kf, int64_t *len) {
  int64_t n = kf->n_layers;
  for (int i = 0; i < kf->n_layers; i++)
    for (int w = 0; w < 2; w++) {
      struct kfac_factor *f = &kf->layers[i].fac[w];
      if (f->src) continue;
      PRSVD_CHECK(ensure_storage(f));
      n += f->d * (f->d + 1) / 2;
    }
  if (n > kf->stats_cap) {
    double *grown = realloc(kf->stats_buf, sizeof(double) * (size_t)n);
    if (!grown) PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory sizing the K-FAC statistics buffer (%lld doubles)", (long long)n);
    kf->stats_buf = grown;
    kf->stats_cap = n;
  }
  *len = n;
  return PRSVD_OK;
}

int prsvd_kfac_update_factors(prsvd_kfac *kf) {
  int status = PRSVD_OK, count, any = 0;
  double *buf, t0 = MPI_Wtime();
  int64_t p = 0, len = 0;
  const double rho = kf->params.decay;
  if (!kf->n_layers) PRSVD_ERR(PRSVD_ERR_USAGE, "K-FAC factor update: no layers");
  /* allocations agreed before the collective, so no rank is left waiting */
  PRSVD_TRY(prsvd_error_agree(kf->comm, prepare_update(kf, &len)));
  PRSVD_TRY(prsvd_to_int(len, "K-FAC statistics buffer", &count));
  buf = kf->stats_buf;
  /* pack: every layer's sample count, then the upper triangles */
  for (int i = 0; i < kf->n_layers; i++) buf[p++] = (double)kf->layers[i].batch;
  for (int i = 0; i < kf->n_layers; i++)
    for (int w = 0; w < 2; w++) {
      const struct kfac_factor *f = &kf->layers[i].fac[w];
      if (f->src) continue;
      for (int64_t c = 0; c < f->d; c++)
        for (int64_t r = 0; r <= c; r++) buf[p++] = f->sum[c * f->d + r];
    }
  PRSVD_MPI_TRY(MPI_Allreduce(MPI_IN_PLACE, buf, count, MPI_DOUBLE, MPI_SUM, kf->comm));
  /* unpack: F <- rho F + (1 - rho) F_batch, both triangles */
  p = kf->n_layers;
  for (int i = 0; i < kf->n_layers; i++) {
    struct kfac_layer *l = &kf->layers[i];
    const double batch = buf[i];
    for (int w = 0; w < 2; w++) {
      struct kfac_factor *f = &l->fac[w];
      const int64_t d = f->d;
      if (f->src) continue;
      if (batch > 0) {
        const double keep = f->n_updates ? rho : 0.0, add = (1.0 - keep) / batch;
        for (int64_t c = 0; c < d; c++)
          for (int64_t r = 0; r <= c; r++) {
            const double v = keep * f->f[c * d + r] + add * buf[p++];
            f->f[c * d + r] = f->f[r * d + c] = v;
          }
        f->n_updates++;
      } else {
        p += d * (d + 1) / 2;
      }
      memset(f->sum, 0, sizeof(double) * (size_t)(d * d));
    }
    if (batch > 0) any = 1;
    l->batch = 0;
  }
  if (!any) PRSVD_FAIL(PRSVD_ERR_USAGE, "K-FAC factor update: no layer received statistics on any rank (call prsvd_kfac_accumulate first)");
  kf->stats.factor_updates++;
done:
  kf->stats.time_update += MPI_Wtime() - t0;
  return status;
}

/* 1 if all ranks decompose the factor together */
static int shared(const prsvd_kfac *kf, const struct kfac_factor *f) {
  return f->src || (kf->nprocs > 1 && kf->params.distribute_dim > 0 && f->d >= kf->params.distribute_dim);
}

/* Greedy balance: factors by decreasing cost (d^3 for eig, d^2 r otherwise), each to the
 * least loaded rank (the lowest on ties); the shared factors to all ranks (-1). */
static int assign_owners(prsvd_kfac *kf) {
  int status = PRSVD_OK;
  const int nf = 2 * kf->n_layers;
  double *cost = NULL, *load = NULL;
  int *order = NULL;
  PRSVD_ALLOC(cost, nf);
  PRSVD_ALLOC(load, kf->nprocs);
  PRSVD_ALLOC(order, nf);
  for (int i = 0; i < nf; i++) {
    const double d = (double)kf->layers[i / 2].fac[i % 2].d;
    const double r = kf->params.method == PRSVD_KFAC_EIG ? d : fmin(d, (double)kf->params.rank);
    cost[i] = d * d * r;
    order[i] = i;
  }
  for (int i = 1; i < nf; i++) { /* insertion sort, stable: ties keep layer order */
    int v = order[i], j = i;
    while (j > 0 && cost[order[j - 1]] < cost[v]) order[j] = order[j - 1], j--;
    order[j] = v;
  }
  for (int t = 0; t < nf; t++) {
    struct kfac_factor *f = &kf->layers[order[t] / 2].fac[order[t] % 2];
    int best = 0;
    if (shared(kf, f)) {
      f->owner = -1;
      continue;
    }
    for (int q = 1; q < kf->nprocs; q++)
      if (load[q] < load[best]) best = q;
    load[best] += cost[order[t]];
    f->owner = best;
  }
done:
  free(cost), free(load), free(order);
  return status;
}

int prsvd_kfac_owner(const prsvd_kfac *kf, int layer, enum prsvd_kfac_factor which, int *rank) {
  PRSVD_CHECK(check_layer(kf, layer));
  PRSVD_CHECK(assign_owners((prsvd_kfac *)kf));
  *rank = kf->layers[layer].fac[which == PRSVD_KFAC_G].owner;
  return PRSVD_OK;
}

/* lambda_A, lambda_G of one layer from the top eigenvalues and traces */
static int set_damping(const prsvd_kfac *kf, struct kfac_layer *l) {
  const struct prsvd_kfac_params *p = &kf->params;
  struct kfac_factor *fa = &l->fac[0], *fg = &l->fac[1];
  const double top_a = fa->r ? fa->lambda[0] : 0.0, top_g = fg->r ? fg->lambda[0] : 0.0;
  if (!p->pi_split) {
    fa->damping = p->damping_kind == PRSVD_KFAC_DAMPING_RELATIVE ? p->damping * top_a : p->damping;
    fg->damping = p->damping_kind == PRSVD_KFAC_DAMPING_RELATIVE ? p->damping * top_g : p->damping;
  } else {
    const double gamma = p->damping_kind == PRSVD_KFAC_DAMPING_RELATIVE ? p->damping * top_a * top_g : p->damping;
    const double ma = fa->trace / (double)fa->d, mg = fg->trace / (double)fg->d;
    const double pi = ma > 0 && mg > 0 ? sqrt(ma / mg) : 1.0;
    fa->damping = pi * sqrt(gamma);
    fg->damping = sqrt(gamma) / pi;
  }
  for (int w = 0; w < 2; w++)
    if (!(l->fac[w].damping > 0.0) || !isfinite(l->fac[w].damping))
      PRSVD_ERR(PRSVD_ERR_NUMERIC,
                "%s: damping of factor %s is %g (lambda_max %g, trace %g): a zero factor cannot take relative damping",
                l->name, factor_label[w], l->fac[w].damping, l->fac[w].r ? l->fac[w].lambda[0] : 0.0,
                l->fac[w].trace);
  return PRSVD_OK;
}

/* Collective: U and Lambda of factor i from its owner to every rank */
static int bcast_factor(prsvd_kfac *kf, int i, double *u, double *lambda, int64_t r) {
  const struct kfac_factor *f = &kf->layers[i / 2].fac[i % 2];
  int nu, nl;
  PRSVD_CHECK(prsvd_to_int(f->d * r, "eigenvector entries", &nu));
  PRSVD_CHECK(prsvd_to_int(r, "eigenvalues", &nl));
  PRSVD_MPI(MPI_Bcast(u, nu, MPI_DOUBLE, f->owner, kf->comm));
  PRSVD_MPI(MPI_Bcast(lambda, nl, MPI_DOUBLE, f->owner, kf->comm));
  return PRSVD_OK;
}

/* The parameters of a decomposition: the object's, with its threads in use (so that a solve
 * on one rank never chooses them again as if it were alone). */
static struct prsvd_kfac_params solve_params(const prsvd_kfac *kf) {
  struct prsvd_kfac_params p = kf->params;
  p.threads = kf->threads;
  return p;
}

/* This rank's factors: U, Lambda, and (r, trace) into head[2i], head[2i + 1].  Local. */
static int decompose_owned(prsvd_kfac *kf, double **us, double **ls, double *head) {
  char name[600];
  const struct prsvd_kfac_params p = solve_params(kf);
  for (int i = 0; i < 2 * kf->n_layers; i++) {
    struct kfac_layer *l = &kf->layers[i / 2];
    const struct kfac_factor *f = &l->fac[i % 2];
    int64_t r;
    if (f->owner != kf->rank) continue;
    snprintf(name, sizeof name, "%s/%s", l->name, factor_label[i % 2]);
    if (!f->n_updates)
      PRSVD_ERR(PRSVD_ERR_USAGE, "K-FAC refresh: factor '%s' has no statistics yet (update the factors first)", name);
    const double td = MPI_Wtime();
    PRSVD_CHECK(prsvd_kfac_eigh(&p, name, f->d, f->f, f->d, &r, &us[i], &ls[i]));
    kf->stats.time_decompose += MPI_Wtime() - td;
    head[2 * i] = (double)r;
    for (int64_t j = 0; j < f->d; j++) head[2 * i + 1] += f->f[j * f->d + j];
  }
  return PRSVD_OK;
}

/* Collective: the trace of a source, each rank summing the diagonal of its block of rows read
 * in panels of at most `memory` bytes. */
static int source_trace(MPI_Comm comm, prsvd_source *src, int64_t memory, double *trace) {
  int status = PRSVD_OK, rank, nprocs;
  const int64_t n = prsvd_source_rows(src);
  int64_t row0, rows, panel_rows = memory / (8 * n);
  double *panel = NULL, sum = 0.0;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &nprocs);
  prsvd_row_block(n, rank, nprocs, &row0, &rows);
  if (panel_rows < 1) panel_rows = 1;
  if (panel_rows > rows) panel_rows = rows > 0 ? rows : 1;
  PRSVD_ALLOC(panel, panel_rows * n);
  for (int64_t i = 0; i < rows; i += panel_rows) {
    const int64_t nr = rows - i < panel_rows ? rows - i : panel_rows;
    PRSVD_TRY(prsvd_source_read(src, row0 + i, nr, panel));
    for (int64_t t = 0; t < nr; t++) sum += panel[t * n + row0 + i + t];
  }
done:
  free(panel);
  status = prsvd_error_agree(comm, status);
  if (!status) {
    int rc = MPI_Allreduce(&sum, trace, 1, MPI_DOUBLE, MPI_SUM, comm);
    if (rc != MPI_SUCCESS) status = prsvd_mpi_check(rc, __FILE__, __LINE__, __func__, "MPI_Allreduce");
  }
  return status;
}

/* Collective: the factors all ranks decompose together, in layer order; every rank receives
 * U and Lambda, rank 0 alone adds (r, trace) to head (which is summed over the ranks). */
static int decompose_shared(prsvd_kfac *kf, double **us, double **ls, double *head) {
  int status = PRSVD_OK;
  char name[600];
  prsvd_source *mem = NULL;
  const struct prsvd_kfac_params p = solve_params(kf);
  for (int i = 0; i < 2 * kf->n_layers; i++) { /* every shared factor has values */
    const struct kfac_layer *l = &kf->layers[i / 2];
    const struct kfac_factor *f = &l->fac[i % 2];
    if (f->owner < 0 && !f->src && !f->n_updates && !status)
      status = prsvd_error_set(PRSVD_ERR_USAGE, __FILE__, __LINE__, __func__,
                               "K-FAC refresh: factor '%s/%s' has no statistics yet (update the factors first; a factor decomposed by all ranks needs its values on every rank)",
                               l->name, factor_label[i % 2]);
  }
  PRSVD_CHECK(prsvd_error_agree(kf->comm, status));
  for (int i = 0; i < 2 * kf->n_layers; i++) {
    struct kfac_layer *l = &kf->layers[i / 2];
    const struct kfac_factor *f = &l->fac[i % 2];
    prsvd_source *src = f->src;
    double trace = 0.0;
    int64_t r;
    if (f->owner >= 0) continue;
    const double td = MPI_Wtime();
    if (!src) {
      snprintf(name, sizeof name, "%s/%s", l->name, factor_label[i % 2]);
      status = prsvd_source_memory(f->d, f->d, f->f, f->d, &mem);
      if (!status) status = prsvd_source_rename(mem, name);
      PRSVD_TRY(prsvd_error_agree(kf->comm, status));
      src = mem;
      for (int64_t j = 0; j < f->d; j++) trace += f->f[j * f->d + j];
    } else if (kf->params.pi_split) {
      PRSVD_TRY(source_trace(kf->comm, src, kf->params.memory, &trace));
    }
    PRSVD_TRY(prsvd_kfac_eigh_source(kf->comm, &p, src, &r, &us[i], &ls[i]));
    prsvd_source_destroy(&mem);
    kf->stats.time_decompose += MPI_Wtime() - td;
    if (kf->rank == 0) head[2 * i] = (double)r, head[2 * i + 1] = trace;
  }
done:
  prsvd_source_destroy(&mem);
  return status;
}

/* Room for the factors other ranks decompose.  Local. */
static int allocate_received(prsvd_kfac *kf, double **us, double **ls, const double *head) {
  int status = PRSVD_OK;
  for (int i = 0; i < 2 * kf->n_layers; i++)
    if (kf->layers[i / 2].fac[i % 2].owner != kf->rank && kf->layers[i / 2].fac[i % 2].owner >= 0) {
      PRSVD_ALLOC(us[i], kf->layers[i / 2].fac[i % 2].d * (int64_t)head[2 * i]);
      PRSVD_ALLOC(ls[i], (int64_t)head[2 * i]);
    }
done:
  return status;
}

int prsvd_kfac_refresh(prsvd_kfac *kf) {
  int status = PRSVD_OK;
  const int nf = 2 * kf->n_layers;
  double **us = NULL, **ls = NULL, *head = NULL, t0 = MPI_Wtime();
  if (!kf->n_layers) PRSVD_ERR(PRSVD_ERR_USAGE, "K-FAC refresh: no layers");
  PRSVD_ALLOC(us, nf);
  PRSVD_ALLOC(ls, nf);
  PRSVD_ALLOC(head, 2 * nf); /* per factor: r and the trace, from its owner */
  PRSVD_TRY(assign_owners(kf));
  /* each owner decomposes its factors */
  PRSVD_TRY(decompose_owned(kf, us, ls, head));
done:
  status = prsvd_error_agree(kf->comm, status);
  /* then all ranks together the shared ones */
  if (!status) status = decompose_shared(kf, us, ls, head);
  /* every rank learns r and the trace of every factor (non-owners add zeros) */
  if (!status) {
    int rc = MPI_Allreduce(MPI_IN_PLACE, head, 2 * nf, MPI_DOUBLE, MPI_SUM, kf->comm);
    if (rc != MPI_SUCCESS) status = prsvd_mpi_check(rc, __FILE__, __LINE__, __func__, "MPI_Allreduce");
    if (!status) status = allocate_received(kf, us, ls, head);
    status = prsvd_error_agree(kf->comm, status);
  }
  for (int i = 0; i < nf && !status; i++)
    if (kf->layers[i / 2].fac[i % 2].owner >= 0) status = bcast_factor(kf, i, us[i], ls[i], (int64_t)head[2 * i]);
  if (!status) {
    for (int i = 0; i < nf; i++) { /* the new decompositions replace the old */
      struct kfac_factor *f = &kf->layers[i / 2].fac[i % 2];
      free(f->u), free(f->lambda), free(f->power);
      f->u = us[i], f->lambda = ls[i], f->r = (int64_t)head[2 * i], f->trace = head[2 * i + 1];
      f->power = NULL;
      us[i] = ls[i] = NULL;
    }
    for (int i = 0; i < kf->n_layers && !status; i++) status = set_damping(kf, &kf->layers[i]);
    kf->have_inverses = !status;
    if (!status) kf->stats.refreshes++;
  }
  for (int i = 0; us && ls && i < nf; i++) free(us[i]), free(ls[i]);
  free(us), free(ls), free(head);
  kf->stats.time_inverse += MPI_Wtime() - t0;
  return status;
}

int prsvd_kfac_wants_statistics(const prsvd_kfac *kf) {
  return kf->step % kf->params.factor_period == 0;
}

int prsvd_kfac_step(prsvd_kfac *kf) {
  if (kf->step % kf->params.factor_period == 0) PRSVD_CHECK(prsvd_kfac_update_factors(kf));
  if (kf->step % kf->params.inverse_period == 0) PRSVD_CHECK(prsvd_kfac_refresh(kf));
  kf->step++;
  kf->stats.steps++;
  return PRSVD_OK;
}

/* 1 if the factor's damped power is applied as one dense d x d matrix: a complete
 * decomposition, unless the parameters ask for the eigenvector path */
static int dense_apply(const prsvd_kfac *kf, const struct kfac_factor *f) {
  return f->r == f->d && !kf->params.apply_through_vectors;
}

/* The factor's U (Lambda + damping)^s U^T, formed once for its decomposition, damping and
 * power (timed as inversion).  Local. */
static int dense_power(prsvd_kfac *kf, struct kfac_factor *f, double s, const double **m) {
  int status = PRSVD_OK;
  const double t0 = MPI_Wtime();
  if (f->power && f->power_delta == f->damping && f->power_s == s) {
    *m = f->power;
    return PRSVD_OK;
  }
  if (!f->power) PRSVD_ALLOC(f->power, f->d * f->d);
  f->power_delta = f->power_s = NAN; /* nothing valid held until formed */
  PRSVD_TRY(prsvd_kfac_form_power(f->d, f->u, f->lambda, f->damping, s, f->power));
  f->power_delta = f->damping, f->power_s = s;
  *m = f->power;
done:
  kf->stats.time_form += MPI_Wtime() - t0;
  kf->stats.time_inverse += MPI_Wtime() - t0;
  return status;
}

/* Room for one d_out x d_a product.  Local. */
static int ensure_work(prsvd_kfac *kf, int64_t n) {
  if (n <= kf->work_cap) return PRSVD_OK;
  free(kf->work);
  kf->work_cap = 0;
  kf->work = malloc(sizeof(double) * (size_t)n);
  if (!kf->work) PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for a K-FAC product of %lld doubles", (long long)n);
  kf->work_cap = n;
  return PRSVD_OK;
}

static int precondition_root(prsvd_kfac *kf, int layer, double p, const double *grad, int64_t ldg,
                             double *out, int64_t ldo);

int prsvd_kfac_precondition_root(prsvd_kfac *kf, int layer, double p, const double *grad,
                                 int64_t ldg, double *out, int64_t ldo) {
  /* one large GEMM a side: the BLAS's own threads, the object's count, set back after */
  const int blas_before = prsvd_blas_threads_set(kf->threads);
  const int status = precondition_root(kf, layer, p, grad, ldg, out, ldo);
  if (blas_before > 0) prsvd_blas_threads_set(blas_before);
  return status;
}

static int precondition_root(prsvd_kfac *kf, int layer, double p, const double *grad, int64_t ldg,
                             double *out, int64_t ldo) {
  int ia, ig, ildg, ildo;
  const double one = 1.0, zero = 0.0;
  PRSVD_CHECK(check_layer(kf, layer));
  struct kfac_layer *l = &kf->layers[layer];
  struct kfac_factor *fa = &l->fac[0], *fg = &l->fac[1];
  const double t0 = MPI_Wtime(), form0 = kf->stats.time_form, s = -1.0 / p;
  if (!kf->have_inverses) PRSVD_ERR(PRSVD_ERR_USAGE, "K-FAC: no inverses yet (refresh first)");
  if (!(p >= 1.0)) PRSVD_ERR(PRSVD_ERR_USAGE, "K-FAC root p = %g must be >= 1", p);
  if (ldg < fa->d || ldo < fa->d)
    PRSVD_ERR(PRSVD_ERR_USAGE, "%s: gradient row strides %lld, %lld below d_in + bias = %lld",
              l->name, (long long)ldg, (long long)ldo, (long long)fa->d);
  PRSVD_CHECK(prsvd_to_int(fa->d, "factor dimension", &ia));
  PRSVD_CHECK(prsvd_to_int(fg->d, "factor dimension", &ig));
  PRSVD_CHECK(prsvd_to_int(ldg, "gradient row stride", &ildg));
  PRSVD_CHECK(prsvd_to_int(ldo, "output row stride", &ildo));
  /* The row-major d_out x d_a gradient X is the column-major d_a x d_out X^T, and the two
   * sides commute: out = M_G X M_A.  A side with a dense M = (F + lambda I)^s costs one GEMM
   * from grad into work; the low-rank sides act in place on out. */
  const int dense_a = dense_apply(kf, fa), dense_g = dense_apply(kf, fg);
  const double *ma = NULL, *mg = NULL;
  if (dense_a) PRSVD_CHECK(dense_power(kf, fa, s, &ma));
  if (dense_g) PRSVD_CHECK(dense_power(kf, fg, s, &mg));
  if (dense_a || dense_g) PRSVD_CHECK(ensure_work(kf, fa->d * fg->d));
  if (dense_a && dense_g) {
    /* W^T = M_A X^T, then out^T = W^T M_G */
    dgemm_("N", "N", &ia, &ig, &ia, &one, ma, &ia, grad, &ildg, &zero, kf->work, &ia);
    dgemm_("N", "N", &ia, &ig, &ig, &one, kf->work, &ia, mg, &ig, &zero, out, &ildo);
  } else {
    if (dense_a) /* W^T = M_A X^T */
      dgemm_("N", "N", &ia, &ig, &ia, &one, ma, &ia, grad, &ildg, &zero, kf->work, &ia);
    else if (dense_g) /* W^T = X^T M_G */
      dgemm_("N", "N", &ia, &ig, &ig, &one, grad, &ildg, mg, &ig, &zero, kf->work, &ia);
    const double *src = dense_a || dense_g ? kf->work : grad;
    const int64_t lds = dense_a || dense_g ? fa->d : ldg;
    if (out != src)
      for (int64_t i = 0; i < fg->d; i++) memmove(out + i * ldo, src + i * lds, sizeof(double) * (size_t)fa->d);
    /* out <- out (A + lambda_A I)^s: the rows of out are the vectors */
    if (!dense_a)
      PRSVD_CHECK(prsvd_kfac_apply_power_layout(PRSVD_KFAC_VECTORS_CONTIGUOUS, fa->d, fa->r, fa->u,
                                                fa->lambda, fa->damping, s, fg->d, out, ldo));
    /* out <- (G + lambda_G I)^s out: its columns */
    if (!dense_g)
      PRSVD_CHECK(prsvd_kfac_apply_power_layout(PRSVD_KFAC_VECTORS_STRIDED, fg->d, fg->r, fg->u,
                                                fg->lambda, fg->damping, s, fa->d, out, ldo));
  }
  /* forming a dense power counts as inversion, not as preconditioning */
  kf->stats.time_precondition += MPI_Wtime() - t0 - (kf->stats.time_form - form0);
  return PRSVD_OK;
}

int prsvd_kfac_precondition(prsvd_kfac *kf, int layer, const double *grad, int64_t ldg,
                            double *out, int64_t ldo) {
  return prsvd_kfac_precondition_root(kf, layer, 1.0, grad, ldg, out, ldo);
}

int prsvd_kfac_set_factor(prsvd_kfac *kf, int layer, enum prsvd_kfac_factor which,
                          const double *f, int64_t ld) {
  PRSVD_CHECK(check_layer(kf, layer));
  struct kfac_factor *x = &kf->layers[layer].fac[which == PRSVD_KFAC_G];
  if (ld < x->d) PRSVD_ERR(PRSVD_ERR_USAGE, "K-FAC set_factor: row stride %lld below %lld", (long long)ld, (long long)x->d);
  PRSVD_CHECK(ensure_storage(x));
  x->src = NULL;
  for (int64_t i = 0; i < x->d; i++) memcpy(x->f + i * x->d, f + i * ld, sizeof(double) * (size_t)x->d);
  x->n_updates++;
  return PRSVD_OK;
}

int prsvd_kfac_set_factor_source(prsvd_kfac *kf, int layer, enum prsvd_kfac_factor which,
                                 prsvd_source *src) {
  PRSVD_CHECK(check_layer(kf, layer));
  struct kfac_factor *x = &kf->layers[layer].fac[which == PRSVD_KFAC_G];
  if (prsvd_source_rows(src) != x->d || prsvd_source_cols(src) != x->d)
    PRSVD_ERR(PRSVD_ERR_INPUT, "'%s' is %lld x %lld but factor %s of %s is %lld x %lld", prsvd_source_name(src),
              (long long)prsvd_source_rows(src), (long long)prsvd_source_cols(src), factor_label[which == PRSVD_KFAC_G],
              kf->layers[layer].name, (long long)x->d, (long long)x->d);
  free(x->f), free(x->sum); /* the source replaces the values */
  x->f = x->sum = NULL;
  x->src = src;
  return PRSVD_OK;
}

int prsvd_kfac_get_factor(const prsvd_kfac *kf, int layer, enum prsvd_kfac_factor which,
                          int64_t *d, const double **f) {
  PRSVD_CHECK(check_layer(kf, layer));
  const struct kfac_factor *x = &kf->layers[layer].fac[which == PRSVD_KFAC_G];
  if (!x->f)
    PRSVD_ERR(PRSVD_ERR_USAGE, "K-FAC get_factor: factor %s of %s holds no values (%s)", factor_label[which == PRSVD_KFAC_G],
              kf->layers[layer].name, x->src ? "it is read from a source" : "no update or set_factor yet");
  *d = x->d;
  *f = x->f;
  return PRSVD_OK;
}

int prsvd_kfac_get_inverse(const prsvd_kfac *kf, int layer, enum prsvd_kfac_factor which,
                           int64_t *d, int64_t *r, const double **u, const double **lambda,
                           double *damping) {
  PRSVD_CHECK(check_layer(kf, layer));
  if (!kf->have_inverses) PRSVD_ERR(PRSVD_ERR_USAGE, "K-FAC: no inverses yet (refresh first)");
  const struct kfac_factor *x = &kf->layers[layer].fac[which == PRSVD_KFAC_G];
  *d = x->d, *r = x->r, *u = x->u, *lambda = x->lambda, *damping = x->damping;
  return PRSVD_OK;
}

int prsvd_kfac_get_stats(const prsvd_kfac *kf, struct prsvd_kfac_stats *stats) {
  *stats = kf->stats;
  stats->threads = kf->threads;
  return PRSVD_OK;
}

void prsvd_kfac_destroy(prsvd_kfac **kf) {
  if (!kf || !*kf) return;
  for (int i = 0; i < (*kf)->n_layers; i++)
    for (int w = 0; w < 2; w++) {
      struct kfac_factor *f = &(*kf)->layers[i].fac[w];
      free(f->f), free(f->sum), free(f->u), free(f->lambda), free(f->power);
    }
  free((*kf)->layers);
  free((*kf)->stats_buf);
  free((*kf)->work);
  prsvd_pool_destroy(&(*kf)->pool);
  if ((*kf)->comm != MPI_COMM_NULL) MPI_Comm_free(&(*kf)->comm);
  free(*kf);
  *kf = NULL;
}
