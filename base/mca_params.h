/* Open MPI's MCA parameter files, read without MPI: what a launched process will find there
 * before MPI_Init, and without MPI_T's cost after it (its first call registers every
 * component of every framework: 0.2 s here). */
#ifndef PRSVD_MCA_PARAMS_H
#define PRSVD_MCA_PARAMS_H

/* 1 if some MCA parameter file that Open MPI reads gives the parameter `name` a value for
 * which pred(value) is nonzero (the value with its surrounding blanks removed), else 0.  The
 * files: those of OMPI_MCA_mca_base_param_files (colon-separated) when it is set, else
 * ~/.openmpi/mca-params.conf, $OPAL_PREFIX/etc/openmpi-mca-params.conf and the system's
 * (/etc/openmpi/, /etc/); only regular files are read (a FIFO or a device named there is not
 * opened for reading), unreadable ones are skipped.  The environment (OMPI_MCA_name) is the
 * caller's to check: it overrides the files. */
int prsvd_mca_files_any(const char *name, int (*pred)(const char *value));
/* The value the environment gives the parameter `name` (OMPI_MCA_name, which overrides the
 * files; it may be empty), or NULL. */
const char *prsvd_mca_env(const char *name);

#endif
