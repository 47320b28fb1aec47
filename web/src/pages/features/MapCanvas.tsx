/** A scatter of up to 100k latents on a <canvas> (SVG charts stall past ~10k points): hover names the latent under
 * the pointer, click opens it, shift-click hands it to the caller (the heatmap's selection). */
import { useEffect, useMemo, useRef, useState, type MouseEvent } from "react";
import type { FeatureMap } from "../../api/featureMaps";
import { nearestPoint, toPixels } from "./mapPoints";

const VIEW = { width: 720, height: 480, padding: 12 };
const HOVER_RADIUS = 8;

export function MapCanvas({ map, colours, onOpen, onPick }: { map: FeatureMap; colours: string[]; onOpen: (latent: number) => void; onPick: (latent: number) => void }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const [hovered, setHovered] = useState<number | null>(null);
  const { px, py } = useMemo(() => toPixels(map.x, map.y, VIEW), [map]);
  // Point radius shrinks as the map fills, so 100k points stay a cloud rather than a blot.
  const radius = map.x.length > 20_000 ? 1.5 : map.x.length > 2_000 ? 2.5 : 5;

  useEffect(() => {
    const context = canvas.current?.getContext("2d");
    if (!context) return; // no 2-D context (e.g. a test's DOM): nothing to draw
    context.clearRect(0, 0, VIEW.width, VIEW.height);
    for (let i = 0; i < px.length; i++) {
      context.fillStyle = colours[i] ?? "#a1a1aa";
      context.fillRect(px[i]! - radius / 2, py[i]! - radius / 2, radius, radius);
    }
    if (hovered !== null) {
      context.strokeStyle = "#fafafa";
      context.lineWidth = 1.5;
      context.strokeRect(px[hovered]! - 5, py[hovered]! - 5, 10, 10);
    }
  }, [px, py, colours, hovered, radius]);

  const pointAt = (e: MouseEvent<HTMLCanvasElement>): number | null => {
    const box = e.currentTarget.getBoundingClientRect();
    // The canvas may be drawn smaller than its pixel size: pointer positions are scaled back to canvas pixels.
    const x = ((e.clientX - box.left) * VIEW.width) / (box.width || VIEW.width);
    const y = ((e.clientY - box.top) * VIEW.height) / (box.height || VIEW.height);
    return nearestPoint(px, py, x, y, HOVER_RADIUS);
  };
  const label = hovered === null ? null : map.label[hovered];
  return (
    <div className="space-y-1">
      <canvas
        ref={canvas}
        width={VIEW.width}
        height={VIEW.height}
        className="w-full max-w-[720px] cursor-crosshair rounded border border-zinc-800 bg-zinc-950"
        role="img"
        aria-label={`${map.method} map of ${map.width} latents; hover a point for its latent, click to open it`}
        onMouseMove={(e) => setHovered(pointAt(e))}
        onMouseLeave={() => setHovered(null)}
        onClick={(e) => {
          const latent = pointAt(e);
          if (latent !== null) (e.shiftKey ? onPick : onOpen)(latent);
        }}
        data-testid="feature-map-canvas"
        data-points={map.x.length}
      />
      <p className="h-4 truncate text-xs text-zinc-400" data-testid="feature-map-hover">
        {hovered === null ? (
          "Hover a point: its latent and label. Click opens it; shift-click adds it to the heatmap."
        ) : (
          <>
            <span className="font-mono text-zinc-100">latent {hovered}</span> {label ? `— ${label}` : "— no label"}
            {map.dead[hovered] && <span className="ml-1 text-zinc-500">(dead)</span>}
          </>
        )}
      </p>
    </div>
  );
}
