"""tshark as the reference decode of the corpus replay (corpus_check.py):
its values by offset in the frame, and how a value of ours compares with one
of tshark's. Also the plain decode of --self-test."""
import calendar
import ipaddress
import json
import os
import re
import struct
import subprocess

from corpus_pcap import read_pcap
from corpus_walk import TIME_UNITS, record_keys

# --------------------------------------------------------------------------
# tshark: the reference decode


def tshark_decode(pcap, ports, tmpdir):
    """{frame number: {(offset, length): (tshark field, value, field type, raw hex)}}
    and {frame number: number of data records tshark decoded in it}. The
    options are those of the corpus's tshark/*.txt (-n, -d for every port), with
    -T json -x for the offsets; HOME is a scratch directory, so no personal
    Wireshark preference changes the decode."""
    args = ["tshark", "-n", "-r", pcap, "-Y", "cflow", "-T", "json", "-x", "-J", "frame cflow",
            "--no-duplicate-keys"]
    for p in sorted(ports):
        args += ["-d", "udp.port==%d,cflow" % p]
    env = dict(os.environ, TZ="UTC", HOME=tmpdir)
    r = subprocess.run(args, capture_output=True, env=env)
    if r.returncode != 0:
        raise RuntimeError("tshark failed on %s: %s" % (pcap, r.stderr.decode(errors="replace")[-500:]))
    values, counts = {}, {}
    for pkt in json.loads(r.stdout or b"[]"):
        layers = pkt["_source"]["layers"]
        fn = int(layers["frame"]["frame.number"])
        cf = layers.get("cflow")
        if isinstance(cf, list):  # several NetFlow PDUs in one frame: not in this corpus
            cf = cf[0]
        if not isinstance(cf, dict):
            continue
        at, n = {}, 0
        for k, v in cf.items():
            if isinstance(v, dict) and (k.startswith("FlowSet ") or k.startswith("Set ") or k.startswith("pdu ")):
                if k.startswith("pdu "):
                    n += 1
                    collect(v, at)
                    continue
                for k2, v2 in v.items():
                    if k2.startswith("Flow ") and isinstance(v2, dict):
                        n += 1
                        collect(v2, at)
        values[fn], counts[fn] = at, n
    return values, counts


def collect(d, at):
    """Every field of a record by (offset, length) in the frame; the first one
    wins where several cover the same bytes (the others are derived)."""
    for k, v in d.items():
        if k.endswith("_raw"):
            continue
        for sub in v if isinstance(v, list) else [v]:
            if isinstance(sub, dict):  # a subtree (a list of them when repeated)
                collect(sub, at)
        raw = d.get(k + "_raw")
        if raw is None:
            continue
        vals, raws = (v, raw) if isinstance(v, list) and raw and isinstance(raw[0], list) else ([v], [raw])
        for val, rw in zip(vals, raws):
            if isinstance(val, dict) or not isinstance(rw, list) or len(rw) < 5 or rw[3] or not rw[2]:
                continue  # a tree, a bit field, or generated
            at.setdefault((rw[1], rw[2]), (k, val, rw[4], rw[0]))


FT_INT = set(range(3, 20))
FT_BOOLEAN, FT_FLOAT, FT_DOUBLE, FT_ABS, FT_REL = 2, 22, 23, 24, 25
FT_STRINGS = {26, 27, 28, 43, 45}
FT_ETHER, FT_BYTES, FT_UINT_BYTES, FT_IPV4, FT_IPV6 = 29, 30, 31, 32, 33
MONTHS = {m: i + 1 for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split())}


def abs_ns(s):
    """'Oct  9, 2015 09:47:49.599000000 UTC' -> ns since 1970."""
    m = re.match(r"(\w{3}) +(\d+), (\d+) (\d+):(\d+):(\d+)(?:\.(\d+))? UTC$", s.strip())
    if not m:
        return None
    mon, day, year, hh, mm, ss, frac = m.groups()
    secs = calendar.timegm((int(year), MONTHS[mon], int(day), int(hh), int(mm), int(ss)))
    return secs * 10**9 + int((frac or "0").ljust(9, "0")[:9])


def rel_ns(s):
    m = re.match(r"(-?)(\d+)(?:\.(\d+))?", s.strip())
    if not m:
        return None
    ns = int(m.group(2)) * 10**9 + int((m.group(3) or "0").ljust(9, "0")[:9])
    return -ns if m.group(1) else ns


def as_int(s):
    s = s.strip()
    try:
        return int(s, 16) if s.lower().startswith("0x") else int(s)
    except ValueError:
        return None


def utf8_latin1(b):
    """Bytes as the daemon writes a string: UTF-8, invalid bytes as their Latin-1 code points."""
    out, i = [], 0
    while i < len(b):
        for n in (4, 3, 2, 1):
            try:
                out.append(b[i:i + n].decode("utf-8"))
                i += n
                break
            except UnicodeDecodeError:
                continue
        else:
            out.append(chr(b[i]))
            i += 1
    return "".join(out)


def compare_value(got, tsh, fid, version, known=True):
    """None when our JSON value `got` is tshark's value, else why not. An
    element of no known type (known=False) is compared with the bytes tshark
    delimits, not with tshark's reading of them."""
    name, val, ftype, rawhex = tsh
    raw = bytes.fromhex(rawhex) if rawhex and len(rawhex) % 2 == 0 else None
    if not known:
        return compare_raw(got, raw)
    if isinstance(got, bool):  # IANA boolean: 1 true, 2 false
        want = int.from_bytes(raw, "big") if raw else as_int(val)
        return None if want in (1, 2) and (want == 1) == got else "boolean"
    if ftype in (FT_IPV4, FT_IPV6):
        try:
            return None if isinstance(got, str) and ipaddress.ip_address(got) == ipaddress.ip_address(val) \
                else "address"
        except ValueError:
            return "address"
    if ftype == FT_ETHER:
        return None if isinstance(got, str) and got.lower() == val.lower() else "MAC"
    if ftype == FT_ABS:
        ns, unit = abs_ns(val), TIME_UNITS.get(fid) if version != 5 else None
        if ns is None or unit is None or not isinstance(got, int):
            return compare_raw(got, raw)
        want = ns // 10**unit
        return None if abs(got - want) <= (1 if unit < 6 else 0) else "time (%s)" % val
    if ftype == FT_REL:
        ns = rel_ns(val)
        unit = 6 if version == 5 else TIME_UNITS.get(fid)
        if ns is None or unit is None or not isinstance(got, int):
            return compare_raw(got, raw)
        return None if got == ns // 10**unit else "relative time (%s s)" % val
    if ftype in FT_INT:
        want = as_int(val)
        if want is None:
            return compare_raw(got, raw)
        return None if isinstance(got, int) and got == want else "number"
    if ftype in (FT_FLOAT, FT_DOUBLE):
        try:
            want = float(val)
        except ValueError:
            return compare_raw(got, raw)
        if got is None:
            return None if want != want or want in (float("inf"), float("-inf")) else "float"
        return None if isinstance(got, (int, float)) and abs(got - want) <= 1e-6 * max(1.0, abs(want)) \
            else "float"
    if ftype in FT_STRINGS:
        if not isinstance(got, str):
            return "string"
        if got == val or (raw is not None and got in (utf8_latin1(raw), utf8_latin1(raw.split(b"\0")[0]))):
            return None
        return "string"
    return compare_raw(got, raw)


def compare_raw(got, raw):
    """got against the raw bytes, rendered as docs/flow-fields.md allows for an
    element whose type we do not know (vendor types, enterprise elements): a
    number, lower-case hex, a string, an address or a MAC."""
    if raw is None:
        return "no raw bytes"
    if isinstance(got, bool):
        return "type"
    if isinstance(got, int):
        return None if got == int.from_bytes(raw, "big") else "number (raw)"
    if isinstance(got, str):
        forms = {raw.hex(), utf8_latin1(raw), utf8_latin1(raw.split(b"\0")[0])}
        if len(raw) in (4, 16):
            forms.add(str(ipaddress.ip_address(raw)))
        if len(raw) == 6:
            forms.add(":".join("%02x" % b for b in raw))
        return None if got in forms or got.lower() in forms else "bytes"
    return "type"


def show(v):
    return json.dumps(v, ensure_ascii=False)



# --------------------------------------------------------------------------
# --self-test: records written by a plain reading of docs/flow-fields.md in
# place of the daemon's, to check this harness (tshark's values, the walk's
# offsets) without the daemon.

NTP_EPOCH = 2208988800


def plain_value(version, fid, pen, raw, names):
    t = names.ie_type.get(fid) if version != 5 and (pen == 0 or pen == 29305) else None
    if version == 9 and fid >= 32768:
        t = "string" if fid in (40000, 56701, 56702) else None
    n = len(raw)
    if t and t.startswith("unsigned") and 1 <= n <= 8:
        return int.from_bytes(raw, "big")
    if t and t.startswith("signed") and 1 <= n <= 8:
        return int.from_bytes(raw, "big", signed=True)
    if t == "ipv4Address" and n == 4 or t == "ipv6Address" and n == 16:
        return str(ipaddress.ip_address(raw))
    if t == "macAddress" and n == 6:
        return ":".join("%02x" % b for b in raw)
    if t == "string":
        return utf8_latin1(raw)
    if t == "float64" and n == 8 or t == "float32" and n == 4:
        v = struct.unpack("!d" if n == 8 else "!f", raw)[0]
        return None if v != v or v in (float("inf"), float("-inf")) else v
    if t == "boolean" and n == 1:
        return True if raw[0] == 1 else False if raw[0] == 2 else raw[0]
    if t in ("dateTimeSeconds", "dateTimeMilliseconds") and n in (4, 8):
        return int.from_bytes(raw, "big")
    if t in ("dateTimeMicroseconds", "dateTimeNanoseconds") and n == 8:
        sec, frac = struct.unpack("!II", raw)
        mult = 10**6 if t == "dateTimeMicroseconds" else 10**9
        return (sec - NTP_EPOCH) * mult + (frac * mult >> 32)
    if t is None and n in (1, 2, 4, 8):
        return int.from_bytes(raw, "big")
    return raw.hex()


def plain_records(g, recs, names):
    frames = {i + 1: fr for i, (lt, ts, fr) in enumerate(read_pcap(g.pcap))}
    out = []
    for e in recs:
        fr, o = frames[e.frame], {}
        for key, fid, pen, off, ln in record_keys(e, names):
            if key is None or (ln == 0 and not names.is_string(e.version, fid, pen)):
                continue
            raw = fr[off:off + ln]
            if e.version == 5:
                addr = key in ("IPV4_SRC_ADDR", "IPV4_DST_ADDR", "NEXT_HOP")
                o[key] = str(ipaddress.IPv4Address(raw)) if addr else int.from_bytes(raw, "big")
            else:
                o[key] = plain_value(e.version, fid, pen, raw, names)
        o["exporterIPv4Address" if ":" not in e.exporter else "exporterIPv6Address"] = e.exporter
        out.append(o)
    return out


