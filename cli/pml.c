/* Open MPI's point-to-point layer for a launch that has no peer off its node.
 *
 * Left to choose, Open MPI 4 first tries its cm layer, whose transports (libfabric's
 * providers) take 0.2 s to probe at every start and then decline on a machine without a
 * fabric; ob1 is what it settles on.  A lone process (no launcher) or ranks that mpirun
 * placed all on one node have nothing to reach over a fabric, so ob1 (shared memory and
 * self) is what they would get at best: name it before MPI_Init.  A choice the user made is
 * kept: OMPI_MCA_pml in the environment (even empty), or a pml line (other than an exclusion
 * that leaves ob1 in) in an MCA parameter file Open MPI reads (OMPI_MCA_mca_base_param_files, else ~/.openmpi/mca-params.conf and
 * the system file).  Ranks spread over nodes, and launchers other than mpirun (srun), keep
 * Open MPI's own choice. */
#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

/* 1 if the MCA parameter file at path chooses the pml: a line "pml = LIST" that is not an
 * exclusion leaving ob1 in (Debian's system file says "pml = ^ucx"); unreadable: 0 */
static int file_names_pml(const char *path) {
  /* a regular file only: a FIFO or device named there must not block or be read */
  const int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  struct stat st;
  if (fd < 0) return 0;
  FILE *f = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? fdopen(fd, "r") : NULL;
  if (!f) {
    close(fd);
    return 0;
  }
  char line[4096];
  int found = 0;
  while (!found && fgets(line, sizeof line, f)) {
    const char *s = line;
    while (isspace((unsigned char)*s)) s++;
    if (strncmp(s, "pml", 3) == 0) {
      s += 3;
      while (*s == ' ' || *s == '\t') s++;
      if (*s++ != '=') continue;
      while (*s == ' ' || *s == '\t') s++;
      found = *s != '^' || strstr(s, "ob1") != NULL;
    }
  }
  fclose(f);
  return found;
}

static int files_name_pml(void) {
  const char *list = getenv("OMPI_MCA_mca_base_param_files");
  if (list) { /* colon-separated; "none" reads none */
    char path[PATH_MAX];
    for (const char *s = list; *s;) {
      size_t n = strcspn(s, ":");
      if (n && n < sizeof path) {
        memcpy(path, s, n);
        path[n] = '\0';
        if (file_names_pml(path)) return 1;
      }
      s += n + (s[n] == ':');
    }
    return 0;
  }
  const char *home = getenv("HOME");
  char path[PATH_MAX];
  if (home && snprintf(path, sizeof path, "%s/.openmpi/mca-params.conf", home) < (int)sizeof path &&
      file_names_pml(path))
    return 1;
  const char *prefix = getenv("OPAL_PREFIX");
  if (prefix && snprintf(path, sizeof path, "%s/etc/openmpi-mca-params.conf", prefix) < (int)sizeof path &&
      file_names_pml(path))
    return 1;
  return file_names_pml("/etc/openmpi/openmpi-mca-params.conf") ||
         file_names_pml("/etc/openmpi-mca-params.conf");
}

/* 1 if this process has no peer off its node: no launcher at all, or Open MPI's mpirun with
 * every rank on this node */
static int on_one_node(void) {
  static const char *const other[] = {"PMIX_RANK", "PMI_RANK", "SLURM_PROCID", "PMI_SIZE"};
  const char *size = getenv("OMPI_COMM_WORLD_SIZE"), *local = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
  if (size) return local && strcmp(size, local) == 0 && atoi(size) > 0;
  for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
    if (getenv(other[i])) return 0;
  return 1;
}

void prsvd_cli_pick_pml(void) {
#ifdef OMPI_MAJOR_VERSION
  if (getenv("OMPI_MCA_pml") || !on_one_node() || files_name_pml()) return;
  setenv("OMPI_MCA_pml", "ob1", 0);
#endif
}
