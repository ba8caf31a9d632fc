#!/usr/bin/python3
"""Asks pymemcache (python3-pymemcache) which server its HashClient picks.

  node SERVERS      SERVERS is comma-separated, as mcring takes them; keys
                    come on stdin as hex, one per line. Prints one line per
                    key: the node string pymemcache's own rendezvous hasher
                    chooses for it (no network: HashClient only creates its
                    per-server clients, which connect lazily).

A Python service's key is a str, sent on the wire as UTF-8. mcring gets
those bytes, so each key here is the str that encodes to them; bytes that
are not UTF-8 become the characters Python's surrogateescape handler makes
of them.
"""
import sys

from pymemcache.client.hash import HashClient


def mode_node(servers):
    client = HashClient(servers.split(','), allow_unicode_keys=True)
    out = sys.stdout
    for line in sys.stdin:
        key = bytes.fromhex(line.strip()).decode('utf-8', 'surrogateescape')
        out.write(client.hasher.get_node(key) + '\n')


def main():
    if len(sys.argv) != 3 or sys.argv[1] != 'node':
        raise SystemExit('usage: pymemcache_oracle.py node SERVERS')
    mode_node(sys.argv[2])


if __name__ == '__main__':
    main()
