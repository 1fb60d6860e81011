/* The SLURM world-size check of slurm_check.h. */
#include "slurm_check.h"

#include <errno.h>
#include <stdlib.h>

#include "error.h"

/* The first of the variables that is set, or NULL; *name is set to its name. */
static const char *first_env(const char *const *vars, const char **name) {
  for (; *vars; vars++) {
    const char *v = getenv(*vars);
    if (v && *v) {
      if (name) *name = *vars;
      return v;
    }
  }
  return NULL;
}

/* A positive decimal integer, or 0 when s is anything else. */
static long positive(const char *s) {
  if (!s) return 0;
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  return (errno || end == s || *end || v <= 0) ? 0 : v;
}

static int check_local(int world) {
  static const char *const job_vars[] = {"SLURM_JOB_ID", "SLURM_JOBID", NULL};
  static const char *const step_vars[] = {"SLURM_STEP_ID", "SLURM_STEPID", NULL};
  static const char *const task_vars[] = {"SLURM_STEP_NUM_TASKS", "SLURM_NTASKS", "SLURM_NPROCS",
                                          NULL};
  static const char *const launcher_vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", NULL};
  if (!first_env(job_vars, NULL) || !first_env(step_vars, NULL)) return PRSVD_OK;
  const char *var = NULL;
  long tasks = positive(first_env(task_vars, &var));
  if (tasks == 0 || tasks == world) return PRSVD_OK;
  if (world > 1 && positive(first_env(launcher_vars, NULL)) == world) return PRSVD_OK;
  if (world == 1)
    PRSVD_ERR(PRSVD_ERR_MPI,
              "MPI world size 1 does not match %s=%ld: the launcher started %ld separate "
              "single-rank copies (use srun --mpi=pmix or mpirun, not srun --mpi=none or "
              "srun ... mpirun)",
              var, tasks, tasks);
  PRSVD_ERR(PRSVD_ERR_MPI,
            "MPI world size %d does not match %s=%ld: the launcher did not join all its tasks "
            "into one MPI job (use srun --mpi=pmix or mpirun)",
            world, var, tasks);
}

int prsvd_check_slurm_world(MPI_Comm comm) {
  int world = 0;
  if (MPI_Comm_size(comm, &world) != MPI_SUCCESS)
    PRSVD_ERR(PRSVD_ERR_MPI, "MPI_Comm_size failed at start-up");
  /* Ranks may see different environments (some started by srun, some not): agree. */
  return prsvd_error_agree(comm, check_local(world));
}
