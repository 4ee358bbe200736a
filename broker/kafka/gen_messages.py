#!/usr/bin/env python3
"""Generates Cairn's Kafka message codecs from messages.kdesc.

usage: gen_messages.py messages.kdesc OUTDIR

Writes into OUTDIR (the build dir; nothing generated is committed):
  kafka_messages.h / .c       one struct per message, data format and
                              nested struct, init/decode/encode functions,
                              the API table
  kafka_messages_test.h / .c  fillers and default checkers for the unit
                              tests (not linked into the broker)

The description format is documented at the top of messages.kdesc. The
parser (parse_kdesc) is also used by tests/unit/kafka/check_kdesc.py.
Standard library only.
"""

import os
import re
import sys

INF = 1 << 15

PRIMS = {
    # type: (C type, fixed wire size or None, reader, writer)
    'bool': ('bool', 1, 'kafka_rd_bool', 'kafka_wr_bool'),
    'int8': ('int8_t', 1, 'kafka_rd_int8', 'kafka_wr_int8'),
    'int16': ('int16_t', 2, 'kafka_rd_int16', 'kafka_wr_int16'),
    'int32': ('int32_t', 4, 'kafka_rd_int32', 'kafka_wr_int32'),
    'int64': ('int64_t', 8, 'kafka_rd_int64', 'kafka_wr_int64'),
    'uint16': ('uint16_t', 2, 'kafka_rd_uint16', 'kafka_wr_uint16'),
    'uint32': ('uint32_t', 4, 'kafka_rd_uint32', 'kafka_wr_uint32'),
    'float64': ('double', 8, 'kafka_rd_float64', 'kafka_wr_float64'),
    'uuid': ('kafka_uuid_t', 16, 'kafka_rd_uuid', None),
    'string': ('char *', None, None, None),
    'bytes': ('kafka_bytes_t', None, None, None),
    'records': (None, None, None, None),
}
INT_RANGES = {
    'int8': (-(1 << 7), (1 << 7) - 1), 'int16': (-(1 << 15), (1 << 15) - 1),
    'int32': (-(1 << 31), (1 << 31) - 1), 'int64': (-(1 << 63), (1 << 63) - 1),
    'uint16': (0, (1 << 16) - 1), 'uint32': (0, (1 << 32) - 1),
}


class KdescError(Exception):
    pass


# ---- model ------------------------------------------------------------------

class Field:
    def __init__(self, name, type_, versions, line):
        self.name = name
        self.type = type_               # 'int32', '[]int32', '[]Struct', ...
        self.versions = versions        # (lo, hi), hi may be INF
        self.nullable = None            # (lo, hi) or None
        self.default = None             # raw text or None (type's zero)
        self.tag = None
        self.tagged = None              # (lo, hi) or None
        self.struct = None              # Struct for []Struct
        self.line = line

    @property
    def is_array(self):
        return self.type.startswith('[]')

    @property
    def elem(self):
        return self.type[2:] if self.is_array else self.type


class Struct:
    def __init__(self, name):
        self.name = name
        self.fields = []


class Message:
    def __init__(self, api, kind):
        self.api = api
        self.kind = kind                # 'Request' / 'Response'
        self.name = api.name + kind
        self.root = Struct(self.name)


class Api:
    def __init__(self, name, key, vmin, vmax, flex, line):
        self.name = name
        self.key = key
        self.vmin = vmin
        self.vmax = vmax
        self.flex = flex                # first flexible version or None
        self.line = line
        self.request = None
        self.response = None


class Data:
    """A data format: one versioned struct that travels inside other
    messages or records (no api key, no header). Gen reads its version
    range from `api` as it does a message's, so a Data is its own api."""

    kind = 'Data'
    key = None

    def __init__(self, name, vmin, vmax, flex, line):
        self.name = name
        self.vmin = vmin
        self.vmax = vmax
        self.flex = flex                # first flexible version or None
        self.line = line
        self.root = Struct(name)

    @property
    def api(self):
        return self


# ---- parsing ----------------------------------------------------------------

def parse_versions(text, where):
    if text == 'none':
        return None
    m = re.fullmatch(r'(\d+)\+', text)
    if m:
        return (int(m.group(1)), INF)
    m = re.fullmatch(r'(\d+)-(\d+)', text)
    if m:
        lo, hi = int(m.group(1)), int(m.group(2))
        if lo > hi:
            raise KdescError('%s: empty version range %s' % (where, text))
        return (lo, hi)
    m = re.fullmatch(r'\d+', text)
    if m:
        return (int(text), int(text))
    raise KdescError('%s: bad version range %r' % (where, text))


TOKEN = re.compile(r'\w+="(?:[^"\\]|\\.)*"|\S+')


def parse_header_attrs(toks, where, allowed):
    """The name=value attributes of an api or data line, every one of
    allowed and no other: (dict of raw values, (lo, hi) of versions=,
    first flexible version or None)."""
    attrs = {}
    for t in toks[2:]:
        if '=' not in t:
            raise KdescError('%s: bad attribute %r' % (where, t))
        k, v = t.split('=', 1)
        if k not in allowed:
            raise KdescError('%s: unknown attribute %r' % (where, k))
        attrs[k] = v
    for k in allowed:
        if k not in attrs:
            raise KdescError('%s: %s needs %s=' % (where, toks[0], k))
    vr = parse_versions(attrs['versions'], where)
    flex = parse_versions(attrs['flexible'], where)
    if vr is None or vr[1] == INF:
        raise KdescError('%s: %s versions must be a closed range' % (where, toks[0]))
    if flex is not None and flex[1] != INF:
        raise KdescError('%s: flexible must be N+ or none' % where)
    return attrs, vr, flex[0] if flex else None


def parse_kdesc(path):
    """Returns (list of Api, list of Data), each in file order (ranges as
    written, unclipped)."""
    apis = []
    datas = []
    api = None
    msg = None
    stack = []                          # (indent, Struct)
    with open(path, encoding='utf-8') as f:
        lines = f.read().split('\n')
    for lineno, raw in enumerate(lines, 1):
        where = '%s:%d' % (os.path.basename(path), lineno)
        text = raw.split('#', 1)[0].rstrip()
        if not text.strip():
            continue
        indent = len(text) - len(text.lstrip(' '))
        toks = TOKEN.findall(text)
        if indent == 0 and toks[0] in ('api', 'data'):
            if len(toks) < 2 or not re.fullmatch(r'[A-Z]\w*', toks[1]):
                raise KdescError('%s: %s needs a Name' % (where, toks[0]))
            if toks[0] == 'api':
                attrs, vr, flex = parse_header_attrs(toks, where, ('key', 'versions', 'flexible'))
                api = Api(toks[1], int(attrs['key']), vr[0], vr[1], flex, lineno)
                apis.append(api)
                msg = None
            else:
                _, vr, flex = parse_header_attrs(toks, where, ('versions', 'flexible'))
                api = None
                msg = Data(toks[1], vr[0], vr[1], flex, lineno)
                datas.append(msg)
                stack = [(0, msg.root)]
            continue
        if indent == 0 and toks[0] in ('request', 'response') and len(toks) == 1:
            if api is None:
                raise KdescError('%s: %s outside an api' % (where, toks[0]))
            msg = Message(api, toks[0].capitalize())
            if getattr(api, toks[0]) is not None:
                raise KdescError('%s: second %s for %s' % (where, toks[0], api.name))
            setattr(api, toks[0], msg)
            stack = [(0, msg.root)]
            continue
        if msg is None or indent == 0:
            raise KdescError('%s: field outside a request/response/data' % where)
        if indent % 2:
            raise KdescError('%s: indent by two spaces' % where)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        if not stack:
            raise KdescError('%s: bad indentation' % where)
        parent_indent, parent = stack[-1]
        if indent != parent_indent + 2:
            raise KdescError('%s: field indented too deep' % where)
        if len(toks) < 3:
            raise KdescError('%s: want "Name type versions [attr=value...]"' % where)
        fld = Field(toks[0], toks[1], parse_versions(toks[2], where), lineno)
        if fld.versions is None:
            raise KdescError('%s: a field needs versions' % where)
        for t in toks[3:]:
            if '=' not in t:
                raise KdescError('%s: bad attribute %r' % (where, t))
            k, v = t.split('=', 1)
            if k == 'nullable':
                fld.nullable = parse_versions(v, where)
            elif k == 'default':
                fld.default = v
            elif k == 'tag':
                fld.tag = int(v)
            elif k == 'tagged':
                fld.tagged = parse_versions(v, where)
            else:
                raise KdescError('%s: unknown attribute %r' % (where, k))
        if (fld.tag is None) != (fld.tagged is None):
            raise KdescError('%s: tag= and tagged= go together' % where)
        if fld.elem not in PRIMS and not re.fullmatch(r'[A-Z]\w*', fld.elem):
            raise KdescError('%s: unknown type %r' % (where, fld.type))
        if fld.elem not in PRIMS and not fld.is_array:
            raise KdescError('%s: struct fields must be arrays ([]%s)' % (where, fld.elem))
        if fld.is_array and fld.elem == 'records':
            raise KdescError('%s: no arrays of records' % where)
        if fld.elem == 'records' and msg.kind == 'Data':
            raise KdescError('%s: records only in api messages' % where)
        parent.fields.append(fld)
        if fld.is_array and fld.elem not in PRIMS:
            fld.struct = Struct(fld.elem)
            stack.append((indent, fld.struct))
    return apis, datas


# ---- helpers ----------------------------------------------------------------

def clip(r, api):
    if r is None:
        return None
    lo, hi = max(r[0], api.vmin), min(r[1], api.vmax)
    return (lo, hi) if lo <= hi else None


def cond(r, api):
    """C condition for `version in r` within the API's range; None = always."""
    c = clip(r, api)
    if c is None:
        return 'false'
    parts = []
    if c[0] > api.vmin:
        parts.append('version >= %d' % c[0])
    if c[1] < api.vmax:
        parts.append('version <= %d' % c[1])
    return ' && '.join(parts) if parts else None


def cbool(r, api):
    c = cond(r, api)
    if c is None:
        return 'true'
    return c if c == 'false' else '(%s)' % c


def flex_expr(api):
    if api.flex is None or api.flex > api.vmax:
        return 'false'
    if api.flex <= api.vmin:
        return 'true'
    return 'flex'


def walk(struct, out=None):
    """Structs in post-order (children first): the order C needs."""
    if out is None:
        out = []
    for f in struct.fields:
        if f.struct:
            walk(f.struct, out)
    out.append(struct)
    return out


def c_str(s):
    return '"' + s.replace('\\', '\\\\').replace('"', '\\"') + '"'


class Gen:
    """C text for one message."""

    def __init__(self, msg):
        self.msg = msg
        self.api = msg.api
        self.structs = walk(msg.root)
        self.flex = flex_expr(self.api)
        names = [s.name for s in self.structs]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise KdescError('%s: struct names used twice: %s' % (msg.name, ', '.join(sorted(dup))))
        self.validate()

    # names
    def ctype(self, s):
        if s is self.msg.root:
            return 'kafka_%s_t' % self.msg.name
        return 'kafka_%s_%s_t' % (self.msg.name, s.name)

    def prefix(self, s):
        return self.ctype(s)[:-2]

    def local(self, s, what):
        if s is self.msg.root:
            return '%s_%s' % (what, self.msg.name)
        return '%s_%s_%s' % (what, self.msg.name, s.name)

    def validate(self):
        api = self.api
        for s in self.structs:
            tags = set()
            for f in s.fields:
                where = '%s.%s (line %d)' % (s.name, f.name, f.line)
                if clip(f.versions, api) is None:
                    raise KdescError('%s: not in any implemented version' % where)
                if f.tagged is not None:
                    if clip(f.tagged, api) != clip(f.versions, api):
                        raise KdescError('%s: tagged versions must equal its versions' % where)
                    lo = clip(f.tagged, api)[0]
                    if api.flex is None or lo < api.flex:
                        raise KdescError('%s: tagged in a non-flexible version' % where)
                    if f.tag in tags:
                        raise KdescError('%s: tag %d used twice' % (where, f.tag))
                    tags.add(f.tag)
                if f.nullable and f.elem not in ('string', 'bytes', 'records') and not f.is_array:
                    raise KdescError('%s: only strings, bytes, records and arrays are nullable' % where)
                self.default_c(f)       # raises on a bad default

    # defaults
    def default_c(self, f):
        """C initialiser of f's default (for the struct member)."""
        d = f.default
        where = '%s line %d' % (f.name, f.line)
        if f.is_array:
            if d not in (None, 'null', '[]'):
                raise KdescError('%s: arrays default to [] or null' % where)
            return None
        t = f.type
        if t in INT_RANGES:
            v = 0 if d is None else int(d, 0)
            lo, hi = INT_RANGES[t]
            if not lo <= v <= hi:
                raise KdescError('%s: default %s out of range for %s' % (where, d, t))
            return v
        if t == 'bool':
            if d not in (None, 'true', 'false'):
                raise KdescError('%s: bool default must be true or false' % where)
            return d == 'true'
        if t == 'float64':
            return float(d) if d is not None else 0.0
        if t == 'uuid':
            if d not in (None, '0', 'AAAAAAAAAAAAAAAAAAAAAA'):
                raise KdescError('%s: uuid default must be zero' % where)
            return None
        if t == 'string':
            if d == 'null':
                return 'NULL'
            if d is None:
                return ''
            if not (d.startswith('"') and d.endswith('"')):
                raise KdescError('%s: string default must be null or "quoted"' % where)
            return d[1:-1]
        if t in ('bytes', 'records'):
            if d not in (None, 'null'):
                raise KdescError('%s: %s default must be null or absent' % (where, t))
            return d
        raise KdescError('%s: unknown type' % where)

    def int_lit(self, t, v):
        if t == 'int64':
            if v == INT_RANGES['int64'][0]:
                return 'INT64_MIN'
            return 'INT64_C(%d)' % v
        if t == 'uint32':
            return '%du' % v
        if t == 'int32' and v == INT_RANGES['int32'][0]:
            return 'INT32_MIN'
        return str(v)

    def init_value(self, f):
        """Designated initialiser parts for f, or [] for all-zero."""
        d = self.default_c(f)
        t = f.type
        if f.is_array:
            return ['.%s_count = -1' % f.name] if f.default == 'null' else []
        if t in INT_RANGES:
            return ['.%s = %s' % (f.name, self.int_lit(t, d))] if d else []
        if t == 'bool':
            return ['.%s = true' % f.name] if d else []
        if t == 'float64':
            return ['.%s = %r' % (f.name, d)] if d else []
        if t == 'uuid':
            return []
        if t == 'string':
            if d == 'NULL':
                return []
            return ['.%s = (char *)%s' % (f.name, c_str(d))]
        if t == 'bytes':
            return ['.%s = {NULL, -1}' % f.name] if d == 'null' else []
        if t == 'records':
            if self.msg.kind == 'Request':
                return ['.%s = {NULL, -1}' % f.name]
            return ['.%s = {-1, NULL, 0}' % f.name]
        raise AssertionError(t)

    # struct declarations
    def member_type(self, f):
        e = f.elem
        if f.is_array:
            if f.struct:
                return self.ctype(f.struct) + ' *'
            return PRIMS[e][0] + (' *' if e != 'string' else '*')
        if e == 'records':
            return 'kafka_bytes_t ' if self.msg.kind == 'Request' else 'kafka_records_t '
        ct = PRIMS[e][0]
        return ct if ct.endswith('*') else ct + ' '

    def header(self):
        out = []
        for s in self.structs:
            out.append('typedef struct %s {' % self.prefix(s))
            if not s.fields:
                out.append('    int _none;                     /* no fields in the implemented versions */')
            for f in s.fields:
                c = clip(f.versions, self.api)
                note = 'v%d-%d' % c if c[0] != c[1] else 'v%d' % c[0]
                n = clip(f.nullable, self.api) if f.nullable else None
                if n:
                    note += ', null v%d-%d' % n if n[0] != n[1] else ', null v%d' % n[0]
                if f.tagged is not None:
                    note += ', tag %d' % f.tag
                if f.default is not None:
                    note += ', default %s' % f.default
                mt = self.member_type(f)
                out.append('    %s%s;%s/* %s */' % (mt, f.name, ' ' * max(1, 30 - len(mt) - len(f.name)), note))
                if f.is_array:
                    out.append('    int32_t %s_count;%s/* -1 = null */' % (f.name, ' ' * max(1, 16 - len(f.name))))
            out.append('} %s;' % self.ctype(s))
            out.append('')
        for s in self.structs:
            out.append('void %s_init(%s *m);' % (self.prefix(s), self.ctype(s)))
        p = self.prefix(self.msg.root)
        t = self.ctype(self.msg.root)
        out.append('int %s_decode(kafka_rd_t *rd, int16_t version, kafka_arena_t *a, %s *out);' % (p, t))
        out.append('void %s_encode(kafka_wr_t *wr, int16_t version, const %s *in);' % (p, t))
        out.append('')
        return out

    # init
    def gen_init(self, s):
        parts = []
        for f in s.fields:
            parts += self.init_value(f)
        body = ', '.join(parts)
        return ['void %s_init(%s *m)' % (self.prefix(s), self.ctype(s)), '{',
                '    *m = (%s){%s};' % (self.ctype(s), body if body else '0'), '}', '']

    # decoding
    def elem_min(self, f):
        e = f.elem
        if f.struct:
            return '1'
        if PRIMS[e][1]:
            return str(PRIMS[e][1])
        if e == 'string':
            return '1' if self.flex == 'true' else '2' if self.flex == 'false' else '(flex ? 1 : 2)'
        if e == 'bytes':
            return '1' if self.flex == 'true' else '4' if self.flex == 'false' else '(flex ? 1 : 4)'
        raise AssertionError(e)

    def read_scalar(self, e, nullable, dst):
        fx = self.flex
        if e in ('string',):
            return '%s = kafka_rd_string(rd, a, %s, %s);' % (dst, fx, nullable)
        if e == 'bytes' or (e == 'records' and self.msg.kind == 'Request'):
            return '%s = kafka_rd_bytes(rd, %s, %s);' % (dst, fx, nullable)
        if e == 'records':
            return '%s = kafka_rd_records(rd, a, %s, %s);' % (dst, fx, nullable)
        return '%s = %s(rd);' % (dst, PRIMS[e][2])

    def read_field(self, s, f, ind):
        """Statements reading f into out->f from rd; return -1 on failure."""
        i = ' ' * ind
        fail = 'return kafka_rd_fail_field(rd, "%s.%s");' % (s.name, f.name)
        nullable = cbool(f.nullable, self.api) if f.nullable else 'false'
        if not f.is_array:
            return [i + self.read_scalar(f.elem, nullable, 'out->' + f.name),
                    i + 'if (rd->failed)', i + '    ' + fail]
        lines = [i + '{',
                 i + '    int32_t n = kafka_rd_array_len(rd, %s, %s, %s);' % (self.flex, nullable, self.elem_min(f)),
                 i + '    if (rd->failed)', i + '        ' + fail,
                 i + '    out->%s_count = n;' % f.name,
                 i + '    out->%s = NULL;' % f.name,
                 i + '    if (n > 0) {',
                 i + '        out->%s = kafka_arena_alloc_array(a, (size_t)n, sizeof *out->%s);' % (f.name, f.name),
                 i + '        if (!out->%s) {' % f.name,
                 i + '            kafka_rd_fail(rd, "arena cap");',
                 i + '            ' + fail,
                 i + '        }',
                 i + '        for (int32_t i = 0; i < n; i++) {']
        if f.struct:
            lines += [i + '            %s_init(&out->%s[i]);' % (self.prefix(f.struct), f.name),
                      i + '            if (%s(rd, version, a, &out->%s[i]) < 0)' % (self.local(f.struct, 'dec'), f.name),
                      i + '                return -1;',
                      i + '        }']
        else:
            lines += [i + '            ' + self.read_scalar(f.elem, 'false', 'out->%s[i]' % f.name),
                      i + '        }',
                      i + '        if (rd->failed)', i + '            ' + fail]
        lines += [i + '    }', i + '}']
        return lines

    def gen_dec(self, s):
        api = self.api
        out = []
        tagged = sorted((f for f in s.fields if f.tagged is not None), key=lambda f: f.tag)
        # one reader per tagged field: it reads from the field's own sub-reader
        for f in tagged:
            out += ['static int %s_tag_%s(kafka_rd_t *rd, int16_t version, kafka_arena_t *a, %s *out)'
                    % (self.local(s, 'dec'), f.name, self.ctype(s)), '{']
            if self.flex == 'flex':
                out += ['    const bool flex = true;      /* tagged fields exist only there */',
                        '    (void)flex;']
            out += ['    (void)version;', '    (void)a;']
            out += self.read_field(s, f, 4)
            out += ['    return 0;', '}', '']
        out += ['static int %s(kafka_rd_t *rd, int16_t version, kafka_arena_t *a, %s *out)'
                % (self.local(s, 'dec'), self.ctype(s)), '{']
        if self.flex == 'flex':
            out.append('    const bool flex = version >= %d;' % api.flex)
        out += ['    (void)version;', '    (void)a;', '    (void)out;']
        for f in s.fields:
            if f.tagged is not None:
                continue
            c = cond(f.versions, api)
            if c is None:
                out += self.read_field(s, f, 4)
            else:
                out.append('    if (%s) {' % c)
                out += self.read_field(s, f, 8)
                out.append('    }')
        if self.flex != 'false':
            i = '    '
            if self.flex == 'flex':
                out.append('    if (flex) {')
                i = '        '
            if tagged:
                out += [i + 'kafka_rd_tags_t t;', i + 'kafka_rd_tags_begin(rd, &t);',
                        i + 'while (kafka_rd_tags_next(rd, &t)) {', i + '    switch (t.tag) {']
                for f in tagged:
                    out.append(i + '    case %d:' % f.tag)
                    c = cond(f.versions, api)
                    j = i + '        '
                    if c is not None:
                        out.append(i + '        if (%s) {' % c)
                        j = i + '            '
                    out += [j + '%s_tag_%s(&t.sub, version, a, out);' % (self.local(s, 'dec'), f.name),
                            j + 'kafka_rd_tags_end_field(rd, &t);']
                    if c is not None:
                        out.append(i + '        }')
                    out.append(i + '        break;')
                out += [i + '    default:', i + '        break;', i + '    }', i + '}']
            else:
                out.append(i + 'kafka_rd_tags_skip(rd);')
            out += [i + 'if (rd->failed)',
                    i + '    return kafka_rd_fail_field(rd, "%s._tagged_fields");' % s.name]
            if self.flex == 'flex':
                out.append('    }')
        out += ['    return 0;', '}', '']
        return out

    # encoding
    def write_scalar(self, e, nullable, src, w):
        fx = self.flex
        if e == 'string':
            return 'kafka_wr_string(%s, %s, %s, %s);' % (w, src, fx, nullable)
        if e == 'bytes' or (e == 'records' and self.msg.kind == 'Request'):
            return 'kafka_wr_bytes(%s, &%s, %s, %s);' % (w, src, fx, nullable)
        if e == 'records':
            return 'kafka_wr_records(%s, &%s, %s, %s);' % (w, src, fx, nullable)
        if e == 'uuid':
            return 'kafka_wr_uuid(%s, &%s);' % (w, src)
        return '%s(%s, %s);' % (PRIMS[e][3], w, src)

    def write_field(self, f, ind, w):
        i = ' ' * ind
        nullable = cbool(f.nullable, self.api) if f.nullable else 'false'
        if not f.is_array:
            return [i + self.write_scalar(f.elem, nullable, 'in->' + f.name, w)]
        lines = [i + '{',
                 i + '    int32_t n = kafka_wr_array_len(%s, in->%s_count, %s, %s);' % (w, f.name, self.flex, nullable),
                 i + '    for (int32_t i = 0; i < n; i++)']
        if f.struct:
            lines.append(i + '        %s(%s, version, &in->%s[i]);' % (self.local(f.struct, 'enc'), w, f.name))
        else:
            lines.append(i + '        ' + self.write_scalar(f.elem, 'false', 'in->%s[i]' % f.name, w))
        lines.append(i + '}')
        return lines

    def not_default(self, f, var):
        """C expression: f differs from its default (tagged fields are then written)."""
        d = self.default_c(f)
        x = '%s->%s' % (var, f.name)
        if f.is_array:
            if f.default == 'null':
                return '%s_count >= 0' % x
            return '%s_count != 0' % x if f.nullable else '%s_count > 0' % x
        t = f.type
        if t in INT_RANGES:
            return '%s != %s' % (x, self.int_lit(t, d))
        if t == 'bool':
            return '%s != %s' % (x, 'true' if d else 'false')
        if t == 'float64':
            return '%s != %r' % (x, d)
        if t == 'uuid':
            return 'memcmp(%s.b, (const uint8_t[16]){0}, 16) != 0' % x
        if t == 'string':
            if d == 'NULL':
                return '%s != NULL' % x
            return '(%s == NULL || strcmp(%s, %s) != 0)' % (x, x, c_str(d))
        if t in ('bytes', 'records'):
            return '%s.len >= 0' % x if d == 'null' else '%s.len != 0' % x
        raise AssertionError(t)

    def gen_enc(self, s):
        api = self.api
        out = ['static void %s(kafka_wr_t *wr, int16_t version, const %s *in)'
               % (self.local(s, 'enc'), self.ctype(s)), '{']
        if self.flex == 'flex':
            out.append('    const bool flex = version >= %d;' % api.flex)
        out += ['    (void)version;', '    (void)in;']
        tagged = sorted((f for f in s.fields if f.tagged is not None), key=lambda f: f.tag)
        for f in s.fields:
            if f.tagged is not None:
                continue
            c = cond(f.versions, api)
            if c is None:
                out += self.write_field(f, 4, 'wr')
            else:
                out.append('    if (%s) {' % c)
                out += self.write_field(f, 8, 'wr')
                out.append('    }')
        if self.flex != 'false':
            i = '    '
            if self.flex == 'flex':
                out.append('    if (flex) {')
                i = '        '
            if not tagged:
                out.append(i + 'kafka_wr_tags_none(wr);')
            else:
                for f in tagged:
                    c = cond(f.versions, api)
                    e = self.not_default(f, 'in')
                    out.append(i + 'const bool has_%s = %s%s;' % (f.name, '(%s) && ' % c if c else '', e))
                out.append(i + 'kafka_wr_uvarint(wr, %s);' %
                           ' + '.join('(uint32_t)has_%s' % f.name for f in tagged))
                for f in tagged:
                    out += [i + 'if (has_%s) {' % f.name,
                            i + '    kafka_wr_t tsub;',
                            i + '    kafka_wr_t *tw = &tsub;',
                            i + '    kafka_wr_tag_begin(wr, tw);']
                    out += self.write_field(f, len(i) + 4, 'tw')
                    out += [i + '    kafka_wr_tag_end(wr, tw, %d);' % f.tag, i + '}']
            if self.flex == 'flex':
                out.append('    }')
        out += ['}', '']
        return out

    def source(self):
        if self.msg.kind == 'Data':
            out = ['/* ---- %s (data, v%d-%d) ---- */' % (self.msg.name, self.api.vmin,
                                                          self.api.vmax), '']
        else:
            out = ['/* ---- %s (api key %d, v%d-%d) ---- */' % (self.msg.name, self.api.key,
                                                                 self.api.vmin, self.api.vmax), '']
        for s in self.structs:
            out += self.gen_init(s)
        for s in self.structs:
            out += self.gen_dec(s)
            out += self.gen_enc(s)
        p = self.prefix(self.msg.root)
        t = self.ctype(self.msg.root)
        api = self.api
        out += ['int %s_decode(kafka_rd_t *rd, int16_t version, kafka_arena_t *a, %s *out)' % (p, t),
                '{',
                '    %s_init(out);' % p,
                '    if (version < %d || version > %d)' % (api.vmin, api.vmax),
                '        return kafka_rd_fail(rd, "unsupported version");',
                '    if (%s(rd, version, a, out) < 0)' % self.local(self.msg.root, 'dec'),
                '        return -1;',
                '    return kafka_rd_expect_end(rd);',
                '}', '',
                'void %s_encode(kafka_wr_t *wr, int16_t version, const %s *in)' % (p, t),
                '{',
                '    CAIRN_ASSERT(version >= %d && version <= %d);' % (api.vmin, api.vmax),
                '    %s(wr, version, in);' % self.local(self.msg.root, 'enc'),
                '}', '']
        # the API table's entries; data formats get theirs in the test support
        if self.msg.kind != 'Data':
            out += self.any_wrappers()
        return out

    def any_wrappers(self):
        """init/decode/encode behind the untyped signatures of a table."""
        p = self.prefix(self.msg.root)
        return ['static int any_decode_%s(kafka_rd_t *rd, int16_t version, kafka_arena_t *a, void *out)' % self.msg.name,
                '{', '    return %s_decode(rd, version, a, out);' % p, '}', '',
                'static void any_encode_%s(kafka_wr_t *wr, int16_t version, const void *in)' % self.msg.name,
                '{', '    %s_encode(wr, version, in);' % p, '}', '',
                'static void any_init_%s(void *m)' % self.msg.name,
                '{', '    %s_init(m);' % p, '}', '']

    # test support
    def test_source(self):
        api = self.api
        out = []
        for s in self.structs:
            out += ['static void %s(kafka_test_ctx_t *c, int16_t version, %s *m)'
                    % (self.local(s, 'fill'), self.ctype(s)), '{',
                    '    (void)c;', '    (void)version;', '    (void)m;']
            if self.flex == 'flex':
                out.append('    const bool flex = version >= %d;' % api.flex)
                out.append('    (void)flex;')
            for f in s.fields:
                c = cond(f.versions, api)
                i = '    '
                if c is not None:
                    out.append('    if (%s) {' % c)
                    i = '        '
                out += [i + l for l in self.fill_field(f)]
                if c is not None:
                    out.append('    }')
            out += ['}', '']
            out += ['static const char *%s(int16_t version, const %s *m)'
                    % (self.local(s, 'defaults'), self.ctype(s)), '{', '    (void)version;', '    (void)m;']
            for f in s.fields:
                c = cond(f.versions, api)
                if c is not None:
                    out += ['    if (!(%s) && !(%s))' % (c, self.is_default(f, 'm')),
                            '        return "%s.%s";' % (s.name, f.name)]
                if f.struct:
                    pc = '(%s) && ' % c if c is not None else ''
                    out += ['    for (int32_t i = 0; %si < m->%s_count; i++) {' % (pc, f.name),
                            '        const char *r = %s(version, &m->%s[i]);' % (self.local(f.struct, 'defaults'), f.name),
                            '        if (r)', '            return r;', '    }']
            out += ['    return NULL;', '}', '']
        r = self.msg.root
        out += ['static void any_fill_%s(kafka_test_ctx_t *c, int16_t version, void *m)' % self.msg.name,
                '{', '    %s(c, version, m);' % self.local(r, 'fill'), '}', '',
                'static const char *any_defaults_%s(int16_t version, const void *m)' % self.msg.name,
                '{', '    return %s(version, m);' % self.local(r, 'defaults'), '}', '']
        return out

    def is_default(self, f, var):
        d = self.default_c(f)
        x = '%s->%s' % (var, f.name)
        if f.is_array:
            return '%s_count == %d && %s == NULL' % (x, -1 if f.default == 'null' else 0, x)
        t = f.type
        if t in INT_RANGES:
            return '%s == %s' % (x, self.int_lit(t, d))
        if t == 'bool':
            return '%s == %s' % (x, 'true' if d else 'false')
        if t == 'float64':
            return 'memcmp(&%s, &(double){%r}, sizeof(double)) == 0' % (x, d)
        if t == 'uuid':
            return 'memcmp(%s.b, (const uint8_t[16]){0}, 16) == 0' % x
        if t == 'string':
            if d == 'NULL':
                return '%s == NULL' % x
            return '(%s != NULL && strcmp(%s, %s) == 0)' % (x, x, c_str(d))
        if t == 'bytes':
            return '%s.len == %d' % (x, -1 if d == 'null' else 0)
        if t == 'records':
            return '%s.len == -1' % x
        raise AssertionError(t)

    def fill_scalar(self, f, e, nullable, dst):
        """Statements putting a non-default value (or, by mode, null/empty) in dst."""
        if e in INT_RANGES:
            ct = PRIMS[e][0]
            d = self.default_c(f) if not f.is_array else 0
            lines = ['%s = (%s)kafka_test_rand(c);' % (dst, ct)]
            if not f.is_array:
                lines += ['if (%s == %s)' % (dst, self.int_lit(e, d)),
                          '    %s = %s;' % (dst, self.int_lit(e, d ^ 1))]
            return lines
        if e == 'bool':
            d = self.default_c(f) if not f.is_array else False
            return ['%s = %s;' % (dst, 'false' if d else 'true')]
        if e == 'float64':
            return ['%s = (double)(int32_t)kafka_test_rand(c) + 0.5;' % dst]
        if e == 'uuid':
            return ['kafka_test_uuid(c, &%s);' % dst]
        if e == 'string':
            return ['%s = kafka_test_string(c, %s);' % (dst, nullable)]
        if e == 'bytes' or (e == 'records' and self.msg.kind == 'Request'):
            return ['%s = kafka_test_bytes(c, %s);' % (dst, nullable)]
        if e == 'records':
            return ['%s = kafka_test_records(c, %s);' % (dst, nullable)]
        raise AssertionError(e)

    def fill_field(self, f):
        nullable = cbool(f.nullable, self.api) if f.nullable else 'false'
        dst = 'm->' + f.name
        if not f.is_array:
            return self.fill_scalar(f, f.elem, nullable, dst)
        et = self.ctype(f.struct) if f.struct else PRIMS[f.elem][0]
        lines = ['%s_count = kafka_test_count(c, %s);' % (dst, nullable),
                 '%s = NULL;' % dst,
                 'if (%s_count > 0) {' % dst,
                 '    %s = kafka_arena_alloc_array(c->arena, (size_t)%s_count, sizeof(%s));' % (dst, dst, et),
                 '    CAIRN_ASSERT(%s != NULL);' % dst,
                 '    for (int32_t i = 0; i < %s_count; i++) {' % dst]
        if f.struct:
            lines += ['        %s_init(&%s[i]);' % (self.prefix(f.struct), dst),
                      '        %s(c, version, &%s[i]);' % (self.local(f.struct, 'fill'), dst)]
        else:
            lines += ['        ' + l for l in self.fill_scalar(f, f.elem, 'false', '%s[i]' % dst)]
        lines += ['    }', '}']
        return lines


# ---- output -----------------------------------------------------------------

def messages(apis):
    for api in apis:
        for m in (api.request, api.response):
            yield m


def check_apis(apis, datas):
    seen = set()
    for api in apis:
        if api.key in seen:
            raise KdescError('api key %d described twice' % api.key)
        seen.add(api.key)
        if api.request is None or api.response is None:
            raise KdescError('%s: needs a request and a response' % api.name)
    # messages and data formats share the kafka_<Name>_ namespace
    names = set(m.name for m in messages(apis))
    for d in datas:
        if d.name in names:
            raise KdescError('%s (line %d): name used twice' % (d.name, d.line))
        names.add(d.name)


def gen_header(apis, gens, dgens):
    out = ['/* Generated by gen_messages.py from messages.kdesc: do not edit. */',
           '#ifndef CAIRN_KAFKA_MESSAGES_H', '#define CAIRN_KAFKA_MESSAGES_H', '',
           '#include <stdbool.h>', '#include <stddef.h>', '#include <stdint.h>', '',
           '#include "arena.h"', '#include "kcodec.h"', '',
           'typedef enum {']
    for api in sorted(apis, key=lambda a: a.key):
        out.append('    KAFKA_API_%s = %d,' % (api.name, api.key))
    out += ['} kafka_api_key_t;', '',
            '#define KAFKA_API_COUNT %d' % len(apis), '',
            'typedef int (*kafka_decode_fn)(kafka_rd_t *rd, int16_t version, kafka_arena_t *a, void *out);',
            'typedef void (*kafka_encode_fn)(kafka_wr_t *wr, int16_t version, const void *in);',
            'typedef void (*kafka_init_fn)(void *m);', '',
            '/* One API as Cairn implements it. The dispatcher and the ApiVersions',
            ' * answer are both built from this table. */',
            'typedef struct kafka_api_desc {',
            '    int16_t api_key;',
            '    const char *name;',
            '    int16_t min_version;           /* lowest version Cairn implements */',
            '    int16_t max_version;           /* highest version Cairn implements */',
            '    int16_t first_flexible_version; /* -1: never flexible */',
            '    size_t request_size;           /* sizeof the request struct */',
            '    size_t response_size;',
            '    kafka_init_fn request_init, response_init;',
            '    kafka_decode_fn request_decode, response_decode;',
            '    kafka_encode_fn request_encode, response_encode;',
            '} kafka_api_desc_t;', '',
            '/* Every API, by ascending api_key. */',
            'extern const kafka_api_desc_t kafka_apis[KAFKA_API_COUNT];', '',
            '/* The entry for api_key, or NULL if Cairn does not implement it. */',
            'const kafka_api_desc_t *kafka_api_desc(int16_t api_key);', '',
            '/* Messages. For each: kafka_<Name>_init sets every field to its default;',
            ' * _decode(rd, version, a, out) inits out, reads exactly the rest of rd',
            ' * (trailing bytes are malformed) and returns 0, or -1 with rd failed;',
            ' * strings and arrays are allocated in a, BYTES/RECORDS point into rd\'s',
            ' * buffer. _encode appends the body at version (which must be in the',
            ' * implemented range, asserted) to wr; it borrows in. Fields absent in a',
            ' * version hold their default. An array Foo is Foo + Foo_count (-1 = null;',
            ' * a null where the version does not allow one is written empty, and so',
            ' * is a NULL string); Foo must point at Foo_count elements. */', '']
    for g in gens:
        out += g.header()
    if dgens:
        out += ['/* Data formats: versioned payloads that are not API messages (the',
                ' * consumer protocol inside JoinGroup and SyncGroup, the keys and values',
                ' * of __consumer_offsets records). kafka_<Name>_init, _decode and',
                ' * _encode work as for a message body above. Where Kafka stores one, an',
                ' * int16 version comes first: reading and writing it is the caller\'s. */', '']
    for g in dgens:
        out += ['#define KAFKA_%s_MIN_VERSION %d' % (g.msg.name, g.api.vmin),
                '#define KAFKA_%s_MAX_VERSION %d' % (g.msg.name, g.api.vmax), '']
        out += g.header()
    out += ['#endif', '']
    return out


def gen_source(apis, gens, dgens):
    out = ['/* Generated by gen_messages.py from messages.kdesc: do not edit. */',
           '#include "kafka_messages.h"', '', '#include <string.h>', '',
           '#include "cairn_assert.h"', '']
    for g in gens:
        out += g.source()
    out.append('const kafka_api_desc_t kafka_apis[KAFKA_API_COUNT] = {')
    for api in sorted(apis, key=lambda a: a.key):
        rq, rs = api.request.name, api.response.name
        out += ['    {%d, "%s", %d, %d, %d,' % (api.key, api.name, api.vmin, api.vmax,
                                                -1 if api.flex is None else api.flex),
                '     sizeof(kafka_%s_t), sizeof(kafka_%s_t),' % (rq, rs),
                '     any_init_%s, any_init_%s,' % (rq, rs),
                '     any_decode_%s, any_decode_%s,' % (rq, rs),
                '     any_encode_%s, any_encode_%s},' % (rq, rs)]
    out += ['};', '', 'const kafka_api_desc_t *kafka_api_desc(int16_t api_key)', '{',
            '    switch (api_key) {']
    for i, api in enumerate(sorted(apis, key=lambda a: a.key)):
        out.append('    case %d: return &kafka_apis[%d];' % (api.key, i))
    out += ['    default: return NULL;', '    }', '}', '']
    for g in dgens:
        out += g.source()
    return out


def gen_test_header(apis, dgens):
    out = ['/* Generated by gen_messages.py from messages.kdesc: do not edit.',
            ' * Test support: fill any message with values that differ from its',
            ' * defaults, and check that fields absent in a version hold them. */',
            '#ifndef CAIRN_KAFKA_MESSAGES_TEST_H', '#define CAIRN_KAFKA_MESSAGES_TEST_H', '',
            '#include "kafka_messages.h"', '',
            'typedef struct kafka_test_ctx {',
            '    kafka_arena_t *arena;          /* borrowed: everything filled lives here */',
            '    uint64_t rng;                  /* xorshift state, non-zero */',
            '    int mode;                      /* 0: all set, 1: null/empty where allowed, 2: mixed */',
            '} kafka_test_ctx_t;', '',
            'typedef struct kafka_test_msg {',
            '    int16_t api_key;',
            '    bool response;',
            '    const char *name;',
            '    void (*fill)(kafka_test_ctx_t *c, int16_t version, void *m);',
            '    /* NULL, or "Struct.Field" of a field absent in version without its default */',
            '    const char *(*absent_not_default)(int16_t version, const void *m);',
            '} kafka_test_msg_t;', '',
            'extern const kafka_test_msg_t kafka_test_msgs[%d];' % (2 * len(apis)),
            '#define KAFKA_TEST_MSG_COUNT %d' % (2 * len(apis)), '']
    if dgens:
        out += ['/* A data format, for tests that walk every one of them. */',
                'typedef struct kafka_test_data {',
                '    const char *name;',
                '    int16_t min_version;',
                '    int16_t max_version;',
                '    size_t size;                   /* sizeof its struct */',
                '    kafka_init_fn init;',
                '    kafka_decode_fn decode;',
                '    kafka_encode_fn encode;',
                '    void (*fill)(kafka_test_ctx_t *c, int16_t version, void *m);',
                '    const char *(*absent_not_default)(int16_t version, const void *m);',
                '} kafka_test_data_t;', '',
                'extern const kafka_test_data_t kafka_test_datas[%d];' % len(dgens),
                '#define KAFKA_TEST_DATA_COUNT %d' % len(dgens), '']
    out += ['uint64_t kafka_test_rand(kafka_test_ctx_t *c);', '', '#endif', '']
    return out


TEST_HELPERS = r'''
/* Not every helper is used by every set of descriptions. */
#define KAFKA_TEST_MAYBE_UNUSED __attribute__((unused))
uint64_t kafka_test_rand(kafka_test_ctx_t *c)
{
    c->rng ^= c->rng << 13;
    c->rng ^= c->rng >> 7;
    c->rng ^= c->rng << 17;
    return c->rng;
}

/* Whether to make this field null/empty, by mode. */
static KAFKA_TEST_MAYBE_UNUSED bool kafka_test_empty(kafka_test_ctx_t *c)
{
    return c->mode == 1 || (c->mode == 2 && kafka_test_rand(c) % 3 == 0);
}

static KAFKA_TEST_MAYBE_UNUSED char *kafka_test_string(kafka_test_ctx_t *c, bool nullable)
{
    if (kafka_test_empty(c)) {
        if (nullable)
            return NULL;
        char *e = kafka_arena_alloc(c->arena, 1);
        CAIRN_ASSERT(e != NULL);
        e[0] = '\0';
        return e;
    }
    size_t n = 1 + kafka_test_rand(c) % 12;
    char *s = kafka_arena_alloc(c->arena, n + 1);
    CAIRN_ASSERT(s != NULL);
    for (size_t i = 0; i < n; i++)
        s[i] = (char)('a' + kafka_test_rand(c) % 26);
    s[n] = '\0';
    return s;
}

static KAFKA_TEST_MAYBE_UNUSED kafka_bytes_t kafka_test_bytes(kafka_test_ctx_t *c, bool nullable)
{
    kafka_bytes_t b = {NULL, 0};
    if (kafka_test_empty(c)) {
        if (nullable)
            b.len = -1;
        return b;
    }
    b.len = (int32_t)(1 + kafka_test_rand(c) % 20);
    b.data = kafka_arena_alloc(c->arena, (size_t)b.len);
    CAIRN_ASSERT(b.data != NULL);
    for (int32_t i = 0; i < b.len; i++)
        b.data[i] = (uint8_t)kafka_test_rand(c);
    return b;
}

static KAFKA_TEST_MAYBE_UNUSED kafka_records_t kafka_test_records(kafka_test_ctx_t *c, bool nullable)
{
    kafka_records_t r = {0, NULL, 0};
    if (kafka_test_empty(c)) {
        if (nullable)
            r.len = -1;
        return r;
    }
    r.n_slices = 2;
    r.slices = kafka_arena_alloc_array(c->arena, 2, sizeof *r.slices);
    CAIRN_ASSERT(r.slices != NULL);
    for (int i = 0; i < 2; i++) {
        kafka_bytes_t b = kafka_test_bytes(c, false);
        if (b.len < 0)
            b.len = 0;
        r.slices[i] = (kafka_records_slice_t){.mem = b.data, .fd = -1, .pos = 0,
                                              .len = (uint32_t)b.len};
        r.len += b.len;
    }
    return r;
}

static KAFKA_TEST_MAYBE_UNUSED int32_t kafka_test_count(kafka_test_ctx_t *c, bool nullable)
{
    if (kafka_test_empty(c))
        return nullable ? -1 : 0;
    return (int32_t)(1 + kafka_test_rand(c) % 3);
}

static KAFKA_TEST_MAYBE_UNUSED void kafka_test_uuid(kafka_test_ctx_t *c, kafka_uuid_t *u)
{
    for (int i = 0; i < 16; i++)
        u->b[i] = (uint8_t)kafka_test_rand(c);
    u->b[0] |= 1;
}
'''


def gen_test_source(apis, gens, dgens):
    out = ['/* Generated by gen_messages.py from messages.kdesc: do not edit. */',
           '#include "kafka_messages_test.h"', '', '#include <string.h>', '',
           '#include "cairn_assert.h"']
    out += TEST_HELPERS.split('\n')
    for g in gens:
        out += g.test_source()
    out.append('const kafka_test_msg_t kafka_test_msgs[%d] = {' % (2 * len(apis)))
    for api in sorted(apis, key=lambda a: a.key):
        for m in (api.request, api.response):
            out.append('    {%d, %s, "%s", any_fill_%s, any_defaults_%s},'
                       % (api.key, 'true' if m.kind == 'Response' else 'false', m.name, m.name, m.name))
    out += ['};', '']
    if not dgens:
        return out
    for g in dgens:
        out += g.test_source()
        out += g.any_wrappers()
    out.append('const kafka_test_data_t kafka_test_datas[%d] = {' % len(dgens))
    for g in dgens:
        n = g.msg.name
        out += ['    {"%s", KAFKA_%s_MIN_VERSION, KAFKA_%s_MAX_VERSION, sizeof(kafka_%s_t),' % (n, n, n, n),
                '     any_init_%s, any_decode_%s, any_encode_%s, any_fill_%s, any_defaults_%s},'
                % (n, n, n, n, n)]
    out += ['};', '']
    return out


def write(path, lines):
    text = '\n'.join(lines)
    if not text.endswith('\n'):
        text += '\n'
    old = None
    if os.path.exists(path):
        with open(path, encoding='utf-8') as f:
            old = f.read()
    if old != text:
        with open(path, 'w', encoding='utf-8') as f:
            f.write(text)


def main(argv):
    if len(argv) != 3:
        sys.stderr.write('usage: gen_messages.py messages.kdesc OUTDIR\n')
        return 2
    try:
        apis, datas = parse_kdesc(argv[1])
        check_apis(apis, datas)
        gens = [Gen(m) for m in messages(apis)]
        dgens = [Gen(d) for d in datas]
    except KdescError as e:
        sys.stderr.write('gen_messages.py: %s\n' % e)
        return 1
    outdir = argv[2]
    write(os.path.join(outdir, 'kafka_messages.h'), gen_header(apis, gens, dgens))
    write(os.path.join(outdir, 'kafka_messages.c'), gen_source(apis, gens, dgens))
    write(os.path.join(outdir, 'kafka_messages_test.h'), gen_test_header(apis, dgens))
    write(os.path.join(outdir, 'kafka_messages_test.c'), gen_test_source(apis, gens, dgens))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
