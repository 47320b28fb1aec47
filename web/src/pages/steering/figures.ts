/** A metric as the steering page prints it: 4 significant digits, small and large values in exponent form. */
export function formatFigure(value: number | null | undefined, signed = false): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  const sign = signed && value > 0 ? "+" : "";
  if (value === 0) return "0";
  const magnitude = Math.abs(value);
  if (magnitude < 1e-3 || magnitude >= 1e5) return sign + value.toExponential(2);
  return sign + String(Number(value.toPrecision(4)));
}
