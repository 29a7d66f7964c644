#!/usr/bin/env python3
"""Test-only writer of AWS Enclave Image Files (EIF), good and malformed.

Writes the layout of aws-nitro-enclaves-image-format (src/defs/mod.rs,
src/utils/mod.rs EifBuilder): a 548-byte big-endian header, then sections
(type u16, flags u16, size u64, data) in the builder's order kernel,
cmdline, [metadata], ramdisks..., [signature]; crc32 (zlib) over everything
but the header's crc32 field.  The signed case carries a test certificate
and a real COSE_Sign1 (ES384) over PcrInfo{0, PCR0}, in serde_cbor's
encoding (Vec<u8> as an array of integers).

usage: make_eif.py OUTDIR
writes OUTDIR/<case>.eif and OUTDIR/cases.tsv: "<case>\t<ok|substring of the expected error>"
       make_eif.py --seeds DIR
writes small EIFs (good and malformed) as fuzz seeds (tests/fuzz/corpus/fuzz_host_eif)
Contents are deterministic except the signed case's key and signature.
"""
import hashlib
import json
import os
import struct
import sys
import zlib

KERNEL, CMDLINE, RAMDISK, SIGNATURE, METADATA = 1, 2, 3, 4, 5
HEADER_LEN = 548
MAX_SECTIONS = 32


def blob(tag, n):
    """n deterministic pseudo-random bytes."""
    out = bytearray()
    i = 0
    while len(out) < n:
        out += hashlib.sha512(b"%s:%d" % (tag.encode(), i)).digest()
        i += 1
    return bytes(out[:n])


# --- a minimal CBOR encoder (serde_cbor's shapes only) ---
def cbor_head(major, n):
    if n < 24:
        return bytes([major << 5 | n])
    for ai, fmt in ((24, ">B"), (25, ">H"), (26, ">I"), (27, ">Q")):
        if n < 1 << (8 * struct.calcsize(fmt)):
            return bytes([major << 5 | ai]) + struct.pack(fmt, n)
    raise ValueError(n)


def cbor(v):
    if isinstance(v, bool) or v is None:
        raise TypeError(v)
    if isinstance(v, int):
        return cbor_head(0, v) if v >= 0 else cbor_head(1, -1 - v)
    if isinstance(v, bytes):
        return cbor_head(2, len(v)) + v
    if isinstance(v, str):
        b = v.encode()
        return cbor_head(3, len(b)) + b
    if isinstance(v, list):
        return cbor_head(4, len(v)) + b"".join(cbor(x) for x in v)
    if isinstance(v, dict):
        return cbor_head(5, len(v)) + b"".join(cbor(k) + cbor(x) for k, x in v.items())
    raise TypeError(v)


def serde_bytes(b):
    """serde_cbor's encoding of a Vec<u8>: an array of integers."""
    return list(b)


def pcr(data):
    return hashlib.sha384(b"\0" * 48 + hashlib.sha384(data).digest()).digest()


def header(version, flags, sections, offsets, sizes, nsec=None, crc=0, reserved=0, unused=0,
           mem=1 << 30, cpus=2):
    offs = list(offsets) + [0] * (MAX_SECTIONS - len(offsets))
    szs = list(sizes) + [0] * (MAX_SECTIONS - len(sizes))
    h = b".eif" + struct.pack(">HHQQHH", version, flags, mem, cpus, reserved,
                              len(sections) if nsec is None else nsec)
    h += struct.pack(">%dQ" % MAX_SECTIONS, *offs) + struct.pack(">%dQ" % MAX_SECTIONS, *szs)
    h += struct.pack(">II", unused, crc)
    assert len(h) == HEADER_LEN
    return h


def build(sections, version=4, flags=0, **kw):
    """sections: list of (type, data[, section_flags]). Returns a well-formed EIF (bytearray)."""
    offsets, sizes, body = [], [], bytearray()
    for s in sections:
        typ, data = s[0], s[1]
        sflags = s[2] if len(s) > 2 else 0
        offsets.append(HEADER_LEN + len(body))
        sizes.append(len(data))
        body += struct.pack(">HHQ", typ, sflags, len(data)) + data
    eif = bytearray(header(version, flags, sections, offsets, sizes, **kw) + body)
    fix_crc(eif)
    return eif


def fix_crc(eif):
    eif[HEADER_LEN - 4:HEADER_LEN] = struct.pack(">I", zlib.crc32(bytes(eif[:HEADER_LEN - 4]) + bytes(eif[HEADER_LEN:])))


def set_table(eif, i, offset=None, size=None):
    if offset is not None:
        struct.pack_into(">Q", eif, 28 + 8 * i, offset)
    if size is not None:
        struct.pack_into(">Q", eif, 28 + 8 * MAX_SECTIONS + 8 * i, size)


def table(eif, i):
    return (struct.unpack_from(">Q", eif, 28 + 8 * i)[0],
            struct.unpack_from(">Q", eif, 28 + 8 * MAX_SECTIONS + 8 * i)[0])


METADATA_JSON = json.dumps({
    "ImageName": "sealbid-test", "ImageVersion": "1.0",
    "BuildMetadata": {"BuildTime": "2026-01-01T00:00:00Z", "BuildTool": "make_eif.py",
                      "BuildToolVersion": "1", "OperatingSystem": "Linux",
                      "KernelVersion": "6.1"},
    "DockerInfo": {}, "CustomMetadata": {}}).encode()


def signed_sections(outdir, base, signed_pcr0=None, forge=False):
    """base sections plus a signature section over their PCR0 (or signed_pcr0), with a fresh
    test certificate; forge flips a bit of the ECDSA signature."""
    import datetime
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP384R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sealbid EIF test signer"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sealbid-test")])
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(0x5EA1B1D)
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=3650))
            .sign(key, hashes.SHA384()))
    pem = cert.public_bytes(serialization.Encoding.PEM)
    with open(os.path.join(outdir, "signer.pem"), "wb") as f:
        f.write(pem)
    measured = b"".join(d for t, d, *_ in base if t in (KERNEL, CMDLINE, RAMDISK))
    payload = cbor({"register_index": 0,
                    "register_value": serde_bytes(signed_pcr0 or pcr(measured))})
    protected = cbor({1: -35})  # alg: ES384
    to_sign = cbor(["Signature1", protected, b"", payload])
    r, s = decode_dss_signature(key.sign(to_sign, ec.ECDSA(hashes.SHA384())))
    rs = bytearray(r.to_bytes(48, "big") + s.to_bytes(48, "big"))
    if forge:
        rs[50] ^= 1
    cose = cbor([protected, {}, payload, bytes(rs)])
    sig = cbor([{"signing_certificate": serde_bytes(pem), "signature": serde_bytes(cose)}])
    return base + [(SIGNATURE, sig)], pem


def seeds(outdir):
    os.makedirs(outdir, exist_ok=True)
    k, c, r1, r2 = blob("k", 40), b"console=ttyS0", blob("r1", 30), blob("r2", 20)
    std = [(KERNEL, k), (CMDLINE, c), (METADATA, b'{"ImageName":"x"}'), (RAMDISK, r1), (RAMDISK, r2)]
    signed, _ = signed_sections(outdir, std)
    os.unlink(os.path.join(outdir, "signer.pem"))
    out = {
        "v4": build(std),
        "v4_signed": build(signed),
        "v4_one_ramdisk": build(std[:4]),
        "v3_arm64": build([(KERNEL, k), (CMDLINE, c), (RAMDISK, r1)], version=3, flags=1),
        "v2_many": build([(KERNEL, k), (CMDLINE, b""), (RAMDISK, r1), (RAMDISK, b""),
                          (RAMDISK, r2), (RAMDISK, r1)], version=2),
        "bad_crc": bytearray(build(std)[:-1]) + b"\1",
        "bad_no_ramdisk": build(std[:3]),
    }
    for name, eif in out.items():
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(eif)


def main():
    if sys.argv[1] == "--seeds":
        return seeds(sys.argv[2])
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    kernel = blob("kernel", 150_000)
    cmdline = b"reboot=k panic=30 pci=off nomodules console=ttyS0 random.trust_cpu=on"
    init = blob("init-ramdisk", 70_000)
    app = blob("app-ramdisk", 200_000)
    meta = (METADATA, METADATA_JSON)
    cases = []

    def put(name, eif, expect):
        with open(os.path.join(outdir, name + ".eif"), "wb") as f:
            f.write(eif)
        cases.append((name, expect))

    std = [(KERNEL, kernel), (CMDLINE, cmdline), meta, (RAMDISK, init), (RAMDISK, app)]
    put("good_v4_unsigned", build(std), "ok")
    # several user ramdisks, one larger than the parser's 64 KiB chunks many times over; aarch64
    multi = [(KERNEL, kernel), (CMDLINE, cmdline), meta, (RAMDISK, init),
             (RAMDISK, blob("big", 3_000_001)), (RAMDISK, b""), (RAMDISK, blob("small", 17))]
    put("good_v4_multi_ramdisk_arm64", build(multi, flags=1), "ok")
    put("good_v4_one_ramdisk", build([(KERNEL, kernel), (CMDLINE, cmdline), meta, (RAMDISK, init)]), "ok")
    put("good_v3_no_metadata", build([(KERNEL, kernel), (CMDLINE, cmdline), (RAMDISK, init),
                                      (RAMDISK, app)], version=3), "ok")
    put("good_v2", build([(KERNEL, kernel), (CMDLINE, b""), (RAMDISK, init), (RAMDISK, app)],
                         version=2), "ok")
    signed, signer = signed_sections(outdir, std)
    put("good_v4_signed", build(signed), "ok")

    # --- malformed: each must fail with the named reason ---
    good = build(std)
    e = bytearray(good); e[0:4] = b"EIF."
    put("bad_magic", e, "neither an AWS EIF")
    put("bad_short", bytearray(b".eif\0\4"), "shorter than the 548-byte header")
    put("bad_header_truncated", bytearray(good[:300]), "shorter than the 548-byte header")
    e = bytearray(good); e[HEADER_LEN + 12 + 1000] ^= 0x40
    put("bad_crc", e, "CRC32")
    e = bytearray(good); e[HEADER_LEN - 1] ^= 1
    put("bad_crc_field", e, "CRC32")
    put("bad_truncated", bytearray(good[:-100]), "claims")
    put("bad_truncated_in_section_header", bytearray(good[:table(good, 4)[0] + 5]),
        "past the end of the file")
    e = bytearray(good); off, _ = table(e, 1); set_table(e, 1, offset=off - 4); fix_crc(e)
    put("bad_overlap", e, "overlaps")
    e = bytearray(good); set_table(e, 0, offset=HEADER_LEN - 8); fix_crc(e)
    put("bad_overlap_header", e, "overlaps")
    # the last section claims more bytes than the file holds, in the table and its own header
    e = bytearray(good); off, size = table(e, 4); set_table(e, 4, size=size + 1000)
    struct.pack_into(">Q", e, off + 4, size + 1000); fix_crc(e)
    put("bad_size_beyond_file", e, "claims")
    e = bytearray(good); off, size = table(e, 4); set_table(e, 4, size=size - 1); fix_crc(e)
    put("bad_table_size_mismatch", e, "header table")
    e = build(std[:3] + [(RAMDISK, init)] + [(6, app)])
    put("bad_unknown_type", e, "unknown type 6")
    e = build(std[:3] + [(RAMDISK, init)] + [(0, app)])
    put("bad_invalid_type", e, "unknown type 0")
    put("bad_no_kernel", build([(CMDLINE, cmdline), meta, (RAMDISK, init), (RAMDISK, app)]),
        "no kernel section")
    put("bad_no_cmdline", build([(KERNEL, kernel), meta, (RAMDISK, init), (RAMDISK, app)]),
        "no cmdline section")
    put("bad_zero_ramdisks", build([(KERNEL, kernel), (CMDLINE, cmdline), meta]),
        "no ramdisk section")
    put("bad_two_kernels", build([(KERNEL, kernel), (KERNEL, kernel), (CMDLINE, cmdline),
                                  (RAMDISK, init)]), "second kernel")
    put("bad_empty_kernel", build([(KERNEL, b""), (CMDLINE, cmdline), (RAMDISK, init)]),
        "empty kernel")
    put("bad_version_5", build(std, version=5), "version 5")
    put("bad_version_1", build(std, version=1), "version 1")
    put("bad_flags", build(std, flags=2), "flags")
    put("bad_reserved", build(std, reserved=1), "reserved")
    put("bad_section_flags", build([(KERNEL, kernel, 1), (CMDLINE, cmdline), (RAMDISK, init)]),
        "flags")
    put("bad_metadata_in_v3", build(std, version=3), "metadata section in a version 3")
    put("bad_signature_in_v2", build([(KERNEL, kernel), (CMDLINE, cmdline), (RAMDISK, init),
                                      (SIGNATURE, b"\x80")], version=2), "signature section in a version 2")
    put("bad_metadata_json", build([(KERNEL, kernel), (CMDLINE, cmdline), (METADATA, b"{not json"),
                                    (RAMDISK, init)]), "not a JSON object")
    e = bytearray(good + b"\0" * 12); fix_crc(e)
    put("bad_trailing", e, "after the last section")
    # a gap: every offset from section 3 on moves 16 bytes, with 16 junk bytes before it
    off3, _ = table(good, 3)
    e = bytearray(good[:off3] + b"\xee" * 16 + good[off3:])
    for i in (3, 4):
        o, _ = table(e, i); set_table(e, i, offset=o + 16)
    fix_crc(e)
    put("bad_gap", e, "unaccounted bytes")
    e = bytearray(good); set_table(e, 7, offset=123); fix_crc(e)
    put("bad_table_past_count", e, "past num_sections")
    e = bytearray(good); struct.pack_into(">H", e, 26, 33); fix_crc(e)
    put("bad_too_many_sections", e, "33 sections")
    put("bad_signature_cbor", build(std + [(SIGNATURE, b"\xa1\x00")]), "signature")
    put("bad_signature_bstr", build(std + [(SIGNATURE, cbor([{"signing_certificate": b"x",
                                                              "signature": b"y"}]))]),
        "not an array of bytes")
    put("bad_signature_cert", build(std + [(SIGNATURE, cbor([{
        "signing_certificate": serde_bytes(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
        "signature": serde_bytes(b"\x84")}]))]), "not a PEM X.509 certificate")
    put("bad_signature_empty_list", build(std + [(SIGNATURE, cbor([]))]), "signatures")
    put("bad_two_signatures", build(signed + [signed[-1]]), "second signature")
    other, _ = signed_sections(outdir, std, signed_pcr0=b"\1" * 48)
    put("bad_signature_other_pcr0", build(other), "not this image's PCR0")
    forged, _ = signed_sections(outdir, std, forge=True)
    put("bad_signature_forged", build(forged), "does not verify")

    with open(os.path.join(outdir, "signer.pem"), "wb") as f:
        f.write(signer)  # the good signed case's certificate, for the PCR8 check
    with open(os.path.join(outdir, "cases.tsv"), "w") as f:
        for name, expect in cases:
            f.write("%s\t%s\n" % (name, expect))


if __name__ == "__main__":
    main()
