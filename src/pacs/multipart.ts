/**
 * multipart/related bodies (RFC 2387) as DICOMweb uses them: STOW-RS sends DICOM instances so,
 * WADO-RS answers so. Only what DICOMweb needs: binary parts with a Content-Type each.
 */
import { randomBytes } from 'node:crypto';
import { ErrorCode, SgusError } from '../errors.js';

export interface MultipartBody {
  /** The Content-Type header value, boundary included. */
  contentType: string;
  body: Buffer;
}

/** A multipart/related body of `parts`, each of `partType` (e.g. application/dicom). */
export function encodeMultipart(parts: readonly Uint8Array[], partType = 'application/dicom'): MultipartBody {
  const boundary = `sgus-${randomBytes(12).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const p of parts) {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Type: ${partType}\r\n\r\n`, 'latin1'));
    chunks.push(Buffer.from(p.buffer, p.byteOffset, p.byteLength));
    chunks.push(Buffer.from('\r\n', 'latin1'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`, 'latin1'));
  return { contentType: `multipart/related; type="${partType}"; boundary=${boundary}`, body: Buffer.concat(chunks) };
}

/** The boundary parameter of a Content-Type header, or undefined. */
export function boundaryOf(contentType: string): string | undefined {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return m?.[1] ?? m?.[2];
}

export interface Part {
  headers: Record<string, string>;
  body: Uint8Array;
}

/** The parts of a multipart body (views into `body`, not copies). */
export function decodeMultipart(body: Uint8Array, contentType: string, where: string): Part[] {
  const boundary = boundaryOf(contentType);
  if (boundary === undefined) throw new SgusError(ErrorCode.ProtocolError, `expected a multipart answer, got '${contentType}'`, { where });
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const delim = Buffer.from(`--${boundary}`, 'latin1');
  const parts: Part[] = [];
  let pos = buf.indexOf(delim);
  if (pos < 0) throw new SgusError(ErrorCode.ProtocolError, 'multipart answer without its boundary', { where });
  for (;;) {
    pos += delim.length;
    // '--' after a delimiter ends the body.
    if (buf[pos] === 0x2d && buf[pos + 1] === 0x2d) break;
    const headerEnd = buf.indexOf('\r\n\r\n', pos, 'latin1');
    if (headerEnd < 0) throw new SgusError(ErrorCode.ProtocolError, 'multipart part without a header end', { where });
    const headers: Record<string, string> = {};
    for (const line of buf.subarray(pos, headerEnd).toString('latin1').split('\r\n')) {
      const i = line.indexOf(':');
      if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    const start = headerEnd + 4;
    const next = buf.indexOf(Buffer.from(`\r\n--${boundary}`, 'latin1'), start);
    if (next < 0) throw new SgusError(ErrorCode.ProtocolError, 'multipart answer cut short (no closing boundary)', { where });
    parts.push({ headers, body: body.subarray(start, next) });
    pos = next + 2;
  }
  return parts;
}
