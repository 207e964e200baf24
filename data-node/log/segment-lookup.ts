// Finding the segment that holds an offset: segments are sorted by base offset, and an offset
// belongs to the last segment whose base offset is at or below it. A pure function, checked
// against a linear scan in the tests.

/** Index of the last item with baseOffset <= offset, or -1 when the offset is before them all. */
export function findSegmentIndex(
  segments: ReadonlyArray<{ readonly baseOffset: bigint }>,
  offset: bigint,
): number {
  let lo = 0;
  let hi = segments.length - 1;
  let found = -1;

  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (segments[mid].baseOffset <= offset) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}
