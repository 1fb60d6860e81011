/* The checkpoint hook behind checkpoint.h. */
#include "checkpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "profile.h"

void prsvd_ckpt_init(struct prsvd_ckpt *c, MPI_Comm comm, const struct prsvd_checkpointer *cp) {
  memset(c, 0, sizeof *c);
  c->comm = comm;
  c->cp = cp;
}

void prsvd_ckpt_array(struct prsvd_ckpt *c, const char *name, double *data, int64_t rows,
                      int64_t cols, int64_t ld, int64_t row0, int64_t local_rows, int distributed) {
  if (!c->cp) return;
  struct prsvd_state_array *a = &c->st.arrays[c->st.n_arrays++];
  a->name = name;
  a->data = data;
  a->rows = rows;
  a->cols = cols;
  a->ld = ld;
  a->row0 = row0;
  a->local_rows = local_rows;
  a->distributed = distributed;
}

int prsvd_ckpt_partial(struct prsvd_ckpt *c, const prsvd_grid *grid, const char *name,
                       double *full, int64_t rows, int64_t cols) {
  int64_t r0, lr, ld;
  if (!c->cp) return PRSVD_OK;
  if (c->n_partial == PRSVD_STATE_MAX)
    PRSVD_ERR(PRSVD_ERR_INTERNAL, "more than %d partial sums in a checkpoint", PRSVD_STATE_MAX);
  PRSVD_CHECK(prsvd_dmat_create(grid, rows, cols, &c->partial[c->n_partial].saved));
  double *s = prsvd_dmat_local(c->partial[c->n_partial].saved, &r0, &lr, &ld);
  c->partial[c->n_partial].full = full;
  c->partial[c->n_partial++].reduced = 0;
  prsvd_ckpt_array(c, name, s, rows, cols, ld, r0, lr, 1);
  return PRSVD_OK;
}

void prsvd_ckpt_partial_reduced(struct prsvd_ckpt *c, const double *full) {
  for (int i = 0; i < c->n_partial; i++)
    if (c->partial[i].full == full) c->partial[i].reduced = 1;
}

/* The sums over ranks into the saved copies (collective). */
static int fold_partials(struct prsvd_ckpt *c) {
  for (int i = 0; i < c->n_partial; i++) {
    prsvd_dmat *s = c->partial[i].saved;
    const int64_t rows = prsvd_dmat_rows(s), cols = prsvd_dmat_cols(s);
    int64_t r0, lr, ld;
    double *sl = prsvd_dmat_local(s, &r0, &lr, &ld);
    if (!c->partial[i].reduced) {
      PRSVD_CHECK(prsvd_dmat_reduce_scatter(c->partial[i].full, s));
      continue;
    }
    for (int64_t j = 0; j < cols; j++)
      memcpy(sl + j * ld, c->partial[i].full + j * rows + r0, sizeof(double) * (size_t)lr);
  }
  return PRSVD_OK;
}

/* After a load: this rank's block of each saved sum, zeros elsewhere. */
static void restore_partials(struct prsvd_ckpt *c) {
  for (int i = 0; i < c->n_partial; i++) {
    const prsvd_dmat *s = c->partial[i].saved;
    const int64_t rows = prsvd_dmat_rows(s), cols = prsvd_dmat_cols(s);
    int64_t r0, lr, ld;
    const double *sl = prsvd_dmat_local(s, &r0, &lr, &ld);
    memset(c->partial[i].full, 0, sizeof(double) * (size_t)(rows * cols));
    for (int64_t j = 0; j < cols; j++)
      memcpy(c->partial[i].full + j * rows + r0, sl + j * ld, sizeof(double) * (size_t)lr);
    c->partial[i].reduced = 0;
  }
}

void prsvd_ckpt_passes(struct prsvd_ckpt *c, int last_pass, double extra_below) {
  c->last_pass = last_pass;
  c->extra_below = extra_below;
}

void prsvd_ckpt_ends_early(struct prsvd_ckpt *c) { c->ends_early = 1; }

/* struct prsvd_state.check: a loaded state is one of the states this solve passes through. */
static int check_state(const struct prsvd_state *st, void *arg, char *why, size_t len) {
  const struct prsvd_ckpt *c = arg;
  const int extra = c->extra_below > 0, first = !st->phase ? 0 : c->ends_early ? 1 : c->last_pass + 1;
  const int last = st->phase ? c->last_pass + 1 : c->last_pass;
  const int64_t end = c->row0 + c->local_rows;
  int rank;
  MPI_Comm_rank(c->comm, &rank);
  if (st->phase != 0 && !(extra && st->phase == 1))
    snprintf(why, len, "phase = %d, but this method resumes phase 0 (its passes)%s", st->phase,
             extra ? " or 1 (the extra pass B = Q^T A)" : " only");
  else if (st->pass < first || st->pass > last)
    snprintf(why, len, "pass = %d in phase %d, but this run's passes there are %d to %d (0-based)",
             st->pass, st->phase, first, last);
  /* passes done before this pass: the pass number, one more once a first pass was repeated
   * on 2^e A (src/pass_range.c; the range entry, read after this check, says whether it was) */
  else if (st->passes_done != st->pass && st->passes_done != st->pass + 1)
    snprintf(why, len, "passes_done = %d, but pass = %d (the passes done before it, or one more after a "
             "repeated first pass)", st->passes_done, st->pass);
  else if (st->phase == 1 && !(st->r_rcond < c->extra_below))
    snprintf(why, len, "r_rcond = %g in phase 1, but the extra pass runs only when r_rcond < %g",
             st->r_rcond, c->extra_below);
  else if (st->next_row < c->row0 || st->next_row > end)
    snprintf(why, len, "rank %d's cursor (next row) = %lld lies outside its rows [%lld, %lld)",
             rank, (long long)st->next_row, (long long)c->row0, (long long)end);
  else
    return 0;
  return 1;
}

/* This rank's share of the checkpoint file: its rows of the distributed arrays, and all of the
 * replicated ones if `replicated`. */
static double state_bytes(const struct prsvd_ckpt *c, int replicated) {
  double bytes = 0.0;
  for (int i = 0; i < c->st.n_arrays; i++) {
    const struct prsvd_state_array *a = &c->st.arrays[i];
    bytes += 8.0 * (double)((a->distributed ? a->local_rows : replicated ? a->rows : 0) * a->cols);
  }
  return bytes;
}

int prsvd_ckpt_start(struct prsvd_ckpt *c, struct prsvd_pass *pass, struct prsvd_cursor *cur,
                     int *resumed) {
  *resumed = 0;
  if (!c->cp) return PRSVD_OK;
  if (c->st.n_arrays == PRSVD_STATE_MAX)
    PRSVD_ERR(PRSVD_ERR_INTERNAL, "a checkpoint holds at most %d arrays", PRSVD_STATE_MAX);
  c->pass = pass;
  prsvd_ckpt_array(c, "range", c->range, 2, 1, 2, 0, 2, 0);
  PRSVD_CHECK(prsvd_pass_rows(pass, &c->row0, &c->local_rows));
  c->st.check = check_state;
  c->st.check_arg = c;
  prsvd_profile_begin(PRSVD_EV_RESUME); /* counted only when a checkpoint is found */
  PRSVD_CHECK(c->cp->load(c->cp->ctx, c->comm, &c->st, resumed));
  if (*resumed) {
    prsvd_profile_end(PRSVD_EV_RESUME, state_bytes(c, 1), 0.0);
    c->phase = c->st.phase;
    c->passes_done = c->st.passes_done;
    c->r_rcond = c->st.r_rcond;
    cur->pass = c->st.pass;
    cur->next_row = c->st.next_row;
    restore_partials(c);
    pass->scale_exp = (int)c->range[0];
    pass->amax = c->range[1];
  }
  c->last_save = MPI_Wtime();
  pass->hook = prsvd_ckpt_hook;
  pass->hook_arg = c;
  pass->hook_comm = c->comm;
  return PRSVD_OK;
}

void prsvd_ckpt_free(struct prsvd_ckpt *c) {
  for (int i = 0; i < c->n_partial; i++) prsvd_dmat_destroy(&c->partial[i].saved);
  c->n_partial = 0;
}

int prsvd_ckpt_hook(void *arg, int status, const struct prsvd_cursor *cur) {
  struct prsvd_ckpt *c = arg;
  int rank, vote[3], all[3];
  MPI_Comm_rank(c->comm, &rank);
  vote[0] = status != 0;
  vote[1] = c->cp->stop && *c->cp->stop;
  vote[2] = rank == 0 && c->cp->every_seconds > 0 && MPI_Wtime() - c->last_save >= c->cp->every_seconds;
  /* tests stop at an exact panel step instead of racing a signal */
  c->steps++;
  if (c->cp->stop_at_step > 0 && c->cp->stop_at_step == c->steps) vote[1] = 1;
  PRSVD_MPI(MPI_Allreduce(vote, all, 3, MPI_INT, MPI_MAX, c->comm));
  if (all[0]) return prsvd_error_agree(c->comm, status);
  if (!all[1] && !all[2]) return PRSVD_OK;
  /* save at this panel boundary */
  c->st.pass = cur->pass;
  c->st.next_row = cur->next_row;
  c->st.phase = c->phase;
  c->st.passes_done = c->passes_done;
  c->st.r_rcond = c->r_rcond;
  prsvd_profile_begin(PRSVD_EV_CHECKPOINT);
  /* the range so far on every rank; a running pass's partial sums onto one exponent, so that
   * they add (a P x 1 grid: the pass reads the whole A) */
  int e;
  PRSVD_CHECK(prsvd_pass_range(c->pass, c->comm, prsvd_source_rows(c->pass->a), prsvd_source_cols(c->pass->a), &e));
  c->range[0] = c->pass->scale_exp;
  c->range[1] = c->pass->amax;
  PRSVD_CHECK(fold_partials(c));
  PRSVD_CHECK(c->cp->save(c->cp->ctx, c->comm, &c->st));
  prsvd_profile_end(PRSVD_EV_CHECKPOINT, state_bytes(c, rank == 0), 0.0); /* rank 0: replicated */
  c->last_save = MPI_Wtime();
  if (all[1])
    PRSVD_ERR(PRSVD_CHECKPOINTED, "stopped on request in pass %d at row %lld; rerun the same command to resume",
              cur->pass + 1, (long long)cur->next_row);
  return PRSVD_OK;
}
