#!/bin/sh
# A service name runs that service under nameko; anything else runs as given.
set -e
case "$1" in
  intake|preservation|isp_liaison|mla|notification|timeline|gateway)
    exec nameko run --config /app/infra/nameko.yaml "services.$1.service" ;;
  *)
    exec "$@" ;;
esac
