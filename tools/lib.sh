# Shared by tools/demo and tools/check: everything a fresh Debian machine
# needs before mcring builds — packages, then meson configure, then build.
# Sourced, not run.

MCRING_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Build and test dependencies, all from Debian.
MCRING_PACKAGES=(
  gcc g++ pkg-config meson ninja-build
  liburcu-dev libck-dev libmsgpack-dev libjansson-dev libssl-dev
  libzstd-dev zlib1g-dev
  libcriterion-dev memcached
  python3 python3-swift python3-pymemcache python3-prometheus-client
  libmemcached-dev nutcracker openssl
  clang libclang-rt-14-dev valgrind gnuplot-nox
  libuv1-dev libevent-dev
  abigail-tools
)

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

ensure_packages() {
  local missing=() p
  for p in "${MCRING_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' \
      || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "mcring needs these Debian packages; install them with:" >&2
    echo "  sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends "${missing[@]}"; then
    apt-get update
    apt-get install -y --no-install-recommends "${missing[@]}"
  fi
}

# configure_build DIR [meson options...]: configure once, then build
# (only $MCRING_TARGETS when set).
configure_build() {
  local dir=$1
  shift
  cd "$MCRING_ROOT"
  if [ ! -f "$dir/build.ninja" ]; then
    say "configuring $dir"
    meson setup "$dir" "$@"
  fi
  say "building $dir"
  ninja -C "$dir" ${MCRING_TARGETS:-}
}

# build_old_tree REV TARGET...: builds TARGETs (ninja names) of mcring as it
# was at git revision REV, from a snapshot of that tree (no checkout), in
# build-old/<short rev>/build; prints that build directory. For the
# benchmarks' before-and-after comparisons.
build_old_tree() {
  local rev dir
  rev=$(git -C "$MCRING_ROOT" rev-parse --short "$1")
  shift
  dir="$MCRING_ROOT/build-old/$rev"
  if [ ! -f "$dir/build/build.ninja" ]; then
    say "configuring the tree of $rev in $dir" >&2
    rm -rf "$dir"
    mkdir -p "$dir/src"
    git -C "$MCRING_ROOT" archive "$rev" | tar -x -C "$dir/src"
    meson setup "$dir/build" "$dir/src" >/dev/null
  fi
  ninja -C "$dir/build" "$@" >/dev/null
  echo "$dir/build"
}

# A free loopback TCP port (bound and released by the kernel's choice).
free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_memcached PORT [args...]: starts a memcached that dies with us.
start_memcached() {
  local port=$1
  shift
  local user=()
  [ "$(id -u)" -eq 0 ] && user=(-u root)
  memcached "${user[@]}" -l 127.0.0.1 -p "$port" -U 0 "$@" &
  MCRING_STARTED_PIDS+=("$!")
  local i
  for i in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "memcached on port $port did not start" >&2
  return 1
}

stop_started() {
  local pid
  for pid in "${MCRING_STARTED_PIDS[@]}"; do
    kill "$pid" 2>/dev/null
  done
  wait 2>/dev/null
  MCRING_STARTED_PIDS=()
}
MCRING_STARTED_PIDS=()
