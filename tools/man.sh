#!/bin/sh
# Write prsvd.1 from the program's own --help texts (which come from the option tables), so
# the man page and --help cannot disagree.  Usage: tools/man.sh ./prsvd > prsvd.1
set -eu
prsvd=$1
version=$("$prsvd" --version 2>/dev/null | head -1 | cut -d' ' -f2)
esc() { sed -e 's/\\/\\e/g' -e 's/^\./\\\&./' -e "s/^'/\\\\\&'/"; }
cat <<EOT
.TH PRSVD 1 "" "prsvd $version" "User Commands"
.SH NAME
prsvd \- randomized truncated SVD, PCA and eigendecompositions of matrices streamed from HDF5
.SH SYNOPSIS
.B prsvd
.I COMMAND
[options]
.br
.B mpirun \-n
.I P
.B prsvd
.I COMMAND
[options]
.SH DESCRIPTION
.nf
EOT
"$prsvd" --help | esc
for cmd in $("$prsvd" --help | sed -n 's/^  \([a-z]*\)  .*/\1/p'); do
  printf '.fi\n.SH "prsvd %s"\n.nf\n' "$cmd"
  "$prsvd" "$cmd" --help | esc
done
printf '.fi\n.SH SEE ALSO\nREADME.md in the source distribution.\n'
