/*
 * libprsvd K-FAC: a Kronecker-factored preconditioner for fully connected layers (Martens &
 * Grosse, "Optimizing neural networks with Kronecker-factored approximate curvature", ICML
 * 2015) whose factors are inverted through eigendecompositions, exact or randomized (Puiu,
 * "Randomized K-FACs", 2022).  For a layer y = W a (+ b) with inputs a (d_in, plus a
 * trailing 1 when the layer has a bias) and back-propagated output gradients g (d_out):
 *
 *   A = E[a a^T]  (d_a x d_a, d_a = d_in + bias),   G = E[g g^T]  (d_out x d_out),
 *   exponentially averaged:  F <- rho F + (1 - rho) F_batch   (the first update sets F)
 *   Delta W = (G + lambda_G I)^-1 grad_W (A + lambda_A I)^-1
 *
 * Each factor F ~ U diag(Lambda) U^T (U: d x r) is applied as
 *
 *   (F + lambda I)^s x = U [(Lambda + lambda)^s - lambda^s] U^T x + lambda^s x
 *
 * with s = -1 for K-FAC and s = -1/p for the inverse p-th roots of Shampoo; the randomized
 * methods (r < d) never form a d x d matrix.  A complete decomposition (r = d: method eig, or
 * a randomized method that fell back to the exact solver) is applied the way a serious exact
 * K-FAC does it: the damped power M = U (Lambda + lambda)^s U^T is formed once (U scaled by
 * (Lambda + lambda)^(s/2), one DSYRK, d^3 flops) and each preconditioning costs one GEMM per
 * side instead of two with all d eigenvectors.  M is cached on the factor, formed at its first
 * application after a refresh (a refresh drops it) and formed again when the damping (a
 * prsvd_kfac_set_params after the refresh) or the power s changes; its formation is counted
 * as inversion time.  params.apply_through_vectors = 1 applies complete decompositions
 * through their eigenvectors instead (Puiu 2022's exact baseline; for benchmarks).
 *
 * Threads inside a rank (params.threads, T; 0 chooses as prsvd_svd does): the statistics of
 * each accumulate are split among T compute threads by rows of the batch, each into sums of
 * its own ((T - 1) d^2 doubles for the largest factor) added in thread order, so results
 * depend on T only in rounding and never on timing; the randomized decompositions run
 * prsvd_svd's threads, and dsyevd, PDSYEVD, the dense damped powers and the preconditioning
 * GEMMs a BLAS of T threads (set for the call and set back, as prsvd_svd_solve does).
 *
 * Data parallel over MPI: every rank accumulates the statistics of its own share of the
 * minibatch; one MPI_Allreduce per factor update combines every layer's A and G (upper
 * triangles packed in one buffer).  A refresh spreads the eigendecompositions over the
 * ranks, each factor on one rank (greedy balance by cost: d^3 for eig, d^2 r otherwise), and
 * broadcasts U and Lambda, so every rank holds every inverse and the same bits.  A factor of
 * dimension >= distribute_dim (and one given as a source) is instead decomposed by all ranks
 * together: ScaLAPACK PDSYEVD on a 2-D block-cyclic grid for eig, the distributed sketches of
 * prsvd_svd (each rank its row panels) for the randomized methods.
 *
 * Matrices passed in and out are row-major with a leading dimension (C order, like
 * prsvd_source_memory): activations batch x d_in, output gradients batch x d_out, weight
 * gradients d_out x d_a with the bias gradient in the last column.  Eigenvectors handed out
 * are column-major d x r (U[j * d + i] = U_ij).
 *
 * Lifecycle: create -> set_params -> add_layer ... -> per step: accumulate, step (or
 * update_factors / refresh) -> precondition -> destroy.  Every fallible function returns an
 * enum prsvd_status; prsvd_error_message() says what went wrong.  Collective functions
 * return the same status on every rank.
 *
 * This header must not depend on HDF5, BLACS or ScaLAPACK.
 */
#ifndef PRSVD_KFAC_H
#define PRSVD_KFAC_H

#include <mpi.h>
#include <stdint.h>

#include "prsvd.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How a factor is decomposed (table in kfac_inverse.c):
 *  EIG      LAPACK dsyevd on the whole factor: every eigenpair, the exact K-FAC baseline
 *  REVD     symmetric randomized EVD with power iterations (HMT 2011 Alg. 5.3; SRE-KFAC)
 *  NYSTROM  stable single-pass Nystrom (Tropp, Yurtsever, Udell & Cevher 2017)
 *  RSVD     randomized SVD by subspace iteration of the PSD factor (RS-KFAC): its singular
 *           values are the eigenvalues and U the eigenvectors */
enum prsvd_kfac_method {
  PRSVD_KFAC_EIG = 0,
  PRSVD_KFAC_REVD = 1,
  PRSVD_KFAC_NYSTROM = 2,
  PRSVD_KFAC_RSVD = 3
};

/* Damping of the factors.  Without pi_split each factor X gets lambda_X = damping
 * (ABSOLUTE) or damping * lambda_max(X) (RELATIVE).  With pi_split (Martens & Grosse 2015,
 * Sec. 6.3) a total gamma = damping (ABSOLUTE) or damping * lambda_max(A) lambda_max(G)
 * (RELATIVE, relative to the top eigenvalue of A kron G) is split as
 *   lambda_A = pi sqrt(gamma),  lambda_G = sqrt(gamma) / pi,
 *   pi = sqrt((tr(A) / d_a) / (tr(G) / d_out))    (pi = 1 if a trace is 0). */
enum prsvd_kfac_damping { PRSVD_KFAC_DAMPING_ABSOLUTE = 0, PRSVD_KFAC_DAMPING_RELATIVE = 1 };

enum prsvd_kfac_factor { PRSVD_KFAC_A = 0, PRSVD_KFAC_G = 1 };

struct prsvd_kfac_params {
  double decay;                          /* rho in [0, 1) */
  double damping;                        /* > 0, see enum prsvd_kfac_damping */
  enum prsvd_kfac_damping damping_kind;
  int pi_split;                          /* 1: split gamma between A and G by pi */
  enum prsvd_kfac_method method;
  int64_t rank;                          /* r of the randomized methods (min(r, d) used) */
  int64_t oversample;                    /* extra sketch columns of the randomized methods */
  int power_iters;                       /* REVD and RSVD */
  uint64_t seed;                         /* test matrices of the randomized methods */
  int factor_period;                     /* prsvd_kfac_step: factors updated every T_f steps */
  int inverse_period;                    /* prsvd_kfac_step: inverses refreshed every T_i steps */
  int64_t distribute_dim;                /* factors of dimension >= this are decomposed by all
                                          * ranks together (0: never); one rank: no effect */
  int64_t memory;                        /* per-rank bytes of row panels when all ranks
                                          * decompose a factor together (randomized methods) */
  double sym_tol;                        /* a factor given as a source: sampled |F_ij - F_ji|
                                          * allowed, relative to max |F_ij| */
  int apply_through_vectors;             /* 1: a complete decomposition (r = d) is applied
                                          * through its d eigenvectors, two GEMMs per side;
                                          * 0: through its cached dense damped power, one */  int threads;                           /* compute threads per rank, 1..PRSVD_MAX_THREADS;
                                          * 0: automatic, as prsvd_svd chooses them (the
                                          * rank's share of its CPUs, prsvd_threads_choose) */
};
/* Puiu 2022's settings: rank 220 + 10, 4 power iterations, damping 0.1 lambda_max,
 * factors every 10 steps, inverses every 50, decay 0.95.  Factors from 4096 on are
 * decomposed by all ranks together (one dsyevd of that size takes tens of seconds). */
#define PRSVD_KFAC_PARAMS_INIT                                                              \
  {.decay = 0.95, .damping = 0.1, .damping_kind = PRSVD_KFAC_DAMPING_RELATIVE, .pi_split = 0, \
   .method = PRSVD_KFAC_REVD, .rank = 220, .oversample = 10, .power_iters = 4, .seed = 0,      \
   .factor_period = 10, .inverse_period = 50, .distribute_dim = 4096,                          \
   .memory = (int64_t)512 << 20, .sym_tol = 1e-8, .apply_through_vectors = 0, .threads = 0}
/* The same defaults as a function, for C++ before C++20 (see PRSVD_SVD_PARAMS_INIT). */
PRSVD_API struct prsvd_kfac_params prsvd_kfac_params_default(void);

/* What the object did, on this rank (times are this rank's own wall seconds). */
struct prsvd_kfac_stats {
  int64_t steps, factor_updates, refreshes;
  double time_update;      /* allreduce and averaging of the factors */
  double time_inverse;     /* this rank's decompositions, the broadcasts and time_form */
  double time_decompose;   /* this rank's decompositions alone */
  double time_form;        /* forming the dense damped powers of complete decompositions */
  double time_precondition; /* applying the damped powers (time_form excluded) */
  int threads;             /* compute threads per rank in use (params.threads, or for 0 the
                            * automatic count chosen at create) */
};

typedef struct prsvd_kfac prsvd_kfac;

/* Collective over comm (duplicated inside); chooses the automatic thread count there. */
PRSVD_API int prsvd_kfac_create(MPI_Comm comm, prsvd_kfac **kf);
/* Not collective, but every rank must pass the same values.  Checked here (usage errors).
 * After a refresh a new damping (value, kind or pi_split) applies at once to the
 * decompositions in hand; the other parameters take effect at the next refresh. */
PRSVD_API int prsvd_kfac_set_params(prsvd_kfac *kf, const struct prsvd_kfac_params *params);
/* Not collective; every rank adds the same layers in the same order.  *layer receives the
 * layer's index (0, 1, ...).  Factors start at zero. */
PRSVD_API int prsvd_kfac_add_layer(prsvd_kfac *kf, int64_t d_in, int64_t d_out, int bias, int *layer);
/* Not collective: how messages name the layer (default "layer N"; at most 511 bytes kept). */
PRSVD_API int prsvd_kfac_set_layer_name(prsvd_kfac *kf, int layer, const char *name);

/* Not collective: add this rank's minibatch statistics of one layer, a (batch x d_in, row
 * stride lda) and g (batch x d_out, row stride ldg).  Calls add up until the next update. */
PRSVD_API int prsvd_kfac_accumulate(prsvd_kfac *kf, int layer, int64_t batch, const double *a, int64_t lda,
                          const double *g, int64_t ldg);
/* Collective: one MPI_Allreduce of every layer's accumulated statistics; each layer that
 * received samples on some rank gets F <- rho F + (1 - rho) F_batch, F_batch the average
 * over all samples of all ranks.  Fails if no layer received any. */
PRSVD_API int prsvd_kfac_update_factors(prsvd_kfac *kf);
/* Collective: decompose every factor (spread over the ranks), broadcast, and set the
 * dampings.  Needs a factor update (or prsvd_kfac_set_factor) first. */
PRSVD_API int prsvd_kfac_refresh(prsvd_kfac *kf);
/* Collective, once per optimization step after accumulating if prsvd_kfac_wants_statistics
 * said so: update_factors every factor_period steps and refresh every inverse_period
 * steps (both at step 0), then advance the step counter. */
PRSVD_API int prsvd_kfac_step(prsvd_kfac *kf);
/* 1 if the coming prsvd_kfac_step updates the factors (the caller should accumulate). */
PRSVD_API int prsvd_kfac_wants_statistics(const prsvd_kfac *kf);

/* Not collective: out = (G + lambda_G I)^-1 grad (A + lambda_A I)^-1 for one layer, grad and
 * out d_out x d_a (row strides ldg, ldo; out may equal grad).  Needs a refresh first.  Forms
 * the dense damped power of a complete decomposition when it has none for the current damping
 * and power (see the top of this file); keeps a d_out x d_a workspace on the object. */
PRSVD_API int prsvd_kfac_precondition(prsvd_kfac *kf, int layer, const double *grad, int64_t ldg,
                            double *out, int64_t ldo);
/* Not collective: out = (G + lambda_G I)^(-1/p) grad (A + lambda_A I)^(-1/p), p >= 1
 * (Shampoo uses p = 4 with both sides). */
PRSVD_API int prsvd_kfac_precondition_root(prsvd_kfac *kf, int layer, double p, const double *grad,
                                 int64_t ldg, double *out, int64_t ldo);

/* The rank that decomposes a factor at a refresh, or -1 when all ranks decompose it together
 * (depends only on the layers, the parameters, the number of ranks and which factors were
 * given as sources).  Not collective. */
PRSVD_API int prsvd_kfac_owner(const prsvd_kfac *kf, int layer, enum prsvd_kfac_factor which, int *rank);
/* Not collective: replace a factor (d x d row-major, symmetric) by the caller's, e.g. one
 * read from a file.  Before a refresh only the owner's copy matters. */
PRSVD_API int prsvd_kfac_set_factor(prsvd_kfac *kf, int layer, enum prsvd_kfac_factor which,
                          const double *f, int64_t ld);
/* Not collective, but every rank makes the same calls: the factor is the matrix src hands
 * out (e.g. an HDF5 dataset, include/prsvd_h5.h), never held whole; each refresh decomposes it
 * with all ranks together, the randomized methods streaming it in row panels of
 * params.memory bytes per rank.  src stays the caller's and must outlive the refreshes; the
 * factor takes no statistics (an update skips it).  With pi_split each refresh also reads
 * the diagonal (one more pass). */
PRSVD_API int prsvd_kfac_set_factor_source(prsvd_kfac *kf, int layer, enum prsvd_kfac_factor which,
                                 prsvd_source *src);
/* Lent until the next update or destroy: the current factor, d x d (symmetric). */
PRSVD_API int prsvd_kfac_get_factor(const prsvd_kfac *kf, int layer, enum prsvd_kfac_factor which,
                          int64_t *d, const double **f);
/* Lent until the next refresh or destroy: the decomposition F ~ U diag(lambda) U^T (U
 * column-major d x r, lambda descending) and the damping in use. */
PRSVD_API int prsvd_kfac_get_inverse(const prsvd_kfac *kf, int layer, enum prsvd_kfac_factor which,
                           int64_t *d, int64_t *r, const double **u, const double **lambda,
                           double *damping);
PRSVD_API int prsvd_kfac_get_stats(const prsvd_kfac *kf, struct prsvd_kfac_stats *stats);
/* Collective (frees the duplicated communicator).  Sets *kf to NULL; accepts NULL. */
PRSVD_API void prsvd_kfac_destroy(prsvd_kfac **kf);

/* ---- The pieces, usable alone ------------------------------------------------------ */

/* Not collective (runs on this rank; the randomized methods use a prsvd_svd solver on
 * MPI_COMM_SELF): eigendecomposition of the symmetric PSD n x n matrix f (row-major, ld) by
 * params->method, rank, oversample, power_iters, seed and threads (a randomized method whose
 * sketch rank + oversample would reach n uses dsyevd; threads 0 chooses this rank's CPUs).  *r = n for EIG, else min(rank, n);
 * *u (n x r column-major) and *lambda (r, descending) are allocated (free()).  A NaN or Inf
 * in f is an input error naming its position; `name` labels messages.
 * Some BLACS builds initialise themselves collectively over MPI_COMM_WORLD on first use:
 * call prsvd_kfac_create (or prsvd_svd_create) on every rank before calling this on some
 * ranks only. */
PRSVD_API int prsvd_kfac_eigh(const struct prsvd_kfac_params *params, const char *name, int64_t n,
                    const double *f, int64_t ld, int64_t *r, double **u, double **lambda);
/* Collective over comm: the same decomposition of the factor that src hands out (every rank
 * passes a source of the same matrix; symmetric PSD n x n) by all ranks of comm together: eig
 * by dsyevd on one rank and ScaLAPACK PDSYEVD on a 2-D block-cyclic grid of several (each
 * rank reads the rows of its blocks), the randomized methods by a prsvd_svd solve on comm
 * that streams src in row panels of params->memory bytes per rank (symmetry checked on
 * sampled pairs to params->sym_tol), each rank on params->threads threads (0: chosen over
 * comm, prsvd_threads_choose).  u and lambda are allocated on every rank and hold the
 * same bits everywhere.  Returns the same status on every rank. */
PRSVD_API int prsvd_kfac_eigh_source(MPI_Comm comm, const struct prsvd_kfac_params *params, prsvd_source *src,
                           int64_t *r, double **u, double **lambda);
/* Not collective: x <- (U diag(lambda) U^T + delta I)^s x for m vectors of length n, vector j
 * at x + j * ldx (x column-major n x m).  delta > 0; U n x r column-major.  When r = n the
 * exact U (lambda + delta)^s U^T is applied. */
PRSVD_API int prsvd_kfac_apply_power(int64_t n, int64_t r, const double *u, const double *lambda,
                           double delta, double s, int64_t m, double *x, int64_t ldx);

#ifdef __cplusplus
}
#endif
#endif
