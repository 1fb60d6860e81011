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

/* A check of each dense panel the reader delivers (the first pass's NaN/Inf check), run on
 * the reader thread so that it hides behind the products; nonzero fails the read. */
typedef int (*prsvd_panel_check)(void *arg, const void *panel, int64_t row0, int64_t rows);

struct prsvd_prefetch {
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  prsvd_source *src;
  int single;   /* dense panels as float32 */
  prsvd_panel_check check;
  void *check_arg;
  void *buf;
  struct prsvd_csr *csr;
  struct prsvd_rows_lent *lent;
  int64_t row0, rows;
  int posted, done, status, quit, started;
};

/* single: the dense reads fill float32 panels (prsvd_source_read_f32), else float64; check
 * (NULL: none) runs on each dense panel read or lent. */
int prsvd_prefetch_start(struct prsvd_prefetch *pf, prsvd_source *src, int single,
                         prsvd_panel_check check, void *check_arg);
/* Read rows [row0, row0 + rows) in the background: into the dense buf; or (lent) have the
 * source lend them there, giving back what lent held first; or a sparse source's rows into
 * csr. */
void prsvd_prefetch_post(struct prsvd_prefetch *pf, void *buf, struct prsvd_csr *csr,
                         struct prsvd_rows_lent *lent, int64_t row0, int64_t rows);
/* Wait for the posted read; returns its status (0 if nothing was posted). */
int prsvd_prefetch_wait(struct prsvd_prefetch *pf);
void prsvd_prefetch_stop(struct prsvd_prefetch *pf);

#endif
