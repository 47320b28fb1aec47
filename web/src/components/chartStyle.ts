/** The one look of every recharts chart in the studio (dark theme). */
export const AXIS = { fill: "#a1a1aa", fontSize: 11 };
export const GRID = "#27272a";
export const TOOLTIP = {
  contentStyle: { background: "#18181b", border: "1px solid #3f3f46", borderRadius: 4, fontSize: 12 },
  labelStyle: { color: "#e4e4e7" },
  itemStyle: { color: "#7dd3fc" },
  cursor: { fill: "rgba(63,63,70,0.35)" },
};
