/* The reader thread behind prefetch.h. */
#include "prefetch.h"

#include <string.h>

#include "error.h"
#include "profile.h"
#include "source_impl.h"

/* Rows a check chunk scans: about 512 KiB, so a 4 MiB panel splits in 8. */
#define CHECK_CHUNK_BYTES (512 << 10)

/* Scan the panel's unclaimed check chunks until none is left; called and returns with pf->mu
 * held.  The lowest bad row found is kept, so the error does not depend on who scanned. */
static void scan_chunks(struct prsvd_prefetch *pf) {
  while (pf->chk_next < pf->chk_nchunks) {
    const int64_t c = pf->chk_next++, first = c * pf->chk_chunk;
    const int64_t rows = pf->chk_rows - first < pf->chk_chunk ? pf->chk_rows - first : pf->chk_chunk;
    pthread_mutex_unlock(&pf->mu);
    double amax = 0.0;
    const int64_t bad = pf->check.scan(pf->check.arg, pf->chk_panel + first * pf->check.row_bytes, rows, &amax);
    pthread_mutex_lock(&pf->mu);
    if (bad >= 0 && (pf->chk_bad < 0 || first + bad < pf->chk_bad)) pf->chk_bad = first + bad;
    if (amax > pf->chk_amax) pf->chk_amax = amax;
    if (++pf->chk_done == pf->chk_nchunks) pthread_cond_broadcast(&pf->cv);
  }
}

/* The check of rows [row0, row0 + rows) at panel, shared with a waiting main thread. */
static int check_panel(struct prsvd_prefetch *pf, const void *panel, int64_t row0, int64_t rows) {
  pthread_mutex_lock(&pf->mu);
  pf->chk_panel = panel;
  pf->chk_rows = rows;
  pf->chk_chunk = CHECK_CHUNK_BYTES / pf->check.row_bytes > 0 ? CHECK_CHUNK_BYTES / pf->check.row_bytes : 1;
  pf->chk_nchunks = (rows + pf->chk_chunk - 1) / pf->chk_chunk;
  pf->chk_next = pf->chk_done = 0;
  pf->chk_bad = -1;
  pf->chk_amax = 0.0;
  pthread_cond_broadcast(&pf->cv); /* work for a waiting main thread */
  scan_chunks(pf);
  while (pf->chk_done < pf->chk_nchunks) pthread_cond_wait(&pf->cv, &pf->mu);
  const int64_t bad = pf->chk_bad;
  pf->amax = pf->chk_amax; /* read by prsvd_prefetch_wait under the lock */
  pf->chk_nchunks = pf->chk_next = pf->chk_done = 0;
  pthread_mutex_unlock(&pf->mu);
  return bad < 0 || !pf->check.report ? PRSVD_OK : pf->check.report(pf->check.arg, panel, row0, bad);
}

static void *reader(void *arg) {
  struct prsvd_prefetch *pf = arg;
  pthread_mutex_lock(&pf->mu);
  for (;;) {
    while (!pf->posted && !pf->quit) pthread_cond_wait(&pf->cv, &pf->mu);
    if (pf->quit) break;
    void *buf = pf->buf;
    struct prsvd_csr *csr = pf->csr;
    struct prsvd_rows_lent *lent = pf->lent;
    const int64_t row0 = pf->row0, rows = pf->rows;
    pf->amax = 0.0; /* until this panel's check measures it */
    pthread_mutex_unlock(&pf->mu);
    int status, exp = 0;
    if (lent) {
      status = prsvd_source_return(pf->src, lent);
      if (!status) status = prsvd_source_lend(pf->src, row0, rows, lent);
    } else {
      status = !buf       ? prsvd_source_read_csr(pf->src, row0, rows, csr)
               : pf->single ? prsvd_source_read_f32(pf->src, row0, rows, buf, &exp)
                            : prsvd_source_read(pf->src, row0, rows, buf);
    }
    if (!status && pf->check.scan && (buf || lent) && rows > 0)
      status = check_panel(pf, lent ? lent->data : buf, row0, rows);
    pthread_mutex_lock(&pf->mu);
    pf->status = status;
    pf->exp = exp;
    pf->posted = 0;
    pf->done = 1;
    pthread_cond_broadcast(&pf->cv);
  }
  pthread_mutex_unlock(&pf->mu);
  return NULL;
}

int prsvd_prefetch_start(struct prsvd_prefetch *pf, prsvd_source *src, int single,
                         const struct prsvd_panel_check *check) {
  memset(pf, 0, sizeof *pf);
  pf->src = src;
  pf->single = single;
  if (check) pf->check = *check;
  pthread_mutex_init(&pf->mu, NULL);
  pthread_cond_init(&pf->cv, NULL);
  if (pthread_create(&pf->thread, NULL, reader, pf) != 0)
    PRSVD_ERR(PRSVD_ERR_INTERNAL, "cannot start the reader thread");
  pf->started = 1;
  return PRSVD_OK;
}

void prsvd_prefetch_post(struct prsvd_prefetch *pf, void *buf, struct prsvd_csr *csr,
                         struct prsvd_rows_lent *lent, int64_t row0, int64_t rows) {
  pthread_mutex_lock(&pf->mu);
  pf->buf = buf;
  pf->csr = csr;
  pf->lent = lent;
  pf->row0 = row0;
  pf->rows = rows;
  pf->done = 0;
  pf->posted = 1;
  pthread_cond_broadcast(&pf->cv);
  pthread_mutex_unlock(&pf->mu);
}

int prsvd_prefetch_wait(struct prsvd_prefetch *pf, double *amax, int *exp) {
  int status;
  pthread_mutex_lock(&pf->mu);
  while (pf->posted) {
    if (pf->chk_next < pf->chk_nchunks)
      scan_chunks(pf); /* rather than idle: the reader's check, side by side */
    else
      pthread_cond_wait(&pf->cv, &pf->mu);
  }
  status = pf->done ? pf->status : PRSVD_OK;
  *amax = pf->done ? pf->amax : 0.0;
  *exp = pf->done ? pf->exp : 0;
  pf->done = 0;
  pf->status = PRSVD_OK;
  pthread_mutex_unlock(&pf->mu);
  return status;
}

void prsvd_prefetch_stop(struct prsvd_prefetch *pf) {
  if (!pf->started) return;
  pthread_mutex_lock(&pf->mu);
  while (pf->posted) pthread_cond_wait(&pf->cv, &pf->mu);
  pf->quit = 1;
  pthread_cond_broadcast(&pf->cv);
  pthread_mutex_unlock(&pf->mu);
  pthread_join(pf->thread, NULL);
  pthread_mutex_destroy(&pf->mu);
  pthread_cond_destroy(&pf->cv);
  pf->started = 0;
}
