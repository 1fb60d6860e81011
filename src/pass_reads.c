/* The reads of a pass: the panels at the cursor, from the source or the reader thread one read
 * ahead, into the pass's buffers (dense or CSR) or rows the source lends. */
#include "pass_impl.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "profile.h"
#include "source_impl.h"

static void set_panel(struct prsvd_pass *p, void *buf) {
  p->state->panel = p->state->single ? NULL : buf;
  p->state->panel32 = p->state->single ? buf : NULL;
}

void prsvd_pass_free_buffers(struct prsvd_pass *p) {
  for (int b = 0; b < 2; b++) {
    free(p->state->bufs[b]);
    p->state->bufs[b] = NULL;
    prsvd_csr_free(&p->state->csrs[b]);
  }
  p->state->buf_bytes = 0;
  p->state->panel = NULL;
  p->state->panel32 = NULL;
  p->state->csr = NULL;
}

/* The dense panel buffers of a pass: one, or two with the reader thread. */
static int panel_buffers(struct prsvd_pass *p, int n_bufs) {
  const int64_t bytes = p->panel_rows * prsvd_pass_row_bytes(p);
  if (p->state->buf_bytes != bytes) prsvd_pass_free_buffers(p);
  for (int b = 0; b < n_bufs; b++) {
    if (!p->state->bufs[b] && !(p->state->bufs[b] = malloc((size_t)bytes)))
      PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for a panel buffer of %lld bytes", (long long)bytes);
    p->state->buf_bytes = bytes;
  }
  set_panel(p, p->state->bufs[0]);
  return PRSVD_OK;
}

/* The panel of buffer `slot` in hand. */
static void use_slot(const struct prsvd_reads *rd, struct prsvd_pass *p, int slot) {
  if (rd->sparse)
    p->state->csr = &p->state->csrs[slot];
  else if (rd->lend)
    set_panel(p, (void *)rd->lent[slot].data); /* read-only: nothing writes into a panel */
  else
    set_panel(p, p->state->bufs[slot]);
}

/* The reader thread, unless the source's reads call MPI and MPI allows only the main thread;
 * on a 2-D grid the main thread's per-panel sums would meet the reader's MPI-IO calls, which
 * needs MPI_THREAD_MULTIPLE. */
static int may_prefetch(const struct prsvd_pass *p) {
  struct prsvd_source_layout lay;
  int level = MPI_THREAD_SINGLE;
  if (!p->params || !p->params->prefetch) return 0;
  prsvd_source_get_layout(p->a, &lay);
  if (lay.mpi_reads) MPI_Query_thread(&level);
  return !lay.mpi_reads || level >= (p->grid2d ? MPI_THREAD_MULTIPLE : MPI_THREAD_SERIALIZED);
}

/* Post the read after the one ending at `next`, into buffer rd->cb: the panel there, or a
 * zero-row read owed to a collective source. */
static void post_after(struct prsvd_reads *rd, struct prsvd_pass *p, int64_t next, int64_t end) {
  void *buf = rd->sparse || rd->lend ? NULL : p->state->bufs[rd->cb];
  struct prsvd_csr *csr = rd->sparse ? &p->state->csrs[rd->cb] : NULL;
  struct prsvd_rows_lent *lent = rd->lend ? &rd->lent[rd->cb] : NULL;
  if (rd->reads_left <= 0) return;
  if (next < end) rd->reads_left--, prsvd_prefetch_post(&rd->pf, buf, csr, lent, next, prsvd_panel_at(p, next, end));
  else if (rd->collective) rd->reads_left--, prsvd_prefetch_post(&rd->pf, buf, csr, lent, end, 0);
}

int prsvd_reads_begin(struct prsvd_reads *rd, struct prsvd_pass *p, int64_t row, int64_t end,
                       int collective, long reads) {
  memset(rd, 0, sizeof *rd);
  rd->collective = collective;
  rd->reads_left = reads;
  rd->sparse = prsvd_source_nnz(p->a) >= 0;
  rd->lend = !rd->sparse && prsvd_source_lends(p->a, p->state->single);
  const int prefetch = may_prefetch(p) && (row < end || collective);
  p->state->checked_ahead = prefetch && !rd->sparse && prsvd_pass_scans(p);
  if (rd->sparse)
    p->state->csr = &p->state->csrs[0];
  else if (rd->lend)
    prsvd_pass_free_buffers(p);
  else
    PRSVD_CHECK(panel_buffers(p, prefetch ? 2 : 1));
  if (!prefetch) return PRSVD_OK;
  const struct prsvd_panel_check check = {prsvd_pass_first_bad_row, p->check_finite ? prsvd_pass_report_nonfinite : NULL, p,
                                          prsvd_pass_row_bytes(p)};
  PRSVD_CHECK(prsvd_prefetch_start(&rd->pf, p->a, p->state->single, p->state->checked_ahead ? &check : NULL));
  rd->on = 1;
  post_after(rd, p, row, end);
  return PRSVD_OK;
}

/* Let the reader finish (so nothing else touches the source library meanwhile). */
void prsvd_reads_settle(struct prsvd_reads *rd) {
  if (rd->on && !rd->have)
    rd->saved = prsvd_prefetch_wait(&rd->pf, &rd->saved_amax, &rd->saved_exp), rd->have = 1;
}

/* Rows [row, row + nr) into the panel (nr = 0: a collective source's zero-row read). */
int prsvd_reads_ready(struct prsvd_reads *rd, struct prsvd_pass *p, int64_t row, int64_t nr,
                       int64_t end) {
  int status;
  prsvd_profile_begin(PRSVD_EV_READ); /* with the reader: only the time not hidden */
  p->state->panel_exp = 0;
  if (!rd->on) {
    rd->reads_left--;
    if (rd->lend) {
      status = prsvd_source_return(p->a, &rd->lent[0]);
      if (!status) status = prsvd_source_lend(p->a, row, nr, &rd->lent[0]);
      use_slot(rd, p, 0);
    } else {
      status = rd->sparse ? prsvd_source_read_csr(p->a, row, nr, p->state->csr)
               : p->state->single ? prsvd_source_read_f32(p->a, row, nr, p->state->panel32, &p->state->panel_exp)
                           : prsvd_source_read(p->a, row, nr, p->state->panel);
    }
  } else {
    prsvd_reads_settle(rd);
    status = rd->saved;
    p->state->panel_exp = rd->saved_exp;
    p->state->panel_amax = ldexp(rd->saved_amax, -p->state->panel_exp); /* of A */
    rd->have = 0;
    use_slot(rd, p, rd->cb);
    rd->cb = 1 - rd->cb;
    /* after a failed read only the zero-row reads owed to a collective source: another read
     * would be wasted, and its error could replace this one's */
    if (!status || rd->collective) post_after(rd, p, status ? end : row + nr, end);
  }
  if (!status && rd->sparse && (p->state->csr->rows != nr || p->state->csr->indptr[0] != 0))
    status = prsvd_error_set(PRSVD_ERR_INTERNAL, __FILE__, __LINE__, __func__,
                             "'%s': a CSR panel of %lld rows for %lld asked", prsvd_source_name(p->a),
                             (long long)p->state->csr->rows, (long long)nr);
  const double bytes = rd->sparse ? (status ? 0.0 : 16.0 * (double)p->state->csr->nnz + 8.0 * (double)(nr + 1))
                                  : (double)(nr * prsvd_pass_row_bytes(p));
  prsvd_profile_end(PRSVD_EV_READ, bytes, 0.0);
  return status;
}

int prsvd_reads_end(struct prsvd_reads *rd, struct prsvd_pass *p) {
  int status = PRSVD_OK;
  if (rd->on) prsvd_prefetch_stop(&rd->pf);
  rd->on = 0;
  /* The panels go back at the end of every pass, copies as mappings do: what follows the last
   * pass (the QR, the core, the writes) must not hold them.  Rows the source says were not
   * its own while lent fail the pass (the last panels' products used them). */
  if (rd->lend)
    for (int b = 0; b < 2; b++) {
      const int returned = prsvd_source_return(p->a, &rd->lent[b]);
      if (!status) status = returned;
    }
  prsvd_pass_free_buffers(p);
  return status;
}
