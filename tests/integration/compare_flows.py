#!/usr/bin/env python3
"""Compare the daemon's NetFlow v9 / IPFIX JSON lines with tshark's decode of the same datagrams.

Usage: compare_flows.py [--ordered] [--sessions N] [--session-records N1,N2,...]
                        [--expect-keys K1,K2=V,...] TSHARK.json DAEMON.jsonl

TSHARK.json comes from
  TZ=UTC tshark -r CAP -d udp.port==PORT,cflow -T json -J "ip ipv6 udp cflow" --no-duplicate-keys
(lib.sh capture_stop), CAP being v9_uncount.py's copy of the capture (tshark
stops at the v9 header's count, which softflowd gets wrong). tshark's sets
must be exactly the sets of each datagram (walked from udp.payload by their
lengths, nothing decoded), else the reference is incomplete and the script
says so. Every v9 and IPFIX data record tshark decodes must
match exactly one JSON line of DAEMON.jsonl and the counts must be equal: no
record lost, none duplicated, none invented. Template records and options
data records are not flow records (the decoders keep options data, they do
not forward it by default): options data only feeds what the daemon adds.

How a tshark record becomes the JSON object the daemon must write
(docs/flow-fields.md):

- The template tshark used (cflow.template_frame and the set id) lists the
  record's elements in order. Each cflow.* value of the record is matched to
  its element by the table TSHARK below (tshark's field name -> element ids);
  where a template holds several elements one name can show (a name used for
  two ids, RFC 5103 reverse elements under the same name, an element present
  twice), tshark shows the values as a list in wire order and they go to the
  matching elements in template order. Every element of the template must get
  exactly one value and every value shown must belong to an element: an
  element or a tshark field this table does not know stops the comparison
  (extend the table) instead of going unchecked.
- Keys: v9, the v9 table's name of the id (registries/netflow-v9-fields.tsv),
  else the IANA name; IPFIX, the IANA name, and "reverse" + the IANA name with
  its first letter in upper case for PEN 29305. An element repeated in a
  template gets _2, _3, ... in template order.
- Values, by the IANA abstract data type of the id: unsigned numbers (tshark's
  0x.. shown as hex), addresses and MACs as the strings tshark shows,
  FIRST_SWITCHED/LAST_SWITCHED (flow{Start,End}SysUpTime) as the milliseconds
  tshark shows as seconds, dateTimeSeconds/Milliseconds as seconds /
  milliseconds since 1970, dateTimeMicroseconds/Nanoseconds as microseconds /
  nanoseconds since 1970 truncated (tshark shows an NTP time truncated to the
  nanosecond, so the truncated microsecond is exact: floor(ns / 1000));
  icmpTypeCodeIPv6 = 256 * type + code (tshark shows type and code apart);
  tshark's trap of a FIRST_SWITCHED of 0 shown as cflow.abstimestart 1970 is
  read back as 0.
- Added keys, unless the template carries the element itself:
  exporterIPv4Address / exporterIPv6Address = the datagram's IP source as
  tshark shows it (IPv4-mapped IPv6 as IPv4), unless the template has 130/131;
  SAMPLING_INTERVAL (v9) / samplingInterval (IPFIX) = the interval the
  exporter last announced in options data (34 or 50; RFC 5476 305/306:
  (interval + space) / interval; 309/310: population / size; 0 announces
  nothing), unless the template has 34, 50 or 305. Announcements are kept per
  exporter (IP source, source id / observation domain); what a datagram
  announces applies to all records of that datagram.
  flowStartSeconds / flowEndSeconds, unless the template has 150 / 151, from
  the first source the template has (elements of length 1..8), in this order:
    152/153 milliseconds:  floor(ms / 1000)
    154/155, 156/157 NTP:  the NTP seconds - 2208988800 (floor of the time)
    158/159 delta us:      floor((export_time_s * 10^6 - delta) / 10^6)
    22/21 SysUpTime ms:    v9: floor((unix_secs * 1000 - (sysUptime - t)) / 1000), with
                           sysUptime - t taken modulo 2^32 as a signed 32-bit
                           number (uptime wraps; an end a moment after the export);
                           IPFIX: floor((systemInitTimeMilliseconds + t) / 1000), only
                           once the exporter announced systemInitTimeMilliseconds
                           (options data), else no key.
  "floor" is the floor toward minus infinity (the decoders truncate toward lower
  seconds); every time here is after 1970, where it equals truncation.
- The keys of template elements must appear in template order in the line.

--ordered: the daemon's lines must also be in tshark's order (records of a
datagram in wire order, datagrams in capture order); true with one input
worker and one exporter at a time.
--sessions N: exactly N exporter transport sessions (IP source and UDP
source port) sent data records, each at least one.
--session-records N1,N2,...: the sessions, in the order they first appear in
the capture, sent exactly N1, N2, ... data records (* for any number).
--expect-keys K,K=V,...: each key must occur in at least one compared record,
with the value V (JSON) when given, so a test notices when an exporter stops
sending what it is meant to exercise.

Exit status 0 when everything matches, 1 otherwise, 2 when the reference
cannot be built (a field this script does not know, a capture tshark could
not fully decode).
"""
import calendar
import collections
import ipaddress
import json
import os
import re
import sys

NTP_UNIX_OFFSET = 2208988800
REVERSE_PEN = 29305

# The elements the table below can name: id -> (IANA name, IANA abstract data
# type, v9 table name or None). From ../shared/registries (checked against it
# at start when it is there: check_registries()).
IE = {
    1: ("octetDeltaCount", "unsigned64", "IN_BYTES"),
    2: ("packetDeltaCount", "unsigned64", "IN_PKTS"),
    3: ("deltaFlowCount", "unsigned64", "FLOWS"),
    4: ("protocolIdentifier", "unsigned8", "PROTOCOL"),
    5: ("ipClassOfService", "unsigned8", "SRC_TOS"),
    6: ("tcpControlBits", "unsigned16", "TCP_FLAGS"),
    7: ("sourceTransportPort", "unsigned16", "L4_SRC_PORT"),
    8: ("sourceIPv4Address", "ipv4Address", "IPV4_SRC_ADDR"),
    9: ("sourceIPv4PrefixLength", "unsigned8", "SRC_MASK"),
    10: ("ingressInterface", "unsigned32", "INPUT_SNMP"),
    11: ("destinationTransportPort", "unsigned16", "L4_DST_PORT"),
    12: ("destinationIPv4Address", "ipv4Address", "IPV4_DST_ADDR"),
    13: ("destinationIPv4PrefixLength", "unsigned8", "DST_MASK"),
    14: ("egressInterface", "unsigned32", "OUTPUT_SNMP"),
    15: ("ipNextHopIPv4Address", "ipv4Address", "IPV4_NEXT_HOP"),
    16: ("bgpSourceAsNumber", "unsigned32", "SRC_AS"),
    17: ("bgpDestinationAsNumber", "unsigned32", "DST_AS"),
    18: ("bgpNextHopIPv4Address", "ipv4Address", "BGP_IPV4_NEXT_HOP"),
    21: ("flowEndSysUpTime", "unsigned32", "LAST_SWITCHED"),
    22: ("flowStartSysUpTime", "unsigned32", "FIRST_SWITCHED"),
    23: ("postOctetDeltaCount", "unsigned64", "OUT_BYTES"),
    24: ("postPacketDeltaCount", "unsigned64", "OUT_PKTS"),
    27: ("sourceIPv6Address", "ipv6Address", "IPV6_SRC_ADDR"),
    28: ("destinationIPv6Address", "ipv6Address", "IPV6_DST_ADDR"),
    29: ("sourceIPv6PrefixLength", "unsigned8", "IPV6_SRC_MASK"),
    30: ("destinationIPv6PrefixLength", "unsigned8", "IPV6_DST_MASK"),
    31: ("flowLabelIPv6", "unsigned32", "IPV6_FLOW_LABEL"),
    32: ("icmpTypeCodeIPv4", "unsigned16", "ICMP_TYPE"),
    34: ("samplingInterval", "unsigned32", "SAMPLING_INTERVAL"),
    35: ("samplingAlgorithm", "unsigned8", "SAMPLING_ALGORITHM"),
    48: ("samplerId", "unsigned8", "FLOW_SAMPLER_ID"),
    49: ("samplerMode", "unsigned8", "FLOW_SAMPLER_MODE"),
    50: ("samplerRandomInterval", "unsigned32", "NTERVAL"),
    55: ("postIpClassOfService", "unsigned8", "DST_TOS"),
    56: ("sourceMacAddress", "macAddress", "IN_SRC_MAC"),
    57: ("postDestinationMacAddress", "macAddress", "OUT_DST_MAC"),
    58: ("vlanId", "unsigned16", "SRC_VLAN"),
    59: ("postVlanId", "unsigned16", "DST_VLAN"),
    60: ("ipVersion", "unsigned8", "IP_PROTOCOL_VERSION"),
    61: ("flowDirection", "unsigned8", "DIRECTION"),
    62: ("ipNextHopIPv6Address", "ipv6Address", "IPV6_NEXT_HOP"),
    63: ("bgpNextHopIPv6Address", "ipv6Address", "BPG_IPV6_NEXT_HOP"),
    80: ("destinationMacAddress", "macAddress", "IN_DST_MAC"),
    81: ("postSourceMacAddress", "macAddress", "OUT_SRC_MAC"),
    82: ("interfaceName", "string", "IF_NAME"),
    130: ("exporterIPv4Address", "ipv4Address", None),
    131: ("exporterIPv6Address", "ipv6Address", None),
    136: ("flowEndReason", "unsigned8", None),
    139: ("icmpTypeCodeIPv6", "unsigned16", None),
    143: ("meteringProcessId", "unsigned32", None),
    144: ("exportingProcessId", "unsigned32", None),
    150: ("flowStartSeconds", "dateTimeSeconds", None),
    151: ("flowEndSeconds", "dateTimeSeconds", None),
    152: ("flowStartMilliseconds", "dateTimeMilliseconds", "NF_F_FLOW_CREATE_TIME_MSEC"),
    153: ("flowEndMilliseconds", "dateTimeMilliseconds", None),
    154: ("flowStartMicroseconds", "dateTimeMicroseconds", None),
    155: ("flowEndMicroseconds", "dateTimeMicroseconds", None),
    156: ("flowStartNanoseconds", "dateTimeNanoseconds", None),
    157: ("flowEndNanoseconds", "dateTimeNanoseconds", None),
    158: ("flowStartDeltaMicroseconds", "unsigned32", None),
    159: ("flowEndDeltaMicroseconds", "unsigned32", None),
    160: ("systemInitTimeMilliseconds", "dateTimeMilliseconds", None),
    176: ("icmpTypeIPv4", "unsigned8", "NF_F_ICMP_TYPE"),
    177: ("icmpCodeIPv4", "unsigned8", "NF_F_ICMP_CODE"),
    178: ("icmpTypeIPv6", "unsigned8", "NF_F_ICMP_TYPE_IPV6"),
    179: ("icmpCodeIPv6", "unsigned8", "NF_F_ICMP_CODE_IPV6"),
    304: ("selectorAlgorithm", "unsigned16", None),
    305: ("samplingPacketInterval", "unsigned32", None),
    306: ("samplingPacketSpace", "unsigned32", None),
    309: ("samplingSize", "unsigned32", None),
    310: ("samplingPopulation", "unsigned32", None),
}

# tshark's field name in a data record -> the element ids it can show (what
# softflowd 1.1.0 and pmacct 1.7.7 send, as tshark 4.0 names it; several
# names depend on the id, e.g. 57 is post_dstmac but 80 is dstmac).
TSHARK = {
    "cflow.octets": (1,), "cflow.packets": (2,), "cflow.flows": (3,),
    "cflow.protocol": (4,), "cflow.tos": (5,), "cflow.tcpflags": (6,),
    "cflow.srcport": (7,), "cflow.srcaddr": (8,), "cflow.srcmask": (9,),
    "cflow.inputint": (10,), "cflow.dstport": (11,), "cflow.dstaddr": (12,),
    "cflow.dstmask": (13,), "cflow.outputint": (14,), "cflow.nexthop": (15,),
    "cflow.srcas": (16,), "cflow.dstas": (17,), "cflow.bgpnexthop": (18,),
    "cflow.timeend": (21,), "cflow.timestart": (22,),
    "cflow.octets_out": (23,), "cflow.packets_out": (24,),
    "cflow.srcaddrv6": (27,), "cflow.dstaddrv6": (28,),
    "cflow.srcmaskv6": (29,), "cflow.dstmaskv6": (30,), "cflow.ipv6flowlabel": (31,),
    "cflow.icmp_type_code_ipv4": (32,),
    "cflow.sampling_interval": (34,), "cflow.sampling_algorithm": (35,),
    "cflow.sampler_id": (48,), "cflow.sampler_mode": (49,), "cflow.sampler_random_interval": (50,),
    "cflow.srcmac": (56,), "cflow.post_dstmac": (57,), "cflow.vlanid": (58,), "cflow.post_vlanid": (59,),
    "cflow.ip_version": (60,), "cflow.direction": (61,),
    "cflow.ipv6_next_hop": (62,), "cflow.bgpnexthopv6": (63,),
    "cflow.dstmac": (80,), "cflow.post_srcmac": (81,), "cflow.if_name": (82,),
    "cflow.exporter_addr": (130,), "cflow.exporter_addr_v6": (131,),
    "cflow.flow_end_reason": (136,),
    "cflow.mp_id": (143,), "cflow.flow_exporter": (144,),
    "cflow.abstimestart": (150, 152, 154, 156), "cflow.abstimeend": (151, 153, 155, 157),
    "cflow.sys_init_time": (160,),
    "cflow.icmp_type": (176,), "cflow.icmp_code": (177,),
    "cflow.selector_algorithm": (304,), "cflow.sampling_packet_interval": (305,),
    "cflow.sampling_packet_space": (306,), "cflow.sampling_size": (309,),
    "cflow.sampling_population": (310,),
}
# tshark shows icmpTypeCodeIPv6 (139) as two fields
ICMP6 = ("cflow.icmp_ipv6_type", "cflow.icmp_ipv6_code")
# derived from other fields (checked through them) or not a value
IGNORE = {"cflow.timedelta", "cflow.padding"}
IGNORE_PREFIX = ("cflow.tcpflags.",)
# scope fields of v9 options templates: not elements (options records are not compared)
V9_SCOPE_NAMES = {"cflow.scope_system", "cflow.scope_interface", "cflow.scope_linecard",
                  "cflow.scope_cache", "cflow.scope_template", "cflow.scope"}

SET_RE = re.compile(r"^(?:FlowSet|Set) \d+ \[id=(\d+)\] \((.*)\)(?:: .*)?$")
DATE_RE = re.compile(r"^([A-Z][a-z]{2}) +(\d{1,2}), (\d{4}) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))? UTC$")
MONTHS = {m: i for i, m in enumerate(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
                                      "Oct", "Nov", "Dec"], 1)}
EPOCH_0 = "Jan  1, 1970 00:00:00.000000000 UTC"


class Unusable(Exception):
    """The reference cannot be built from this decode."""


# --------------------------------------------------------------------------
# registries

def check_registries():
    """The names of IE above against ../shared/registries, when it is there."""
    cands = [os.environ.get("NFC_REGISTRIES", "")]
    if os.environ.get("NFC_SRCDIR"):
        cands.append(os.path.join(os.environ["NFC_SRCDIR"], "..", "shared", "registries"))
    cands.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared",
                              "registries"))
    for d in cands:
        iana_p = os.path.join(d, "ipfix-information-elements.tsv") if d else ""
        v9_p = os.path.join(d, "netflow-v9-fields.tsv") if d else ""
        if d and os.path.isfile(iana_p) and os.path.isfile(v9_p):
            break
    else:
        print("note: field registries not found; using the names built into compare_flows.py")
        return
    iana, v9 = {}, {}
    for path, tab, cols in ((iana_p, iana, (1, 2)), (v9_p, v9, (1,))):
        with open(path) as f:
            next(f)
            for line in f:
                c = line.rstrip("\n").split("\t")
                if c[0].isdigit():
                    tab[int(c[0])] = tuple(c[i] for i in cols)
    bad = []
    for i, (name, typ, v9name) in IE.items():
        if iana.get(i) != (name, typ):
            bad.append("IANA %d: here %s %s, registry %s" % (i, name, typ, iana.get(i)))
        if (v9.get(i) or (None,))[0] != v9name:
            bad.append("v9 %d: here %s, registry %s" % (i, v9name, v9.get(i)))
    if bad:
        raise Unusable("compare_flows.py's element table disagrees with the registries:\n  "
                       + "\n  ".join(bad))


def key_name(version, pen, ie):
    name, _, v9name = IE[ie]
    if version == 9:
        return v9name or name
    if pen == REVERSE_PEN:
        return "reverse" + name[0].upper() + name[1:]
    return name


# --------------------------------------------------------------------------
# tshark values

def number(s):
    return int(s, 16) if s.startswith("0x") else int(s)


def millis(s):
    """A sysUptime offset tshark shows as seconds with 9 decimals, in ms."""
    whole, _, frac = s.partition(".")
    frac = (frac + "000000000")[:9]
    if frac[3:].strip("0"):
        raise Unusable("sub-millisecond uptime %r" % s)
    return int(whole) * 1000 + int(frac[:3])


def abstime(s):
    """tshark's absolute time -> (seconds since 1970, nanoseconds)."""
    m = DATE_RE.match(s)
    if not m:
        raise Unusable("cannot read tshark's time %r (not UTC? run tshark with TZ=UTC)" % s)
    mon, day, year, hh, mm, ss, frac = m.groups()
    secs = calendar.timegm((int(year), MONTHS[mon], int(day), int(hh), int(mm), int(ss)))
    return secs, int(((frac or "") + "000000000")[:9])


def convert(ie, value):
    typ = IE[ie][1]
    if ie in (21, 22):
        if value == EPOCH_0:  # tshark shows a FIRST_SWITCHED of 0 as an absolute 1970
            return 0
        return millis(value)
    if typ.startswith("unsigned") or typ.startswith("signed"):
        return number(value)
    if typ in ("ipv4Address", "ipv6Address", "string"):
        return value
    if typ == "macAddress":
        return value.lower()
    secs, ns = abstime(value)
    if typ == "dateTimeSeconds":
        if ns:
            raise Unusable("dateTimeSeconds with a fraction: %r" % value)
        return secs
    if typ == "dateTimeMilliseconds":
        if ns % 1000000:
            raise Unusable("dateTimeMilliseconds with sub-millisecond digits: %r" % value)
        return secs * 1000 + ns // 1000000
    if typ == "dateTimeMicroseconds":
        return secs * 1000000 + ns // 1000
    if typ == "dateTimeNanoseconds":
        return secs * 1000000000 + ns
    raise Unusable("no conversion for element %d (%s)" % (ie, typ))


def usable_length(ie, ln):
    """Whether the daemon writes element ie of this length as its data type
    (else as hex, docs/flow-fields.md: "anything of an unexpected length")."""
    typ = IE[ie][1]
    if typ.startswith("unsigned") or typ.startswith("signed"):
        return 1 <= ln <= 8
    return ln == {"ipv4Address": 4, "ipv6Address": 16, "macAddress": 6, "dateTimeSeconds": 4,
                  "dateTimeMilliseconds": 8, "dateTimeMicroseconds": 8,
                  "dateTimeNanoseconds": 8}.get(typ, ln)


def leaves(d, out):
    """(name, value) of every cflow.* leaf under d, in order; lists expanded."""
    for k, v in d.items():
        if isinstance(v, dict):
            leaves(v, out)
        elif isinstance(v, list):
            for x in v:
                if isinstance(x, dict):
                    leaves(x, out)
                else:
                    out.append((k, x))
        elif k.startswith("cflow."):
            out.append((k, v))
    return out


# --------------------------------------------------------------------------
# the reference

class Template:
    def __init__(self, tid, options, fields, nscope):
        self.tid, self.options, self.fields, self.nscope = tid, options, fields, nscope

    def has(self, ie):
        """Index of the first IANA element ie of length 1..8, or None."""
        for i, (pen, fid, ln) in enumerate(self.fields):
            if pen == 0 and fid == ie and 1 <= ln <= 8:
                return i
        return None

    def layout(self):
        return (self.options, tuple(self.fields), self.nscope)


def parse_template(version, label, body, options):
    """A Template from one "Template (Id = ...)" / "Options Template (...)" tree."""
    tid = int(body["cflow.template_id"])
    fields, nscope = [], 0
    for k, v in body.items():
        if not (k.startswith("Field (") and isinstance(v, dict)):
            continue
        scope = "[Scope]" in k
        if version == 9 and scope:
            fid, pen = -int(v["cflow.scope_field_type"]), 0  # v9 scope types: their own space
        elif version == 9:
            fid, pen = int(v["cflow.template_field_type"]), 0
        else:
            fid = int(v["cflow.template_ipfix_field_type"])
            pen = int(v.get("cflow.template_ipfix_field_pen", 0)) \
                if v.get("cflow.template_ipfix_pen_provided") == "1" else 0
        fields.append((pen, fid, int(v["cflow.template_field_length"])))
        nscope += scope
    return Template(tid, options, fields, nscope)


def record_values(version, tmpl, flow, where):
    """The (element index -> JSON value) of one data record tshark decoded."""
    groups = collections.OrderedDict()
    for name, value in leaves(flow, []):
        if name in IGNORE or name.startswith(IGNORE_PREFIX):
            continue
        groups.setdefault(name, []).append(value)
    taken = {}
    fields = tmpl.fields

    def assign(name, ids, values, conv):
        slots = [i for i, (pen, fid, ln) in enumerate(fields)
                 if fid in ids and pen in (0, REVERSE_PEN) and i not in taken]
        if len(slots) < len(values):
            raise Unusable("%s: tshark shows %d value(s) of %s but template %d has %d element(s) %s for it"
                           % (where, len(values), name, tmpl.tid, len(slots), ids))
        for i, v in zip(slots, values):
            if not usable_length(fields[i][1], fields[i][2]):
                raise Unusable("%s: element %d (%s) of length %d: the daemon writes it as hex, which "
                               "tshark's decode cannot give" % (where, fields[i][1], IE[fields[i][1]][0],
                                                                fields[i][2]))
            taken[i] = conv(fields[i][1], v)

    # the FIRST_SWITCHED = 0 trap: tshark names it cflow.abstimestart (1970)
    for name, ie, other in (("cflow.abstimestart", 22, "cflow.timestart"),
                            ("cflow.abstimeend", 21, "cflow.timeend")):
        vals = groups.get(name, [])
        want = [i for i, f in enumerate(fields) if f[1] == ie and f[0] in (0, REVERSE_PEN)]
        if vals and want and len(groups.get(other, [])) < len(want) and \
                not any(fields[i][1] in TSHARK[name] for i in range(len(fields))):
            n = len(want) - len(groups.get(other, []))
            zeros = [v for v in vals if v == EPOCH_0][:n]
            for v in zeros:
                vals.remove(v)
            groups.setdefault(other, []).extend(zeros)
            if not vals:
                del groups[name]
    for name, values in groups.items():
        if name in ICMP6:
            continue
        if name not in TSHARK:
            if version == 9 and name in V9_SCOPE_NAMES and tmpl.options:
                continue
            raise Unusable("%s: tshark field %s (%r) is not in compare_flows.py's table: add it"
                           % (where, name, values[0]))
        assign(name, TSHARK[name], values, convert)
    types, codes = groups.get(ICMP6[0], []), groups.get(ICMP6[1], [])
    if len(types) != len(codes):
        raise Unusable("%s: %d ICMPv6 types but %d codes" % (where, len(types), len(codes)))
    if types:
        assign("cflow.icmp_ipv6_type/code", (139,), list(zip(types, codes)),
               lambda ie, tc: number(tc[0]) * 256 + number(tc[1]))
    for i, (pen, fid, ln) in enumerate(fields):
        if i in taken or ln == 0 or (pen == 0 and fid == 210):  # empty, paddingOctets
            continue
        if tmpl.options and (i < tmpl.nscope or fid < 0):
            continue
        if pen not in (0, REVERSE_PEN) or fid not in IE:
            raise Unusable("%s: template %d element %s%d (length %d) is not in compare_flows.py's table"
                           % (where, tmpl.tid, "%d/" % pen if pen else "", fid, ln))
        raise Unusable("%s: template %d element %d (%s, length %d) got no value from tshark's fields %s"
                       % (where, tmpl.tid, fid, IE[fid][0], ln, list(groups)))
    return taken


def learn_options(state, tmpl, values):
    """What an options record announces (the daemon keeps it per exporter)."""
    def get(ie):
        i = tmpl.has(ie)
        return values.get(i) if i is not None and i >= tmpl.nscope else None
    interval = 0
    v = get(34)
    if v is None:
        v = get(50)
    if v:
        interval = v
    a, b = get(305), get(306)
    if a and b is not None:
        interval = (a + b) // a
    a, b = get(309), get(310)
    if a and b is not None:
        interval = b // a
    if interval:
        state["sampling"] = interval
    v = get(160)
    if v:
        state["init_ms"] = v


def time_key(version, tmpl, values, which, hdr, state):
    """The derived flowStartSeconds / flowEndSeconds, or None."""
    secs_id, abs_ids, delta_id, up_id = (150, (152, 154, 156), 158, 22) if which == "start" \
        else (151, (153, 155, 157), 159, 21)
    if tmpl.has(secs_id) is not None:
        return None
    for ie in abs_ids:
        i = tmpl.has(ie)
        if i is not None:
            v = values[i]
            if ie in (152, 153):
                return v // 1000
            if ie in (154, 155):
                return v // 1000000
            return v // 1000000000
    i = tmpl.has(delta_id)
    if i is not None:
        return (hdr["export_s"] * 1000000 - values[i]) // 1000000
    i = tmpl.has(up_id)
    if i is not None:
        t = values[i]
        if version == 9:
            d = (hdr["uptime_ms"] - t) & 0xFFFFFFFF
            if d >= 0x80000000:
                d -= 0x100000000
            return (hdr["export_s"] * 1000 - d) // 1000
        if state.get("init_ms") and hdr["export_s"] * 1000 >= state["init_ms"]:
            return (state["init_ms"] + t) // 1000
    return None


def check_sets(fno, version, udp, cflow):
    """tshark's sets must be the sets of the datagram (their id and length
    read from its header walk, nothing decoded): tshark can stop early (v9
    count, see v9_uncount.py) or go on past an IPFIX message length."""
    hexpay = udp.get("udp.payload")
    if hexpay is None:
        raise Unusable("frame %d: no udp.payload in tshark's JSON" % fno)
    p = bytes.fromhex(hexpay.replace(":", ""))
    off, end = (20, len(p)) if version == 9 else (16, min(len(p), int.from_bytes(p[2:4], "big")))
    wire = []
    while off + 4 <= end:
        sid, ln = int.from_bytes(p[off:off + 2], "big"), int.from_bytes(p[off + 2:off + 4], "big")
        if ln < 4 or off + ln > end:
            break
        wire.append((sid, ln))
        off += ln
    shown = [(int(v["cflow.flowset_id"]), int(v["cflow.flowset_length"])) for k, v in cflow.items()
             if SET_RE.match(k) and isinstance(v, dict) and "cflow.flowset_id" in v]
    if shown != wire:
        raise Unusable("frame %d: tshark shows the sets %s, the datagram holds %s%s"
                       % (fno, shown, wire, " (tshark stopped early: v9 count %s; decode v9_uncount.py's "
                                                "copy)" % cflow.get("cflow.count")
                          if wire[:len(shown)] == shown else ""))


def expected_records(tshark_json):
    """[(where, session, [(key, value)] in the daemon's key order)] in capture order."""
    frames = json.load(open(tshark_json))
    templates = {}     # (frame number, template id) -> Template
    first_layout = {}  # (tshark's template scope, id) -> layout, to see redefinitions
    streams = {}       # (exporter address, domain) -> announced state
    out, nopt = [], 0
    for fno, fr in enumerate(frames, 1):
        layers = fr["_source"]["layers"]
        cflow = layers.get("cflow")
        if cflow is None:
            raise Unusable("frame %d: tshark did not decode it as NetFlow/IPFIX" % fno)
        if isinstance(cflow, list):
            raise Unusable("frame %d: more than one cflow PDU" % fno)
        ip = layers.get("ip") or layers.get("ipv6") or {}
        udp = layers.get("udp", {})
        src = ip.get("ip.src") or ip.get("ipv6.src")
        if src is None:
            raise Unusable("frame %d: no IP source" % fno)
        a = ipaddress.ip_address(src)
        if a.version == 6 and a.ipv4_mapped:
            a = a.ipv4_mapped
        exporter = (("exporterIPv4Address" if a.version == 4 else "exporterIPv6Address"), str(a))
        session = "%s:%s" % (src, udp.get("udp.srcport"))
        version = int(cflow["cflow.version"])
        if version == 9:
            domain = int(cflow["cflow.source_id"])
            hdr = {"uptime_ms": millis(cflow["cflow.sysuptime"]),
                   "export_s": int(cflow["cflow.timestamp_tree"]["cflow.unix_secs"])}
        elif version == 10:
            domain = int(cflow["cflow.od_id"])
            hdr = {"export_s": int(cflow["cflow.timestamp_tree"]["cflow.exporttime"])}
        else:
            raise Unusable("frame %d: NetFlow version %d (compare_v5.py is for v5)" % (fno, version))
        check_sets(fno, version, udp, cflow)
        scope = (src, udp.get("udp.srcport"), udp.get("udp.dstport"), domain)
        state = streams.setdefault((exporter[1], domain), {})
        pending = []  # data records of this frame: added keys use the state after the whole frame
        for label, body in cflow.items():
            m = SET_RE.match(label)
            if not m or not isinstance(body, dict):
                if isinstance(body, dict) and not label.startswith("cflow."):
                    raise Unusable("frame %d: unexpected tshark tree %r" % (fno, label))
                continue
            set_id, what = int(m.group(1)), m.group(2)
            if what in ("Data Template", "Options Template"):
                for tk, tv in body.items():
                    if isinstance(tv, dict) and (tk.startswith("Template (") or
                                                 tk.startswith("Options Template (")):
                        t = parse_template(version, tk, tv, what == "Options Template")
                        templates[(fno, t.tid)] = t
                        prev = first_layout.setdefault(scope + (t.tid,), t.layout())
                        if prev != t.layout():
                            raise Unusable("frame %d: template %d redefined by %s; tshark keeps the "
                                           "first definition, so it is no reference here"
                                           % (fno, t.tid, session))
                continue
            fm = re.match(r"^(\d+) flows?$", what)
            if set_id < 256 or not fm:
                raise Unusable("frame %d: set %r not decoded by tshark (data before its template? "
                               "the capture must start before the exporter)" % (fno, label))
            tref = (int(body["cflow.template_frame"]), set_id)
            tmpl = templates.get(tref)
            if tmpl is None:
                raise Unusable("frame %d: set %r uses template %d of frame %d, not seen"
                               % (fno, label, set_id, tref[0]))
            flows = [(k, v) for k, v in body.items() if k.startswith("Flow ") and isinstance(v, dict)]
            if len(flows) != int(fm.group(1)):
                raise Unusable("frame %d: set %r shows %d records" % (fno, label, len(flows)))
            for fk, flow in flows:
                where = "frame %d %s %s" % (fno, label.split(" (")[0], fk)
                values = record_values(version, tmpl, flow, where)
                if tmpl.options:
                    learn_options(state, tmpl, values)
                    nopt += 1
                else:
                    pending.append((where, tmpl, values))
        for where, tmpl, values in pending:
            rec, seen = [], collections.Counter()
            for i in sorted(values):
                pen, fid, _ = tmpl.fields[i]
                k = key_name(version, pen, fid)
                seen[k] += 1
                rec.append((k if seen[k] == 1 else "%s_%d" % (k, seen[k]), values[i]))
            nkeys = len(rec)
            if tmpl.has(130) is None and tmpl.has(131) is None:
                rec.append(exporter)
            if tmpl.has(34) is None and tmpl.has(50) is None and tmpl.has(305) is None and \
                    state.get("sampling"):
                rec.append(("SAMPLING_INTERVAL" if version == 9 else "samplingInterval",
                            state["sampling"]))
            for which, key in (("start", "flowStartSeconds"), ("end", "flowEndSeconds")):
                v = time_key(version, tmpl, values, which, hdr, state)
                if v is not None:
                    rec.append((key, v))
            out.append((where, session, nkeys, rec))
    return out, nopt, len(frames)


# --------------------------------------------------------------------------
# comparison

def diff(exp, got):
    ed, gd = dict(exp), dict(got)
    lines = []
    for k, v in exp:
        if k not in gd:
            lines.append("  %s: tshark %r, daemon has no such key" % (k, v))
        elif gd[k] != v:
            lines.append("  %s: tshark %r, daemon %r" % (k, v, gd[k]))
    for k, v in got:
        if k not in ed:
            lines.append("  %s: daemon %r, not in tshark's record" % (k, v))
    return lines


def freeze(rec):
    return tuple(sorted((k, json.dumps(v, sort_keys=True)) for k, v in rec))


def main():
    args = sys.argv[1:]
    ordered = "--ordered" in args
    args = [a for a in args if a != "--ordered"]
    sessions, session_records, expect_keys = None, None, []
    while args and args[0].startswith("--"):
        opt = args.pop(0)
        if opt == "--sessions":
            sessions = int(args.pop(0))
        elif opt == "--session-records":
            session_records = args.pop(0).split(",")
        elif opt == "--expect-keys":
            expect_keys = [k for k in args.pop(0).split(",") if k]
        else:
            raise SystemExit("unknown option %s" % opt)
    if len(args) != 2:
        raise SystemExit("usage: compare_flows.py [--ordered] [--sessions N] [--session-records N,...] "
                         "[--expect-keys K,K=V,...] TSHARK.json DAEMON.jsonl")
    try:
        check_registries()
        exp, nopt, nframes = expected_records(args[0])
    except Unusable as e:
        print("REFERENCE UNUSABLE: %s" % e)
        return 2
    got = []
    for n, line in enumerate(open(args[1]), 1):
        if line.strip():
            got.append((n, json.loads(line, object_pairs_hook=list)))

    per_session = collections.Counter(s for _, s, _, _ in exp)
    print("tshark: %d datagrams, %d data records, %d options records skipped; daemon: %d records"
          % (nframes, len(exp), nopt, len(got)))
    for s, n in per_session.items():
        print("  session %s: %d records" % (s, n))

    bad = 0
    # 1. each tshark record matches exactly one daemon record (multisets)
    pool = collections.defaultdict(list)
    for idx, (lineno, g) in enumerate(got):
        pool[freeze(g)].append(idx)
    used = [False] * len(got)
    unmatched = []
    match_of = []
    for where, session, nfields, e in exp:
        cands = pool.get(freeze(e))
        if cands:
            idx = cands.pop(0)
            used[idx] = True
            match_of.append(idx)
        else:
            unmatched.append((where, e))
            match_of.append(None)
    extra = [i for i, u in enumerate(used) if not u]
    for where, e in unmatched[:5]:
        bad += 1
        print("NO MATCH for tshark's %s" % where)
        print("  expected %s" % json.dumps(dict(e)))
        # the nearest daemon record not matched by another one
        best, score = None, -1
        for i in extra:
            gd = dict(got[i][1])
            s = sum(1 for k, v in e if gd.get(k) == v) - abs(len(gd) - len(e))
            if s > score:
                best, score = i, s
        if best is not None:
            print("  nearest daemon line %d:" % got[best][0])
            for line in diff(e, got[best][1])[:12]:
                print(line)
    if len(unmatched) > 5:
        print("... %d tshark records without a match in all" % len(unmatched))
        bad += len(unmatched) - 5
    for i in extra[:5]:
        print("EXTRA daemon line %d (no tshark record): %s" % (got[i][0], json.dumps(dict(got[i][1]))))
    if extra:
        print("%d daemon records without a tshark record" % len(extra))
        bad += len(extra)
    if len(exp) != len(got):
        print("COUNT MISMATCH: tshark %d records, daemon %d" % (len(exp), len(got)))
        bad += 1

    # 2. the keys of template elements in template order
    order_bad = 0
    for (where, _, nfields, e), idx in zip(exp, match_of):
        if idx is None:
            continue
        tkeys = [k for k, _ in e[:nfields]]
        gkeys = [k for k, _ in got[idx][1] if k in set(tkeys)]
        if gkeys != tkeys:
            order_bad += 1
            if order_bad <= 3:
                print("KEY ORDER of daemon line %d (%s): %s, template order %s"
                      % (got[idx][0], where, gkeys, tkeys))
    bad += order_bad

    # 3. the order of the lines
    if ordered and not unmatched and not extra:
        for pos, ((where, _, _, e), idx) in enumerate(zip(exp, match_of)):
            if idx != pos and freeze(got[pos][1]) != freeze(e):
                print("ORDER: tshark record %d (%s) is daemon line %d, line %d is another record"
                      % (pos + 1, where, got[idx][0], got[pos][0]))
                bad += 1
                break

    # 4. what the test wanted exercised
    if sessions is not None:
        if len(per_session) != sessions:
            print("SESSIONS: %d exporter sessions sent data records, expected %d"
                  % (len(per_session), sessions))
            bad += 1
    if session_records is not None:
        counts = list(per_session.values())
        if len(counts) != len(session_records) or \
                any(w != "*" and int(w) != n for w, n in zip(session_records, counts)):
            print("SESSION RECORDS: the sessions sent %s data records, expected %s"
                  % (",".join(map(str, counts)), ",".join(session_records)))
            bad += 1
    have = set(k for _, _, _, e in exp for k, _ in e)
    have_kv = set((k, json.dumps(v)) for _, _, _, e in exp for k, v in e)
    missing = []
    for k in expect_keys:
        name, eq, v = k.partition("=")
        if (name, json.dumps(json.loads(v))) not in have_kv if eq else name not in have:
            missing.append(k)
    if missing:
        print("NOT EXERCISED: no record carries %s" % ", ".join(missing))
        bad += 1
    if not exp:
        print("NOTHING COMPARED: tshark decoded no data record")
        bad += 1
    if bad:
        print("FAILED: %d problem(s)" % bad)
        return 1
    print("all %d records match tshark, each exactly once" % len(exp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
