#!/bin/sh
# make-certs.sh DIR — certificates for the TLS tests, all short-lived:
#   ca.crt/key           a test CA
#   server.crt/key       signed by it, for IP 127.0.0.1 and DNS localhost
#   other.crt/key        signed by it, for DNS not-this-host.test only
#   client.crt/key       a client certificate signed by it
#   wrongca.crt          an unrelated CA
set -eu
cd "$1"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
key ca.key
openssl req -x509 -new -key ca.key -out ca.crt -days 2 -subj "/CN=mcring test CA"
key wrongca.key
openssl req -x509 -new -key wrongca.key -out wrongca.crt -days 2 -subj "/CN=another CA"
sign() { # name subject extension-line
  key "$1.key"
  openssl req -new -key "$1.key" -out "$1.csr" -subj "$2"
  printf '%s\n' "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial \
    -out "$1.crt" -days 2 -extfile "$1.ext" 2>/dev/null
}
sign server "/CN=127.0.0.1" "subjectAltName=IP:127.0.0.1,DNS:localhost"
sign other "/CN=not-this-host.test" "subjectAltName=DNS:not-this-host.test"
sign client "/CN=mcring test client" "extendedKeyUsage=clientAuth"
