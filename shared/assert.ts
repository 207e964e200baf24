// Assertions for programmer errors: a broken invariant throws and nothing is meant to catch it.
// Client-visible failures use typed errors (shared/kafka-errors.ts) instead.
export class InvariantError extends Error {
  override name = 'InvariantError';
}

export function invariant(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantError(message);
}
