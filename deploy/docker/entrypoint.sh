#!/bin/sh
# Entry point of the hub image: `hub <args>`, after loading secrets from files.
#
# For every variable FILE__<NAME>=<path>, export <NAME> with the file's content, e.g.
# FILE__HUB_PSEUDONYM_KEYS__MSN=/run/secrets/pseudonym-key-msn. Secrets thus reach the
# hub's settings without ever being written in a compose file or a manifest.
set -eu
for pair in $(env | sed -n 's/^FILE__\([A-Z0-9_]*\)=.*/\1/p'); do
  path="$(printenv "FILE__$pair")"
  if [ ! -r "$path" ]; then
    echo "hub-entrypoint: secret file $path for $pair is not readable" >&2
    exit 2
  fi
  value="$(cat "$path")"
  export "$pair=$value"
  unset "FILE__$pair"
done
exec hub "$@"
