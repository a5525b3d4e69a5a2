/** Block i of the crash test: a size and content that depend only on i. */
export function expectedBlock(i: number): Uint8Array {
  const size = (i * 7919) % 9000;
  const out = new Uint8Array(size);
  for (let j = 0; j < size; j += 4096) out[j] = (i + j) % 251;
  if (size > 0) out[size - 1] = i % 256;
  return out;
}
