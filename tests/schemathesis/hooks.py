"""Schemathesis hooks for `run.py`: real credentials, and real cryptography where a schema cannot say
what a valid value is.

Which server is under test, where, and with which client secret comes from the environment `run.py`
sets (PINFRAME_FUZZ_TARGET, PINFRAME_FUZZ_URL, PINFRAME_FUZZ_CMS_SECRET, PINFRAME_FUZZ_SEED).

Credentials: the demo issuer's HTTP Basic credentials, OAuth access tokens from the server's own
`/oauth2/token` (kept for five minutes, well within their 15), and for every widget call a fresh
single-use PIN-control token issued through `POST /api/v1/pin-control/tokens`, as the issuer's
backend would.

Bodies: a JSON Schema can describe a JWE's shape but not that it decrypts with the server's key, nor
that `parentOrigin` is registered or a card belongs to the issuer. For cases generated as valid, the
hooks below put in the values the server can accept (a JWE to its key, the demo card, a registered
origin), so that the success paths and their response schemas are exercised too. Negative cases are
sent as generated.
"""

import base64
import json
import os
import random
import threading
import time
import urllib.error
import urllib.request

import schemathesis
from jwcrypto import jwe, jwk
from schemathesis.core.parameters import ParameterLocation

TARGET = os.environ["PINFRAME_FUZZ_TARGET"]
BASE = os.environ["PINFRAME_FUZZ_URL"]

# The demo's values (pinframe serve --demo; crates/pinframe/src/demo.rs).
DEMO_ISSUER = "DEMOISSUER"
DEMO_CLIENT = ("demo-client", "demo-secret")
DEMO_CARD = "demo-card"
# The reference CMS's client; run.py gives it this secret.
CMS_CLIENT = ("pinframe-service", os.environ.get("PINFRAME_FUZZ_CMS_SECRET", ""))
# The cards the CMS fuzzing writes PINs for, so that reads find some.
CMS_CARDS = ["fuzz-card-1", "fuzz-card-2", "fuzz-card-3"]
# PINs the default policy allows (4 to 6 digits, not repeated, sequential or common).
GOOD_PINS = ["2468", "1357", "8642", "97531", "246813", "5190"]
# A PAN for registered cards and for the CMS's format-0 blocks.
PAN = "4111111111111111"
# Our own generator (Hypothesis owns the `random` module's state while it generates), seeded from
# the run's seed so that a run can be replayed.
RNG = random.Random(os.environ.get("PINFRAME_FUZZ_SEED"))


def call(method, path, *, headers=None, body=None):
    """One request to the server under test; returns (status, parsed JSON or None)."""
    request = urllib.request.Request(BASE + path, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, json.loads(raw) if raw else None


def basic(client):
    return "Basic " + base64.b64encode(f"{client[0]}:{client[1]}".encode()).decode()


class AccessTokens:
    """The server's OAuth access token for our client, renewed every five minutes."""

    def __init__(self, client):
        self.client = client
        self.lock = threading.Lock()
        self.token = None
        self.fetched = 0.0

    def get(self):
        with self.lock:
            if self.token is None or time.monotonic() - self.fetched > 300:
                status, body = call(
                    "POST",
                    "/oauth2/token",
                    headers={
                        "Authorization": basic(self.client),
                        "Content-Type": "application/x-www-form-urlencoded",
                    },
                    body=b"grant_type=client_credentials",
                )
                if status != 200:
                    raise RuntimeError(f"POST /oauth2/token answered {status}")
                self.token = body["access_token"]
                self.fetched = time.monotonic()
            return self.token


ACCESS = AccessTokens(CMS_CLIENT if TARGET == "cms" else DEMO_CLIENT)


def pin_control_token(action):
    """A fresh single-use token for the demo card, issued through the real API."""
    status, body = call(
        "POST",
        "/api/v1/pin-control/tokens",
        headers={"Authorization": basic(DEMO_CLIENT), "Content-Type": "application/json"},
        body=json.dumps({"cardId": DEMO_CARD, "action": action}).encode(),
    )
    if status != 201:
        raise RuntimeError(f"POST /api/v1/pin-control/tokens answered {status}")
    return body["token"]


_server_key = None


def server_key():
    """The server's public encryption key, from its JWKS."""
    global _server_key
    if _server_key is None:
        status, body = call("GET", "/.well-known/jwks.json")
        if status != 200:
            raise RuntimeError(f"GET /.well-known/jwks.json answered {status}")
        _server_key = jwk.JWK(**body["keys"][0])
    return _server_key


def encrypt(plaintext: dict) -> str:
    """A compact JWE (ECDH-ES, A256GCM) of `plaintext` to the server's key."""
    key = server_key()
    header = {"alg": "ECDH-ES", "enc": "A256GCM", "kid": key.key_id}
    token = jwe.JWE(json.dumps(plaintext).encode(), json.dumps(header))
    token.add_recipient(key)
    return token.serialize(compact=True)


def iso0_block(pin: str, pan: str) -> str:
    """An ISO 9564-1 format-0 PIN block, in upper-case hex."""
    pin_field = int(f"0{len(pin):X}{pin}".ljust(16, "F"), 16)
    pan_field = int("0000" + pan[-13:-1], 16)
    return f"{pin_field ^ pan_field:016X}"


# Font uploads go as the bytes generated, as any binary body does.
schemathesis.serializer.alias("font/woff2", "application/octet-stream")


@schemathesis.auth(refresh_interval=None)
class Credentials:
    """What each operation's security scheme asks for; None where it has none."""

    def get(self, case, context):
        path, method = case.operation.path, case.method.upper()
        if path == "/oauth2/token":
            return basic(CMS_CLIENT if TARGET == "cms" else DEMO_CLIENT)
        if TARGET == "cms":
            return "Bearer " + ACCESS.get() if path.startswith("/cms/") else None
        if path == "/api/v1/pin-control/tokens":
            return basic(DEMO_CLIENT)
        if path == "/api/v1/pin/view":
            return "Bearer " + pin_control_token("VIEW_PIN")
        if path == "/api/v1/pin/set":
            return "Bearer " + pin_control_token("SET_PIN")
        if path == "/api/v1/pin/session":
            return "Bearer " + pin_control_token(RNG.choice(["VIEW_PIN", "SET_PIN"]))
        if path.startswith("/issuers/"):
            return "Bearer " + ACCESS.get()
        if path.startswith("/api/v1/issuers/"):
            # Basic or an access token: both are accepted, so both are exercised.
            return RNG.choice([basic(DEMO_CLIENT), "Bearer " + ACCESS.get()])
        return None

    def set(self, case, data, context):
        if data is not None:
            case.headers = case.headers or {}
            case.headers["Authorization"] = data


def positive(case, location):
    return not case.meta.is_negative_at(location) if case.meta else True


@schemathesis.hook
def before_call(context, case, kwargs):
    path, method = case.operation.path, case.method.upper()
    body_ok = positive(case, ParameterLocation.BODY) and isinstance(case.body, dict)
    path_ok = positive(case, ParameterLocation.PATH) and case.path_parameters
    if path_ok and "issuerId" in case.path_parameters and RNG.random() < 0.8:
        case.path_parameters["issuerId"] = DEMO_ISSUER
    if TARGET == "cms":
        if path_ok and "cardId" in case.path_parameters and RNG.random() < 0.8:
            case.path_parameters["cardId"] = RNG.choice(CMS_CARDS)
        if path.endswith("/pin") and method == "PUT" and body_ok:
            block_type = case.body.get("type")
            if block_type == "ISO0":
                block = iso0_block(RNG.choice(GOOD_PINS), PAN)
            else:
                block = "".join(RNG.choice("0123456789ABCDEF") for _ in range(16))
            if block_type in ("ISO0", "SECCOS_3DES"):
                case.body["encryptedPinBlock"] = encrypt({"format": block_type, "pinBlock": block})
        return
    if path == "/api/v1/pin-control/tokens" and body_ok:
        case.body["cardId"] = DEMO_CARD
        if "parentOrigin" in case.body:
            case.body["parentOrigin"] = BASE
    elif path == "/api/v1/pin/view" and body_ok:
        ephemeral = jwk.JWK.generate(kty="EC", crv="P-256")
        case.body["epk"] = json.loads(ephemeral.export_public())
    elif path == "/api/v1/pin/set" and body_ok:
        case.body["encryptedPin"] = encrypt({"pin": RNG.choice(GOOD_PINS)})
    elif path.endswith("/cards") and body_ok and isinstance(case.body.get("cards"), list):
        seen = set()
        for i, card in enumerate(case.body["cards"]):
            if not isinstance(card, dict):
                continue
            # A card id appears once per request, and the demo card keeps its PAN.
            if card.get("cardId") in seen or card.get("cardId") == DEMO_CARD:
                card["cardId"] = f"fuzz-{i}-{RNG.getrandbits(32):08x}"
            seen.add(card.get("cardId"))
            card["encryptedData"] = encrypt({"pan": PAN, "exp": "1229"})
    elif path == "/demo/api/token" and positive(case, ParameterLocation.HEADER):
        # The page's origin must be one the demo registered: the service's own.
        case.headers = case.headers or {}
        case.headers["Origin"] = BASE
    elif path.startswith("/api/v1/issuers/") and "/fonts/" in path and method == "PUT":
        if positive(case, ParameterLocation.BODY) and isinstance(case.body, (bytes, str)):
            raw = case.body.encode() if isinstance(case.body, str) else case.body
            case.body = b"wOF2" + raw[4:]


@schemathesis.hook
def filter_failure(context, failure, case, response):
    """Keeps every failure but one: "schema-violating request accepted" where the only violation is
    a header the operation does not declare. HTTP has a recipient ignore header fields it does not
    know (RFC 9110 §5.1), so such a request is valid and accepting it is right; an OpenAPI file
    cannot list every header a client may add."""
    if failure.code != "ST201":
        return True
    invalid = failure.message.partition("Invalid component:")[2].strip()
    return invalid != "in header - object with unexpected properties"
