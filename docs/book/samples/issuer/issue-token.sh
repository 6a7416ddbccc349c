#!/usr/bin/env bash
# What an issuer's back end does, with curl: get an access token, register a card, then ask for a
# PIN-control token and print the service's answer ({"token", "expiresIn", "url"}) on stdout.
# Hand the url to the app or page; do not log it (the token is in its #token= fragment).
#
# Needs bash, curl, jq, base64, and the pinframe binary for the card's JWE (any JOSE library
# that writes ECDH-ES + A256GCM compact JWEs does the same).
#
#   PINFRAME_URL=http://127.0.0.1:8080 CLIENT_ID=demo-client CLIENT_SECRET=demo-secret \
#   ISSUER_ID=DEMOISSUER CONSUMER_ID=alice CARD_ID=alice-card PAN=4111111111111111 EXP=1229 \
#   ACTION=SET_PIN ./issue-token.sh
set -euo pipefail

: "${PINFRAME_URL:?set it to the public URL of the service, e.g. https://pin.bank.example}"
: "${CLIENT_ID:?the client id printed by pinframe issuer add}"
: "${CLIENT_SECRET:?the client secret, from your secret store (never a command-line argument)}"
ISSUER_ID=${ISSUER_ID:-$CLIENT_ID}         # a real issuer's client id is its issuer id
: "${CONSUMER_ID:?the id of the cardholder in your systems, 1 to 64 of A-Z a-z 0-9 _ -}"
: "${CARD_ID:?the id of the card in your systems, 1 to 48 of A-Z a-z 0-9 _ -}"
: "${PAN:?the card number, 12 to 19 digits}"
: "${EXP:?the expiry, MMYY}"
ACTION=${ACTION:-VIEW_PIN}                 # or SET_PIN
PARENT_ORIGIN=${PARENT_ORIGIN:-}           # the framing page's origin; leave empty for a webview
LANGUAGE=${LANGUAGE:-}                     # e.g. fi; empty: the browser's language
PINFRAME_BIN=${PINFRAME_BIN:-pinframe}
# One id per run, sent on every call: quote it when you ask for support.
CORRELATION_ID=${CORRELATION_ID:-issue-token-$(date +%s)-$$}

[[ $PAN =~ ^[0-9]{12,19}$ ]] || { echo "PAN must be 12 to 19 digits" >&2; exit 1; }
[[ $EXP =~ ^(0[1-9]|1[0-2])[0-9]{2}$ ]] || { echo "EXP must be MMYY" >&2; exit 1; }

# call METHOD PATH AUTHORIZATION [curl options]: prints the body of a 2xx answer; otherwise prints
# the status and the error body (which never holds a secret) on stderr and fails. The
# Authorization header reaches curl through a file descriptor, so no secret is in its arguments.
call() {
  local method=$1 path=$2 authorization=$3 out status
  shift 3
  out=$(curl -sS -X "$method" -w '\n%{http_code}' \
    -H @<(printf 'authorization: %s\n' "$authorization") \
    -H "x-correlation-id: $CORRELATION_ID" "$@" "$PINFRAME_URL$path")
  status=${out##*$'\n'}
  out=${out%$'\n'*}
  if [[ $status != 2?? ]]; then
    printf '%s %s answered %s (x-correlation-id %s): %s\n' \
      "$method" "$path" "$status" "$CORRELATION_ID" "$out" >&2
    return 1
  fi
  printf '%s' "$out"
}

basic="Basic $(printf '%s:%s' "$CLIENT_ID" "$CLIENT_SECRET" | base64 | tr -d '\n')"

# 1. An access token for the Register API (OAuth 2.0 client credentials, 15 minutes).
#    Keep it and reuse it until it expires; do not get one per request.
access_token=$(call POST /oauth2/token "$basic" -d grant_type=client_credentials | jq -r .access_token)

# 2. Register the card (and with it the consumer). Its PAN and expiry travel as a JWE to the
#    service's current encryption key, keys[0] of /.well-known/jwks.json.
jwk_file=$(mktemp)
trap 'rm -f "$jwk_file"' EXIT
curl -sS --fail "$PINFRAME_URL/.well-known/jwks.json" | jq '.keys[0]' > "$jwk_file"
encrypted_data=$(printf '{"pan":"%s","exp":"%s"}' "$PAN" "$EXP" | "$PINFRAME_BIN" jwe encrypt --jwk "$jwk_file")
jq -n --arg cardId "$CARD_ID" --arg data "$encrypted_data" \
  '{cards: [{cardId: $cardId, encryptedData: $data}]}' |
  call PUT "/issuers/$ISSUER_ID/consumers/$CONSUMER_ID/cards" "Bearer $access_token" \
    -H 'content-type: application/json' --data-binary @- > /dev/null

# 3. A PIN-control token for that card: single use, five minutes by default.
jq -n --arg cardId "$CARD_ID" --arg action "$ACTION" \
  --arg parentOrigin "$PARENT_ORIGIN" --arg language "$LANGUAGE" \
  '{cardId: $cardId, action: $action}
   + (if $parentOrigin == "" then {} else {parentOrigin: $parentOrigin} end)
   + (if $language == "" then {} else {language: $language} end)' |
  call POST /api/v1/pin-control/tokens "$basic" \
    -H 'content-type: application/json' --data-binary @-
echo
