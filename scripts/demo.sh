#!/bin/sh
# demo.sh - the tour `make demo` runs.
set -eu
S=build/sockit
echo "== sockit serve --list"
$S serve --list
