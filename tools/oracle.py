"""Test oracles from PyPI: jwcrypto and joserfc (JOSE), psec (ISO 9564-1 PIN blocks).

    python oracle.py jwcrypto-encrypt JWKFILE [APU APV]   plaintext on stdin, compact JWE on stdout
    python oracle.py jwcrypto-decrypt JWKFILE             compact JWE on stdin, plaintext on stdout
    python oracle.py joserfc-encrypt JWKFILE
    python oracle.py joserfc-decrypt JWKFILE
    python oracle.py jwcrypto-keygen                      private P-256 JWK (kid = RFC 7638 thumbprint)
    python oracle.py psec-encode iso0|iso3|iso4 PAN KEYHEX|- PIN
    python oracle.py psec-decode iso0|iso3|iso4 PAN KEYHEX|- BLOCK
"""

import base64
import json
import sys


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def read_jwk(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def public_jwk_and_header(path: str) -> tuple[dict, dict]:
    """The public half of the JWK in `path`, and the JWE header to encrypt to it (kid when it has one)."""
    data = read_jwk(path)
    data.pop("d", None)
    header = {"alg": "ECDH-ES", "enc": "A256GCM"}
    if "kid" in data:
        header["kid"] = data["kid"]
    return data, header


def main(argv: list[str]) -> None:
    cmd, args = argv[0], argv[1:]
    out = sys.stdout.buffer
    if cmd == "jwcrypto-encrypt":
        from jwcrypto import jwe, jwk

        data, header = public_jwk_and_header(args[0])
        key = jwk.JWK(**data)
        if len(args) == 3:
            header["apu"], header["apv"] = b64(args[1].encode()), b64(args[2].encode())
        token = jwe.JWE(sys.stdin.buffer.read(), json.dumps(header))
        token.add_recipient(key)
        out.write(token.serialize(compact=True).encode())
    elif cmd == "jwcrypto-decrypt":
        from jwcrypto import jwe, jwk

        key = jwk.JWK(**read_jwk(args[0]))
        token = jwe.JWE()
        token.deserialize(sys.stdin.read().strip(), key=key)
        out.write(token.payload)
    elif cmd == "jwcrypto-keygen":
        from jwcrypto import jwk

        key = jwk.JWK.generate(kty="EC", crv="P-256")
        data = json.loads(key.export_private())
        data["kid"] = key.thumbprint()
        out.write(json.dumps(data).encode())
    elif cmd == "joserfc-encrypt":
        from joserfc import jwe
        from joserfc.jwk import ECKey

        data, header = public_jwk_and_header(args[0])
        key = ECKey.import_key(data)
        out.write(jwe.encrypt_compact(header, sys.stdin.buffer.read(), key).encode())
    elif cmd == "joserfc-decrypt":
        from joserfc import jwe
        from joserfc.jwk import ECKey

        key = ECKey.import_key(read_jwk(args[0]))
        out.write(jwe.decrypt_compact(sys.stdin.read().strip(), key).plaintext)
    elif cmd in ("psec-encode", "psec-decode"):
        from psec import pinblock

        fmt, pan, key, value = args
        aes = bytes.fromhex(key) if fmt == "iso4" else None
        encoders = {
            "iso0": lambda pin: pinblock.encode_pinblock_iso_0(pin, pan),
            "iso3": lambda pin: pinblock.encode_pinblock_iso_3(pin, pan),
            "iso4": lambda pin: pinblock.encipher_pinblock_iso_4(aes, pin, pan),
        }
        decoders = {
            "iso0": lambda block: pinblock.decode_pinblock_iso_0(block, pan),
            "iso3": lambda block: pinblock.decode_pinblock_iso_3(block, pan),
            "iso4": lambda block: pinblock.decipher_pinblock_iso_4(aes, block, pan),
        }
        if cmd == "psec-encode":
            out.write(encoders[fmt](value).hex().upper().encode())
        else:
            out.write(decoders[fmt](bytes.fromhex(value)).encode())
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main(sys.argv[1:])
