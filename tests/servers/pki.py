"""tests/servers/pki.py - test certificates made with the openssl command.

    pki = Pki(folder)                          # a root CA, valid 10 years
    inter = pki.issue("inter", ca=True, days=20)   # an intermediate CA
    leaf = pki.issue("leaf", issuer=inter, names=["localhost"], days=90)
    old = pki.issue("old", start=-30, days=-2)     # expired two days ago
    leaf.cert, leaf.key, leaf.chain            # PEM paths (chain: leaf +
                                               # intermediates, no root)
    pki.self_signed("self", names=["localhost"])

Dates are in days from now (negative: in the past), set with `openssl ca
-startdate/-enddate`, the one openssl tool that writes any notBefore and
notAfter, so that expired and not-yet-valid certificates are real ones.
Keys are EC P-256, unencrypted, mode 0600. Every openssl run is bounded in
time.
"""

import datetime
import ipaddress
import os
import subprocess

_CA_CONF = """\
[ca]
default_ca = ca_default
[ca_default]
database = {dir}/index.txt
new_certs_dir = {dir}/issued
serial = {dir}/serial
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
email_in_dn = no
[policy_any]
commonName = supplied
"""


def _run(argv):
    subprocess.run(argv, check=True, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                   timeout=30)


def _stamp(days):
    t = (datetime.datetime.now(datetime.timezone.utc)
         + datetime.timedelta(days=days))
    return t.strftime("%Y%m%d%H%M%SZ")


def _san(names):
    out = []
    for n in names:
        try:
            ipaddress.ip_address(n)
            out.append("IP:" + n)
        except ValueError:
            out.append("DNS:" + n)
    return ",".join(out)


class Cert:
    """A certificate, its key and the chain a server presents with it."""

    def __init__(self, folder, name, issuer=None):
        self.name = name
        self.cert = os.path.join(folder, name + ".pem")
        self.key = os.path.join(folder, name + ".key")
        self.chain = os.path.join(folder, name + "-chain.pem")
        self.issuer = issuer

    def write_chain(self):
        """cert, then each intermediate up to (not including) the root."""
        parts, c = [], self
        while c is not None and (c is self or c.issuer is not None):
            with open(c.cert) as f:
                parts.append(f.read())
            c = c.issuer
        with open(self.chain, "w") as f:
            f.write("".join(parts))


class Pki:
    def __init__(self, folder):
        self.dir = folder
        os.makedirs(os.path.join(folder, "issued"), exist_ok=True)
        open(os.path.join(folder, "index.txt"), "w").close()
        with open(os.path.join(folder, "serial"), "w") as f:
            f.write("1000\n")
        self.conf = os.path.join(folder, "ca.cnf")
        with open(self.conf, "w") as f:
            f.write(_CA_CONF.format(dir=folder))
        self.root = self.self_signed("root", ca=True, cn="gpcheck test CA")

    def _key_and_csr(self, c, cn):
        csr = os.path.join(self.dir, c.name + ".csr")
        _run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
              "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", c.key,
              "-out", csr, "-subj", "/CN=" + cn])
        os.chmod(c.key, 0o600)
        return csr

    def _ext(self, name, ca, names):
        path = os.path.join(self.dir, name + ".ext")
        with open(path, "w") as f:
            if ca:
                f.write("basicConstraints = critical, CA:TRUE\n"
                        "keyUsage = critical, keyCertSign, cRLSign\n")
            else:
                f.write("basicConstraints = CA:FALSE\n"
                        "keyUsage = critical, digitalSignature\n"
                        "extendedKeyUsage = serverAuth, clientAuth\n")
            if names:
                f.write("subjectAltName = %s\n" % _san(names))
            f.write("subjectKeyIdentifier = hash\n"
                    "authorityKeyIdentifier = keyid\n")
        return path

    def issue(self, name, issuer=None, names=("localhost", "127.0.0.1"),
              start=-1, days=90, ca=False, cn=None):
        """A certificate signed by issuer (default: the root), valid from
        `start` to `days` days from now."""
        issuer = issuer or self.root
        c = Cert(self.dir, name, issuer)
        cn = cn or ("gpcheck test " + name if ca or not names else names[0])
        csr = self._key_and_csr(c, cn)
        _run(["openssl", "ca", "-batch", "-config", self.conf, "-notext",
              "-in", csr, "-out", c.cert, "-cert", issuer.cert, "-keyfile",
              issuer.key, "-startdate", _stamp(start), "-enddate",
              _stamp(days), "-extfile",
              self._ext(name, ca, [] if ca else list(names))])
        c.write_chain()
        return c

    def self_signed(self, name, names=("localhost", "127.0.0.1"), ca=False,
                    cn=None, start=-1, days=90):
        """A certificate that is its own issuer."""
        c = Cert(self.dir, name)
        csr = self._key_and_csr(c, cn or (names[0] if names else name))
        _run(["openssl", "ca", "-batch", "-config", self.conf, "-notext",
              "-selfsign", "-in", csr, "-out", c.cert, "-keyfile", c.key,
              "-startdate", _stamp(start), "-enddate", _stamp(days),
              "-extfile", self._ext(name, True if ca else False,
                                    [] if ca else list(names))])
        c.write_chain()
        return c
