// A throwaway certificate authority for TLS tests: a CA, server and client certificates (also an
// expired one), written as PEM files. Keys come from Node's crypto; node-forge builds and signs
// the X.509 certificates (Node can parse certificates but not issue them).
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';

export interface IssuedCert {
  /** PEM file paths. */
  readonly cert: string;
  readonly key: string;
  readonly certPem: string;
  readonly keyPem: string;
}

interface Authority {
  readonly cert: forge.pki.Certificate;
  readonly key: forge.pki.rsa.PrivateKey;
}

function rsaKeys(): { pub: forge.pki.rsa.PublicKey; priv: forge.pki.rsa.PrivateKey; privPem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return {
    pub: forge.pki.publicKeyFromPem(publicKey),
    priv: forge.pki.privateKeyFromPem(privateKey),
    privPem: privateKey,
  };
}

const DAY = 86_400_000;

function certificate(
  subject: string,
  pub: forge.pki.rsa.PublicKey,
  issuer: Authority | null,
  signer: forge.pki.rsa.PrivateKey,
  o: { ca?: boolean; client?: boolean; expired?: boolean; hosts?: readonly string[] },
): forge.pki.Certificate {
  const c = forge.pki.createCertificate();
  c.publicKey = pub;
  c.serialNumber = `01${randomBytes(8).toString('hex')}`;
  const now = Date.now();
  c.validity.notBefore = new Date(o.expired ? now - 30 * DAY : now - DAY);
  c.validity.notAfter = new Date(o.expired ? now - DAY : now + 30 * DAY);
  const attrs = [{ name: 'commonName', value: subject }];
  c.setSubject(attrs);
  c.setIssuer(issuer ? issuer.cert.subject.attributes : attrs);
  const ext: Record<string, unknown>[] = [
    { name: 'basicConstraints', cA: o.ca === true, critical: o.ca === true },
    o.ca
      ? { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true }
      : { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ];
  if (!o.ca) ext.push({ name: 'extKeyUsage', serverAuth: !o.client, clientAuth: true });
  if (o.hosts)
    ext.push({
      name: 'subjectAltName',
      altNames: o.hosts.map((h) => (/^[\d.]+$/.test(h) ? { type: 7, ip: h } : { type: 2, value: h })),
    });
  c.setExtensions(ext);
  c.sign(signer, forge.md.sha256.create());
  return c;
}

/** A CA that issues certificates into its own temporary directory. */
export class TestCa {
  private n = 0;
  private constructor(
    readonly dir: string,
    private readonly authority: Authority,
    /** The CA certificate file (PEM). */
    readonly caFile: string,
    readonly caPem: string,
  ) {}

  static async create(name = 'Sluice Test CA'): Promise<TestCa> {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-ca-'));
    await chmod(dir, 0o755);
    const k = rsaKeys();
    const cert = certificate(name, k.pub, null, k.priv, { ca: true });
    const pem = forge.pki.certificateToPem(cert);
    const caFile = join(dir, 'ca.pem');
    await writeFile(caFile, pem);
    return new TestCa(dir, { cert, key: k.priv }, caFile, pem);
  }

  /** A server certificate for `hosts` (names and IPs), or a client certificate; expired on request. */
  async issue(
    subject: string,
    o: { hosts?: readonly string[]; client?: boolean; expired?: boolean } = {},
  ): Promise<IssuedCert> {
    const k = rsaKeys();
    const cert = certificate(subject, k.pub, this.authority, this.authority.key, {
      ...o,
      hosts: o.hosts ?? (o.client ? undefined : ['127.0.0.1', 'localhost']),
    });
    const certPem = forge.pki.certificateToPem(cert);
    const base = join(this.dir, `${++this.n}-${subject.replace(/[^A-Za-z0-9]/g, '_')}`);
    await writeFile(`${base}.crt`, certPem);
    await writeFile(`${base}.key`, k.privPem, { mode: 0o600 });
    return { cert: `${base}.crt`, key: `${base}.key`, certPem, keyPem: k.privPem };
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
