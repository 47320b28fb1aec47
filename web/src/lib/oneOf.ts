/** Is `v` one of `values` (a status list, say)? For a value typed wider than the list. */
export function isOneOf(values: readonly string[], v: string): boolean {
  return values.includes(v);
}

/** `v` when it is one of `values` (e.g. a filter read from the URL), else undefined. */
export function oneOf<T extends string>(values: readonly T[], v: string | null | undefined): T | undefined {
  return v && isOneOf(values, v) ? (v as T) : undefined;
}
