"""The template walk of the corpus replay (corpus_check.py): what each group
holds and where each field of each record sits in its frame, and the JSON
key docs/flow-fields.md gives each element."""
import csv
import os
import struct

from corpus_pcap import udp_of

# --------------------------------------------------------------------------
# The template walk: what each group holds, and where each field of each
# record sits in its frame.

VARLEN = 65535


class Rec:
    __slots__ = ("frame", "exporter", "version", "tid", "options", "nscope", "fields", "held",
                 "first_layout", "file_index")

    def __init__(self, **kw):
        for k, v in kw.items():
            setattr(self, k, v)


class Walk:
    """hold=True: data without a template is held per (exporter, domain, template
    id) and decoded when that template arrives, as the daemon must (DESIGN.md:
    data before template); at the end what is still held is the no_template data.
    hold=False: each datagram's templates are learnt before its data sets, and
    nothing is held across datagrams: the walk INDEX.tsv counts with."""

    def __init__(self, hold):
        self.hold = hold
        self.templates = {}     # (exporter, version, domain, tid) -> (fields, nscope, options)
        self.first_layout = {}  # same key -> fields of the first definition (tshark keeps that one)
        self.pending = {}       # same key -> [(frame, ts, payload, start, end, base, file_index)]
        self.records = []
        self.malformed = 0      # datagrams that are not a whole v5/v9/IPFIX message (or end in a broken set)
        self.malformed_sets = 0
        self.unknown_version = 0
        self.held_sets = 0      # data sets held for their template (hold=False: left undecoded)
        self.replayed_sets = 0
        self.max_hold_ns = 0
        self.now = 0

    def datagram(self, frame, ts, exporter, p, base, file_index=0):
        if len(p) < 4:
            self.malformed += 1
            return
        version = struct.unpack_from("!H", p, 0)[0]
        if version == 5:
            self.v5(frame, exporter, p, base, file_index)
        elif version in (9, 10):
            self.v9_ipfix(frame, ts, exporter, version, p, base, file_index)
        else:
            self.unknown_version += 1

    def v5(self, frame, exporter, p, base, file_index):
        count = struct.unpack_from("!H", p, 2)[0]
        if len(p) < 24 or count == 0 or len(p) < 24 + 48 * count:
            self.malformed += 1
            return
        for i in range(count):
            o = base + 24 + 48 * i
            self.records.append(Rec(frame=frame, exporter=exporter, version=5, tid=None, options=False,
                                    nscope=0, held=False, first_layout=True, file_index=file_index,
                                    fields=[(name, 0, o + off, ln) for name, off, ln in V5_LAYOUT]))

    def v9_ipfix(self, frame, ts, exporter, version, p, base, file_index):
        hlen = 20 if version == 9 else 16
        if len(p) < hlen:
            self.malformed += 1
            return
        end = len(p)
        if version == 10:
            mlen = struct.unpack_from("!H", p, 2)[0]
            if mlen < 16 or mlen > len(p):
                self.malformed += 1
                return
            end = mlen
        domain = struct.unpack_from("!I", p, 16 if version == 9 else 12)[0]
        sets, off = [], hlen
        while off + 4 <= end:
            sid, slen = struct.unpack_from("!HH", p, off)
            if slen < 4 or off + slen > end:
                if any(p[off:end]):  # a zero tail is padding, anything else is a broken set
                    self.malformed_sets += 1
                    self.malformed += 1
                break
            sets.append((sid, off + 4, off + slen))
            off += slen
        tsets = (0, 1) if version == 9 else (2, 3)
        order = sets if self.hold else [s for s in sets if s[0] in tsets] + [s for s in sets if s[0] not in tsets]
        for sid, start, send in order:
            if sid in tsets:
                for tid in self.template_set(version, sid == tsets[1], exporter, domain, p, start, send):
                    self.replay((exporter, version, domain, tid))
            elif sid >= 256:
                key = (exporter, version, domain, sid)
                if key in self.templates:
                    self.data_set(key, frame, p, start, send, base, False, file_index)
                elif self.hold:
                    self.pending.setdefault(key, []).append((frame, ts, p, start, send, base, file_index))
                    self.held_sets += 1
                else:
                    self.held_sets += 1

    def template_set(self, version, options, exporter, domain, p, off, end):
        """Learn the templates of one set; returns the ids defined, in order."""
        defined = []
        while True:
            if version == 9 and options:
                if off + 6 > end:
                    break
                tid, scope_len, opt_len = struct.unpack_from("!HHH", p, off)
                if tid < 256 or off + 6 + scope_len + opt_len > end:
                    break
                nscope, nfields, off = scope_len // 4, (scope_len + opt_len) // 4, off + 6
            else:
                hl = 6 if options else 4
                if off + hl > end:
                    break
                tid, nfields = struct.unpack_from("!HH", p, off)
                nscope = struct.unpack_from("!H", p, off + 4)[0] if options else 0
                off += hl
                if version == 10 and nfields == 0:  # withdrawal
                    for k in [k for k in self.templates if k[:3] == (exporter, 10, domain) and
                              (k[3] == tid or (tid in (2, 3) and self.templates[k][2] == (tid == 3)))]:
                        del self.templates[k]
                    continue
                if tid < 256:
                    break
            fields = []
            for _ in range(nfields):
                if off + 4 > end:
                    return defined
                fid, ln = struct.unpack_from("!HH", p, off)
                off += 4
                pen = 0
                if version == 10 and fid & 0x8000:
                    if off + 4 > end:
                        return defined
                    pen, fid = struct.unpack_from("!I", p, off)[0], fid & 0x7FFF
                    off += 4
                fields.append((fid, pen, ln))
            key = (exporter, version, domain, tid)
            self.templates[key] = (fields, nscope, options)
            self.first_layout.setdefault(key, fields)
            defined.append(tid)
        return defined

    def replay(self, key):
        for frame, ts, p, start, end, base, file_index in self.pending.pop(key, []):
            self.replayed_sets += 1
            self.data_set(key, frame, p, start, end, base, True, file_index)
            self.max_hold_ns = max(self.max_hold_ns, self.now - ts)

    def data_set(self, key, frame, p, off, end, base, held, file_index):
        fields, nscope, options = self.templates[key]
        minlen = sum(1 if ln == VARLEN else ln for _, _, ln in fields)
        if minlen == 0:
            return
        while end - off >= minlen:
            o, out = off, []
            for fid, pen, ln in fields:
                if ln == VARLEN:
                    if o >= end:
                        return
                    ln, o = p[o], o + 1
                    if ln == 255:
                        if o + 2 > end:
                            return
                        ln, o = struct.unpack_from("!H", p, o)[0], o + 2
                out.append((fid, pen, base + o, ln))
                o += ln
            if o > end:
                return
            self.records.append(Rec(frame=frame, exporter=key[0], version=key[1], tid=key[3],
                                    options=options, nscope=nscope, fields=out, held=held,
                                    first_layout=self.first_layout[key] == fields, file_index=file_index))
            off = o

    def finish(self):
        self.no_template_sets = sum(len(v) for v in self.pending.values())
        self.no_template_ids = sorted(set(k[3] for k in self.pending))
        return self


def walk_frames(frames, hold, file_of_frame=None):
    w = Walk(hold)
    for i, (linktype, ts, frame) in enumerate(frames):
        u = udp_of(linktype, frame)
        if u is None:
            continue
        w.now = ts
        w.datagram(i + 1, ts, u[0], u[4], u[3], file_of_frame[i] if file_of_frame else 0)
    return w.finish()


V5_LAYOUT = [("IPV4_SRC_ADDR", 0, 4), ("IPV4_DST_ADDR", 4, 4), ("NEXT_HOP", 8, 4), ("INPUT", 12, 2),
             ("OUTPUT", 14, 2), ("IN_PACKETS", 16, 4), ("IN_OCTETS", 20, 4), ("FIRST_SWITCHED", 24, 4),
             ("LAST_SWITCHED", 28, 4), ("SRC_PORT", 32, 2), ("DST_PORT", 34, 2), ("TCP_FLAGS", 37, 1),
             ("PROTO", 38, 1), ("TOS", 39, 1), ("SRC_AS", 40, 2), ("DST_AS", 42, 2), ("SRC_MASK", 44, 1),
             ("DST_MASK", 45, 1)]

# --------------------------------------------------------------------------
# JSON keys (docs/flow-fields.md). With ../shared/registries the full tables
# are used; without, this subset of them (bitkeks v9 names | IANA names, the
# element ids the corpus uses most), and fields outside it are not compared.

CURATED = {
    1: ("IN_BYTES", "octetDeltaCount"), 2: ("IN_PKTS", "packetDeltaCount"), 3: ("FLOWS", "deltaFlowCount"),
    4: ("PROTOCOL", "protocolIdentifier"), 5: ("SRC_TOS", "ipClassOfService"),
    6: ("TCP_FLAGS", "tcpControlBits"), 7: ("L4_SRC_PORT", "sourceTransportPort"),
    8: ("IPV4_SRC_ADDR", "sourceIPv4Address"), 9: ("SRC_MASK", "sourceIPv4PrefixLength"),
    10: ("INPUT_SNMP", "ingressInterface"), 11: ("L4_DST_PORT", "destinationTransportPort"),
    12: ("IPV4_DST_ADDR", "destinationIPv4Address"), 13: ("DST_MASK", "destinationIPv4PrefixLength"),
    14: ("OUTPUT_SNMP", "egressInterface"), 15: ("IPV4_NEXT_HOP", "ipNextHopIPv4Address"),
    16: ("SRC_AS", "bgpSourceAsNumber"), 17: ("DST_AS", "bgpDestinationAsNumber"),
    18: ("BGP_IPV4_NEXT_HOP", "bgpNextHopIPv4Address"), 21: ("LAST_SWITCHED", "flowEndSysUpTime"),
    22: ("FIRST_SWITCHED", "flowStartSysUpTime"), 23: ("OUT_BYTES", "postOctetDeltaCount"),
    24: ("OUT_PKTS", "postPacketDeltaCount"), 27: ("IPV6_SRC_ADDR", "sourceIPv6Address"),
    28: ("IPV6_DST_ADDR", "destinationIPv6Address"), 29: ("IPV6_SRC_MASK", "sourceIPv6PrefixLength"),
    30: ("IPV6_DST_MASK", "destinationIPv6PrefixLength"), 31: ("IPV6_FLOW_LABEL", "flowLabelIPv6"),
    32: ("ICMP_TYPE", "icmpTypeCodeIPv4"), 34: ("SAMPLING_INTERVAL", "samplingInterval"),
    35: ("SAMPLING_ALGORITHM", "samplingAlgorithm"), 48: ("FLOW_SAMPLER_ID", "samplerId"),
    52: ("MIN_TTL", "minimumTTL"), 53: ("MAX_TTL", "maximumTTL"), 55: ("DST_TOS", "postIpClassOfService"),
    56: ("IN_SRC_MAC", "sourceMacAddress"), 57: ("OUT_DST_MAC", "postDestinationMacAddress"),
    58: ("SRC_VLAN", "vlanId"), 59: ("DST_VLAN", "postVlanId"), 60: ("IP_PROTOCOL_VERSION", "ipVersion"),
    61: ("DIRECTION", "flowDirection"), 62: ("IPV6_NEXT_HOP", "ipNextHopIPv6Address"),
    63: ("BPG_IPV6_NEXT_HOP", "bgpNextHopIPv6Address"), 80: ("IN_DST_MAC", "destinationMacAddress"),
    81: ("OUT_SRC_MAC", "postSourceMacAddress"), 82: ("IF_NAME", "interfaceName"),
    83: ("IF_DESC", "interfaceDescription"), 84: ("SAMPLER_NAME", "samplerName"),
    85: ("IN_PERMANENT_BYTES", "octetTotalCount"), 86: ("IN_PERMANENT_PKTS", "packetTotalCount"),
    96: ("APPLICATION_NAME", "applicationName"), 130: (None, "exporterIPv4Address"),
    131: (None, "exporterIPv6Address"), 136: (None, "flowEndReason"), 148: ("NF_F_CONN_ID", "flowId"),
    150: (None, "flowStartSeconds"), 151: (None, "flowEndSeconds"),
    152: ("NF_F_FLOW_CREATE_TIME_MSEC", "flowStartMilliseconds"), 153: (None, "flowEndMilliseconds"),
    154: (None, "flowStartMicroseconds"), 155: (None, "flowEndMicroseconds"),
    156: (None, "flowStartNanoseconds"), 157: (None, "flowEndNanoseconds"),
    160: (None, "systemInitTimeMilliseconds"), 176: ("NF_F_ICMP_TYPE", "icmpTypeIPv4"),
    177: ("NF_F_ICMP_CODE", "icmpCodeIPv4"), 178: ("NF_F_ICMP_TYPE_IPV6", "icmpTypeIPv6"),
    179: ("NF_F_ICMP_CODE_IPV6", "icmpCodeIPv6"), 225: ("NF_F_XLATE_SRC_ADDR_IPV4", "postNATSourceIPv4Address"),
    226: ("NF_F_XLATE_DST_ADDR_IPV4", "postNATDestinationIPv4Address"),
    227: ("NF_F_XLATE_SRC_PORT", "postNAPTSourceTransportPort"),
    228: ("NF_F_XLATE_DST_PORT", "postNAPTDestinationTransportPort"), 233: ("NF_F_FW_EVENT", "firewallEvent"),
    234: (None, "ingressVRFID"), 235: (None, "egressVRFID"), 236: (None, "VRFname"),
    323: ("NF_F_EVENT_TIME_MSEC", "observationTimeMilliseconds"),
}
# Units of the time elements (IANA): what a tshark time becomes in our JSON.
TIME_UNITS = {21: 6, 22: 6, 150: 9, 151: 9, 152: 6, 153: 6, 154: 3, 155: 3, 156: 0, 157: 0, 158: 3, 159: 3,
              160: 6, 161: 6, 162: 3, 258: 6, 260: 9, 261: 9, 264: 9, 265: 9, 268: 3, 269: 6, 270: 0,
              271: 3, 272: 6, 273: 0, 322: 9, 323: 6, 324: 3, 325: 0, 359: 6, 360: 6}
ADDED_KEYS = {"exporterIPv4Address", "exporterIPv6Address", "SAMPLING_INTERVAL", "samplingInterval",
              "flowStartSeconds", "flowEndSeconds"}


class Names:
    def __init__(self, registries):
        self.complete = False
        self.v9 = {i: n[0] for i, n in CURATED.items() if n[0]}
        self.ie = {i: n[1] for i, n in CURATED.items()}
        self.ie_type = {}
        if registries and os.path.isfile(os.path.join(registries, "netflow-v9-fields.tsv")):
            with open(os.path.join(registries, "netflow-v9-fields.tsv")) as f:
                self.v9 = {int(r["id"]): r["name"] for r in csv.DictReader(f, delimiter="\t") if r["id"] != "0"}
            with open(os.path.join(registries, "ipfix-information-elements.tsv")) as f:
                rows = [r for r in csv.DictReader(f, delimiter="\t")]
            self.ie = {int(r["elementId"]): r["name"] for r in rows
                       if r["name"] and r["elementId"] not in ("0", "97")}
            self.ie_type = {int(r["elementId"]): r["abstractDataType"] for r in rows}
            self.complete = True

    def key(self, version, fid, pen):
        """Our JSON key of an element, or None when this table cannot say."""
        if version == 5:
            return fid
        if version == 9:
            if fid in self.v9:
                return self.v9[fid]
            if fid < 32768 and fid in self.ie:
                return self.ie[fid]
            return "v9_%d" % fid if self.complete else None
        if pen == 0:
            return self.ie.get(fid) or ("ie_%d" % fid if self.complete else None)
        if pen == 29305:
            base = self.ie.get(fid)
            if base:
                return "reverse" + base[0].upper() + base[1:]
            return "reverse_ie_%d" % fid if self.complete else None
        return "ie_%d_%d" % (pen, fid)

    def known_type(self, version, fid, pen):
        """Whether docs/flow-fields.md fixes the kind of this element's value."""
        if version == 5:
            return True
        return pen == 0 and fid < 32768 and (fid in self.ie_type if self.complete else fid in CURATED)

    def is_string(self, version, fid, pen):
        return version != 5 and pen == 0 and self.ie_type.get(fid) == "string"


def record_keys(rec, names):
    """[(key or None, fid, pen, offset, length)] of a walked record, with the
    _2, _3 suffixes of repeated elements; v9 scope fields get None (their
    types are not field types)."""
    out, seen = [], {}
    for i, (fid, pen, off, ln) in enumerate(rec.fields):
        if rec.version == 9 and rec.options and i < rec.nscope:
            out.append((None, fid, pen, off, ln))
            continue
        k = names.key(rec.version, fid, pen)
        if k is not None:
            seen[k] = seen.get(k, 0) + 1
            if seen[k] > 1:
                k = "%s_%d" % (k, seen[k])
        out.append((k, fid, pen, off, ln))
    return out


