/*
 * A reader thread per rank: while the main thread multiplies panel i, the reader fills the
 * other buffer with panel i + 1, so a pass costs max(read, compute) rather than their sum.
 * The buffers are dense row panels (float64, or float32 for single-precision passes), rows
 * the source lends in place (a mapping of the file: then the reader only maps them and faults
 * them in), or CSR panels for a sparse source.
 * Only the reader thread calls the source during a pass; the main thread waits for it before
 * anything else may touch the source's library (a checkpoint save).
 */
#ifndef PRSVD_PREFETCH_H
#define PRSVD_PREFETCH_H

#include <pthread.h>

#include "prsvd.h"

/* A check of each dense panel the reader delivers (the first pass's NaN/Inf check and its
 * measure of max |a_ij|), run off the main thread's products.  It is the first touch of a
 * freshly read panel, which can cost more than the read (a VM's host faulting each page in),
 * so it is cut into row chunks that the reader and a main thread waiting for the panel scan
 * side by side.  scan: the first row among `rows` rows at `panel` holding a bad value, or -1,
 * and their max |a_ij| in *amax (thread-safe, no side effects); report: the error for row
 * `bad` (panel-relative) of the panel whose first row is row0 (one thread at a time; NULL: a
 * bad value is no error, only measured). */
struct prsvd_panel_check {
  int64_t (*scan)(void *arg, const void *panel, int64_t rows, double *amax);
  int (*report)(void *arg, const void *panel, int64_t row0, int64_t bad);
  void *arg;
  int64_t row_bytes;
};

struct prsvd_prefetch {
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  prsvd_source *src;
  int single;   /* dense panels as float32 */
  struct prsvd_panel_check check; /* scan NULL: none */
  /* the chunks of the panel being checked: claimed (next) and finished (done) of nchunks */
  const char *chk_panel;
  int64_t chk_rows, chk_chunk, chk_nchunks, chk_next, chk_done, chk_bad;
  double chk_amax, amax; /* the chunks' max so far; the delivered panel's */
  int exp;               /* the delivered float32 panel holds 2^exp times its rows */
  void *buf;
  struct prsvd_csr *csr;
  struct prsvd_rows_lent *lent;
  int64_t row0, rows;
  int posted, done, status, quit, started;
};

/* single: the dense reads fill float32 panels (prsvd_source_read_f32), else float64; check
 * (NULL: none) runs on each dense panel read or lent. */
int prsvd_prefetch_start(struct prsvd_prefetch *pf, prsvd_source *src, int single,
                         const struct prsvd_panel_check *check);
/* Read rows [row0, row0 + rows) in the background: into the dense buf; or (lent) have the
 * source lend them there, giving back what lent held first; or a sparse source's rows into
 * csr. */
void prsvd_prefetch_post(struct prsvd_prefetch *pf, void *buf, struct prsvd_csr *csr,
                         struct prsvd_rows_lent *lent, int64_t row0, int64_t rows);
/* Wait for the posted read, scanning chunks of its check meanwhile; returns its status (0 if
 * nothing was posted), the checked panel's max |a_ij| in *amax (0 without a check; of the
 * panel as it holds them) and the power of two a float32 panel holds its rows times in *exp
 * (prsvd_source_read_f32). */
int prsvd_prefetch_wait(struct prsvd_prefetch *pf, double *amax, int *exp);
void prsvd_prefetch_stop(struct prsvd_prefetch *pf);

#endif
