/* A method's scratch, released in one call (scratch.h). */
#include <stdlib.h>

#include "scratch.h"

int prsvd_scratch_keep(struct prsvd_scratch *s, void *buf) {
  if (s->n_bufs == PRSVD_SCRATCH_MAX_BUFS) {
    free(buf);
    PRSVD_ERR(PRSVD_ERR_INTERNAL, "internal error: a method's scratch holds more than %d buffers",
              PRSVD_SCRATCH_MAX_BUFS);
  }
  s->bufs[s->n_bufs++] = buf;
  return PRSVD_OK;
}

void *prsvd_scratch_take(struct prsvd_scratch *s, void *buf) {
  for (int i = 0; i < s->n_bufs; i++)
    if (s->bufs[i] == buf) {
      s->bufs[i] = s->bufs[--s->n_bufs];
      break;
    }
  return buf;
}

int prsvd_scratch_mats(struct prsvd_scratch *s, prsvd_dmat **const *handles, int n) {
  if (n > PRSVD_SCRATCH_MAX_MATS - s->n_mats)
    PRSVD_ERR(PRSVD_ERR_INTERNAL, "internal error: a method's scratch names more than %d matrices",
              PRSVD_SCRATCH_MAX_MATS);
  for (int i = 0; i < n; i++) s->mats[s->n_mats++] = handles[i];
  return PRSVD_OK;
}

void prsvd_scratch_free(struct prsvd_scratch *s) {
  while (s->n_mats > 0) prsvd_dmat_destroy(s->mats[--s->n_mats]);
  while (s->n_bufs > 0) free(s->bufs[--s->n_bufs]);
}
