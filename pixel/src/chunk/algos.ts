// md5, sha1 and sha256 in pure JS, synchronous (a form that navigates away can still be
// hashed in its submit handler). Input: a JS string, hashed as UTF-8; output: lowercase hex.

const HEX = (x: number) => ("0000000" + (x >>> 0).toString(16)).slice(-8);
const rotl = (x: number, n: number) => (x << n) | (x >>> (32 - n));
const rotr = (x: number, n: number) => (x >>> n) | (x << (32 - n));

/** Message padding shared by all three (length in bits, big- or little-endian). */
function pad(s: string, le?: boolean): DataView {
  const b = new TextEncoder().encode(s);
  const n = (((b.length + 8) >> 6) + 1) << 6;
  const a = new Uint8Array(n);
  a.set(b);
  a[b.length] = 0x80;
  const v = new DataView(a.buffer);
  if (le) v.setUint32(n - 8, b.length * 8, true);
  else v.setUint32(n - 4, b.length * 8);
  return v;
}

// Round constants computed, not listed: fractional parts of square/cube roots of primes
// (sha256) and of |sin(i)| (md5), exact in double precision for these sizes.
const frac = (x: number) => ((x - Math.floor(x)) * 4294967296) | 0;
const K256: number[] = [];
const H256: number[] = [];
for (let p = 2, c = 0; c < 64; p++) {
  let prime = true;
  for (let q = 2; q * q <= p; q++) if (p % q == 0) prime = false;
  if (prime) {
    if (c < 8) H256[c] = frac(Math.pow(p, 1 / 2));
    K256[c++] = frac(Math.pow(p, 1 / 3));
  }
}
const KMD5: number[] = [];
for (let i = 0; i < 64; i++) KMD5[i] = (Math.abs(Math.sin(i + 1)) * 4294967296) | 0;
const SMD5 = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];

export function sha256(s: string): string {
  const v = pad(s);
  const H = H256.slice();
  const W: number[] = [];
  for (let o = 0; o < v.byteLength; o += 64) {
    let [a, b, c, d, e, f, g, h] = H;
    for (let i = 0; i < 64; i++) {
      if (i < 16) W[i] = v.getInt32(o + i * 4);
      else {
        const x = W[i - 15];
        const y = W[i - 2];
        W[i] =
          ((rotr(x, 7) ^ rotr(x, 18) ^ (x >>> 3)) + (rotr(y, 17) ^ rotr(y, 19) ^ (y >>> 10)) + W[i - 7] + W[i - 16]) | 0;
      }
      const t1 = (h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K256[i] + W[i]) | 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      h = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    [a, b, c, d, e, f, g, h].forEach((x, j) => (H[j] = (H[j] + x) | 0));
  }
  return H.map(HEX).join("");
}

export function sha1(s: string): string {
  const v = pad(s);
  const H = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0];
  const W: number[] = [];
  for (let o = 0; o < v.byteLength; o += 64) {
    let [a, b, c, d, e] = H;
    for (let i = 0; i < 80; i++) {
      W[i] = i < 16 ? v.getInt32(o + i * 4) : rotl(W[i - 3] ^ W[i - 8] ^ W[i - 14] ^ W[i - 16], 1);
      const f =
        i < 20
          ? ((b & c) | (~b & d)) + 0x5a827999
          : i < 40
            ? (b ^ c ^ d) + 0x6ed9eba1
            : i < 60
              ? ((b & c) | (b & d) | (c & d)) + 0x8f1bbcdc
              : (b ^ c ^ d) + 0xca62c1d6;
      const t = (rotl(a, 5) + f + e + W[i]) | 0;
      e = d;
      d = c;
      c = rotl(b, 30);
      b = a;
      a = t;
    }
    [a, b, c, d, e].forEach((x, j) => (H[j] = (H[j] + x) | 0));
  }
  return H.map(HEX).join("");
}

export function md5(s: string): string {
  const v = pad(s, true);
  const H = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
  for (let o = 0; o < v.byteLength; o += 64) {
    let [a, b, c, d] = H;
    for (let i = 0; i < 64; i++) {
      const r = i >> 4;
      const f = r == 0 ? (b & c) | (~b & d) : r == 1 ? (d & b) | (~d & c) : r == 2 ? b ^ c ^ d : c ^ (b | ~d);
      const g = r == 0 ? i : r == 1 ? (5 * i + 1) & 15 : r == 2 ? (3 * i + 5) & 15 : (7 * i) & 15;
      const t = d;
      d = c;
      c = b;
      b = (b + rotl((a + f + KMD5[i] + v.getInt32(o + g * 4, true)) | 0, SMD5[(r << 2) | (i & 3)])) | 0;
      a = t;
    }
    [a, b, c, d].forEach((x, j) => (H[j] = (H[j] + x) | 0));
  }
  // md5 output is little-endian per word.
  return H.map((x) => HEX(((x & 255) << 24) | ((x >>> 8 & 255) << 16) | ((x >>> 16 & 255) << 8) | (x >>> 24))).join("");
}

