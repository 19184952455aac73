// SHA-256 of a UTF-8 string, for evidence digests that workflows compute inside Temporal's
// sandbox, where node:crypto is not available: @noble/hashes (audited, dependency-free, pure
// JavaScript) does the hashing. The UTF-8 encoding stays here because not every sandbox has
// TextEncoder, which @noble/hashes' utf8ToBytes needs. The unit test checks it against node:crypto.
import { sha256 } from '@noble/hashes/sha2';
import { bytesToHex } from '@noble/hashes/utils';

/** UTF-8 bytes, by hand (see above). Lone surrogates become U+FFFD, as TextEncoder does. */
function utf8(text: string): Uint8Array {
  const out: number[] = [];
  for (const ch of text) {
    let c = ch.codePointAt(0)!;
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return Uint8Array.from(out);
}

/** The sha256 of `text` (UTF-8), as 64 hex digits. */
export function sha256Hex(text: string): string {
  return bytesToHex(sha256(utf8(text)));
}
