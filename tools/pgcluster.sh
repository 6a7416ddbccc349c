#!/usr/bin/env bash
# A throwaway PostgreSQL cluster in one directory, for the tests and the bench.
#
#   tools/pgcluster.sh start DIR                   initdb when DIR/data is missing, start, print the URL
#   tools/pgcluster.sh stop DIR [fast|immediate]   stop (default fast); nothing to do when not running
#   tools/pgcluster.sh destroy DIR                 stop (immediate) when running, then remove DIR
#   tools/pgcluster.sh status DIR                  exit 0 when running, 1 when not
#
# DIR holds data/ (the cluster), log (the server's log), port (the TCP port, picked once so that a
# restart keeps the URL), url (postgres://pinframe@127.0.0.1:PORT/postgres) and the server's Unix
# socket. The superuser is `pinframe`, with trust authentication, listening on 127.0.0.1 only.
# The server also speaks TLS (plain connections still work): made once with openssl, ca.crt and
# ca.key are a throwaway CA and server.crt and server.key (owner-only) its certificate for 127.0.0.1
# and localhost, so `?sslmode=verify-full&sslrootcert=DIR/ca.crt` on the URL verifies the server.
# initdb and postgres refuse to run as root: as root they run as the `postgres` system user, which
# must be able to reach DIR (use a directory under /tmp, not under /root). PostgreSQL's binaries come
# from PINFRAME_PG_BINDIR, else the newest /usr/lib/postgresql/*/bin (Debian), else PATH.
set -euo pipefail

usage() {
	echo "usage: $0 start DIR | stop DIR [fast|immediate] | destroy DIR | status DIR" >&2
	exit 2
}

[ $# -ge 2 ] || usage
cmd=$1
[ -n "$2" ] || usage
dir=$(realpath -m -- "$2")
data=$dir/data

bindir=${PINFRAME_PG_BINDIR:-}
if [ -z "$bindir" ]; then
	for d in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -t/ -k5,5 -n -r); do
		if [ -x "$d/initdb" ]; then bindir=$d; break; fi
	done
fi
if [ -z "$bindir" ]; then
	initdb_path=$(command -v initdb || true)
	[ -n "$initdb_path" ] || { echo "$0: PostgreSQL's initdb not found (install Debian's postgresql, or set PINFRAME_PG_BINDIR)" >&2; exit 1; }
	bindir=$(dirname -- "$initdb_path")
fi

# Runs a PostgreSQL binary as the user that owns the cluster, from a directory that user can reach
# (pg_ctl and initdb fail when they cannot read the current directory).
pg() {
	local prog=$bindir/$1
	shift
	if [ "$(id -u)" = 0 ]; then
		(cd / && runuser -u postgres -- "$prog" "$@")
	else
		(cd / && "$prog" "$@")
	fi
}

running() {
	[ -f "$data/PG_VERSION" ] && pg pg_ctl -D "$data" status >/dev/null 2>&1
}

# A free TCP port on 127.0.0.1, below Linux's ephemeral range so that outgoing connections made
# meanwhile (the tests make many) do not take it before a restart.
free_port() {
	python3 - <<'EOF'
import random, socket
ports = list(range(20000, 32000))
random.shuffle(ports)
for port in ports:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        print(port)
        break
else:
    raise SystemExit("no free port")
EOF
}

# The throwaway CA (DIR/ca.crt, DIR/ca.key) and the server's certificate signed by it (DIR/server.crt,
# DIR/server.key, for IP 127.0.0.1 and DNS localhost), both P-256 and valid for ten years. The keys
# are owner-only and, as root, owned by postgres (the server refuses a key others can read).
make_tls() {
	local ext
	ext=$(printf '%s\n' \
		'[ca]' 'basicConstraints = critical, CA:TRUE' 'keyUsage = critical, keyCertSign, cRLSign' \
		'subjectKeyIdentifier = hash' \
		'[server]' 'basicConstraints = critical, CA:FALSE' 'keyUsage = critical, digitalSignature' \
		'extendedKeyUsage = serverAuth' 'subjectAltName = IP:127.0.0.1, DNS:localhost' \
		'subjectKeyIdentifier = hash' 'authorityKeyIdentifier = keyid')
	rm -f -- "$dir/ca.crt" "$dir/ca.key" "$dir/server.crt" "$dir/server.key"
	local out
	if ! out=$(
		exec 2>&1
		umask 077
		key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
		key "$dir/ca.key" && key "$dir/server.key" \
			&& openssl req -new -key "$dir/ca.key" -subj "/CN=pinframe test CA" \
			| openssl x509 -req -signkey "$dir/ca.key" -days 3650 -extfile <(echo "$ext") -extensions ca \
				-out "$dir/ca.crt" \
			&& openssl req -new -key "$dir/server.key" -subj "/CN=127.0.0.1" \
			| openssl x509 -req -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
				-days 3650 -extfile <(echo "$ext") -extensions server -out "$dir/server.crt"
	); then
		echo "$0: openssl could not make the cluster's TLS certificates:" >&2
		echo "$out" >&2
		exit 1
	fi
	chmod 0644 -- "$dir/ca.crt" "$dir/server.crt"
	if [ "$(id -u)" = 0 ]; then
		chown postgres: -- "$dir/ca.crt" "$dir/ca.key" "$dir/server.crt" "$dir/server.key"
	fi
}

start() {
	if [ ! -f "$data/PG_VERSION" ]; then
		mkdir -p -- "$dir"
		chmod 0700 -- "$dir"
		if [ "$(id -u)" = 0 ]; then
			chown postgres: -- "$dir"
			runuser -u postgres -- test -x "$dir" \
				|| { echo "$0: the postgres user cannot reach $dir; use a directory under /tmp" >&2; exit 1; }
		fi
		rm -rf -- "$data"
		pg initdb -D "$data" -A trust -U pinframe --encoding=UTF8 --no-locale --no-instructions >"$dir/initdb.log" 2>&1 \
			|| { cat "$dir/initdb.log" >&2; exit 1; }
		rm -f -- "$dir/initdb.log"
	fi
	if [ ! -s "$dir/ca.crt" ] || [ ! -s "$dir/server.crt" ] || [ ! -s "$dir/server.key" ]; then
		make_tls
	fi
	if [ ! -s "$dir/port" ]; then
		free_port >"$dir/port"
	fi
	local port
	port=$(cat "$dir/port")
	local url="postgres://pinframe@127.0.0.1:$port/postgres"
	if ! running; then
		if [ "$(id -u)" = 0 ]; then
			touch "$dir/log" && chown postgres: "$dir/log"
		fi
		pg pg_ctl -D "$data" -w -t 60 -l "$dir/log" \
			-o "-k '$dir' -p $port -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on -c max_connections=200 -c ssl=on -c ssl_cert_file='$dir/server.crt' -c ssl_key_file='$dir/server.key'" \
			start >/dev/null \
			|| { echo "$0: PostgreSQL did not start; the end of $dir/log:" >&2; tail -n 20 "$dir/log" >&2; exit 1; }
	fi
	echo "$url" >"$dir/url"
	echo "$url"
}

stop() {
	local mode=${1:-fast}
	case $mode in fast | immediate) ;; *) usage ;; esac
	if running; then
		pg pg_ctl -D "$data" -m "$mode" -w -t 60 stop >/dev/null
	fi
}

# Only what start makes may be in DIR, so that a wrong argument cannot remove anything else.
destroy() {
	[ -e "$dir" ] || return 0
	local entry
	for entry in "$dir"/* "$dir"/.[!.]*; do
		[ -e "$entry" ] || continue
		case ${entry##*/} in
			data | log | port | url | initdb.log | .s.PGSQL.* | ca.crt | ca.key | server.crt | server.key) ;;
			*) echo "$0: $dir holds ${entry##*/}, which is not a cluster's; not removing it" >&2; exit 1 ;;
		esac
	done
	stop immediate
	rm -rf -- "$dir"
}

case $cmd in
	start) [ $# -eq 2 ] || usage; start ;;
	stop) [ $# -le 3 ] || usage; stop "${3:-fast}" ;;
	destroy) [ $# -eq 2 ] || usage; destroy ;;
	status) [ $# -eq 2 ] || usage; if running; then exit 0; else exit 1; fi ;;
	*) usage ;;
esac
