#!/bin/sh
# Container entry point: apply database migrations (retried, because the API and the
# worker start at the same time as PostgreSQL), then replace this shell with the command.
set -eu

attempt=1
until event-dedup migrate; do
  if [ "$attempt" -ge 3 ]; then
    echo "migrations failed after $attempt attempts" >&2
    exit 1
  fi
  attempt=$((attempt + 1))
  sleep 2
done

exec "$@"
