#!/usr/bin/env node
// Draws the kernelspec logos (a mountain under a sky) as PNGs, with no image library.
// Run once; the PNGs are committed in kernelspec/.
"use strict";
const fs = require("fs");
const path = require("path");
const zlib = require("zlib");

function crc32(buf) {
  let c, crc = 0xffffffff;
  for (let n = 0; n < buf.length; n++) {
    c = (crc ^ buf[n]) & 0xff;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    crc = (crc >>> 8) ^ c;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type), data]);
  const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
function png(size) {
  const rows = [];
  for (let y = 0; y < size; y++) {
    const row = Buffer.alloc(1 + size * 4);
    for (let x = 0; x < size; x++) {
      const u = x / size, v = y / size;
      const peak = 0.25 + Math.abs(u - 0.55) * 1.1;          // mountain outline
      const snow = v < peak + 0.12;
      const inMountain = v > peak;
      const r = (size / 2) - 0.5, dx = x - r, dy = y - r;
      const inside = dx * dx + dy * dy <= r * r;              // round badge
      let px = [0, 0, 0, 0];
      if (inside) px = inMountain ? (snow ? [245, 248, 255, 255] : [46, 94, 78, 255]) : [207, 184, 124, 255];
      px.forEach((c, i) => (row[1 + x * 4 + i] = c));
    }
    rows.push(row);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0); ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; ihdr[9] = 6; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk("IHDR", ihdr),
    chunk("IDAT", zlib.deflateSync(Buffer.concat(rows))), chunk("IEND", Buffer.alloc(0))]);
}
const out = path.join(__dirname, "..", "kernelspec");
for (const s of [32, 64]) fs.writeFileSync(path.join(out, `logo-${s}x${s}.png`), png(s));
console.log("wrote", out);
