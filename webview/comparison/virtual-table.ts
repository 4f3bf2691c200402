// A table that renders only the rows in view (fixed row height), so 10,000+ examples scroll
// smoothly: the DOM holds a screenful of rows whatever the data size, between two spacer rows that
// keep the scroll height. It is an ARIA grid: one row is selected (aria-selected, and the grid's
// aria-activedescendant), the arrow keys, Page Up/Down, Home and End move it, Enter activates it;
// the headings sort (aria-sort) when the caller allows.

/** A cell: text, or nodes (a search's hits marked), with a tooltip and a class; `sub` is a second, quieter line. */
export type Cell = string | { text?: string; nodes?: (Node | string)[]; title?: string; className?: string; sub?: (Node | string)[]; label?: string };

export interface Column {
  /** The heading's content, and its tooltip. */
  header: (Node | string)[];
  title?: string;
  className?: string;
  /** Whether clicking the heading sorts (the caller's onSort decides how). */
  sortable?: boolean;
}

export type SortState = 'ascending' | 'descending' | 'none';

export class VirtualTable<T = unknown> {
  private rows: T[] = [];
  private rowHeight: number;
  private selected = -1;
  readonly viewport: HTMLDivElement;
  readonly table: HTMLTableElement;
  private readonly cols: HTMLTableColElement[];
  private readonly ths: HTMLTableCellElement[];
  private readonly body: HTMLTableSectionElement;
  private readonly before: HTMLTableRowElement;
  private readonly after: HTMLTableRowElement;
  private scrollListeners: ((top: number) => void)[] = [];
  private selectListeners: ((row: T | undefined, index: number) => void)[] = [];
  private rendered: [number, number] = [0, 0];
  private readonly idPrefix: string;

  constructor(host: HTMLElement, private columns: Column[], private cells: (row: T, index: number) => Cell[], private onActivate: (row: T) => void, options: { rowHeight?: number; label?: string; onSort?: (column: number) => void; idPrefix?: string } = {}) {
    this.rowHeight = options.rowHeight ?? 24;
    this.idPrefix = options.idPrefix ?? 'row';
    this.viewport = document.createElement('div');
    this.viewport.className = 'viewport';
    const table = (this.table = document.createElement('table'));
    table.className = 'virtual';
    table.setAttribute('role', 'grid');
    table.setAttribute('aria-label', options.label ?? 'Rows');
    table.setAttribute('aria-colcount', String(columns.length));
    table.setAttribute('aria-multiselectable', 'false');
    table.tabIndex = 0;
    table.style.setProperty('--row-h', `${this.rowHeight}px`);
    const colgroup = document.createElement('colgroup');
    this.cols = columns.map(() => colgroup.appendChild(document.createElement('col')));
    const head = document.createElement('thead');
    const tr = document.createElement('tr');
    tr.setAttribute('role', 'row');
    tr.setAttribute('aria-rowindex', '1');
    this.ths = columns.map((c, i) => {
      const th = document.createElement('th');
      th.setAttribute('role', 'columnheader');
      th.setAttribute('aria-colindex', String(i + 1));
      if (c.className) th.className = c.className;
      if (c.title) th.title = c.title;
      if (c.sortable && options.onSort) {
        // a button in the heading: the click and its key sort; the grid keeps the arrows
        const button = document.createElement('button');
        button.className = 'sort';
        button.type = 'button';
        button.tabIndex = -1;
        button.append(...c.header, Object.assign(document.createElement('span'), { className: 'sort-mark', ariaHidden: 'true' }));
        button.addEventListener('click', () => options.onSort!(i));
        th.append(button);
        th.setAttribute('aria-sort', 'none');
      } else th.append(...c.header);
      tr.append(th);
      return th;
    });
    head.append(tr);
    this.body = document.createElement('tbody');
    this.before = this.spacerRow();
    this.after = this.spacerRow();
    table.append(colgroup, head, this.body);
    this.viewport.append(table);
    host.replaceChildren(this.viewport);
    this.viewport.addEventListener('scroll', () => {
      this.layout();
      for (const l of this.scrollListeners) l(this.viewport.scrollTop);
    });
    table.addEventListener('keydown', (e) => this.key(e));
    this.body.addEventListener('click', (e) => {
      const index = this.rowIndexOf(e.target);
      if (index >= 0) this.select(index);
    });
    this.body.addEventListener('dblclick', (e) => {
      const index = this.rowIndexOf(e.target);
      if (index >= 0) this.onActivate(this.rows[index]);
    });
  }

  private spacerRow(): HTMLTableRowElement {
    const tr = document.createElement('tr');
    tr.className = 'spacer';
    tr.setAttribute('aria-hidden', 'true');
    const td = document.createElement('td');
    td.colSpan = this.columns.length;
    tr.append(td);
    return tr;
  }

  private rowIndexOf(target: EventTarget | null): number {
    const tr = (target as HTMLElement | null)?.closest?.('tr[data-index]');
    return tr ? Number(tr.getAttribute('data-index')) : -1;
  }

  onScroll(listener: (top: number) => void): void { this.scrollListeners.push(listener); }
  onSelect(listener: (row: T | undefined, index: number) => void): void { this.selectListeners.push(listener); }

  /** Column widths in px (null: the column takes what is left). */
  setWidths(widths: (number | null)[]): void {
    let total = 0;
    widths.forEach((w, i) => {
      this.cols[i].style.width = w === null ? '' : `${w}px`;
      total += w ?? 0;
    });
    this.table.style.minWidth = `${total}px`;
  }

  setSort(column: number, state: SortState): void {
    this.ths.forEach((th, i) => {
      if (!th.hasAttribute('aria-sort')) return;
      th.setAttribute('aria-sort', i === column ? state : 'none');
    });
  }

  /** The heading cells, for a caller that updates their tooltips. */
  headerCell(column: number): HTMLTableCellElement { return this.ths[column]; }

  /** New rows; the selection moves to `selected` (-1: none). */
  setRows(rows: T[], selected = -1): void {
    this.rows = rows;
    this.table.setAttribute('aria-rowcount', String(rows.length + 1));
    this.selected = selected < rows.length ? selected : -1;
    this.layout(true);
    this.announceSelection();
  }

  get selectedIndex(): number { return this.selected; }
  get selectedRow(): T | undefined { return this.rows[this.selected]; }
  get rowCount(): number { return this.rows.length; }

  scrollTo(top: number): void {
    this.viewport.scrollTop = top;
    this.layout();
  }

  focus(): void { this.table.focus({ preventScroll: true }); }

  private headerHeight(): number { return (this.table.tHead?.offsetHeight ?? 0) || this.rowHeight; }

  /** Selects a row, scrolls it into view, and tells the listeners. */
  select(index: number): void {
    if (this.rows.length === 0) return;
    const i = Math.max(0, Math.min(this.rows.length - 1, index));
    this.selected = i;
    this.reveal(i);
    this.layout(true);
    this.announceSelection();
  }

  private announceSelection(): void {
    if (this.selected >= 0) this.table.setAttribute('aria-activedescendant', `${this.idPrefix}-${this.selected}`);
    else this.table.removeAttribute('aria-activedescendant');
    for (const l of this.selectListeners) l(this.rows[this.selected], this.selected);
  }

  /** Scrolls so that row `i` is in view below the sticky heading. */
  reveal(i: number): void {
    const head = this.headerHeight();
    const top = i * this.rowHeight;
    const view = this.viewport.clientHeight - head;
    if (top < this.viewport.scrollTop) this.viewport.scrollTop = top;
    else if (top + this.rowHeight > this.viewport.scrollTop + view) this.viewport.scrollTop = top + this.rowHeight - view;
  }

  private pageRows(): number { return Math.max(1, Math.floor((this.viewport.clientHeight - this.headerHeight()) / this.rowHeight) - 1); }

  private key(e: KeyboardEvent): void {
    const at = this.selected;
    const moves: Record<string, () => number> = {
      ArrowDown: () => at + 1, ArrowUp: () => (at < 0 ? 0 : at - 1),
      PageDown: () => at + this.pageRows(), PageUp: () => at - this.pageRows(),
      Home: () => 0, End: () => this.rows.length - 1,
    };
    if (e.key in moves) {
      e.preventDefault();
      this.select(moves[e.key]());
    } else if (e.key === 'Enter' && at >= 0) {
      e.preventDefault();
      this.onActivate(this.rows[at]);
    }
  }

  layout(force = false): void {
    const first = Math.max(0, Math.floor(this.viewport.scrollTop / this.rowHeight) - 5);
    const count = Math.ceil((this.viewport.clientHeight || 480) / this.rowHeight) + 10;
    const last = Math.min(this.rows.length, first + count);
    if (!force && this.rendered[0] === first && this.rendered[1] === last) return;
    this.rendered = [first, last];
    this.before.style.height = `${first * this.rowHeight}px`;
    this.after.style.height = `${(this.rows.length - last) * this.rowHeight}px`;
    const trs: HTMLTableRowElement[] = [];
    for (let i = first; i < last; i++) {
      const row = this.rows[i];
      const tr = document.createElement('tr');
      tr.id = `${this.idPrefix}-${i}`;
      tr.setAttribute('role', 'row');
      tr.setAttribute('aria-rowindex', String(i + 2));
      tr.setAttribute('aria-selected', String(i === this.selected));
      tr.dataset.index = String(i);
      if (i === this.selected) tr.classList.add('selected');
      this.cells(row, i).forEach((c, k) => {
        const td = document.createElement('td');
        td.setAttribute('role', 'gridcell');
        td.setAttribute('aria-colindex', String(k + 1));
        if (typeof c === 'string') td.textContent = c;
        else {
          const main = document.createElement('div');
          main.className = 'line1';
          if (c.nodes) main.append(...c.nodes);
          else main.textContent = c.text ?? '';
          td.append(main);
          if (c.sub) {
            const sub = document.createElement('div');
            sub.className = 'line2';
            sub.append(...c.sub);
            td.append(sub);
          }
          if (c.title) td.title = c.title;
          if (c.className) td.className = c.className;
          if (c.label) td.setAttribute('aria-label', c.label);
        }
        tr.append(td);
      });
      trs.push(tr);
    }
    // a spacer of no height is left out: at the top, the body's first row is the first example
    this.body.replaceChildren(...(first > 0 ? [this.before] : []), ...trs, ...(last < this.rows.length ? [this.after] : []));
  }
}
