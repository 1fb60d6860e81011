/*
 * Start-up check under SLURM: did the launcher give every task it started one MPI world?
 *
 * With an MPI that cannot talk to srun's process-management plugin (e.g. srun --mpi=none
 * with MPICH, or `srun -n P mpirun -n 1 prsvd ...`), srun starts P separate single-rank
 * copies of prsvd.  Each would read the whole matrix and race to write the same output.
 * prsvd_check_slurm_world() detects this right after MPI_Init, before any command runs.
 */
#ifndef PRSVD_SLURM_CHECK_H
#define PRSVD_SLURM_CHECK_H

#include <mpi.h>

/* Collective over comm.  Returns PRSVD_OK, or PRSVD_ERR_MPI with the message set through
 * prsvd_error_set (the same code and message on every rank of comm).
 *
 * The check applies to processes that srun launched as tasks of a job step: SLURM_JOB_ID
 * (or SLURM_JOBID) and SLURM_STEP_ID (or SLURM_STEPID) are set.  The expected world size is
 * the step's task count: SLURM_STEP_NUM_TASKS, else SLURM_NTASKS, else SLURM_NPROCS (srun
 * sets SLURM_NTASKS to the step's count in each task).  It does not apply to
 *  - the batch script itself and programs it starts directly or through mpirun: there
 *    SLURM_NTASKS is the allocation's size (sbatch -n), and a smaller world (`prsvd info`
 *    run directly, `mpirun -n 1`) is a legitimate choice.  These have no SLURM_STEP_ID.
 *  - a multi-rank world made by mpirun (OMPI_COMM_WORLD_SIZE or PMI_SIZE equals the world
 *    size > 1): on other nodes Open MPI starts its daemons with srun, whose step counts
 *    daemons, not ranks.  A single-rank world is still checked: `srun -n 2 mpirun -n 1`
 *    starts two copies. */
int prsvd_check_slurm_world(MPI_Comm comm);

#endif
