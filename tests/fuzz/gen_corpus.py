#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_kafka_request into corpus/kafka_request/.

usage: gen_corpus.py [OUTDIR]

Each file is one request frame (header + body, no size prefix), written
field by field here so the seeds do not depend on the codec they test:
valid requests as librdkafka 2.0.2 and kafka-python 2.0.2 send them, and
a few malformed ones (bad_*). Standard library only; rerun after changing
the set and commit the result.
"""

import os
import struct
import sys


def i8(v): return struct.pack('>b', v)
def i16(v): return struct.pack('>h', v)
def i32(v): return struct.pack('>i', v)
def i64(v): return struct.pack('>q', v)
def boolean(v): return b'\x01' if v else b'\x00'


def uvarint(v):
    out = b''
    while v >= 0x80:
        out += bytes([(v & 0x7f) | 0x80])
        v >>= 7
    return out + bytes([v])


def string(s):
    if s is None:
        return i16(-1)
    b = s.encode()
    return i16(len(b)) + b


def cstring(s):
    if s is None:
        return uvarint(0)
    b = s.encode()
    return uvarint(len(b) + 1) + b


def nbytes(b):
    return i32(-1) if b is None else i32(len(b)) + b


def array(items):
    if items is None:
        return i32(-1)
    return i32(len(items)) + b''.join(items)


def carray(items):
    if items is None:
        return uvarint(0)
    return uvarint(len(items) + 1) + b''.join(items)


TAGS_NONE = b'\x00'


def header(key, version, corr, client='rdkafka', flexible=False):
    return i16(key) + i16(version) + i32(corr) + string(client) + (TAGS_NONE if flexible else b'')


def record_batch():
    """A magic-2 batch with one record; CRC left zero (the codec does not
    look inside RECORDS)."""
    rec = b'\x00' + b'\x00' + b'\x00' + b'\x01' + b'k' + b'\x02' + b'v' + b'\x00'
    rec = bytes([len(rec) * 2]) + rec  # zig-zag length
    body = (i16(0) + i32(0) + i64(1700000000000) + i64(1700000000000) + i64(-1) + i16(-1)
            + i32(-1) + i32(1) + rec)
    after_len = i32(-1) + i8(2) + struct.pack('>I', 0) + body
    return i64(0) + i32(len(after_len)) + after_len


def frames():
    batch = record_batch()
    yield 'apiversions_v3_rdkafka', header(18, 3, 1, flexible=True) + cstring('librdkafka') + cstring('2.0.2') + TAGS_NONE
    yield 'apiversions_v0_kafka_python', header(18, 0, 1, 'kafka-python-2.0.2')
    yield 'metadata_v0_all_topics', header(3, 0, 2, 'kafka-python-2.0.2') + array([])
    yield 'metadata_v4_null_topics', header(3, 4, 3) + array(None) + boolean(True)
    yield 'metadata_v8_two_topics', header(3, 8, 4) + array([string('a'), string('events')]) + boolean(False) + boolean(True) + boolean(True)
    yield 'produce_v7', header(0, 7, 5) + string(None) + i16(-1) + i32(30000) + array([
        string('events') + array([i32(0) + nbytes(batch)])])
    yield 'produce_v3_acks0', header(0, 3, 6, 'kafka-python-2.0.2') + string(None) + i16(0) + i32(1000) + array([
        string('t') + array([i32(1) + nbytes(None)])])
    yield 'fetch_v11_rdkafka', header(1, 11, 7) + i32(-1) + i32(500) + i32(1) + i32(52428800) + i8(0) + i32(0) + i32(-1) + array([
        string('events') + array([i32(0) + i32(-1) + i64(0) + i64(-1) + i32(1048576)])]) + array([]) + string('')
    yield 'fetch_v4_kafka_python', header(1, 4, 8, 'kafka-python-2.0.2') + i32(-1) + i32(500) + i32(1) + i32(52428800) + i8(0) + array([
        string('events') + array([i32(0) + i64(10) + i32(1048576)])])
    yield 'listoffsets_v0', header(2, 0, 9) + i32(-1) + array([string('t') + array([i32(0) + i64(-1) + i32(1)])])
    yield 'listoffsets_v1', header(2, 1, 10) + i32(-1) + array([string('t') + array([i32(0) + i64(-2)])])
    yield 'createtopics_v3', header(19, 3, 11) + array([
        string('new') + i32(3) + i16(1) + array([]) + array([string('retention.ms') + string('1000'), string('x') + string(None)])]) + i32(60000) + boolean(False)
    yield 'deletetopics_v1', header(20, 1, 12) + array([string('old')]) + i32(30000)
    yield 'createpartitions_v1', header(37, 1, 13) + array([string('t') + i32(6) + array(None)]) + i32(30000) + boolean(False)
    yield 'describeconfigs_v1', header(32, 1, 14) + array([i8(2) + string('t') + array(None)]) + boolean(True)
    yield 'describecluster_v0', header(60, 0, 15, flexible=True) + boolean(False) + TAGS_NONE
    yield 'findcoordinator_v0', header(10, 0, 16, 'kafka-python-2.0.2') + string('group')
    yield 'joingroup_v2', header(11, 2, 17, 'kafka-python-2.0.2') + string('group') + i32(10000) + i32(300000) + string('') + string('consumer') + array([
        string('range') + nbytes(b'\x00\x00\x00\x00\x00\x01\x00\x01t\xff\xff\xff\xff')])
    yield 'syncgroup_v1', header(14, 1, 18) + string('group') + i32(1) + string('m-1') + array([string('m-1') + nbytes(b'\x00\x00')])
    yield 'heartbeat_v3', header(12, 3, 19) + string('group') + i32(1) + string('m-1') + string(None)
    yield 'offsetcommit_v2', header(8, 2, 20) + string('group') + i32(1) + string('m-1') + i64(-1) + array([
        string('t') + array([i32(0) + i64(42) + string('')])])
    yield 'offsetfetch_v1', header(9, 1, 21) + string('group') + array([string('t') + array([i32(0), i32(1)])])
    yield 'leavegroup_v1', header(13, 1, 22) + string('group') + string('m-1')
    yield 'initproducerid_v1', header(22, 1, 23) + string(None) + i32(60000)
    yield 'listgroups_v0', header(16, 0, 24)
    yield 'describegroups_v3', header(15, 3, 25) + array([string('group')]) + boolean(True)
    yield 'deletegroups_v1', header(42, 1, 26) + array([string('group')])
    yield 'offsetdelete_v0', header(47, 0, 27) + string('group') + array([string('t') + array([i32(0)])])
    # malformed
    yield 'bad_short_header', i16(3) + i16(0) + b'\x00'
    yield 'bad_client_id_nul', i16(3) + i16(0) + i32(1) + i16(3) + b'a\x00b' + array([])
    yield 'bad_client_id_negative', i16(3) + i16(0) + i32(1) + i16(-5) + array([])
    yield 'bad_produce_huge_count', header(0, 7, 1) + string(None) + i16(1) + i32(1) + i32(0x7fffffff)
    yield 'bad_metadata_trailing', header(3, 0, 1) + array([]) + b'\x00'
    yield 'bad_unknown_api', header(999, 0, 1) + b'\x00\x00'
    yield 'bad_produce_v8', header(0, 8, 1) + string(None) + i16(1) + i32(1) + array([])
    yield 'bad_apiversions_v3_tags', header(18, 3, 1, flexible=True) + cstring('x') + cstring('y') + uvarint(100) + b'\x01\x01'
    yield 'bad_string_past_end', header(19, 3, 1) + array([string('abc')[:-1]])


def main(argv):
    out = argv[1] if len(argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                     'corpus', 'kafka_request')
    os.makedirs(out, exist_ok=True)
    n = 0
    for name, data in frames():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)
        n += 1
    print('wrote %d seeds to %s' % (n, out))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
