/*
 * A method's scratch, released in one call: the raw buffers it allocates (PRSVD_SCRATCH_ALLOC)
 * and the distributed matrices whose handles it names (PRSVD_SCRATCH_MATS), so that a method's
 * `done:` is prsvd_scratch_free() (or its frame's end, svd_impl.h) instead of a free per
 * buffer.  A matrix handle is named by its address: whatever it holds at the end is destroyed,
 * so a matrix the method hands out (setting its handle to NULL) or replaces (destroy, then
 * create again) is handled as it is.  Begin zeroed (memset, or = {0}).  Local.
 */
#ifndef PRSVD_SCRATCH_H
#define PRSVD_SCRATCH_H

#include "error.h"
#include "prsvd_grid.h"

/* More than any method holds: a full arena is a programming error (PRSVD_ERR_INTERNAL). */
#define PRSVD_SCRATCH_MAX_BUFS 24
#define PRSVD_SCRATCH_MAX_MATS 12

struct prsvd_scratch {
  int n_bufs, n_mats;
  void *bufs[PRSVD_SCRATCH_MAX_BUFS];
  prsvd_dmat **mats[PRSVD_SCRATCH_MAX_MATS];
};

/* The arena takes buf (freed by prsvd_scratch_free; with no room, freed now). */
int prsvd_scratch_keep(struct prsvd_scratch *s, void *buf);
/* buf, taken back from the arena (the caller frees it). */
void *prsvd_scratch_take(struct prsvd_scratch *s, void *buf);
/* The arena destroys *handles[0 .. n) at its end. */
int prsvd_scratch_mats(struct prsvd_scratch *s, prsvd_dmat **const *handles, int n);
/* Everything the arena holds, freed and destroyed (the matrices first, last named first);
 * the arena is empty again. */
void prsvd_scratch_free(struct prsvd_scratch *s);

/* ptr = count zeroed elements owned by the arena s, with PRSVD_ALLOC's error on failure (the
 * caller's status and done:). */
#define PRSVD_SCRATCH_ALLOC(s, ptr, count)     \
  do {                                         \
    PRSVD_ALLOC(ptr, count);                   \
    PRSVD_TRY(prsvd_scratch_keep((s), (ptr))); \
  } while (0)
/* Name the handles &a, &b, ... to the arena s (the caller's status and done:). */
#define PRSVD_SCRATCH_MATS(s, ...)                                                         \
  PRSVD_TRY(prsvd_scratch_mats((s), (prsvd_dmat **const[]){__VA_ARGS__},                 \
                               (int)(sizeof((prsvd_dmat **const[]){__VA_ARGS__}) /       \
                                     sizeof(prsvd_dmat **))))

#endif
