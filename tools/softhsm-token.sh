#!/bin/sh
# Makes a fresh SoftHSM2 token for tests and local trials: DIR/softhsm2.conf (its token directory
# is DIR/tokens), DIR/pin (the user PIN, owner-only) and a token labelled LABEL. Prints the
# environment a pinframe command needs to use it. Nothing outside DIR is touched.
#   usage: tools/softhsm-token.sh DIR LABEL
set -eu
[ $# -eq 2 ] || { echo "usage: $0 DIR LABEL" >&2; exit 2; }
dir=$1 label=$2
module=${PINFRAME_PKCS11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
[ -f "$module" ] || { echo "$module is missing: apt-get install softhsm2 (make deps does)" >&2; exit 1; }
mkdir -p "$dir/tokens"
chmod 700 "$dir" "$dir/tokens"
dir=$(cd "$dir" && pwd)
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n' "$dir" > "$dir/softhsm2.conf"
umask 077
random() { od -An -N12 -tx1 /dev/urandom | tr -d ' \n'; }
pin=$(random)
printf '%s\n' "$pin" > "$dir/pin"
SOFTHSM2_CONF="$dir/softhsm2.conf" softhsm2-util --init-token --free --label "$label" --pin "$pin" --so-pin "$(random)" >/dev/null
echo "SOFTHSM2_CONF=$dir/softhsm2.conf"
echo "PINFRAME_KEY_STORE=pkcs11"
echo "PINFRAME_PKCS11_MODULE=$module"
echo "PINFRAME_PKCS11_TOKEN=$label"
echo "PINFRAME_PKCS11_PIN_FILE=$dir/pin"
