/**
 * A number with its provenance. In a profile file a quantity is either a bare
 * number (the admin's own figure, source `profile`) or
 * `{ "value": 2, "range": [1, 4], "source": "assumption" }`.
 * `assumption` requires a range: that range is what the Monte Carlo samples.
 */
export interface Quantity {
  readonly value: number;
  readonly low: number;
  readonly high: number;
  readonly source: string;
}

export const ASSUMPTION = 'assumption';

/**
 * A source that starts with "assumption" (optionally followed by "; why") is not a measurement or citation.
 */
export function isAssumption(source: string): boolean {
  return source === ASSUMPTION || source.startsWith(`${ASSUMPTION};`) || source.startsWith(`${ASSUMPTION}:`);
}

export function isQuantity(node: unknown): node is Quantity {
  return (
    typeof node === 'object' &&
    node !== null &&
    'value' in node &&
    'low' in node &&
    'high' in node &&
    'source' in node
  );
}

/** A fixed quantity (no uncertainty) with a source. */
export function exact(value: number, source: string): Quantity {
  return { value, low: value, high: value, source };
}

/** Replace every Quantity in a tree by a plain number. */
export type Resolved<T> = T extends Quantity
  ? number
  : T extends readonly (infer U)[]
    ? Resolved<U>[]
    : T extends object
      ? { [K in keyof T]: Resolved<T[K]> }
      : T;

/**
 * Resolve a parsed profile tree to plain numbers: `pick` chooses the number
 * for each quantity (its value, or a Monte Carlo draw in its range).
 */
export function resolveQuantities<T>(
  tree: T,
  pick: (q: Quantity, path: string) => number = (q) => q.value,
  path = '',
): Resolved<T> {
  return mapLeaves(tree, (node, at) => (isQuantity(node) ? pick(node, at) : undefined), path) as Resolved<T>;
}

/** A quantity as a profile file writes it, before the schema parses it into a Quantity. */
export interface QuantityDocument {
  value: number;
  range?: [number, number];
  source: string;
}

function isQuantityDocument(node: unknown): node is QuantityDocument {
  const o = node as Partial<QuantityDocument> | null;
  return typeof o === 'object' && o !== null && typeof o.value === 'number' && typeof o.source === 'string';
}

/**
 * Resolve a profile document as written (JSON.parse of the file, not validated)
 * to plain numbers, each quantity to its value: for the k6 scenarios, which
 * cannot run the profile's schema but must read the same numbers as the forecast.
 */
export function resolveQuantityDocuments<T>(doc: unknown): T {
  return mapLeaves(doc, (node) => (isQuantityDocument(node) ? node.value : undefined), '') as T;
}

/** Copy a tree, replacing each node for which `leaf` returns a number. */
function mapLeaves(
  tree: unknown,
  leaf: (node: unknown, path: string) => number | undefined,
  path: string,
): unknown {
  const value = leaf(tree, path);
  if (value !== undefined) return value;
  if (Array.isArray(tree)) return tree.map((item, i) => mapLeaves(item, leaf, `${path}[${i}]`));
  if (typeof tree === 'object' && tree !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(tree))
      out[key] = mapLeaves(child, leaf, path ? `${path}.${key}` : key);
    return out;
  }
  return tree;
}

/** Every quantity in a tree with its dotted path, in document order. */
export function listQuantities(tree: unknown, path = ''): { path: string; quantity: Quantity }[] {
  if (isQuantity(tree)) return [{ path, quantity: tree }];
  if (Array.isArray(tree)) return tree.flatMap((item, i) => listQuantities(item, `${path}[${i}]`));
  if (typeof tree === 'object' && tree !== null) {
    return Object.entries(tree).flatMap(([key, child]) =>
      listQuantities(child, path ? `${path}.${key}` : key),
    );
  }
  return [];
}
