#!/usr/bin/env python3
"""The output.csv a join-aggregate job must publish, computed by sqlite3.

    collab_expected.py MANIFEST.json PARTY0.csv PARTY1.csv > expected.csv

For test_e2e_collab.sh. Reads the manifest's parties (name, join column,
min_distinct_keys) and query, loads both plaintext CSVs with the sqlite3
shell's `.import --csv` (every column TEXT, so values keep their exact
bytes), and runs the SQL of docs/FORMATS.md, "Join-aggregate jobs":

  SELECT groups, aggregates FROM a JOIN b ON norm(a.join) = norm(b.join)
  WHERE norm(a.join) <> '' GROUP BY groups
  HAVING COUNT(DISTINCT norm(a.join)) >= T ORDER BY groups

with norm(x) = lower(trim(x, ' ' || char(9))) and T the largest
min_distinct_keys. Nothing here is floating point: a numeric column is read
as an integer number of millionths (sign, integer digits, up to 6 decimals,
all by string operations), sums are exact integers, avg is the integer
quotient rounded half away from zero to hundredths, and both are formatted
from integers. Field quoting and the trailer line are the contract's.
Values whose millionths exceed 64 bits are outside what this checks (sqlite3
stops with "integer overflow", the test then fails loudly).
"""
import json
import subprocess
import sys


def ident(name):
    return '"' + name.replace('"', '""') + '"'


def lit(s):
    return "'" + s.replace("'", "''") + "'"


def norm(expr):
    return "lower(trim(%s, ' ' || char(9)))" % expr


def micro(expr):
    """TEXT [-]D+[.D{1,6}] -> INTEGER millionths, exactly."""
    a = "ltrim(%s, '-')" % expr
    dot = "instr(%s || '.', '.')" % a
    ip = "CAST(substr(%s, 1, %s - 1) AS INTEGER)" % (a, dot)
    fp = "CAST(substr(substr(%s, %s + 1) || '000000', 1, 6) AS INTEGER)" % (a, dot)
    sign = "(CASE WHEN substr(%s, 1, 1) = '-' THEN -1 ELSE 1 END)" % expr
    return "(%s * (%s * 1000000 + %s))" % (sign, ip, fp)


def fmt_sum(s):
    """INTEGER millionths -> "12", "12.5", "-0.25", "0"."""
    a = "abs(%s)" % s
    frac = "rtrim(printf('%%06d', %s %% 1000000), '0')" % a
    return ("((CASE WHEN %s < 0 THEN '-' ELSE '' END) || (%s / 1000000) || "
            "(CASE WHEN %s %% 1000000 = 0 THEN '' ELSE '.' || %s END))" % (s, a, a, frac))


def fmt_avg(s, n):
    """millionths sum S over n rows -> hundredths rounded half away from zero, "12.50"."""
    a = "abs(%s)" % s
    # |S| / (n * 10^4) hundredths, + 1/2 rounded down: (2|S| + n*10^4) / (2 n 10^4)
    h = "((2 * %s + %s * 10000) / (2 * %s * 10000))" % (a, n, n)
    return ("((CASE WHEN %s < 0 AND %s > 0 THEN '-' ELSE '' END) || (%s / 100) || '.' || "
            "printf('%%02d', %s %% 100))" % (s, h, h, h))


def csv_field(expr):
    """Quoted (RFC 4180) only if it holds , " CR LF or starts/ends with a space."""
    need = ("(instr(%(e)s, ',') > 0 OR instr(%(e)s, '\"') > 0 OR instr(%(e)s, char(13)) > 0 "
            "OR instr(%(e)s, char(10)) > 0 OR substr(%(e)s, 1, 1) = ' ' OR substr(%(e)s, -1, 1) = ' ')"
            % {"e": expr})
    return ("(CASE WHEN %s THEN '\"' || replace(%s, '\"', '\"\"') || '\"' ELSE %s END)"
            % (need, expr, expr))


def main(argv):
    manifest, paths = json.load(open(argv[0])), argv[1:3]
    parties = manifest["parties"]
    if len(parties) != 2 or len(paths) != 2:
        sys.exit("collab_expected: two parties and two CSVs")
    alias = {p["name"]: "t%d" % i for i, p in enumerate(parties)}
    join = {p["name"]: p["join"] for p in parties}
    t = max(p["rule"]["min_distinct_keys"] for p in parties)
    q = manifest["query"]

    def col(party, column):
        return "%s.%s" % (alias[party], ident(column))

    def norm_key(i):
        p = parties[i]["name"]
        return norm(col(p, join[p]))

    groups = [col(g["party"], g["column"]) for g in q["group_by"]]
    aggs = []
    header = ["%s.%s" % (g["party"], g["column"]) for g in q["group_by"]]
    for a in q["aggregates"]:
        f, p, c = a["function"], a["party"], a["column"]
        header.append("%s(%s.%s)" % (f, p, c))
        x = col(p, c)
        if f == "count":
            aggs.append("COUNT(%s)" % x)
        elif f == "count_distinct":
            aggs.append("COUNT(DISTINCT %s)" % (norm(x) if c == join[p] else x))
        elif f == "sum":
            aggs.append(fmt_sum("SUM(%s)" % micro(x)))
        elif f == "avg":
            aggs.append(fmt_avg("SUM(%s)" % micro(x), "COUNT(*)"))
        else:
            sys.exit("collab_expected: function %s" % f)

    src = ("FROM %s AS t0 JOIN %s AS t1 ON %s = %s WHERE %s <> ''"
           % (ident(parties[0]["name"]), ident(parties[1]["name"]), norm_key(0), norm_key(1),
              norm_key(0)))
    group_by = (" GROUP BY " + ", ".join(groups)) if groups else ""
    distinct = "COUNT(DISTINCT %s)" % norm_key(0)
    fields = [csv_field(g) for g in groups] + aggs
    rows = ("SELECT %s %s%s HAVING %s >= %d%s;"
            % (" || ',' || ".join("(%s)" % f for f in fields), src, group_by, distinct, t,
               (" ORDER BY " + ", ".join(groups)) if groups else ""))
    suppressed = ("SELECT '# suppressed_groups=' || COUNT(*) || ' threshold=%d' FROM "
                  "(SELECT COUNT(*) %s%s HAVING %s < %d);" % (t, src, group_by, distinct, t))
    script = "\n".join(
        [".bail on"]
        + [".import --csv %s %s" % (path, ident(p["name"])) for path, p in zip(paths, parties)]
        # An index on the normalised key of each side, so the join is not a
        # nested loop over both files (the planner uses an index on the
        # exact expression the ON clause names).
        + ["CREATE INDEX %s ON %s(%s);" % (ident("k%d" % i), ident(p["name"]),
                                           norm(ident(p["join"])))
           for i, p in enumerate(parties)]
        + [".mode list", ".headers off", "SELECT %s;" % lit(",".join(header)), rows, suppressed])
    res = subprocess.run(["sqlite3", ":memory:"], input=script.encode(), capture_output=True)
    if res.returncode != 0 or res.stderr:
        sys.exit("collab_expected: sqlite3: " + res.stderr.decode(errors="replace"))
    sys.stdout.buffer.write(res.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
