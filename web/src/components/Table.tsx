import type { KeyboardEvent, ReactNode } from "react";
import { cn } from "../lib/cn";

export interface Column<T> {
  key: string;
  header: ReactNode;
  render: (row: T) => ReactNode;
  className?: string;
}

export interface TableProps<T> {
  columns: Column<T>[];
  rows: T[];
  rowKey: (row: T) => string;
  caption?: string;
  onRowClick?: (row: T) => void;
  selectedKey?: string | null;
  rowTestId?: (row: T) => string;
  empty?: ReactNode;
  "data-testid"?: string;
}

export function Table<T>({
  columns,
  rows,
  rowKey,
  caption,
  onRowClick,
  selectedKey,
  rowTestId,
  empty = "Nothing here yet.",
  "data-testid": testId,
}: TableProps<T>) {
  const onKey = (e: KeyboardEvent<HTMLTableRowElement>, row: T) => {
    if (onRowClick && (e.key === "Enter" || e.key === " ")) {
      e.preventDefault();
      onRowClick(row);
    }
  };
  return (
    <div className="overflow-x-auto">
      <table className="w-full border-collapse text-left text-xs" data-testid={testId}>
        {caption && <caption className="sr-only">{caption}</caption>}
        <thead>
          <tr className="border-b border-zinc-800 text-[11px] tracking-wide text-zinc-500 uppercase">
            {columns.map((c) => (
              <th key={c.key} scope="col" className={cn("px-2 py-1.5 font-medium whitespace-nowrap", c.className)}>
                {c.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.length === 0 ? (
            <tr>
              <td colSpan={columns.length} className="px-2 py-6 text-center text-zinc-500">
                {empty}
              </td>
            </tr>
          ) : (
            rows.map((row) => {
              const key = rowKey(row);
              const selected = selectedKey === key;
              return (
                <tr
                  key={key}
                  data-testid={rowTestId?.(row)}
                  aria-selected={onRowClick ? selected : undefined}
                  tabIndex={onRowClick ? 0 : undefined}
                  onClick={onRowClick ? () => onRowClick(row) : undefined}
                  onKeyDown={onRowClick ? (e) => onKey(e, row) : undefined}
                  className={cn(
                    "border-b border-zinc-800/70",
                    onRowClick && "cursor-pointer hover:bg-zinc-800/50",
                    selected && "bg-sky-950/40",
                  )}
                >
                  {columns.map((c) => (
                    <td key={c.key} className={cn("px-2 py-1.5 align-middle whitespace-nowrap", c.className)}>
                      {c.render(row)}
                    </td>
                  ))}
                </tr>
              );
            })
          )}
        </tbody>
      </table>
    </div>
  );
}
