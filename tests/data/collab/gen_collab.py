#!/usr/bin/env python3
"""Synthetic inputs of a join-aggregate job (issue 13): two parties' plaintext CSVs.

    gen_collab.py --out DIR [--rows-a N] [--rows-b M] [--overlap F] [--regions R]
                  [--age-bands A] [--seed S] [--dup-rate D] [--variants]

writes DIR/retailer.csv (email_sha256,region) and DIR/provider.csv
(email_sha256,age_band,spend). Keys are the lowercase hex SHA-256 of synthetic
e-mail addresses (the seed is part of the address, so two seeds share no key).

- Each party has rows*(1-dup_rate) distinct keys (at least 1 when it has rows);
  the other rows repeat a key the same party already used (SQL multiplies them).
- --overlap F: round(F * the smaller party's distinct keys) keys are held by
  both parties; the rest are each party's own.
- region is one of R values, age_band one of A values, drawn per row, so a
  join has about R*A groups.
- spend: non-negative decimal, 0, 1 or 2 decimals (never a sign, exponent or
  leading '+').
- --variants: about 1 row in 8 writes its key in a form the contract's
  norm(x) = lower(trim(x, ' ' || char(9))) maps back to the key: UPPERCASE,
  surrounding spaces or tabs, or RFC 4180 quoted; and about 1 row in 200 has an
  empty or blank key (never joins).

Output is a pure function of the options (python3 stdlib only). A million rows
a side takes a few seconds.
"""
import argparse
import hashlib
import os
import random
import sys


def keys_for(seed, lo, hi):
    """Hex SHA-256 of the e-mail addresses lo..hi-1 of this seed."""
    sha = hashlib.sha256
    return [sha(b"user%d.s%d@example.test" % (i, seed)).hexdigest() for i in range(lo, hi)]


def row_keys(rng, distinct, rows):
    """rows keys: every distinct key once, the rest repeats. Hashes are in no
    particular order already; only repeats need shuffling in among them."""
    if rows == 0:
        return []
    out = list(distinct)
    extra = rows - len(out)
    if extra > 0:
        out.extend(rng.choices(distinct, k=extra))
        rng.shuffle(out)
    return out


def variant(rng, key):
    r = rng.random()
    if r < 0.04:  # 1 variant in 25 = about 1 row in 200
        return rng.choice(("", " ", "\t", '""'))
    if r < 0.25:
        return key.upper()
    if r < 0.45:
        return " " + key + " "
    if r < 0.60:
        return "\t" + key
    if r < 0.75:
        return key + "  "
    if r < 0.90:
        return '"' + key + '"'
    return '" ' + key.upper()[:10] + key[10:] + '\t"'


def apply_variants(rng, keys):
    # About 1 row in 8, chosen at random.
    n = len(keys)
    for i in rng.sample(range(n), n // 8) if n else ():
        keys[i] = variant(rng, keys[i])


def spends(rng, n):
    out = []
    rnd = rng.random
    for _ in range(n):
        r = rnd()
        cents = int(rnd() * 2_000_000)  # 0 .. 19999.99
        if r < 0.2:
            out.append(str(cents // 100))
        elif r < 0.4:
            out.append("%d.%d" % (cents // 100, (cents // 10) % 10))
        else:
            out.append("%d.%02d" % (cents // 100, cents % 100))
    return out


def write_csv(path, header, columns):
    tmp = path + ".tmp"
    with open(tmp, "w", newline="") as f:
        f.write(header + "\n")
        f.writelines(",".join(t) + "\n" for t in zip(*columns))
    os.replace(tmp, path)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--rows-a", type=int, default=1000, help="retailer rows")
    ap.add_argument("--rows-b", type=int, default=1000, help="provider rows")
    ap.add_argument("--overlap", type=float, default=0.5)
    ap.add_argument("--regions", type=int, default=4)
    ap.add_argument("--age-bands", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dup-rate", type=float, default=0.0)
    ap.add_argument("--variants", action="store_true")
    a = ap.parse_args(argv)
    if a.rows_a < 0 or a.rows_b < 0:
        ap.error("--rows-a/--rows-b must be >= 0")
    if not 0.0 <= a.overlap <= 1.0 or not 0.0 <= a.dup_rate < 1.0:
        ap.error("--overlap is 0..1, --dup-rate 0..<1")
    if a.regions < 1 or a.age_bands < 1 or a.seed < 0:
        ap.error("--regions and --age-bands must be >= 1, --seed >= 0")

    rng = random.Random(a.seed)
    def distinct(rows):
        return max(1, rows - int(round(rows * a.dup_rate))) if rows else 0
    da, db = distinct(a.rows_a), distinct(a.rows_b)
    shared = int(round(a.overlap * min(da, db)))
    ka = keys_for(a.seed, 0, da)
    kb = ka[:shared] + keys_for(a.seed, da, da + db - shared)

    ra = row_keys(rng, ka, a.rows_a)
    rb = row_keys(rng, kb, a.rows_b)
    if a.variants:
        apply_variants(rng, ra)
        apply_variants(rng, rb)
    regions = ["region-%03d" % i for i in range(a.regions)]
    bands = ["band-%02d" % i for i in range(a.age_bands)]

    os.makedirs(a.out, exist_ok=True)
    write_csv(os.path.join(a.out, "retailer.csv"), "email_sha256,region",
              (ra, rng.choices(regions, k=a.rows_a)))
    write_csv(os.path.join(a.out, "provider.csv"), "email_sha256,age_band,spend",
              (rb, rng.choices(bands, k=a.rows_b), spends(rng, a.rows_b)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
