// The examples table's column widths for the width the panel has: the prediction columns keep
// room for their longest label, the input takes what is left and gives way first (down to its
// minimum, then the table scrolls sideways). Pure: tests import it.

export interface ColumnNeed {
  /** Never narrower than this (px). */
  min: number;
  /** Never wider (px); absent: no bound. */
  max?: number;
  /** Share of the room left after every minimum (0: stays at its minimum). */
  grow: number;
}

/** Widths in px for `available` px: every minimum first, then the rest shared by grow, bounded by max. */
export function columnWidths(available: number, needs: ColumnNeed[]): number[] {
  const widths = needs.map((n) => n.min);
  let left = available - widths.reduce((s, w) => s + w, 0);
  let open = needs.map((n, i) => i).filter((i) => needs[i].grow > 0);
  while (left > 0.5 && open.length > 0) {
    const total = open.reduce((s, i) => s + needs[i].grow, 0);
    let used = 0;
    const still: number[] = [];
    for (const i of open) {
      const share = (left * needs[i].grow) / total;
      const room = (needs[i].max ?? Infinity) - widths[i];
      const add = Math.min(share, room);
      widths[i] += add;
      used += add;
      if (add < room) still.push(i);
    }
    left -= used;
    if (still.length === open.length) break;
    open = still;
  }
  return widths.map((w) => Math.floor(w));
}
