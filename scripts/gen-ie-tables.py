#!/usr/bin/env python3
"""Generate plugins/decoders/flowlib/ie_tables.c, the information-element
tables of the NetFlow v9 and IPFIX decoders, from the field registries.

    scripts/gen-ie-tables.py [REGISTRIES_DIR] [-o OUTPUT]

REGISTRIES_DIR holds netflow-v9-fields.tsv and ipfix-information-elements.tsv
(default: ../shared/registries beside the source tree). The output is
committed; tests/unit/test_ie_tables.sh checks that it is up to date.

The registries are the facts (IANA's names and data types, the v9 table's
names, which are the JSON keys); the mapping to kinds and the vendor kinds
below are ours. The output depends only on the inputs' contents, never on
the time or the machine, so regenerating it is reproducible.
"""
import argparse
import hashlib
import os
import re
import sys

V9_TSV = "netflow-v9-fields.tsv"
IANA_TSV = "ipfix-information-elements.tsv"
OUTPUT = "plugins/decoders/flowlib/ie_tables.c"

# IANA abstractDataType -> enum nfc_field_kind (docs/flow-fields.md, Values).
KIND_OF_TYPE = {
    "unsigned8": "NFC_FIELD_UINT",
    "unsigned16": "NFC_FIELD_UINT",
    "unsigned32": "NFC_FIELD_UINT",
    "unsigned64": "NFC_FIELD_UINT",
    # 32 bytes (RFC 9740 flag sets): too wide for a JSON number, shown as hex.
    "unsigned256": "NFC_FIELD_BYTES",
    "signed8": "NFC_FIELD_INT",
    "signed16": "NFC_FIELD_INT",
    "signed32": "NFC_FIELD_INT",
    "signed64": "NFC_FIELD_INT",
    "float32": "NFC_FIELD_FLOAT",
    "float64": "NFC_FIELD_FLOAT",
    "boolean": "NFC_FIELD_BOOL",
    "macAddress": "NFC_FIELD_MAC",
    "octetArray": "NFC_FIELD_BYTES",
    "string": "NFC_FIELD_STRING",
    "dateTimeSeconds": "NFC_FIELD_TIME_S",
    "dateTimeMilliseconds": "NFC_FIELD_TIME_MS",
    "dateTimeMicroseconds": "NFC_FIELD_TIME_US",
    "dateTimeNanoseconds": "NFC_FIELD_TIME_NS",
    "ipv4Address": "NFC_FIELD_IPV4",
    "ipv6Address": "NFC_FIELD_IPV6",
    "basicList": "NFC_FIELD_BYTES",
    "subTemplateList": "NFC_FIELD_BYTES",
    "subTemplateMultiList": "NFC_FIELD_BYTES",
}

# dataTypeSemantics that get IE_F_COUNTER (renormalized by sampling).
COUNTER_SEMANTICS = ("deltaCounter", "totalCounter")

# IANA rows that are placeholders, not elements.
NOT_ELEMENTS = ("", "Reserved", "Assigned for NetFlow v9 compatibility")

# NetFlow v9 vendor field types (>= 32768: no IANA element of the same id).
# type: (kind, name when the v9 table has none, why)
# The v9 table's name wins when it has the type; types it lacks are named
# v9_<type> as docs/flow-fields.md says for "any other type".
V9_VENDOR = {
    # Cisco ASA NSEL (ASA NetFlow Implementation Guide, "Data Records
    # Exported Through NSEL"); tshark decodes all of these.
    33000: ("NFC_FIELD_BYTES", None,
            "NF_F_INGRESS_ACL_ID: 12-byte ACL id (ACL, ACE and extended ACE hashes), hex as in tshark"),
    33001: ("NFC_FIELD_BYTES", None, "NF_F_EGRESS_ACL_ID: 12-byte ACL id, hex"),
    33002: ("NFC_FIELD_UINT", None, "NF_F_FW_EXT_EVENT: 2-byte extended event code"),
    40000: ("NFC_FIELD_STRING", None, "NF_F_USERNAME / NF_F_USERNAME_MAX: AAA user name, 20 or 65 bytes"),
    # Pre-8.4 ASA NSEL ids, later exported as IANA 225-228 and 233; not in
    # the v9 table. tshark: XLATE_SRC_ADDR_IPV4 ... FW_EVENT.
    40001: ("NFC_FIELD_IPV4", "v9_40001", "NF_F_XLATE_SRC_ADDR_IPV4 (old id): post-NAT source address"),
    40002: ("NFC_FIELD_IPV4", "v9_40002", "NF_F_XLATE_DST_ADDR_IPV4 (old id): post-NAT destination address"),
    40003: ("NFC_FIELD_UINT", "v9_40003", "NF_F_XLATE_SRC_PORT (old id): post-NAT source port"),
    40004: ("NFC_FIELD_UINT", "v9_40004", "NF_F_XLATE_DST_PORT (old id): post-NAT destination port"),
    40005: ("NFC_FIELD_UINT", "v9_40005", "NF_F_FW_EVENT (old id): firewall event code"),
    # Palo Alto PAN-OS (tshark corpus: NUL-padded text, 32 and 64 bytes).
    56701: ("NFC_FIELD_STRING", None, "PAN-OS App-ID: application name"),
    56702: ("NFC_FIELD_STRING", None, "PAN-OS User-ID: user name"),
}

IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def die(msg):
    sys.stderr.write("gen-ie-tables.py: %s\n" % msg)
    sys.exit(1)


def read_tsv(path, columns):
    """Rows of a TSV as dicts; the header must name every wanted column."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        die("%s: %s" % (path, e.strerror))
    text = raw.decode("utf-8").replace("\r\n", "\n")
    lines = [l for l in text.split("\n") if l != ""]
    header = lines[0].split("\t")
    for c in columns:
        if c not in header:
            die("%s: no column '%s'" % (path, c))
    rows = []
    for n, line in enumerate(lines[1:], start=2):
        cells = line.split("\t")
        if len(cells) != len(header):
            die("%s:%d: %d cells, header has %d" % (path, n, len(cells), len(header)))
        row = dict(zip(header, cells))
        row["_line"] = n
        rows.append(row)
    return rows, hashlib.sha256(raw).hexdigest()


def check_name(path, row, name):
    if not IDENT.match(name):
        die("%s:%d: '%s' is not an identifier" % (path, row["_line"], name))


def parse_id(path, row, col):
    v = row[col]
    if not v.isdigit() or int(v) > 65535:
        die("%s:%d: bad %s '%s'" % (path, row["_line"], col, v))
    return int(v)


def load_iana(path):
    rows, digest = read_tsv(path, ("elementId", "name", "abstractDataType", "dataTypeSemantics"))
    iana = {}
    seen = {}
    for row in rows:
        eid = parse_id(path, row, "elementId")
        name = row["name"]
        if eid in iana or eid in seen:
            die("%s:%d: element %d twice" % (path, row["_line"], eid))
        seen[eid] = True
        if name in NOT_ELEMENTS:
            continue
        check_name(path, row, name)
        adt = row["abstractDataType"]
        if adt not in KIND_OF_TYPE:
            die("%s:%d: %s: unknown abstractDataType '%s'" % (path, row["_line"], name, adt))
        counter = row["dataTypeSemantics"] in COUNTER_SEMANTICS
        iana[eid] = (name, KIND_OF_TYPE[adt], counter, adt, row["dataTypeSemantics"])
    names = {}
    for eid, v in iana.items():
        if v[0] in names:
            die("%s: name %s for %d and %d" % (path, v[0], names[v[0]], eid))
        names[v[0]] = eid
    return iana, digest


def kind_of_length(length):
    """Kind of a v9 type known neither to IANA nor to V9_VENDOR."""
    if length in ("1", "2", "4", "8"):
        return "NFC_FIELD_UINT"
    return "NFC_FIELD_BYTES"


def load_v9(path, iana):
    rows, digest = read_tsv(path, ("id", "name", "default_length"))
    table = {}
    for row in rows:
        t = parse_id(path, row, "id")
        if t in table:
            die("%s:%d: type %d twice" % (path, row["_line"], t))
        if t == 0:
            continue  # bitkeks' UNKNOWN_FIELD_TYPE: a fallback key, not a field type
        check_name(path, row, row["name"])
        table[t] = row
    v9 = {}
    for t in sorted(set(table) | set(i for i in iana if i < 32768) | set(V9_VENDOR)):
        row = table.get(t)
        if t in iana and t < 32768:
            name, kind, counter, adt, sem = iana[t]
            why = "IANA %s %s" % (adt, sem) if sem else "IANA %s" % adt
            if row:
                name = row["name"]
            else:
                why += ", IANA name"
        elif t in V9_VENDOR:
            kind, name, why = V9_VENDOR[t]
            counter = False
            if row:
                name = row["name"]
            elif name is None:
                die("V9_VENDOR %d: the v9 table lacks it, give it a name" % t)
        elif row:
            name, counter = row["name"], False
            kind = kind_of_length(row["default_length"])
            why = "default length %s" % (row["default_length"] or "unknown")
        else:
            continue
        v9[t] = (name, kind, counter, why)
    names = {}
    for t, v in v9.items():
        if v[0] in names:
            die("v9 name %s for %d and %d" % (v[0], names[v[0]], t))
        names[v[0]] = t
    return v9, digest


def entry(name, kind, counter):
    return '{ "%s", %s, %s }' % (name, kind, "IE_F_COUNTER" if counter else "0")


def generate(iana, v9, digests):
    out = []
    w = out.append
    w("/*")
    w(" * GENERATED by scripts/gen-ie-tables.py: DO NOT EDIT. Regenerate with")
    w(" *   scripts/gen-ie-tables.py [../shared/registries]")
    w(" * from")
    w(" *   %s  sha256 %s" % (IANA_TSV, digests[IANA_TSV]))
    w(" *   %s           sha256 %s" % (V9_TSV, digests[V9_TSV]))
    w(" * (their origins: SOURCES.md beside them). Names and data types are the")
    w(" * IANA IPFIX registry's and the NetFlow v9 table's; the code and the kinds")
    w(" * of the vendor types are ours (see the script).")
    w(" */")
    w('#include "ie.h"')
    w("")
    w("#include <stddef.h>")
    w("")
    iana_n = max(iana) + 1
    w("/* IANA IPFIX elements (enterprise 0), indexed by element id. */")
    w("static const struct ie_def iana[%d] = {" % iana_n)
    for eid in sorted(iana):
        name, kind, counter, adt, sem = iana[eid]
        w("\t[%d] = %s, /* %s%s */" % (eid, entry(name, kind, counter), adt, " " + sem if sem else ""))
    w("};")
    w("")
    low = [t for t in v9 if t < 32768]
    high = [t for t in v9 if t >= 32768]
    v9_n = max(low) + 1
    w("/* NetFlow v9 field types below 32768, indexed by type. */")
    w("static const struct ie_def v9_low[%d] = {" % v9_n)
    for t in low:
        name, kind, counter, why = v9[t]
        w("\t[%d] = %s, /* %s */" % (t, entry(name, kind, counter), why))
    w("};")
    w("")
    w("/* NetFlow v9 vendor field types (>= 32768), sorted by type. */")
    w("static const struct {")
    w("\tuint16_t type;")
    w("\tstruct ie_def def;")
    w("} v9_high[%d] = {" % len(high))
    for t in high:
        name, kind, counter, why = v9[t]
        w("\t{ %d, %s }, /* %s */" % (t, entry(name, kind, counter), why))
    w("};")
    w("")
    w("const struct ie_def *ie_iana(uint16_t id)")
    w("{")
    w("\tif (id >= sizeof(iana) / sizeof(iana[0]) || !iana[id].name)")
    w("\t\treturn NULL;")
    w("\treturn &iana[id];")
    w("}")
    w("")
    w("const struct ie_def *ie_v9(uint16_t type)")
    w("{")
    w("\tsize_t lo = 0, hi = sizeof(v9_high) / sizeof(v9_high[0]);")
    w("")
    w("\tif (type < sizeof(v9_low) / sizeof(v9_low[0]))")
    w("\t\treturn v9_low[type].name ? &v9_low[type] : NULL;")
    w("\twhile (lo < hi) {")
    w("\t\tsize_t mid = lo + (hi - lo) / 2;")
    w("")
    w("\t\tif (v9_high[mid].type == type)")
    w("\t\t\treturn &v9_high[mid].def;")
    w("\t\tif (v9_high[mid].type < type)")
    w("\t\t\tlo = mid + 1;")
    w("\t\telse")
    w("\t\t\thi = mid;")
    w("\t}")
    w("\treturn NULL;")
    w("}")
    return "\n".join(out) + "\n"


def main():
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description="Generate %s from the field registries." % OUTPUT)
    ap.add_argument("registries", nargs="?", default=os.path.join(top, "..", "shared", "registries"),
                    help="directory with %s and %s (default: ../shared/registries)" % (V9_TSV, IANA_TSV))
    ap.add_argument("-o", "--output", default=os.path.join(top, OUTPUT),
                    help="file to write (default: %s in the source tree)" % OUTPUT)
    args = ap.parse_args()
    iana, d_iana = load_iana(os.path.join(args.registries, IANA_TSV))
    v9, d_v9 = load_v9(os.path.join(args.registries, V9_TSV), iana)
    text = generate(iana, v9, {IANA_TSV: d_iana, V9_TSV: d_v9})
    tmp = args.output + ".tmp"
    with open(tmp, "w", encoding="ascii", newline="\n") as f:
        f.write(text)
    os.replace(tmp, args.output)


if __name__ == "__main__":
    main()
