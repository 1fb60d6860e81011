/*
 * Matrices with a planted singular spectrum, generated row by row without ever holding them:
 *
 *   A = H_u D H_v (+ noise),  H_u = I - 2 u u^T,  H_v = I - 2 v v^T,  D = [diag(s_j sigma_j); 0]
 *
 * with u, v unit Gaussian vectors and s_j random signs, so the singular values of A are
 * exactly sigma (to rounding).  Row i costs O(n):
 *   A_i = s_i sigma_i e_i - 2 u_i a - (2 b_i - 4 c u_i) v,  a_j = u_j s_j sigma_j,
 *   b_i = s_i sigma_i v_i,  c = sum_t u_t s_t sigma_t v_t.
 * The singular vectors are reflections of coordinate vectors; Gaussian sketches are invariant
 * under orthogonal transforms, so a randomized SVD sees only the spectrum.
 * Symmetric matrices take v = u (and s_j = 1 for PSD): A = H D H, eigenvalues s_j sigma_j.
 * Spectra: poly sigma_j = j^-D; exp sigma_j = 10^(-D j); lowrank-noise R ones, then zeros,
 * plus noise * G_ij / sqrt(n) with G Gaussian (its singular values are then not exact).
 */
#ifndef PRSVD_PLANTED_H
#define PRSVD_PLANTED_H

#include "prsvd.h"

#ifdef __cplusplus
extern "C" {
#endif

enum prsvd_spectrum { PRSVD_SPECTRUM_POLY, PRSVD_SPECTRUM_EXP, PRSVD_SPECTRUM_LOWRANK_NOISE };

struct prsvd_planted_params {
  int64_t rows, cols;
  enum prsvd_spectrum spectrum;
  double decay;   /* D */
  int64_t rank;   /* R, lowrank-noise */
  double noise;   /* xi, lowrank-noise */
  uint64_t seed;
  int symmetric;  /* 0: general; 1: PSD, A = H D H; 2: symmetric indefinite (random signs) */
};

/* Parse "poly" | "exp" | "lowrank-noise". */
PRSVD_API int prsvd_spectrum_parse(const char *name, enum prsvd_spectrum *out);
/* sigma_j, j = 0..min(m,n)-1 (1-based in the formulas). */
PRSVD_API double prsvd_planted_sigma(const struct prsvd_planted_params *p, int64_t j);
/* A source producing the planted matrix (every rank may create one). */
PRSVD_API int prsvd_source_planted(const struct prsvd_planted_params *p, prsvd_source **src);

#ifdef __cplusplus
}
#endif
#endif
