/* The checkpoint hook behind checkpoint.h. */
#include "checkpoint.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"

void prsvd_ckpt_array(struct prsvd_ckpt *c, const char *name, double *data, int64_t rows,
                      int64_t cols, int64_t ld, int64_t row0, int64_t local_rows, int distributed) {
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

int prsvd_ckpt_load(struct prsvd_ckpt *c, int *found) {
  *found = 0;
  PRSVD_CHECK(c->cp->load(c->cp->ctx, c->comm, &c->st, found));
  if (*found) {
    c->phase = c->st.phase;
    c->passes_done = c->st.passes_done;
    c->r_rcond = c->st.r_rcond;
  }
  c->last_save = MPI_Wtime();
  return PRSVD_OK;
}

int prsvd_ckpt_hook(void *arg, int status, const struct prsvd_cursor *cur) {
  struct prsvd_ckpt *c = arg;
  int rank, vote[3], all[3];
  MPI_Comm_rank(c->comm, &rank);
  vote[0] = status != 0;
  vote[1] = c->cp->stop && *c->cp->stop;
  vote[2] = rank == 0 && c->cp->every_seconds > 0 && MPI_Wtime() - c->last_save >= c->cp->every_seconds;
  /* tests stop at an exact panel step instead of racing a signal (README, "Tests") */
  c->steps++;
  const char *at = getenv("PRSVD_TEST_STOP_AT_STEP");
  if (at && atol(at) == c->steps) vote[1] = 1;
  PRSVD_MPI(MPI_Allreduce(vote, all, 3, MPI_INT, MPI_MAX, c->comm));
  if (all[0]) return prsvd_error_agree(c->comm, status);
  if (!all[1] && !all[2]) return PRSVD_OK;
  /* save at this panel boundary */
  c->st.pass = cur->pass;
  c->st.next_row = cur->next_row;
  c->st.phase = c->phase;
  c->st.passes_done = c->passes_done;
  c->st.r_rcond = c->r_rcond;
  if (c->prepare) PRSVD_CHECK(c->prepare(c->solver));
  PRSVD_CHECK(c->cp->save(c->cp->ctx, c->comm, &c->st));
  c->last_save = MPI_Wtime();
  c->saves++;
  if (all[1])
    PRSVD_ERR(PRSVD_CHECKPOINTED, "stopped on request in pass %d at row %lld; rerun the same command to resume",
              cur->pass + 1, (long long)cur->next_row);
  return PRSVD_OK;
}
