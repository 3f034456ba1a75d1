"""tests/servers/certs.py - self-signed certificates for the test servers
that speak TLS (mariadb.py, rabbitmq.py), made by the openssl command.

    cert, key = self_signed(folder, "server")   # CN=localhost
    # cert is its own CA: clients verify the server with tls_ca = cert

The certificate names localhost and 127.0.0.1 (subjectAltName), is valid
for two days, and its key is readable by its owner only. About 0.1 s.
"""

import os
import subprocess


def self_signed(folder, stem, cn="localhost"):
    """(cert path, key path) of a new self-signed certificate in folder."""
    cert = os.path.join(folder, stem + ".crt")
    key = os.path.join(folder, stem + ".key")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
         "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=" + cn,
         "-addext", "subjectAltName=DNS:%s,IP:127.0.0.1" % cn],
        check=True, stdin=subprocess.DEVNULL, capture_output=True,
        timeout=60)
    os.chmod(key, 0o600)
    return cert, key
