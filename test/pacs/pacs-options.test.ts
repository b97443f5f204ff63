/** Where the PACS and its credentials come from, and multipart bodies (no PACS needed). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { decodeMultipart, encodeMultipart } from '../../src/pacs/multipart.js';
import { DEFAULT_PACS_TIMEOUT_MS, resolvePacsOptions } from '../../src/pacs/pacs-options.js';
import { tempDir } from '../helpers/dicom.js';

const home = (): string => tempDir('sgus-home-');

test('the URL comes from --pacs before SGUS_PACS_URL, credentials from the environment, timeout defaults to 60 s', () => {
  const env = { HOME: home(), SGUS_PACS_URL: 'https://env.example/dicom-web', SGUS_PACS_USER: 'u', SGUS_PACS_PASSWORD: 'p' };
  assert.deepEqual(resolvePacsOptions({ env }), { url: 'https://env.example/dicom-web', user: 'u', password: 'p', timeoutMs: DEFAULT_PACS_TIMEOUT_MS });
  assert.equal(resolvePacsOptions({ env, url: 'https://flag.example/dicom-web/' }).url, 'https://flag.example/dicom-web');
});

test('the config file gives URL and credentials; a password readable by others is warned about', async () => {
  const dir = home();
  const file = path.join(dir, 'pacs.json');
  await writeFile(file, JSON.stringify({ url: 'https://cfg.example/dw', user: 'cu', password: 'cp', timeoutMs: 5000 }));
  await chmod(file, 0o644);
  const warnings: string[] = [];
  const o = resolvePacsOptions({ env: { SGUS_PACS_CONFIG: file }, warn: (l) => warnings.push(l) });
  assert.deepEqual(o, { url: 'https://cfg.example/dw', user: 'cu', password: 'cp', timeoutMs: 5000 });
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /others may read it \(chmod 600 it\)/);
  await chmod(file, 0o600);
  warnings.length = 0;
  resolvePacsOptions({ env: { SGUS_PACS_CONFIG: file }, warn: (l) => warnings.push(l) });
  assert.deepEqual(warnings, []);
  assert.throws(() => resolvePacsOptions({ env: { SGUS_PACS_CONFIG: path.join(dir, 'missing.json') } }), /cannot read the PACS config/);
});

test('credentials in the URL, a non-http URL and no URL at all are one-line refusals', () => {
  const env = { HOME: home() };
  assert.throws(() => resolvePacsOptions({ env, url: 'https://me:secret@pacs/dw' }), (e: Error) => /must not hold credentials/.test(e.message) && !e.message.includes('secret'));
  assert.throws(() => resolvePacsOptions({ env, url: 'ftp://pacs/dw' }), /must be http or https/);
  assert.throws(() => resolvePacsOptions({ env }), /no PACS given: use --pacs URL/);
});

test('a multipart body decodes back to its parts byte for byte, also parts that hold CRLF and dashes', () => {
  const parts = [new Uint8Array([1, 2, 3]), Buffer.from('\r\n--not-the-boundary\r\n'), new Uint8Array(0)];
  const { contentType, body } = encodeMultipart(parts);
  assert.match(contentType, /^multipart\/related; type="application\/dicom"; boundary=sgus-[0-9a-f]+$/);
  const back = decodeMultipart(body, contentType, 'test');
  assert.deepEqual(back.map((p) => Buffer.from(p.body)), parts.map((p) => Buffer.from(p)));
  assert.equal(back[0]!.headers['content-type'], 'application/dicom');
  assert.throws(() => decodeMultipart(body.subarray(0, body.length - 30), contentType, 'test'), /cut short/);
});
