#!/usr/bin/python3
"""Checks a Prometheus text exposition read from stdin, as a scraper would.

The text is parsed by prometheus_client's own parser (Debian's
python3-prometheus-client), then held to what docs/metrics.md promises:
every family has HELP and TYPE lines before its samples; names start with
mcring_; counters end in _total, histograms in _seconds; only the labels
server, op, le, version, algorithm and reason; no sample twice; histogram
buckets cumulative, with +Inf equal to _count.

Prints one line per sample, "name{k=v,...} value" with labels sorted, for
the caller to check values against; exits 1 with the reason on the first
violation.
"""
import math
import re
import sys

from prometheus_client.parser import text_string_to_metric_families

OPS = {'get', 'set', 'delete', 'incr', 'decr', 'get_multi', 'set_multi'}
LABELS = {'server', 'op', 'le', 'version', 'algorithm', 'reason'}


def fail(why):
    print('exposition: ' + why, file=sys.stderr)
    sys.exit(1)


def check_raw(text):
    """HELP and TYPE before each family's first sample, each once."""
    if text and not text.endswith('\n'):
        fail('does not end with a newline')
    typed = {}
    helped = set()
    for line in text.splitlines():
        if line.startswith('# HELP '):
            name = line.split()[2]
            if name in helped:
                fail('HELP twice for ' + name)
            helped.add(name)
        elif line.startswith('# TYPE '):
            _, _, name, kind = line.split()
            if name in typed:
                fail('TYPE twice for ' + name)
            if name not in helped:
                fail('TYPE before HELP for ' + name)
            typed[name] = kind
        elif line.startswith('#') or not line:
            fail('unexpected line: %r' % line)
        else:
            sample = re.match(r'[a-zA-Z_:][a-zA-Z0-9_:]*', line).group(0)
            base = re.sub(r'_(bucket|sum|count)$', '', sample)
            if sample not in typed and (base not in typed or
                                        typed[base] != 'histogram'):
                fail('sample %s has no TYPE line before it' % sample)
    return typed


def main():
    text = sys.stdin.read()
    typed = check_raw(text)
    seen = set()
    out = []
    for fam in text_string_to_metric_families(text):
        if not fam.name.startswith('mcring_'):
            fail('name without the mcring_ prefix: ' + fam.name)
        if fam.type == 'counter' and fam.name + '_total' not in typed:
            fail('counter not named *_total: ' + fam.name)
        if fam.type == 'histogram' and not fam.name.endswith('_seconds'):
            fail('histogram not in seconds: ' + fam.name)
        if fam.type not in ('counter', 'gauge', 'histogram'):
            fail('type %s of %s' % (fam.type, fam.name))
        series = {}
        for s in fam.samples:
            extra = set(s.labels) - LABELS
            if extra:
                fail('%s: unexpected labels %s' % (s.name, sorted(extra)))
            if 'op' in s.labels and s.labels['op'] not in OPS:
                fail('%s: op %s' % (s.name, s.labels['op']))
            key = (s.name, tuple(sorted(s.labels.items())))
            if key in seen:
                fail('sample twice: %s %s' % key)
            seen.add(key)
            if math.isnan(s.value) or s.value < 0:
                fail('%s: value %r' % (s.name, s.value))
            if fam.type == 'histogram':
                rest = tuple(sorted((k, v) for k, v in s.labels.items()
                                    if k != 'le'))
                h = series.setdefault(rest, {'buckets': []})
                if s.name.endswith('_bucket'):
                    h['buckets'].append((float(s.labels['le']), s.value))
                elif s.name.endswith('_count'):
                    h['count'] = s.value
                elif s.name.endswith('_sum'):
                    h['sum'] = s.value
            labels = ','.join('%s=%s' % kv for kv in sorted(s.labels.items()))
            out.append('%s{%s} %r' % (s.name, labels, s.value))
        for rest, h in series.items():
            b = h['buckets']
            if not b or b[-1][0] != math.inf:
                fail('%s %s: no +Inf bucket' % (fam.name, rest))
            if [le for le, _ in b] != sorted(le for le, _ in b):
                fail('%s %s: buckets out of order' % (fam.name, rest))
            for (_, lo), (_, hi) in zip(b, b[1:]):
                if hi < lo:
                    fail('%s %s: buckets not cumulative' % (fam.name, rest))
            if h.get('count') != b[-1][1]:
                fail('%s %s: _count %r, +Inf %r' %
                     (fam.name, rest, h.get('count'), b[-1][1]))
            if 'sum' not in h:
                fail('%s %s: no _sum' % (fam.name, rest))
    print('\n'.join(out))


if __name__ == '__main__':
    main()
