# shellcheck shell=bash
# Sourced by the dev service scripts: free TCP ports on 127.0.0.1 that stay stable across restarts.

# Picks a TCP port on 127.0.0.1 that is free right now.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# SO_REUSEADDR like the servers themselves: a port that only has TIME_WAIT
# connections left from the last run is free for them, a listening one is not.
port_is_free() {
    python3 - "$1" <<'PY'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
PY
}

# Reuses the port remembered in file $1 while it is still free, so URLs stay stable
# across restarts; otherwise picks (and remembers) a new one.
pick_port() {
    local file=$1 port=""
    [[ -s $file ]] && port=$(<"$file")
    if [[ -z $port ]] || ! port_is_free "$port"; then
        port=$(free_port)
        echo "$port" >"$file"
    fi
    echo "$port"
}
