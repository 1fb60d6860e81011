/*
 * A reader thread per rank: while the main thread multiplies panel i, the reader fills the
 * other buffer with panel i + 1, so a pass costs max(read, compute) rather than their sum.
 * The buffers are dense row panels (float64, or float32 for single-precision passes), or CSR
 * panels for a sparse source.
 * Only the reader thread calls the source during a pass; the main thread waits for it before
 * anything else may touch the source's library (a checkpoint save).
 */
#ifndef PRSVD_PREFETCH_H
#define PRSVD_PREFETCH_H

#include <pthread.h>

#include "prsvd.h"

struct prsvd_prefetch {
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  prsvd_source *src;
  int single;   /* dense panels as float32 */
  void *buf;
  struct prsvd_csr *csr;
  int64_t row0, rows;
  int posted, done, status, quit, started;
};

/* single: the dense reads fill float32 panels (prsvd_source_read_f32), else float64. */
int prsvd_prefetch_start(struct prsvd_prefetch *pf, prsvd_source *src, int single);
/* Read rows [row0, row0 + rows) in the background: into the dense buf, or (buf NULL) a sparse
 * source's rows into csr. */
void prsvd_prefetch_post(struct prsvd_prefetch *pf, void *buf, struct prsvd_csr *csr, int64_t row0,
                         int64_t rows);
/* Wait for the posted read; returns its status (0 if nothing was posted). */
int prsvd_prefetch_wait(struct prsvd_prefetch *pf);
void prsvd_prefetch_stop(struct prsvd_prefetch *pf);

#endif
