/*
 * Open MPI's default binding of a rank that is alone on its node, and its widening
 * (threads.h, prsvd_binding_widen).
 *
 * Open MPI 4 binds each rank to one core when a job starts at most 2 ranks, whether or not
 * the user asked: `mpirun -n 1 prsvd ...` on a 32-core workstation runs on one core, and its
 * compute threads count one CPU.  What the launched process sees tells that default from a
 * binding the user asked for (the dumps are in docs/performance.md, *Launches*):
 *   - Open MPI puts OMPI_MCA_orte_bound_at_launch=1 in the environment of a process it bound;
 *   - the MCA variables that ask for a binding or a placement, hwloc_base_binding_policy
 *     (--bind-to), rmaps_base_mapping_policy (--map-by), hwloc_base_cpu_set (--cpu-set) and
 *     orte_rankfile (--rankfile), are empty unless the user set them: on mpirun's command
 *     line or in the environment (both reach the process as OMPI_MCA_... variables), or in an
 *     MCA parameter file, which the process reads itself (base/mca_params.h).
 * Under that default, with the rank alone on its node (a rank sharing the node keeps its core:
 * the binding then splits the node among the ranks) and not under SLURM (srun binds as the job
 * asked), the calling thread's affinity is widened to the mask of the launcher's daemon (mpirun
 * or orted): the CPUs `--bind-to none` would have left it, the cgroup's cpuset included.  The
 * threads the caller starts afterwards (compute threads, the reader, the BLAS's) inherit it.
 * PRSVD_KEEP_BINDING=1 in the environment keeps Open MPI's binding.
 */
#define _GNU_SOURCE /* sched_getaffinity, sched_setaffinity, CPU_COUNT */
#include <mpi.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mca_params.h"
#include "threads.h"

/* The MCA variables that say the user chose a binding or a placement. */
static const char *const ASKED[] = {"hwloc_base_binding_policy", "rmaps_base_mapping_policy",
                                    "hwloc_base_cpu_set", "orte_rankfile", NULL};

static int nonempty(const char *value) { return value[0] != '\0'; }

/* 1 when Open MPI bound this process at launch by its default, no binding, placement or CPU
 * set asked for; 0 otherwise.  mpirun passes what its command line asks in the environment
 * (OMPI_MCA_...); an MCA parameter file's setting, which mpirun also follows, only the files
 * show.  MPI_T shows both, but its first call registers every component of every framework:
 * 0.2 s of `mpirun -n 1`'s elapsed time, here, against 0.1 ms for the files. */
static int open_mpi_default_binding(void) {
  const char *bound = prsvd_mca_env("orte_bound_at_launch");
  if (!bound || strcmp(bound, "1") != 0) return 0;
  for (const char *const *v = ASKED; *v; v++) {
    const char *value = prsvd_mca_env(*v);
    if ((value && *value) || prsvd_mca_files_any(*v, nonempty)) return 0;
  }
  return 1;
}

/* 1 when process pid's environment (as it started) has a variable of this name, 0 when not,
 * -1 when it cannot be read. */
static int environ_has(pid_t pid, const char *name) {
  char path[64], buf[1 << 16];
  const size_t len = strlen(name);
  int found = 0;
  size_t kept = 0, got;
  snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  /* entries are NUL-terminated; an entry cut by the buffer's end moves to its start */
  while (!found && (got = fread(buf + kept, 1, sizeof buf - kept, f)) > 0) {
    size_t end = kept + got, start = 0;
    for (size_t i = 0; i < end && !found; i++)
      if (buf[i] == '\0') {
        found = i - start > len && memcmp(buf + start, name, len) == 0 && buf[start + len] == '=';
        start = i + 1;
      }
    kept = end - start < sizeof buf / 2 ? end - start : 0; /* a giant entry is not one of ours */
    memmove(buf, buf + start, kept);
  }
  fclose(f);
  return found;
}

static pid_t parent_of(pid_t pid) {
  char path[64], line[512];
  int ppid = -1;
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  if (fgets(line, sizeof line, f)) {
    const char *close = strrchr(line, ')'); /* the command name may hold spaces and ')' */
    if (!close || sscanf(close + 1, " %*c %d", &ppid) != 1) ppid = -1;
  }
  fclose(f);
  return ppid;
}

/* The launcher's daemon: the nearest ancestor that is not part of the rank (the rank and the
 * wrappers it runs under, `sh -c`, valgrind, carry the OMPI_COMM_WORLD_RANK the daemon set
 * for it; the daemon does not); -1 when it cannot be told. */
static pid_t launcher(void) {
  pid_t pid = getppid();
  for (int depth = 0; depth < 16 && pid > 1; depth++) {
    int part = environ_has(pid, "OMPI_COMM_WORLD_RANK");
    if (part < 0) return -1;
    if (!part) return pid;
    pid = parent_of(pid);
  }
  return -1;
}

static int keep_asked(void) {
  const char *keep = getenv("PRSVD_KEEP_BINDING");
  return keep && *keep && strcmp(keep, "0") != 0;
}

void prsvd_binding_widen(int node_ranks, struct prsvd_binding *out) {
  /* once a process: a later choice (svd after info's plan, K-FAC's solvers) reports the same */
  static int done;
  static struct prsvd_binding result;
  if (!done) {
    const char *local = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
    cpu_set_t mine, wide;
    pid_t daemon;
    done = 1;
    if (node_ranks == 1 && local && strcmp(local, "1") == 0 && !getenv("SLURM_JOB_ID") &&
        !getenv("SLURM_JOBID") && open_mpi_default_binding() &&
        sched_getaffinity(0, sizeof mine, &mine) == 0) {
      result.from = CPU_COUNT(&mine);
      if (keep_asked())
        result.kept = 1;
      else if ((daemon = launcher()) > 0 && sched_getaffinity(daemon, sizeof wide, &wide) == 0 &&
               CPU_COUNT(&wide) > result.from && sched_setaffinity(0, sizeof wide, &wide) == 0)
        result.to = CPU_COUNT(&wide);
      else
        result.from = 0; /* nothing wider to give */
    }
  }
  *out = result;
}
