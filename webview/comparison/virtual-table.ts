// A table that renders only the rows in view (fixed row height), so 10,000+ examples scroll
// smoothly: the DOM holds a screenful of rows whatever the data size.
export type Cell = string | { text: string; title?: string; className?: string };

export class VirtualTable<T = unknown> {
  private rows: T[] = [];
  private readonly rowHeight = 24;
  private viewport: HTMLDivElement;
  private spacer: HTMLDivElement;
  private body: HTMLTableSectionElement;
  private listeners: ((top: number) => void)[] = [];

  constructor(host: HTMLElement, headers: string[], private cells: (row: T) => Cell[], private onActivate: (row: T) => void) {
    this.viewport = document.createElement('div');
    this.viewport.className = 'viewport';
    this.spacer = document.createElement('div');
    this.spacer.className = 'spacer';
    const table = document.createElement('table');
    table.className = 'virtual';
    const head = document.createElement('thead');
    const tr = document.createElement('tr');
    for (const h of headers) {
      const th = document.createElement('th');
      th.textContent = h;
      tr.append(th);
    }
    head.append(tr);
    this.body = document.createElement('tbody');
    table.append(head, this.body);
    this.spacer.append(table);
    this.viewport.append(this.spacer);
    host.replaceChildren(this.viewport);
    this.viewport.addEventListener('scroll', () => {
      this.layout();
      for (const l of this.listeners) l(this.viewport.scrollTop);
    });
  }

  onScroll(listener: (top: number) => void): void { this.listeners.push(listener); }

  setRows(rows: T[]): void {
    this.rows = rows;
    this.spacer.style.height = `${(rows.length + 1) * this.rowHeight}px`;
    this.layout();
  }

  scrollTo(top: number): void {
    this.viewport.scrollTop = top;
    this.layout();
  }

  layout(): void {
    const first = Math.max(0, Math.floor(this.viewport.scrollTop / this.rowHeight) - 5);
    const count = Math.ceil((this.viewport.clientHeight || 480) / this.rowHeight) + 10;
    const slice = this.rows.slice(first, first + count);
    (this.body.parentElement as HTMLElement).style.transform = `translateY(${first * this.rowHeight}px)`;
    this.body.replaceChildren(...slice.map((row) => {
      const tr = document.createElement('tr');
      tr.style.height = `${this.rowHeight}px`;
      for (const c of this.cells(row)) {
        const td = document.createElement('td');
        if (typeof c === 'string') td.textContent = c;
        else {
          td.textContent = c.text;
          if (c.title) td.title = c.title;
          if (c.className) td.className = c.className;
        }
        tr.append(td);
      }
      tr.addEventListener('dblclick', () => this.onActivate(row));
      return tr;
    }));
    // the header stays at the top of the viewport
    const thead = this.body.parentElement!.querySelector('thead') as HTMLElement;
    thead.style.transform = `translateY(${this.viewport.scrollTop - first * this.rowHeight}px)`;
  }
}
