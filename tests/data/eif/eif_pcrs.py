#!/usr/bin/env python3
"""Independent PCR computation for an AWS Enclave Image File (EIF).

Follows aws-nitro-enclaves-image-format's EifReader::from_eif as nitro-cli
describe-eif runs it: after the 548-byte header, read section headers one
after another until the end of the file; hash each section's data (never
its header) with SHA-384:
  image  (PCR0): kernel, cmdline, every ramdisk
  boot   (PCR1): kernel, cmdline, the first ramdisk
  app    (PCR2): the other ramdisks
  cert   (PCR8): the DER of the first signature entry's PEM certificate
then each PCR = SHA384(zero48 || digest).  Uses only hashlib, base64 and a
few lines of CBOR decoding, nothing shared with sealbid's C code.

usage: eif_pcrs.py FILE.eif   prints describe-eif's "Measurements" JSON
"""
import base64
import hashlib
import json
import struct
import sys

HEADER_LEN = 548


def cbor_decode(b, i=0):
    """Decodes one CBOR item at b[i:] -> (value, next index). Enough for serde_cbor output."""
    ib = b[i]
    major, ai = ib >> 5, ib & 31
    i += 1
    if ai < 24:
        n = ai
    elif ai in (24, 25, 26, 27):
        size = 1 << (ai - 24)
        n = int.from_bytes(b[i:i + size], "big")
        i += size
    else:
        raise ValueError("unsupported CBOR head")
    if major == 0:
        return n, i
    if major == 1:
        return -1 - n, i
    if major in (2, 3):
        v = bytes(b[i:i + n])
        return (v if major == 2 else v.decode()), i + n
    if major == 4:
        out = []
        for _ in range(n):
            v, i = cbor_decode(b, i)
            out.append(v)
        return out, i
    if major == 5:
        out = {}
        for _ in range(n):
            k, i = cbor_decode(b, i)
            v, i = cbor_decode(b, i)
            out[k] = v
        return out, i
    raise ValueError("unsupported CBOR major type %d" % major)


def pem_to_der(pem):
    text = pem.decode()
    begin = "-----BEGIN CERTIFICATE-----"
    body = text[text.index(begin) + len(begin):text.index("-----END CERTIFICATE-----")]
    return base64.b64decode("".join(body.split()))


def extend(digest):
    return hashlib.sha384(b"\0" * 48 + digest).hexdigest()


def measure(path):
    data = open(path, "rb").read()
    image, boot, app, cert = (hashlib.sha384() for _ in range(4))
    signed = False
    ramdisks = 0
    pos = HEADER_LEN
    while pos + 12 <= len(data):
        typ, _flags, size = struct.unpack_from(">HHQ", data, pos)
        pos += 12
        body = data[pos:pos + size]
        pos += size
        if typ in (1, 2):
            image.update(body)
            boot.update(body)
        elif typ == 3:
            image.update(body)
            (boot if ramdisks == 0 else app).update(body)
            ramdisks += 1
        elif typ == 4:
            entries, _ = cbor_decode(body)
            cert.update(pem_to_der(bytes(entries[0]["signing_certificate"])))
            signed = True
    m = {"HashAlgorithm": "Sha384 { ... }", "PCR0": extend(image.digest()),
         "PCR1": extend(boot.digest()), "PCR2": extend(app.digest())}
    if signed:
        m["PCR8"] = extend(cert.digest())
    return {"Measurements": m}


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1]), indent=2))
