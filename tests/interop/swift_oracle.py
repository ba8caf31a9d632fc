#!/usr/bin/python3
"""Asks OpenStack Swift's own memcache client (python3-swift) what it does.

The interop tests run this with the system interpreter and compare mcring
with its answers. Modes:

  order SERVERS TRIES   keys on stdin, one per line (bytes); prints
                        "<hex of key>\t<server>,<server>..." in try order,
                        walking Swift's own MemcacheRing._get_conns with
                        pools that hand out dummy connections (no network).
  errors                a JSON list of cases on stdin; for each, feeds error
                        times to MemcacheRing._exception_occurred with
                        time.time() pinned, and prints when a ban started.
  ops                   a JSON script on stdin: {"servers": [...],
                        "ops": [...]} run against real servers; prints one
                        JSON result per op. Besides Swift's own calls:
                        "check" gets a key and compares it with "expect"
                        by type and value (NaN equal to NaN, the sign of
                        zero kept), printing true or what it got;
                        "set_floats" stores a list of doubles (powers of
                        two, their neighbours, and "count" random bit
                        patterns from "seed") for byte-exact comparison.
"""
import json
import logging
import math
import random
import struct
import sys

from swift.common import memcached
from swift.common.memcached import MemcacheRing, md5hash

logging.disable(logging.CRITICAL)


class DummyPool(object):
    def get(self):
        return (None, None)

    def put(self, conn):
        pass


def mode_order(servers, tries):
    ring = MemcacheRing(servers.split(','), tries=tries)
    for s in list(ring._client_cache):
        ring._client_cache[s] = DummyPool()
    out = sys.stdout
    for line in sys.stdin.buffer:
        key = line[:-1] if line.endswith(b'\n') else line
        order = [s for s, _, _ in ring._get_conns(md5hash(key))]
        out.write(key.hex() + '\t' + ','.join(order) + '\n')


class PinnedTime(object):
    now = 0.0

    def time(self):
        return PinnedTime.now


def mode_errors():
    cases = json.load(sys.stdin)
    real_time = memcached.time
    memcached.time = PinnedTime()
    results = []
    try:
        for case in cases:
            ring = MemcacheRing(['s:1'],
                                error_limit_count=case['limit'],
                                error_limit_time=case['window'],
                                error_limit_duration=case['window'])
            bans = []
            for i, t in enumerate(case['times']):
                PinnedTime.now = t
                before = ring._error_limited['s:1']
                ring._exception_occurred('s:1', Exception('x'),
                                         got_connection=False)
                if ring._error_limited['s:1'] != before:
                    bans.append(i)
            results.append(bans)
    finally:
        memcached.time = real_time
    json.dump(results, sys.stdout)


def encode(v):
    if isinstance(v, bytes):
        return {'bytes_hex': v.hex()}
    return v


def decode_key(k):
    if isinstance(k, dict):
        return bytes.fromhex(k['hex'])
    return k


def same(a, b):
    """Equal as values of the same types, as a strict reader sees them."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if math.isnan(a):
            return math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return (list(a) == list(b) and
                all(same(a[k], b[k]) for k in a))
    return a == b


def floats(count, seed):
    rng = random.Random(seed)
    out = []
    for e in range(-1074, 1024):
        out.append(2.0 ** e)
        if e > -1074:
            out.append(-(2.0 ** e) * (1 + 2 ** -52))
    base = len(out)
    while len(out) < base + count:
        d = struct.unpack('<d', struct.pack('<Q', rng.getrandbits(64)))[0]
        if not math.isnan(d):
            out.append(d)
    return out


def mode_ops():
    script = json.load(sys.stdin)
    ring = MemcacheRing(script['servers'], tries=script.get('tries', 3))
    for op in script['ops']:
        kind = op['op']
        if kind == 'set':
            value = op['value']
            if isinstance(value, dict) and 'bytes_hex' in value:
                value = bytes.fromhex(value['bytes_hex'])
            ring.set(decode_key(op['key']), value,
                     serialize=op.get('serialize', True),
                     time=op.get('time', 0), raise_on_error=True)
            result = None
        elif kind == 'get':
            result = ring.get(decode_key(op['key']), raise_on_error=True)
        elif kind == 'incr':
            result = ring.incr(decode_key(op['key']), delta=op['delta'],
                               time=op.get('time', 0))
        elif kind == 'decr':
            result = ring.decr(decode_key(op['key']), delta=op['delta'])
        elif kind == 'delete':
            result = ring.delete(decode_key(op['key']),
                                 server_key=op.get('server_key'))
        elif kind == 'set_multi':
            ring.set_multi(dict((k, v) for k, v in op['mapping']),
                           op['server_key'],
                           serialize=op.get('serialize', True))
            result = None
        elif kind == 'get_multi':
            result = ring.get_multi(op['keys'], op['server_key'])
            result = [encode(v) for v in result]
        elif kind == 'check':
            got = ring.get(decode_key(op['key']), raise_on_error=True)
            result = True if same(op['expect'], got) else repr(got)
        elif kind == 'set_floats':
            ring.set(decode_key(op['key']),
                     floats(op['count'], op['seed']), raise_on_error=True)
            result = None
        else:
            raise ValueError(kind)
        sys.stdout.write(json.dumps(encode(result)) + '\n')


class RecordedTls(object):
    """Stands for ssl.create_default_context's result: records the files
    Swift hands to it instead of reading them."""

    def __init__(self, cafile=None):
        self.cafile = cafile
        self.chain = None

    def load_cert_chain(self, certfile, keyfile=None):
        self.chain = (certfile, keyfile)


def hexs(v):
    return '-' if not v else v.encode('utf-8', 'surrogateescape').hex()


def mode_conf():
    from swift.common.middleware import memcache as middleware
    middleware.ssl.create_default_context = RecordedTls
    out = sys.stdout
    for line in sys.stdin:
        d = line.rstrip('\n')
        try:
            mw = middleware.MemcacheMiddleware(None, {'swift_dir': d})
        except Exception as e:
            out.write('error\t%s\n' % type(e).__name__)
            continue
        ring = mw.memcache
        servers = list(ring._client_cache)
        pools = [p.max_size for p in ring._client_cache.values()]
        tls = mw.tls_context
        chain = tls.chain if tls is not None and tls.chain else (None, None)
        fields = [
            'ok',
            ','.join(hexs(s) for s in servers) or '-',
            str(pools[0]) if pools else '-',
            repr(ring._connect_timeout), repr(ring._pool_timeout),
            repr(ring._io_timeout), str(ring._tries),
            repr(float(ring._error_limit_count)),
            repr(float(ring._error_limit_time)),
            str(ring.item_size_warning_threshold),
            '1' if tls is not None else '0',
            hexs(tls.cafile) if tls is not None else '-',
            hexs(chain[0]), hexs(chain[1]),
        ]
        out.write('\t'.join(fields) + '\n')


def mode_socket():
    from eventlet.green import socket
    from swift.common.utils import parse_socket_string
    out = sys.stdout
    for line in sys.stdin:
        text = bytes.fromhex(line.strip()).decode('utf-8')
        try:
            host, port = parse_socket_string(text,
                                             memcached.DEFAULT_MEMCACHED_PORT)
            addrs = socket.getaddrinfo(host, port, socket.AF_UNSPEC,
                                       socket.SOCK_STREAM)
            family, _, _, _, sockaddr = addrs[0]
            fam = 'inet6' if family == socket.AF_INET6 else 'inet'
            out.write('ok %s %s %d\n' % (fam, sockaddr[0], sockaddr[1]))
        except Exception as e:
            out.write('error %s\n' % type(e).__name__)


def main():
    mode = sys.argv[1]
    if mode == 'order':
        mode_order(sys.argv[2], int(sys.argv[3]))
    elif mode == 'errors':
        mode_errors()
    elif mode == 'ops':
        mode_ops()
    elif mode == 'conf':
        mode_conf()
    elif mode == 'socket':
        mode_socket()
    else:
        raise SystemExit('unknown mode ' + mode)


if __name__ == '__main__':
    main()
