#!/bin/sh
# Write the man page prsvd.1.  The commands and every command's options and examples come
# from the program itself (prsvd --help, and prsvd CMD --help=man, printed from the option
# tables that parse the command line), so the man page and --help cannot disagree; the
# prose sections are here.  tests/cli/test_help.py checks that groff renders it without
# a warning and that its EXIT STATUS names the codes `prsvd --help` names.
#   tools/man.sh ./prsvd [PKGDATADIR] > prsvd.1
# PKGDATADIR is where `make install` puts the SLURM templates (default /usr/local/share/prsvd).
set -eu
prsvd=$1
pkgdatadir=${2:-/usr/local/share/prsvd}
version=$("$prsvd" --version 2>/dev/null | head -1 | cut -d' ' -f2)
# the commands: the lines of `prsvd --help` between "commands:" and the blank line after them
commands=$("$prsvd" --help | sed -n '/^commands:/,/^$/s/^  \([a-z][a-z]*\)  *\(.*\)$/\1 \2/p')
# a line of text for roff: backslashes, leading dots and quotes, and dashes as \-
roff() { sed -e 's/\\/\\e/g' -e 's/-/\\-/g' -e 's/^\./\\\&./' -e "s/^'/\\\\\&'/"; }

cat <<EOT
.TH PRSVD 1 "" "prsvd $version" "User Commands"
.nh
.SH NAME
prsvd \- randomized truncated SVD, PCA and eigendecompositions of matrices streamed from HDF5
.SH SYNOPSIS
.B prsvd
.I COMMAND
.RI [ options ]
.br
.B mpirun \-n
.I P
.B prsvd
.I COMMAND
.RI [ options ]
.br
.B prsvd
.I COMMAND
.B \-\-help
.br
.B prsvd \-\-version
.SH DESCRIPTION
.B prsvd
computes the leading singular values and vectors (\fBsvd\fR), principal components
(\fBpca\fR), eigenpairs of symmetric matrices (\fBeig\fR), and interpolative and CUR
decompositions built from k of the matrix's own columns and rows (\fBid\fR, \fBcur\fR) of a
2\-D dataset too large for memory.
It streams the dataset from an HDF5 file in row panels of a per\-rank memory budget
(\fB\-\-memory\fR) through randomized sketches, on one process or on many MPI ranks, each
reading only its own rows; the result does not depend on the number of ranks.
The same machinery inverts the Kronecker factors of the K\-FAC optimizer (\fBkfac\fR).
.PP
A dataset is named \fIFILE\fR\fB:\fR\fI/path/to/dataset\fR, split at the last colon
that is followed by a slash.
It may be a dense dataset of any integer or float type (chunked or contiguous, compressed
or not), a NetCDF\-4 variable (unpacked, missing values refused), or a sparse group:
AnnData \fB.h5ad\fR CSR or CSC, a 10x Genomics feature\-barcode matrix, MATLAB v7.3
sparse.
\fBprsvd import\fR converts idx and \fB.npy\fR files.
.PP
Outputs are HDF5 files written collectively into a temporary file beside the output
and renamed into place only when complete; an existing output is refused unless
\fB\-\-force\fR is given, and stays intact if the run fails.
Errors go to standard error as \fBprsvd: error:\fR followed by what went wrong, naming
the file, dataset, row or option.
.PP
Under MPI, start the program with \fBmpirun\fR (or \fBsrun \-\-mpi=pmix\fR under SLURM).
Open MPI refuses to run as root unless \fBOMPI_ALLOW_RUN_AS_ROOT=1\fR and
\fBOMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1\fR are set (the test scripts and \fBtools/demo\fR set
them).
.SH COMMANDS
EOT
echo "$commands" | while read -r cmd summary; do
  printf '.TP\n.B %s\n%s\n' "$cmd" "$(echo "$summary" | roff)"
done
cat <<'EOT'
.SH OPTIONS
Each command takes only the options listed under it; any other option is a usage error
(exit 1).
Every command also takes \fB\-h\fR, \fB\-\-help\fR.
\fISIZE\fR is a number of bytes with an optional K, M, G or T suffix (powers of 1024).
Options take their value as the next argument or after \fB=\fR
(\fB\-\-memory=1G\fR); short options also joined (\fB\-k10\fR).
EOT
echo "$commands" | while read -r cmd summary; do
  "$prsvd" "$cmd" --help=man
done
cat <<'EOT'
.SH EXAMPLES
A test matrix with a planted spectrum, its rank\-10 SVD on 2 ranks, and a check of the
result against the planted singular values:
.PP
.nf
prsvd gen test.h5:/A \-\-rows 20000 \-\-cols 1000 \-\-spectrum poly \-\-decay 1
mpirun \-n 2 prsvd svd test.h5:/A \-k 10 \-o svd.h5
mpirun \-n 2 prsvd verify test.h5:/A svd.h5
.fi
.PP
Principal components of an AnnData file's cells \(mu genes matrix (CSR \fB/X\fR),
centered without densifying, and the explained variance ratios:
.PP
.nf
mpirun \-n 4 prsvd pca cells.h5ad:/X \-k 50 \-\-scores \-o pca.h5
h5dump \-d /explained_variance_ratio pca.h5
.fi
.PP
Empirical orthogonal functions of a NetCDF\-4 variable stored time \(mu space
(a 2\-D variable, its first dimension the rows); the EOFs are \fB/components\fR:
.PP
.nf
prsvd pca era5.nc:/t2m \-k 10 \-o eofs.h5
.fi
.PP
The rank for an accuracy, in a run that survives a time limit: SIGUSR1 (or SIGTERM)
saves a checkpoint and exits 99, and the same command resumes it:
.PP
.nf
mpirun \-n 8 prsvd svd big.h5:/X \-\-tol 1e\-3 \-\-passes 3 \-\-max\-rank 500 \e
  \-\-checkpoint big.ckpt \-o svd.h5
.fi
.PP
Damped inverses of K\-FAC factors (one group per layer holding \fBA\fR and \fBG\fR):
.PP
.nf
mpirun \-n 4 prsvd kfac factors.h5 \-k 64 \-\-damping 0.1 \-o inverses.h5
.fi
.SH "EXIT STATUS"
.TP
.B 0
success
.TP
.B 1
usage: an unknown option, a bad value or SIZE, k out of range, a missing argument
.TP
.B 2
bad input: a missing or non\-HDF5 file, a missing dataset, a group instead of a dataset,
not 2\-D, an unsupported type, a malformed \fIFILE\fB:\fI/DS\fR, NaN, Inf or a NetCDF
missing value (with its row and column), unreadable rows; a checkpoint that does not
match the run
.TP
.B 3
output: it exists without \fB\-\-force\fR, its directory is missing or not writable, the
write failed
.TP
.B 4
a factorization failed numerically
.TP
.B 5
MPI, BLACS or ScaLAPACK failed (also: the launcher started separate copies instead of one
MPI job)
.TP
.B 6
out of memory
.TP
.B 7
internal error (a bug: please report it with the \fB\-\-debug\fR output)
.TP
.B 8
\fB\-\-tol\fR not reached within \fB\-\-max\-rank\fR: the partial result is written and
labelled \fBtol_met\fR = 0
.TP
.B 99
checkpointed on request (\fB\-\-checkpoint\fR): rerun the same command to resume
.TP
.B 130, 143
interrupted by SIGINT or SIGTERM: the temporary output is removed and nothing is written,
unless the signal came after the output was renamed into place, which the message then
says
.TP
.B 138
SIGUSR1 without \fB\-\-checkpoint\fR: the temporary output is removed
.PP
Under MPI the error of the lowest failing rank reaches every rank, prefixed with
\fBrank\fR \fIR\fB:\fR, and every rank exits with the same code, which mpirun returns.
.SH ENVIRONMENT
.TP
.B OMPI_MCA_ess_singleton_isolated
Open MPI's isolated singleton; unset (and with no \fBorte_top_session_dir\fR or
\fBorte_tmpdir_base\fR chosen), a process started without a launcher sets it to 1, with a
session directory of its own, so that Open MPI forks no daemon beside it
.TP
.B OMPI_MCA_pml
Open MPI's point\-to\-point layer; unset (and named in no MCA parameter file), a process
with no peer off its node names \fBob1\fR itself, sparing the 0.2 s probe of \fBcm\fR at
every start
.TP
.B PRSVD_FASHION_MNIST
the directory holding the Fashion\-MNIST idx files for \fBprsvd import fashion\-mnist\fR
(default \fI/usr/share/datasets/fashion\-mnist\fR, Debian's dataset\-fashion\-mnist)
.TP
.B PRSVD_KEEP_BINDING
set to 1: keep Open MPI's default binding of a rank alone on its node (one core under
\fBmpirun \-n 1\fR) instead of widening it to the CPUs of mpirun
.TP
.B PRSVD_NO_READAHEAD
set to 1: no \fBposix_fadvise\fR(2) advice on the next panel's compressed chunks
(\fB\-\-read posix\fR)
.TP
.B PRSVD_QR_HOUSEHOLDER
set (to anything): orthonormalize every sketch by Householder QR (ScaLAPACK PDGEQRF)
instead of CholeskyQR2, a diagnostic
.TP
.BR SLURM_JOB_ID ", " SLURM_STEP_ID ", " SLURM_STEP_NUM_TASKS ", " SLURM_NTASKS
inside a SLURM job step, prsvd checks at start\-up that the MPI world size equals the
step's task count and stops copies started without a matching PMI (exit 5)
.TP
.B OPENBLAS_NUM_THREADS
read by OpenBLAS: the BLAS threads of each rank (the SLURM templates set one per CPU
but one, which the reader thread takes)
.TP
.BR OMPI_ALLOW_RUN_AS_ROOT ", " OMPI_ALLOW_RUN_AS_ROOT_CONFIRM
read by Open MPI's mpirun: both 1 to run as root
EOT
cat <<EOT
.SH FILES
.TP
.I .OUT.h5.tmp.PID
the temporary beside an output \fIOUT.h5\fR while it is written; renamed to
\fIOUT.h5\fR when complete, removed on failure or a signal
.TP
.I FILE
of \fB\-\-checkpoint\fR \fIFILE\fR: the state of the passes, written through a temporary
and a rename, removed once the output is written
.TP
.I $(echo "$pkgdatadir" | roff)/slurm/
batch templates for SLURM: \fBprsvd.sbatch\fR, \fBprsvd\-requeue.sbatch\fR (checkpoint
and requeue at the time limit), \fBprsvd\-array.sbatch\fR (one matrix per array task)
.SH "SEE ALSO"
.BR mpirun (1),
.BR srun (1),
.BR sbatch (1),
.BR h5dump (1),
.BR nccopy (1)
.PP
In the source distribution: README.md, docs/usage.md, docs/options.md (the options of
this page as tables), docs/formats.md, docs/algorithms.md, docs/kfac.md,
docs/performance.md.
EOT
