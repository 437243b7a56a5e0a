#!/usr/bin/env python3
"""Replay the vendor capture corpus through the daemon, group by group.

For every NetFlow v5/v9/IPFIX decode group of the corpus (sFlow and NetFlow v1
are not ours), in groups.json order, the group's datagrams go through one run
of the daemon ([listener] plugin=pcap, so one exporter state per group) with
options_records=no and once more with options_records=yes, and:

- the flow records written must be the group's flow records, and the records
  the second run adds its options records. Where data precedes its template,
  it must be held and decoded when the template arrives; data whose template
  never comes must be counted as no_template, never emitted. The decoders'
  held_sets, replayed_sets, no_template and options_records counters, and the
  input's records and malformed counters, must say what happened;
- the known-bad inputs (two v5 headers whose count overruns the datagram, a
  datagram of garbage) must give no record and be counted as malformed (the
  garbage, version 65535, may be counted as unknown_version instead);
- where tshark decodes the whole group, every record must carry tshark's
  value for each field both can name (addresses, ports, protocol, counters,
  interfaces, times as raw numbers, MACs, strings ...), no key the template
  does not explain, and the exporter's address. Records in another order
  than the decode order pass if each matches one expected record.

The expected counts come from a template walk (corpus_walk.py), which
is first checked against the corpus's counts: the same walk with no holding
across datagrams must give exactly INDEX.tsv's numbers, file by file. The
values come from tshark -T json -x (corpus_tshark.py): the decode of the
corpus's tshark/*.txt, which tshark 4.0.17 reproduces byte for byte with
-n -V -O cflow,sflow -d udp.port==P,cflow. Each of tshark's values is found
by its offset in the frame, the element it belongs to by the walk, and the
element's JSON key by docs/flow-fields.md (the full tables from ../shared/registries, else a
subset). Elements whose kind the docs leave open (vendor types, enterprise
elements) are compared with the bytes tshark delimits, in any of the
renderings the docs allow. --self-test runs all this on records made by a
plain reading of docs/flow-fields.md instead of the daemon's.

Sources: groups whose files are all in tests/data (permissive licences) are
built from there, the bare payloads wrapped into Ethernet/IPv4/UDP exactly
like the corpus's verify/ pcaps; the others are read from $NFC_CORPUS. Without
the corpus, tests/data/corpus-manifest.json (made from the corpus with
--write-manifest) lists the local groups and their INDEX counts.

Exit status: 0 all checked groups pass, 1 a check failed, 77 cannot run.
"""
import argparse
import concurrent.futures
import csv
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from corpus_pcap import read_pcap, split_payloads, udp_of, wrap_pcap
from corpus_tshark import compare_value, plain_records, show, tshark_decode, FT_ABS
from corpus_walk import ADDED_KEYS, CURATED, Names, record_keys, walk_frames

# --------------------------------------------------------------------------
# The corpus and its local copy

def sanitize(name):
    return re.sub(r"[^A-Za-z0-9.+-]+", "_", name).strip("_")


class Group:
    def __init__(self, name, index):
        self.name, self.index = name, index
        self.files = []  # dicts: file, protocol, container, n_datagrams, flow_records, options_records,
        #                  needs_template, oddities, sha256, frames (a, b), tshark_flows, bad
        self.stem = None

    @property
    def protocols(self):
        return set(f["protocol"] for f in self.files)


def load_corpus(corpus):
    """Groups of the corpus, in groups.json order, with INDEX's row per file
    and analysis.jsonl's counts per (group, file) (a file may sit in several
    groups, and its counts depend on what came before it)."""
    with open(os.path.join(corpus, "groups.json")) as f:
        groups = json.load(f)
    with open(os.path.join(corpus, "INDEX.tsv")) as f:
        index = {r["file"]: r for r in csv.DictReader(f, delimiter="\t")}
    with open(os.path.join(corpus, "tshark_summary.json")) as f:
        summary = json.load(f)
    analysis = {}
    with open(os.path.join(corpus, "analysis.jsonl")) as f:
        for line in f:
            a = json.loads(line)
            analysis[(a["group"], a["file"][len("files/"):])] = a
    out = []
    for gi, (name, files) in enumerate(groups.items()):
        g = Group(name, gi)
        g.stem = sanitize(name)  # verify/<stem>.pcap, tshark/<stem>.txt
        first = 1
        for path in files:
            row, a = index[path], analysis[(name, path)]
            m = re.match(r"pcap \(frames=(\d+)", row["container"])
            nframes = int(m.group(1)) if m else int(row["n_datagrams"])
            # tshark_summary.json has one entry per file, from the file's own
            # decode group: not this group's when the file sits in several.
            ts = summary[path]
            own = ts["decode"].startswith("tshark/%s.txt " % g.stem)
            g.files.append({
                "file": path, "protocol": row["protocol"], "container": row["container"],
                "n_datagrams": int(row["n_datagrams"]), "flow_records": a["flow_records"],
                "options_records": a["options_records"], "needs_template": row["needs_template"],
                "oddities": a["oddities"], "missing_templates": a["missing_templates"],
                "sha256": row["sha256"], "license": row["license"],
                "tshark_flows": ts["flows"] if own else None,
                "frames": [first, first + nframes - 1],
            })
            first += nframes
        out.append(g)
    return out


def netflow_group(g):
    p = g.protocols
    return not any(x.startswith("sFlow") or x == "v1" for x in p)


def known_bad(g):
    """The two v5 datagrams whose count overruns them, and the garbage datagram."""
    return all(f["protocol"].startswith("not-flow") or
               any(o.startswith("len") and "!=hdr+" in o for o in f["oddities"]) for f in g.files)


def local_source(f):
    """Where a file of a permissive source lives in tests/data (None: corpus only)."""
    lic = f["license"]
    if lic.startswith("AGPL") or lic.startswith("pmacct/pmacct repo"):
        return None
    return f["file"]


def build_group_pcap(g, data_dir, out):
    """The group's frames from tests/data: bare payloads wrapped as verify/ does,
    pcap frames as captured. Returns False when a file is not there."""
    payloads, frames = [], []
    for f in g.files:
        path = os.path.join(data_dir, f["file"])
        if not os.path.isfile(path):
            return False
        data = open(path, "rb").read()
        if hashlib.sha256(data).hexdigest() != f["sha256"]:
            raise RuntimeError("%s differs from the corpus copy (sha256)" % path)
        if f["container"].startswith("pcap"):
            frames.append(path)
        else:
            n = f["n_datagrams"]
            payloads += split_payloads(data, n) if n > 1 or f["container"].startswith("ipfix-file") else [data]
    if frames and payloads or len(frames) > 1:
        return False  # never the case for the local groups
    if frames:
        shutil.copyfile(frames[0], out)
    else:
        open(out, "wb").write(wrap_pcap(payloads))
    return True


def manifest_of(groups):
    local = []
    for g in groups:
        if not netflow_group(g) or not all(local_source(f) for f in g.files):
            continue
        local.append({"name": g.name, "index": g.index, "stem": g.stem,
                      "files": [{k: f[k] for k in sorted(f)} for f in g.files]})
    return {"about": "Decode groups of ../shared/corpus whose files are copied here (permissive licences), "
                     "with the corpus's INDEX.tsv/analysis.jsonl counts; written by "
                     "tests/integration/corpus_check.py --write-manifest",
            "groups": local}


def load_manifest(path):
    with open(path) as f:
        m = json.load(f)
    out = []
    for d in m["groups"]:
        g = Group(d["name"], d["index"])
        g.stem, g.files = d["stem"], d["files"]
        out.append(g)
    return out


# --------------------------------------------------------------------------
# The daemon

STATS_RE = re.compile(r"\[([^\]]+)\] stats: (.*)$")


def run_daemon(nfc_bin, pcap, workdir, tag, options_records, decoders, timeout):
    os.makedirs(os.path.join(workdir, "state-" + tag), exist_ok=True)
    out = os.path.join(workdir, "out-%s.json" % tag)
    conf = os.path.join(workdir, "nfc-%s.ini" % tag)
    with open(conf, "w") as f:
        f.write("[core]\nstats_interval=0\nstate_dir=%s\n" % os.path.join(workdir, "state-" + tag))
        f.write("[listener]\nplugin=pcap\npath=%s\n" % pcap)
        for d in ("netflow_v9", "ipfix"):
            if d in decoders:
                f.write("[decoder %s]\noptions_records=%s\n" % (d, "yes" if options_records else "no"))
        f.write("[forwarder]\nplugin=file\npath=%s\n" % out)
    t0 = time.monotonic()
    try:
        r = subprocess.run([nfc_bin, "-c", conf], capture_output=True, timeout=timeout)
        rc, err = r.returncode, r.stderr.decode(errors="replace")
    except subprocess.TimeoutExpired as e:
        rc, err = "timeout", (e.stderr or b"").decode(errors="replace")
    res = {"rc": rc, "stderr": err, "seconds": time.monotonic() - t0, "records": [], "bad_lines": [],
           "stats": {}}
    open(os.path.join(workdir, "daemon-%s.log" % tag), "w").write(err)
    for line in err.splitlines():
        m = STATS_RE.search(line)
        if m:
            st = res["stats"].setdefault(m.group(1), {})
            for kv in m.group(2).split():
                k, _, v = kv.partition("=")
                if v.isdigit():
                    st[k] = st.get(k, 0) + int(v)
    if os.path.exists(out):
        for i, line in enumerate(open(out, encoding="utf-8", errors="surrogateescape")):
            try:
                res["records"].append(json.loads(line, object_pairs_hook=no_duplicates))
            except ValueError as e:
                res["bad_lines"].append("line %d: %s: %s" % (i + 1, e, line[:200]))
    return res


def no_duplicates(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise ValueError("duplicate key %r" % k)
        d[k] = v
    return d


def counter(res, name, instances=None):
    return sum(st.get(name, 0) for inst, st in res["stats"].items() if instances is None or inst in instances)


# --------------------------------------------------------------------------
# Checking one group

class Result:
    def __init__(self, g):
        self.g, self.problems, self.notes = g, [], []
        self.status = "PASS"
        self.values = "-"

    def fail(self, msg):
        self.problems.append(msg)
        self.status = "FAIL"


def index_counts(g):
    return (sum(f["flow_records"] for f in g.files), sum(f["options_records"] for f in g.files))


def build(g, args, workdir):
    """The group's capture: from tests/data when all its files are there (and
    then frame for frame the corpus's verify/ pcap, when the corpus is here),
    else the corpus's. None when neither has it."""
    gdir = os.path.join(workdir, "g%03d" % g.index)
    os.makedirs(gdir, exist_ok=True)
    pcap = os.path.join(gdir, "group.pcap")
    g.source = None
    if args.data and all(local_source(f) for f in g.files) and build_group_pcap(g, args.data, pcap):
        g.source = "tests/data"
        if args.corpus:  # the same frames as the corpus's verify/ pcap (its header may differ)
            ref = os.path.join(args.corpus, "verify", g.stem + ".pcap")
            if read_pcap(ref) != read_pcap(pcap):
                raise RuntimeError("%s: the frames built from tests/data differ from %s" % (g.name, ref))
    elif args.corpus:
        shutil.copyfile(os.path.join(args.corpus, "verify", g.stem + ".pcap"), pcap)
        g.source = "corpus"
    else:
        return None
    g.pcap, g.dir = pcap, gdir
    return g


def expect(g):
    """The walks of the group's capture, and tshark's decode of it."""
    frames = read_pcap(g.pcap)
    file_of = [0] * len(frames)
    for fi, f in enumerate(g.files):
        for n in range(f["frames"][0], f["frames"][1] + 1):
            if 0 < n <= len(frames):
                file_of[n - 1] = fi
    g.strict = walk_frames(frames, False, file_of)
    g.walk = walk_frames(frames, True, file_of)
    g.ports = set()
    for lt, _, fr in frames:
        u = udp_of(lt, fr)
        if u:
            g.ports.add(u[2])
    g.tshark_values, g.tshark_counts = tshark_decode(g.pcap, g.ports, g.dir)
    return g


def check_group(g, runs, names):
    r = Result(g)
    no, yes = runs
    bad = known_bad(g)
    idx_flows, idx_opts = index_counts(g)

    # The harness's own walk must count what INDEX counts.
    s_flows = sum(1 for x in g.strict.records if not x.options)
    s_opts = sum(1 for x in g.strict.records if x.options)
    if not bad and (s_flows, s_opts) != (idx_flows, idx_opts):
        r.fail("harness: the template walk counts %d flows + %d options, INDEX %d + %d" %
               (s_flows, s_opts, idx_flows, idx_opts))
    for fi, f in enumerate(g.files):
        ff = sum(1 for x in g.strict.records if x.file_index == fi and not x.options)
        fo = sum(1 for x in g.strict.records if x.file_index == fi and x.options)
        if not bad and (ff, fo) != (f["flow_records"], f["options_records"]):
            r.fail("harness: %s: walk %d + %d, INDEX %d + %d" % (f["file"], ff, fo, f["flow_records"],
                                                                 f["options_records"]))
    exp_flows = [x for x in g.walk.records if not x.options]
    exp_all = g.walk.records
    if bad:
        exp_flows, exp_all = [], []
    tshark_n = sum(g.tshark_counts.values())
    summary_n = None
    if all(f["tshark_flows"] is not None for f in g.files):
        summary_n = sum(f["tshark_flows"] for f in g.files)
        if tshark_n != summary_n and not bad:
            r.notes.append("tshark here decodes %d records, the corpus's tshark_summary.json %d" %
                           (tshark_n, summary_n))
    # tshark decodes the group fully: all the records we expect, and (where
    # the corpus has its summary) as many as INDEX counts.
    g.tshark_full = not bad and tshark_n == len(exp_all) and summary_n in (None, idx_flows + idx_opts)
    r.exp = (len(exp_flows), len(exp_all) - len(exp_flows))
    r.got = (len(no["records"]), len(yes["records"]) - len(no["records"]))
    r.tshark_n = tshark_n
    r.walk_more = len(exp_all) - tshark_n if not bad else 0

    for tag, res, opts in (("options_records=no", no, False), ("options_records=yes", yes, True)):
        if res["rc"] != 0:
            r.fail("%s: the daemon %s (log: %s)" % (
                tag, "did not exit by itself at the end of the file" if res["rc"] == "timeout"
                else "exited %s" % res["rc"], res.get("log")))
        for b in res["bad_lines"][:5]:
            r.fail("%s: output is not one JSON object per line: %s" % (tag, b))
        inrec, outrec = counter(res, "records", {"listener"}), counter(res, "records", {"forwarder"})
        if "listener" not in res["stats"]:
            r.fail("%s: no stats line of the [listener] at exit" % tag)
        elif inrec != len(res["records"]) or outrec != len(res["records"]):
            held = sum(1 for x in g.walk.records if x.held and (opts or not x.options))
            r.fail("%s: [listener] records=%d, [forwarder] records=%d, %d records written%s" % (
                tag, inrec, outrec, len(res["records"]),
                " (%d of them held, then replayed)" % held if held else ""))

    if bad:
        mal = counter(no, "malformed") + counter(yes, "malformed")
        unk = counter(no, "unknown_version") + counter(yes, "unknown_version")
        if no["records"] or yes["records"]:
            r.fail("known-bad input: %d records written (expected none)" %
                   (len(no["records"]) + len(yes["records"])))
        garbage = any(f["protocol"].startswith("not-flow") for f in g.files)
        if mal == 0 and not (garbage and unk):
            r.fail("known-bad input: no malformed count (stats: %s)" % fmt_stats(no))
        if garbage and mal == 0 and unk:
            r.notes.append("the garbage datagram is counted as unknown_version, not malformed")
        return r

    if r.got[0] != r.exp[0]:
        r.fail("flow records: expected %d, got %d" % (r.exp[0], r.got[0]))
    if len(yes["records"]) != len(exp_all):
        r.fail("with options_records=yes: expected %d records (%d flows + %d options), got %d" %
               (len(exp_all), r.exp[0], r.exp[1], len(yes["records"])))
    # The decoders' counters of held data and of options records read.
    decs = {"netflow_v9", "ipfix"}
    want = {"held_sets": g.walk.held_sets, "replayed_sets": g.walk.replayed_sets,
            "no_template": g.walk.no_template_sets, "options_records": r.exp[1]}
    for tag, res in (("options_records=no", no), ("options_records=yes", yes)):
        if not any(d in res["stats"] for d in decs):
            r.fail("%s: no stats line of the netflow_v9 and ipfix decoders at exit" % tag)
            continue
        got = {k: counter(res, k, decs) for k in want}
        if got != want:
            r.fail("%s: decoder counters %s, expected %s%s" % (
                tag, " ".join("%s=%d" % kv for kv in got.items()), " ".join("%s=%d" % kv for kv in want.items()),
                " (the templates of ids %s never come)" % ",".join(map(str, g.walk.no_template_ids))
                if g.walk.no_template_ids else ""))
    # docs/configuration.md: input `malformed` counts datagrams refused by
    # their decoder (skipped whole); the walk finds none here but those that
    # are not a whole message (a zero tail after the last set is padding).
    for tag, res in (("options_records=no", no), ("options_records=yes", yes)):
        mal = counter(res, "malformed", {"listener"})
        if mal != g.walk.malformed:
            r.fail("%s: [listener] malformed=%d, expected %d (%d records were written; INDEX oddities: %s)" % (
                tag, mal, g.walk.malformed, len(res["records"]),
                "; ".join(o for f in g.files for o in f["oddities"]) or "none"))

    # Values.
    if g.tshark_full:
        stats = [0, 0, 0]  # records compared, fields compared, fields tshark has no value for
        compare_records(r, "options_records=no", exp_flows, no["records"], g, names, stats)
        compare_records(r, "options_records=yes", exp_all, yes["records"], g, names, stats)
        r.values = "%d rec, %d val" % (stats[0], stats[1])
        r.unmatched = stats[2]
    else:
        r.values = "no: tshark partial"
        compare_exporters(r, "options_records=yes", exp_all, yes["records"])
    return r


def fmt_stats(res):
    return "; ".join("%s: %s" % (k, " ".join("%s=%d" % kv for kv in v.items())) for k, v in res["stats"].items())


def expected_fields(rec, names, g):
    """[(key, tshark entry or None, fid, pen)] of the fields of rec."""
    out = []
    tv = g.tshark_values.get(rec.frame, {})
    for key, fid, pen, off, ln in record_keys(rec, names):
        if key is None or ln == 0:
            continue
        t = tv.get((off, ln))
        if t is None:  # tshark reads an 8-byte v9 time but marks 4 bytes of it
            t = next((x for (o, n), x in tv.items() if o == off and n < ln and x[2] == FT_ABS), None)
        out.append((key, t, fid, pen))
    return out


UNMATCHED = {}  # (version, element, pen) -> fields tshark shows no value of at that place


def compare_records(r, tag, expected, got, g, names, stats, limit=25):
    if len(expected) != len(got):
        n = min(len(expected), len(got))
        r.notes.append("%s: values compared for the first %d records only" % (tag, n))
    pairs = list(zip(expected, got))
    problems = []
    for i, (e, o) in enumerate(pairs):
        problems.append(diff_record(e, o, g, names))
    # A record order other than the decode order is not a failure if each
    # record matches another one.
    if any(problems):
        pool = list(range(len(got)))
        matched = True
        for e in expected[:len(pairs)]:
            j = next((j for j in pool if not diff_record(e, got[j], g, names)), None)
            if j is None:
                matched = False
                break
            pool.remove(j)
        if matched:
            r.notes.append("%s: records come in another order than the decode order" % tag)
            problems = [[] for _ in pairs]
    shown = 0
    for i, ((e, o), pr) in enumerate(zip(pairs, problems)):
        stats[0] += 1
        ef = expected_fields(e, names, g)
        stats[1] += sum(1 for k, t, _, _ in ef if t)
        stats[2] += sum(1 for k, t, _, _ in ef if not t)
        for k, t, fid, pen in ef:
            if not t:
                UNMATCHED[(e.version, fid, pen)] = UNMATCHED.get((e.version, fid, pen), 0) + 1
        for p in pr:
            if shown < limit:
                r.fail("%s: record %d (frame %d%s): %s" % (tag, i, e.frame, ", held" if e.held else "", p))
            else:
                r.status = "FAIL"
            shown += 1
    if shown > limit:
        r.problems.append("%s: ... %d more field mismatches" % (tag, shown - limit))


def diff_record(e, o, g, names):
    out = []
    fields = expected_fields(e, names, g)
    keys = set(k for k, _, _, _ in fields)
    # The exporter's address, unless the record carries its own (IE 130/131:
    # docs/flow-fields.md does not say which one wins; the template's is checked).
    ek = "exporterIPv4Address" if ":" not in e.exporter else "exporterIPv6Address"
    own = any(pen == 0 and fid in (130, 131) for fid, pen, _, _ in e.fields) and e.version != 5
    if not own and o.get(ek) != e.exporter:
        out.append("key %s: expected %s, got %s" % (ek, show(e.exporter), show(o.get(ek))))
    compare_tshark = e.first_layout and not e.held
    for key, t, fid, pen in fields:
        if t is None or not compare_tshark:
            continue
        if key not in o:
            out.append("key %s: expected %s (tshark %s), missing" % (key, show(t[1]), t[0]))
            continue
        why = compare_value(o[key], t, fid, e.version, names.known_type(e.version, fid, pen))
        if why and key in ADDED_KEYS and o[key] == e.exporter:
            why = None  # the added key took the place of the record's own (see above)
        if why:
            out.append("key %s: expected %s (tshark %s, raw %s), got %s" % (key, show(t[1]), t[0], t[3],
                                                                         show(o[key])))
    if names.complete and not (e.version == 9 and e.options):
        extra = sorted(k for k in o if k not in keys and k not in ADDED_KEYS)
        if extra:
            out.append("keys not in the template: %s" % ", ".join(extra))
    return out


def compare_exporters(r, tag, expected, got):
    bad = 0
    for i, (e, o) in enumerate(zip(expected, got)):
        ek = "exporterIPv4Address" if ":" not in e.exporter else "exporterIPv6Address"
        own = any(pen == 0 and fid in (130, 131) for fid, pen, _, _ in e.fields) and e.version != 5
        if not own and o.get(ek) != e.exporter:
            if bad < 5:
                r.fail("%s: record %d: key %s: expected %s, got %s" % (tag, i, ek, show(e.exporter),
                                                                     show(o.get(ek))))
            bad += 1


def expectation_notes(g):
    """What the walk expects where data precedes its template or never gets one."""
    notes = []
    held = [x for x in g.walk.records if x.held]
    if held:
        ids = ",".join(sorted(set(str(x.tid) for x in held)))
        notes.append("%d records in data held until their template arrives (template ids %s; held up to "
                     "%.1f s of capture time): expected decoded then" %
                     (len(held), ids, g.walk.max_hold_ns / 1e9))
    if g.walk.no_template_sets:
        notes.append("%d data sets whose template never comes (ids %s): expected counted as no_template, "
                     "not emitted" % (g.walk.no_template_sets, ",".join(map(str, g.walk.no_template_ids))))
    for f in g.files:
        if "NOT provided" in f["needs_template"] and not g.walk.no_template_sets:
            notes.append("%s: INDEX says %s" % (f["file"], f["needs_template"]))
    return notes


# --------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", help="../shared/corpus (optional)")
    ap.add_argument("--data", help="tests/data")
    ap.add_argument("--registries", help="../shared/registries (optional; default: beside the corpus)")
    ap.add_argument("--bin", help="the netflow-concentrator binary")
    ap.add_argument("--plugin-dir", default=os.environ.get("NETFLOW_CONCENTRATOR_PLUGIN_DIR"))
    ap.add_argument("--work", help="scratch directory (default: a temporary one)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="tshark runs at a time")
    ap.add_argument("--daemon-jobs", type=int, default=8, help="daemon runs at a time")
    ap.add_argument("--timeout", type=int, default=120, help="seconds one daemon run may take")
    ap.add_argument("--groups", help="only groups whose name matches this regular expression")
    ap.add_argument("--write-manifest", metavar="FILE", help="write the manifest of the local groups and exit")
    ap.add_argument("--expectations-only", action="store_true",
                    help="check the walk against INDEX, run no daemon")
    ap.add_argument("--self-test", action="store_true",
                    help="compare a plain decode by this script with tshark instead of running the daemon")
    args = ap.parse_args()
    if args.corpus and not os.path.isfile(os.path.join(args.corpus, "groups.json")):
        args.corpus = None
    manifest = os.path.join(args.data, "corpus-manifest.json") if args.data else None

    if args.corpus:
        groups = load_corpus(args.corpus)
        if args.write_manifest:
            with open(args.write_manifest, "w") as f:
                json.dump(manifest_of(groups), f, indent=1, sort_keys=True)
                f.write("\n")
            return 0
        if manifest and os.path.exists(manifest):
            with open(manifest) as f:
                if json.load(f) != json.loads(json.dumps(manifest_of(groups))):
                    print("FAIL: %s does not match the corpus: rerun corpus_check.py --corpus %s --write-manifest"
                          " %s" % (manifest, args.corpus, manifest))
                    return 1
        print("corpus: %s (%d groups); tests/data copies used where present" % (args.corpus, len(groups)))
    else:
        if not manifest or not os.path.exists(manifest):
            print("SKIP: no corpus and no %s" % manifest)
            return 77
        groups = load_manifest(manifest)
        print("corpus: not found; running on the %d groups copied into tests/data only" % len(groups))
    registries = args.registries or (os.path.join(args.corpus, "..", "registries") if args.corpus else None)
    names = Names(registries)
    if not names.complete:
        print("field names: no ../shared/registries; comparing the %d most common elements only" % len(CURATED))

    skipped = [g for g in groups if not netflow_group(g)]
    groups = [g for g in groups if netflow_group(g)]
    if args.groups:
        groups = [g for g in groups if re.search(args.groups, g.name)]
    print("%d NetFlow/IPFIX groups (%d sFlow or NetFlow v1 groups are not ours)" % (len(groups), len(skipped)))

    work = args.work or tempfile.mkdtemp(prefix="nfc-corpus.")
    os.makedirs(work, exist_ok=True)
    groups = [g for g in (build(g, args, work) for g in groups) if g is not None]
    daemon = not (args.expectations_only or args.self_test)
    if daemon:
        decoders = set(f[4:-3] for f in os.listdir(args.plugin_dir) if f.startswith("dec_") and f.endswith(".so"))
        missing = [p for p in ("in_pcap.so", "dec_netflow_v5.so", "dec_netflow_v9.so", "dec_ipfix.so",
                               "out_file.so") if not os.path.exists(os.path.join(args.plugin_dir, p))]
        if missing:
            print("SKIP: not built: %s (in %s)" % (", ".join(missing), args.plugin_dir))
            return 77

    # tshark and the walks take the CPU; the daemon runs mostly wait (about
    # a second each between the end of the capture and the exit), so many run
    # at once, beside them.
    t0 = time.monotonic()
    jobs = [(g, opt) for g in groups for opt in (False, True)] if daemon else []

    def one(job):
        g, opt = job
        res = run_daemon(args.bin, g.pcap, g.dir, "yes" if opt else "no", opt, decoders, args.timeout)
        res["log"] = os.path.join(g.dir, "daemon-%s.log" % ("yes" if opt else "no"))
        return res
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as cpu, \
            concurrent.futures.ThreadPoolExecutor(args.daemon_jobs) as waiting:
        runs_f = [waiting.submit(one, j) for j in jobs]
        list(cpu.map(expect, groups))
        t1 = time.monotonic()
        results = [f.result() for f in runs_f]
    print("expectations: %d groups walked and decoded by tshark in %.1f s" % (len(groups), t1 - t0))
    if daemon:
        print("daemon: %d runs (%d at a time) done after %.1f s" % (len(jobs), args.daemon_jobs,
                                                                   time.monotonic() - t0))
    runs = {}
    for (g, opt), res in zip(jobs, results):
        runs.setdefault(g.index, [None, None])[1 if opt else 0] = res
    if not daemon:
        for g in groups:
            recs = [] if known_bad(g) else g.walk.records
            plain = plain_records(g, recs, names) if args.self_test else []
            flows = [o for o, e in zip(plain, recs) if not e.options]
            dec = {"held_sets": g.walk.held_sets, "replayed_sets": g.walk.replayed_sets,
                   "no_template": g.walk.no_template_sets, "options_records": len(recs) - len(flows)}

            def fake(rs):
                return {"rc": 0, "records": rs, "bad_lines": [], "stats": {
                    "listener": {"malformed": g.walk.malformed, "unknown_version": g.walk.unknown_version,
                                 "records": len(rs)},
                    "forwarder": {"records": len(rs)}, "netflow_v9": dec}}
            runs[g.index] = (fake(flows), fake(plain))

    results = [check_group(g, runs[g.index], names) for g in groups]
    if args.expectations_only:
        for r in results:
            r.problems = [p for p in r.problems if p.startswith("harness")]
            r.status = "FAIL" if r.problems else "ok"

    # The table.
    print()
    row = "%-4s %-60s %-5s %-6s %-11s %-11s %-6s %-17s %s"
    print(row % ("#", "group", "proto", "src", "flows e/g", "opts e/g", "tshark", "values compared", "result"))
    for r in results:
        g = r.g
        proto = "/".join(sorted(set(f["protocol"].split("(")[0].split(" ")[0] for f in g.files)))
        print(row % (g.index, g.name[:60], proto[:5], "data" if g.source == "tests/data" else "corpus",
                     "%d/%d" % (r.exp[0], r.got[0]), "%d/%d" % (r.exp[1], r.got[1]), r.tshark_n, r.values,
                     r.status + (" (known-bad)" if known_bad(g) else "")))

    print("\nExpectations where data precedes its template or has none:")
    for r in results:
        for n in expectation_notes(r.g):
            print("  %s: %s" % (r.g.name, n))
    print("\nGroups we decode more records of than tshark (tshark decodes strictly in order, stops at the"
          " v9 header count, gives up on malformed templates):")
    for r in results:
        if r.walk_more > 0:
            print("  %s: %d records, tshark %d" % (r.g.name, r.exp[0] + r.exp[1], r.tshark_n))

    if UNMATCHED:
        print("\nFields not compared: tshark shows no value with their offset and length (it splits or "
              "merges them):")
        print("  " + ", ".join("v%d %d%s (%s): %d" % (v, fid, " pen %d" % pen if pen else "",
                                                     names.key(v, fid, pen) or "?", n)
                              for (v, fid, pen), n in sorted(UNMATCHED.items())))
    failed = [r for r in results if r.status == "FAIL"]
    for r in results:
        if r.notes or r.problems:
            print("\n%s %s (%s)" % (r.status, r.g.name, r.g.pcap))
            for n in r.notes:
                print("  note: %s" % n)
            for p in r.problems:
                print("  %s" % p)
    print("\n%d groups: %d pass, %d fail%s" % (len(results), len(results) - len(failed), len(failed),
                                               "" if args.work else "; scratch in %s" % work))
    if not failed and not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

