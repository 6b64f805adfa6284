/**
 * The first `count` items of `items` in `order` (a total order: no two items equal), in that order:
 * a sort of all when most are wanted, else a selection through a bounded heap (n log count).
 */
export function firstInOrder<T>(items: readonly T[], count: number, order: (a: T, b: T) => number): T[] {
  if (count <= 0) return [];
  if (count * 2 >= items.length) return [...items].sort(order).slice(0, count);
  // A max-heap of the `count` first seen so far: its root is the last of them, the one to beat.
  const heap: T[] = [];
  const siftDown = (at: number) => {
    for (;;) {
      const left = 2 * at + 1;
      const right = left + 1;
      let last = at;
      if (left < heap.length && order(heap[left] as T, heap[last] as T) > 0) last = left;
      if (right < heap.length && order(heap[right] as T, heap[last] as T) > 0) last = right;
      if (last === at) return;
      [heap[at], heap[last]] = [heap[last] as T, heap[at] as T];
      at = last;
    }
  };
  for (const item of items) {
    if (heap.length < count) {
      heap.push(item);
      for (let at = heap.length - 1; at > 0; ) {
        const parent = (at - 1) >> 1;
        if (order(heap[at] as T, heap[parent] as T) <= 0) break;
        [heap[at], heap[parent]] = [heap[parent] as T, heap[at] as T];
        at = parent;
      }
    } else if (order(item, heap[0] as T) < 0) {
      heap[0] = item;
      siftDown(0);
    }
  }
  return heap.sort(order);
}
