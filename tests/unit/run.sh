#!/bin/sh
# Serial Check suites.
exec "$top_builddir/tests/unit/test_unit"
