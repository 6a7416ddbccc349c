#!/usr/bin/env bash
# tools/with-postgres.sh CMD [ARG...]: run CMD beside a fresh PostgreSQL cluster (tools/pgcluster.sh),
# with PINFRAME_TEST_DATABASE_URL (its URL) and PINFRAME_TEST_PGCLUSTER (its directory, for
# `tools/pgcluster.sh stop|start` from a test) exported. The cluster is stopped and removed when CMD
# ends, however it ends; the exit status is CMD's.
set -euo pipefail

[ $# -ge 1 ] || { echo "usage: $0 CMD [ARG...]" >&2; exit 2; }

here=$(cd "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
dir=$(mktemp -d /tmp/pinframe-pg.XXXXXX)
trap '"$here/pgcluster.sh" destroy "$dir" || echo "$0: could not remove the cluster in $dir" >&2' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

url=$("$here/pgcluster.sh" start "$dir")
export PINFRAME_TEST_DATABASE_URL=$url
export PINFRAME_TEST_PGCLUSTER=$dir
echo "PostgreSQL for the tests: $url (cluster in $dir)" >&2

status=0
"$@" || status=$?
exit "$status"
