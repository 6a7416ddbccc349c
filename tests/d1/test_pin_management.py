"""The reference CMS's D1 PIN Management API over real HTTP, checked with code nobody here wrote.

`pinframe cms` runs as its own process. The PIN service's side is played by this file: jwcrypto
and joserfc make and read the JWEs, psec builds and decodes the ISO 9564 format-0 blocks with the
card's PAN, and urllib speaks HTTP. Run by `make test-interop`:

    PINFRAME_BIN=target/debug/pinframe target/pyenv/bin/python -m unittest discover -s tests/d1 -v
"""

import base64
import json
import os
import re
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request
from pathlib import Path

from joserfc import jwe as rfc_jwe
from joserfc.jwk import ECKey
from jwcrypto import jwe, jwk
from psec import pinblock

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("PINFRAME_BIN", str(ROOT / "target/debug/pinframe"))
ISSUER = "D1ISSUER01"
CARD = "d1-card-0001"
PAN = "4761739001010010"
SECRET = "d1-test-client-secret"


def request(method, url, *, token=None, basic=None, body=None, form=None, correlation=None):
    """One HTTP request; returns (status, headers, parsed JSON or None)."""
    headers = {}
    data = None
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if basic:
        headers["Authorization"] = "Basic " + base64.b64encode(basic.encode()).decode()
    if body is not None:
        headers["Content-Type"] = "application/json"
        data = json.dumps(body).encode()
    if form is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        data = form.encode()
    if correlation is not None:
        headers["x-correlation-id"] = correlation
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            raw = response.read()
            return response.status, response.headers, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, error.headers, json.loads(raw) if raw else None


class PinManagementApi(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        tmp = Path(cls.tmp.name)
        # The PIN service's key pair, made by jwcrypto: the CMS gets only the public half.
        cls.service_key = jwk.JWK.generate(kty="EC", crv="P-256")
        public = json.loads(cls.service_key.export_public())
        public["kid"] = cls.service_key.thumbprint()
        (tmp / "service-public.jwk").write_text(json.dumps(public))
        env = dict(os.environ, PINFRAME_CMS_CLIENT_SECRET=SECRET, PINFRAME_LOG="info")
        cls.cms = subprocess.Popen(
            [BIN, "cms", "--listen", "127.0.0.1:0", "--data-dir", str(tmp / "cms"), "--issuer", ISSUER,
             "--recipient-jwk", str(tmp / "service-public.jwk")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True,
        )
        deadline = time.monotonic() + 30
        cls.base = None
        while time.monotonic() < deadline:
            line = cls.cms.stdout.readline()
            match = re.search(r"pinframe cms listening on (http://\S+)", line)
            if match:
                cls.base = match.group(1)
                break
            if cls.cms.poll() is not None:
                break
        if cls.base is None:
            cls.cms.kill()
            raise RuntimeError("pinframe cms did not start: " + cls.cms.stderr.read())
        status, _, body = request("POST", f"{cls.base}/oauth2/token", basic=f"pinframe-service:{SECRET}",
                                  form="grant_type=client_credentials")
        assert status == 200, body
        cls.token = body["access_token"]
        status, _, jwks = request("GET", f"{cls.base}/.well-known/jwks.json")
        assert status == 200
        cls.cms_key = jwks["keys"][0]

    @classmethod
    def tearDownClass(cls):
        cls.cms.terminate()
        cls.cms.wait(10)
        logs = cls.cms.stderr.read()
        cls.cms.stdout.close()
        cls.cms.stderr.close()
        cls.tmp.cleanup()
        # Nothing secret reached the log: not the client secret, not a token.
        assert SECRET not in logs
        assert cls.token not in logs

    def pin_url(self, card=CARD, issuer=ISSUER):
        return f"{self.base}/cms/api/v1/issuers/{issuer}/cards/{card}/pin"

    def encrypt_to_cms(self, plaintext: bytes, library: str) -> str:
        header = {"alg": "ECDH-ES", "enc": "A256GCM", "kid": self.cms_key["kid"]}
        if library == "jwcrypto":
            token = jwe.JWE(plaintext, json.dumps(header))
            token.add_recipient(jwk.JWK(**self.cms_key))
            return token.serialize(compact=True)
        return rfc_jwe.encrypt_compact(header, plaintext, ECKey.import_key(self.cms_key))

    def put_pin(self, pin: str, library: str, card=CARD):
        block = pinblock.encode_pinblock_iso_0(pin, PAN).hex().upper()
        plaintext = json.dumps({"format": "ISO0", "pinBlock": block}).encode()
        body = {"type": "ISO0", "encryptedPinBlock": self.encrypt_to_cms(plaintext, library)}
        return request("PUT", self.pin_url(card), token=self.token, body=body, correlation="d1-put")

    def get_block(self, card=CARD):
        status, headers, body = request("GET", self.pin_url(card), token=self.token, correlation="d1-get")
        self.assertEqual(status, 200, body)
        self.assertEqual(headers["x-correlation-id"], "d1-get")
        self.assertEqual(body["type"], "ISO0")
        self.assertLessEqual(len(body["encryptedPinBlock"]), 8192)
        return body["encryptedPinBlock"]

    def test_blocks_built_by_psec_go_in_and_come_out_readable_by_jwcrypto_and_joserfc(self):
        card = "d1-card-roundtrip"
        pins = ["1357", "24680", "975310", "4321", "86420135"]
        for n, pin in enumerate(pins, start=1):
            status, headers, _ = self.put_pin(pin, "jwcrypto" if n % 2 else "joserfc", card)
            self.assertEqual(status, 204)
            self.assertEqual(headers["x-correlation-id"], "d1-put")
            status, _, body = request("GET", self.pin_url(card) + "/changeCounter", token=self.token)
            self.assertEqual((status, body), (200, {"changeCounter": n}), "the counter after N sets is N")

            compact = self.get_block(card)
            # jwcrypto decrypts it...
            token = jwe.JWE()
            token.deserialize(compact, key=self.service_key)
            block = json.loads(token.payload)
            # ...and so does joserfc, to the same plaintext.
            private = ECKey.import_key(json.loads(self.service_key.export_private()))
            self.assertEqual(json.loads(rfc_jwe.decrypt_compact(compact, private).plaintext), block)
            self.assertEqual(block["format"], "ISO0")
            self.assertRegex(block["pinBlock"], r"^[0-9A-F]{16}$")
            # psec reads the PIN back with the card's PAN.
            self.assertEqual(pinblock.decode_pinblock_iso_0(bytes.fromhex(block["pinBlock"]), PAN), pin)

    def test_refused_requests_are_400_and_do_not_count(self):
        card = "d1-card-refused"
        self.assertEqual(self.put_pin("2468", "jwcrypto", card)[0], 204)
        other = jwk.JWK.generate(kty="EC", crv="P-256")
        header = json.dumps({"alg": "ECDH-ES", "enc": "A256GCM"})
        wrong_key = jwe.JWE(b'{"format":"ISO0","pinBlock":"0412AC89ABCDEF67"}', header)
        wrong_key.add_recipient(other)
        for body in [
            {"type": "ISO0", "encryptedPinBlock": wrong_key.serialize(compact=True)},
            {"type": "ISO9", "encryptedPinBlock": "x"},
            {"type": "ISO0", "encryptedPinBlock": "A" * 8193},
            {"type": "ISO0"},
        ]:
            status, _, answer = request("PUT", self.pin_url(card), token=self.token, body=body)
            self.assertEqual(status, 400, answer)
            self.assertIn("error", answer)
        status, _, body = request("GET", self.pin_url(card) + "/changeCounter", token=self.token)
        self.assertEqual(body, {"changeCounter": 1})

    def test_identifier_rules_of_the_seed(self):
        for url in [
            self.pin_url(issuer="SHORTISSU"),
            self.pin_url(issuer="LONGISSUER1"),
            self.pin_url(card="c" * 49),
            self.pin_url(card="has.dot"),
        ]:
            status, _, body = request("GET", url, token=self.token)
            self.assertEqual(status, 400, url)
        status, _, _ = request("GET", self.pin_url(card="c" * 48), token=self.token)
        self.assertEqual(status, 404)
        for bad in ["x" * 65, "bad#char"]:
            status, _, body = request("GET", self.pin_url(), token=self.token, correlation=bad)
            self.assertEqual((status, body["error"]), (400, "invalid_correlation_id"))
        # Another issuer than the client's: 403. No token: 401.
        self.assertEqual(request("GET", self.pin_url(issuer="OTHERISSUE"), token=self.token)[0], 403)
        self.assertEqual(request("GET", self.pin_url())[0], 401)


if __name__ == "__main__":
    unittest.main()
