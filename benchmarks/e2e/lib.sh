# Shared by run.sh and instructions.sh (sourced): building the servers,
# the secret the requests are signed with, and each server's command.
#
# Servers: none, middleware, middleware-nocors, golang-jwt (benchmarks/e2e)
# and posbackend (examples/posbackend). With BEFORE=<git revision>, the
# same servers built from that revision are available as NAME@before
# (middleware@before, posbackend@before, ...), to compare a change with
# what it replaces in one run: on a shared machine, numbers from two runs
# differ by more than most changes do.

# e2e_build OUT: builds the servers into OUT (and, with BEFORE, those of
# that revision into OUT/before).
e2e_build() {
  local out=$1
  (cd "$root/benchmarks" && go build -o "$out/e2e" ./e2e)
  (cd "$root/examples" && go build -o "$out/posbackend" ./posbackend)
  if [ -n "${BEFORE:-}" ]; then
    local src=$out/before-src
    rm -rf "$src" && mkdir -p "$src" "$out/before"
    git -C "$root" archive "$BEFORE" | tar -x -C "$src"
    (cd "$src/benchmarks" && go build -o "$out/before/e2e" ./e2e)
    (cd "$src/examples" && go build -o "$out/before/posbackend" ./posbackend)
    echo "servers NAME@before: built from $BEFORE ($(git -C "$root" rev-parse --short "$BEFORE"))" >&2
  fi
}

# e2e_secret: sets secret and client, the secret and client ID of
# benchmarks/internal/peers, which the requests' tokens are signed for.
e2e_secret() {
  secret=$(sed -n 's/^\tSecret *= "\(.*\)"$/\1/p' "$root/benchmarks/internal/peers/peers.go")
  client=$(sed -n 's/^\tClientID *= "\(.*\)"$/\1/p' "$root/benchmarks/internal/peers/peers.go")
  [ -n "$secret" ] && [ -n "$client" ] || { echo "e2e: cannot read the secret and client ID from peers.go" >&2; exit 1; }
}

# server_cmd OUT NAME: sets cmd to the command that serves NAME on a free
# port of 127.0.0.1 and prints "listening on URL" (posbackend reads the
# secret from E2E_SECRET).
server_cmd() {
  local bin=$1 name=$2
  case $name in
  *@before)
    [ -n "${BEFORE:-}" ] || { echo "e2e: $name needs BEFORE=<git revision>" >&2; exit 1; }
    bin=$1/before name=${name%@before}
    ;;
  esac
  case $name in
  posbackend) cmd=("$bin/posbackend" -client-id "$client" -secret-env E2E_SECRET -addr 127.0.0.1:0) ;;
  *) cmd=("$bin/e2e" serve -server "$name") ;;
  esac
}

# e2e_stop: stops the server whose process ID is pid, if any.
e2e_stop() {
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=""
  fi
}

# e2e_await_url LOG TRIES: waits until the server's LOG says "listening
# on URL", up to TRIES times 0.1 s; sets url, and fails if it never did.
e2e_await_url() {
  url=""
  for _ in $(seq "$2"); do
    url=$(sed -n 's/^listening on //p' "$1")
    [ -n "$url" ] && return 0
    sleep 0.1
  done
  return 1
}
