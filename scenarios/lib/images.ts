/** Which of the images in IMAGES an upload takes. Pure, no k6 imports: the tests drive it directly. */

/**
 * The file index of the n-th upload: a low-discrepancy walk (n × the golden ratio, mod 1) over the files'
 * shares, so any stretch of uploads uses each file in about its share and the mean upload is the profile's.
 */
export function imageIndex(shares: readonly number[], n: number): number {
  const u = (n * 0.6180339887498949) % 1;
  let acc = 0;
  for (let i = 0; i < shares.length; i++) {
    acc += shares[i]!;
    if (u < acc) return i;
  }
  return shares.length - 1;
}
