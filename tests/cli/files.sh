#!/bin/sh
# files.sh TEST...: run tests/cli/TEST.py one after the other with Debian's python3; each
# prints "ok"/"not ok" lines and ends with "N passed, M failed"; the seconds each file took
# follow it, to keep the suite's time in view.
status=0
for t in "$@"; do
  echo "# $t"
  start=$(date +%s)
  /usr/bin/python3 "$top_srcdir/tests/cli/$t.py" || status=1
  echo "# $t: $(($(date +%s) - start)) s"
done
exit $status
