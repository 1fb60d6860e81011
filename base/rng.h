/*
 * Counter-based Gaussian test matrices (Random123's Philox4x32-10).  Every entry depends only
 * on (seed, stream, global row, global column), so a sketch is the same on any number of
 * ranks and with any panel size.  Pure functions: thread-safe, no state.
 */
#ifndef PRSVD_RNG_H
#define PRSVD_RNG_H

#include <stdint.h>

/* Independent streams of one seed; each use of randomness has its own. */
enum prsvd_stream {
  PRSVD_STREAM_OMEGA = 0,   /* the range test matrix */
  PRSVD_STREAM_PROBE = 1,   /* error-estimate probes */
  PRSVD_STREAM_GEN_U = 2,   /* prsvd gen: left Householder vector */
  PRSVD_STREAM_GEN_V = 3,   /* prsvd gen: right Householder vector */
  PRSVD_STREAM_GEN_SIGN = 4,
  PRSVD_STREAM_GEN_NOISE = 5,
  PRSVD_STREAM_UPSILON = 6, /* single pass: co-range test matrix */
  PRSVD_STREAM_PHI = 7,     /* single pass: core, left */
  PRSVD_STREAM_PSI = 8,     /* single pass: core, right */
  PRSVD_STREAM_THETA = 9    /* single pass: error-estimate probes */
};

/* Philox4x32-10 of one counter under one key (exposed for known-answer tests). */
void prsvd_philox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);
/* The N(0,1) number of one Philox block w (Box-Muller, sqrt(-2 log u1) cos(2 pi u2), on the
 * 53-bit uniforms u1 in (0, 1] of w[0]:w[1] and u2 in [0, 1) of w[2]:w[3]; exposed for tests). */
double prsvd_rng_box_muller(const uint32_t w[4]);
/* N(0,1) entry (row, col) of stream `stream` of `seed` (Box-Muller on 2 x 53 bits). */
double prsvd_rng_gaussian(uint64_t seed, unsigned stream, int64_t row, int64_t col);
/* Fill out[c*ld + r] = gaussian(seed, stream, row0 + r, col0 + c), column-major. */
void prsvd_rng_fill(uint64_t seed, unsigned stream, int64_t row0, int64_t nrows, int64_t col0,
                    int64_t ncols, double *out, int64_t ld);

#endif
