#!/usr/bin/env python3
"""Compares broker/kafka/messages.kdesc with the Apache Kafka JSON schemas.

usage: check_kdesc.py SOURCE_ROOT [SCHEMA_DIR]

SCHEMA_DIR defaults to SOURCE_ROOT/../shared/kafka-protocol/messages. Exits
77 (meson's "skipped") when it is absent: the schemas are reference data the
build does not need. For every described API, within the versions Cairn
implements, checks: api key, that the range is valid, flexible versions,
and for every struct the fields present in those versions, in order, with
their types, versions, nullable versions, tags and defaults. Every data
format is checked the same way against SCHEMA_DIR/../embedded/<Name>.json.
Structs a schema declares in commonStructs are looked up by type name.
Also checks common/kafka_error.h against error-codes.tsv next to the
schemas.
"""

import json
import os
import re
import sys

INF = 1 << 15


def load_schema(path):
    with open(path, encoding='utf-8') as f:
        text = ''.join(l for l in f if not l.lstrip().startswith('//'))
    return json.loads(text)


def vrange(text):
    if text is None or text == 'none':
        return None
    if text.endswith('+'):
        return (int(text[:-1]), INF)
    if '-' in text:
        lo, hi = text.split('-')
        return (int(lo), int(hi))
    return (int(text), int(text))


def vset(r, lo, hi):
    """Versions of range r inside [lo, hi]."""
    if r is None:
        return frozenset()
    return frozenset(range(max(r[0], lo), min(r[1], hi) + 1))


def fmt(s):
    if not s:
        return 'none'
    s = sorted(s)
    return '%d-%d' % (s[0], s[-1]) if s == list(range(s[0], s[-1] + 1)) else ','.join(map(str, s))


def norm_default(type_, d):
    """A comparable form of a default given as schema JSON or kdesc text."""
    if d is None:
        return None
    if isinstance(d, bool):
        return d
    d = str(d)
    if type_ in ('int8', 'int16', 'int32', 'int64', 'uint16', 'uint32'):
        return int(d, 0)
    if type_ == 'bool':
        return d == 'true'
    if type_ == 'float64':
        return float(d)
    if type_ == 'string':
        if d == 'null':
            return None
        if len(d) >= 2 and d[0] == '"' and d[-1] == '"':
            return d[1:-1]
        return d
    return d


def zero_default(type_, nullable_anywhere):
    if type_ in ('int8', 'int16', 'int32', 'int64', 'uint16', 'uint32'):
        return 0
    if type_ == 'bool':
        return False
    if type_ == 'float64':
        return 0.0
    if type_ == 'string':
        return ''
    return None


class Checker:
    def __init__(self):
        self.errors = []

    def err(self, where, msg):
        self.errors.append('%s: %s' % (where, msg))

    def fields(self, where, ours, theirs, lo, hi, flex, common):
        theirs = [f for f in theirs if vset(vrange(f.get('versions')), lo, hi)]
        on = [f.name for f in ours]
        tn = [f['name'] for f in theirs]
        if on != tn:
            self.err(where, 'fields %s, schema has %s (versions %d-%d)' % (on, tn, lo, hi))
        byname = {f['name']: f for f in theirs}
        for f in ours:
            t = byname.get(f.name)
            if t is None:
                continue
            w = '%s.%s' % (where, f.name)
            ttype = t['type']
            if f.type != ttype:
                self.err(w, 'type %s, schema %s' % (f.type, ttype))
            present = vset(vrange(t.get('versions')), lo, hi)
            mine = vset(f.versions, lo, hi)
            if mine != present:
                self.err(w, 'versions %s, schema %s' % (fmt(mine), fmt(present)))
            tnull = vset(vrange(t.get('nullableVersions')), lo, hi) & present
            mnull = vset(f.nullable, lo, hi) & mine
            if tnull != mnull:
                self.err(w, 'nullable in %s, schema %s' % (fmt(mnull), fmt(tnull)))
            ttag = vset(vrange(t.get('taggedVersions')), lo, hi) & present
            mtag = vset(f.tagged, lo, hi) & mine
            if ttag != mtag:
                self.err(w, 'tagged in %s, schema %s' % (fmt(mtag), fmt(ttag)))
            if ttag and t.get('tag') != f.tag:
                self.err(w, 'tag %s, schema %s' % (f.tag, t.get('tag')))
            if ttag and not ttag <= flex:
                self.err(w, 'tagged outside flexible versions')
            if not f.type.startswith('[]'):
                td = norm_default(f.type, t.get('default'))
                md = norm_default(f.type, f.default)
                if 'default' not in t:
                    td = zero_default(f.type, False)
                if f.default is None:
                    md = zero_default(f.type, False)
                if f.type in ('bytes', 'records', 'uuid'):
                    td = md = None if (t.get('default') in (None, 'null')) == (f.default in (None, 'null')) else 'x'
                if td != md:
                    self.err(w, 'default %r, schema %r' % (md, td))
            if f.struct is not None:
                nested = t.get('fields')
                if nested is None and f.struct.name in common:
                    nested = common[f.struct.name].get('fields', [])
                if nested is None:
                    self.err(w, 'a struct here, schema has no nested fields')
                else:
                    self.fields('%s.%s' % (where, f.struct.name), f.struct.fields, nested, lo, hi,
                                flex, common)

    def versions(self, where, s, vmin, vmax, flex, root):
        """The part shared by messages and data formats: Cairn's range
        inside the schema's, the first flexible version, the fields."""
        valid = vrange(s['validVersions'])
        if not (valid[0] <= vmin and vmax <= valid[1]):
            self.err(where, 'versions %d-%d outside the schema\'s %s' % (vmin, vmax, s['validVersions']))
        tflex = vrange(s.get('flexibleVersions'))
        mflex = (flex, INF) if flex is not None else None
        if tflex != mflex:
            self.err(where, 'flexible %s, schema %s' % (
                '%d+' % flex if flex is not None else 'none', s.get('flexibleVersions')))
        common = {c['name']: c for c in s.get('commonStructs', [])}
        self.fields(where, root.fields, s['fields'], vmin, vmax, vset(tflex, vmin, vmax), common)

    def data(self, data, embedded_dir):
        path = os.path.join(embedded_dir, data.name + '.json')
        where = data.name
        if not os.path.exists(path):
            self.err(where, 'no schema %s' % path)
            return
        s = load_schema(path)
        if s.get('name') != data.name:
            self.err(where, 'schema name %s' % s.get('name'))
        if s.get('type') != 'data':
            self.err(where, 'schema type %s, not data' % s.get('type'))
        self.versions(where, s, data.vmin, data.vmax, data.flex, data.root)

    def api(self, api, schema_dir):
        for kind in ('Request', 'Response'):
            msg = getattr(api, kind.lower())
            path = os.path.join(schema_dir, api.name + kind + '.json')
            where = msg.name
            if not os.path.exists(path):
                self.err(where, 'no schema %s' % path)
                continue
            s = load_schema(path)
            if s.get('name') != msg.name:
                self.err(where, 'schema name %s' % s.get('name'))
            if s.get('apiKey') != api.key:
                self.err(where, 'api key %d, schema %s' % (api.key, s.get('apiKey')))
            self.versions(where, s, api.vmin, api.vmax, api.flex, msg.root)


def check_errors(checker, header, tsv):
    if not os.path.exists(tsv):
        return 0
    codes = {}
    with open(tsv, encoding='utf-8') as f:
        for line in f:
            if line.startswith('#') or line.startswith('code'):
                continue
            parts = line.rstrip('\n').split('\t')
            if len(parts) == 2:
                codes[int(parts[0])] = parts[1]
    with open(header, encoding='utf-8') as f:
        text = f.read()
    n = 0
    for name, code in re.findall(r'X\((\w+),\s*(-?\d+)\)', text):
        n += 1
        if codes.get(int(code)) != name:
            checker.err('kafka_error.h', '%s = %s, Kafka calls %s %s' % (name, code, code, codes.get(int(code))))
    return n


def main(argv):
    if len(argv) not in (2, 3):
        sys.stderr.write(__doc__)
        return 2
    root = argv[1]
    schema_dir = argv[2] if len(argv) == 3 else os.path.join(root, '..', 'shared', 'kafka-protocol', 'messages')
    if not os.path.isdir(schema_dir):
        print('skipped: no schemas at %s' % schema_dir)
        return 77
    sys.path.insert(0, os.path.join(root, 'broker', 'kafka'))
    import gen_messages
    apis, datas = gen_messages.parse_kdesc(os.path.join(root, 'broker', 'kafka', 'messages.kdesc'))
    c = Checker()
    for api in apis:
        c.api(api, schema_dir)
    for data in datas:
        c.data(data, os.path.join(schema_dir, '..', 'embedded'))
    nerr = check_errors(c, os.path.join(root, 'common', 'kafka_error.h'),
                        os.path.join(schema_dir, '..', 'error-codes.tsv'))
    for e in c.errors:
        print('MISMATCH ' + e)
    print('%d apis (%d messages), %d data formats and %d error codes checked: %d mismatches'
          % (len(apis), 2 * len(apis), len(datas), nerr, len(c.errors)))
    return 1 if c.errors else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
